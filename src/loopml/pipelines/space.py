"""Search spaces for :func:`loopml.sweep`: where each hyperparameter's values come from.

Each helper returns a small frozen record that knows how to ask an Optuna trial for a value
(``suggest(trial, name)``) and how to write itself back as the YAML form ``loopml sweep
--space`` reads::

    lr:    {loguniform: [1.0e-4, 1.0]}     # a float, sampled on a log scale
    alpha: {uniform: [0, 1]}               # a float
    depth: {int: [2, 8]}                   # an integer, both ends included ([2, 8, 2]: step 2)
    kind:  {choice: [a, b]}                # one of the listed values
    seed:  42                              # not searched: passed to every trial as is

Example:
    >>> from loopml.pipelines.space import choice, intrange, loguniform, parse_space
    >>> space = {"lr": loguniform(1e-4, 1), "depth": intrange(2, 8), "kind": choice(["a", "b"])}
    >>> parse_space({"lr": {"loguniform": [1e-4, 1]}})["lr"] == space["lr"]
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from loopml.errors import InvalidInputError, NotFoundError

__all__ = [
    "Choice",
    "Distribution",
    "Fixed",
    "IntRange",
    "LogUniform",
    "SpaceLike",
    "Uniform",
    "choice",
    "intrange",
    "load_space",
    "loguniform",
    "parse_space",
    "space_to_dict",
    "uniform",
]

#: A value that ``choice`` can offer (what Optuna stores as a categorical).
ChoiceValue: TypeAlias = bool | int | float | str | None


class Distribution(Protocol):
    """What every search-space entry can do."""

    def suggest(self, trial: Any, name: str) -> Any:
        """Ask the Optuna ``trial`` for this parameter's value."""

    def to_dict(self) -> Any:
        """The YAML/JSON form :func:`parse_space` reads back."""


def _number(value: object, field: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"{what} must be a finite number, got {value!r}", field=field)
    return float(value)


def _integer(value: object, field: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise InvalidInputError(f"{what} must be an integer, got {value!r}", field=field)
    return value


@dataclass(frozen=True, slots=True)
class Uniform:
    """A float drawn uniformly from ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_order(self.low, self.high, "uniform")

    def suggest(self, trial: Any, name: str) -> float:
        """Ask ``trial`` for a float in ``[low, high]``."""
        return float(trial.suggest_float(name, self.low, self.high))

    def to_dict(self) -> dict[str, list[float]]:
        """``{"uniform": [low, high]}``."""
        return {"uniform": [self.low, self.high]}


@dataclass(frozen=True, slots=True)
class LogUniform:
    """A float in ``[low, high]`` drawn uniformly on a log scale (``low > 0``)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_order(self.low, self.high, "loguniform")
        if self.low <= 0:
            raise InvalidInputError(
                f"loguniform needs low > 0, got {self.low!r}",
                field="low",
                hint="a log scale cannot reach 0; use uniform, or a small positive low",
            )

    def suggest(self, trial: Any, name: str) -> float:
        """Ask ``trial`` for a float in ``[low, high]`` on a log scale."""
        return float(trial.suggest_float(name, self.low, self.high, log=True))

    def to_dict(self) -> dict[str, list[float]]:
        """``{"loguniform": [low, high]}``."""
        return {"loguniform": [self.low, self.high]}


@dataclass(frozen=True, slots=True)
class IntRange:
    """An integer in ``[low, high]`` (both included), every ``step``, optionally log-scaled."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self) -> None:
        _check_order(self.low, self.high, "int")
        if self.step < 1:
            raise InvalidInputError(f"int step must be at least 1, got {self.step}", field="step")
        if self.log and (self.low < 1 or self.step != 1):
            raise InvalidInputError("a log-scaled int range needs low >= 1 and step 1", field="log")

    def suggest(self, trial: Any, name: str) -> int:
        """Ask ``trial`` for an integer in ``[low, high]``."""
        return int(trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log))

    def to_dict(self) -> dict[str, Any]:
        """``{"int": [low, high]}`` (with step/log when they are not the defaults)."""
        if self.log:
            return {"int": {"low": self.low, "high": self.high, "log": True}}
        bounds = [self.low, self.high] + ([self.step] if self.step != 1 else [])
        return {"int": bounds}


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed list of values (strings, numbers, booleans or None)."""

    options: tuple[ChoiceValue, ...]

    def __post_init__(self) -> None:
        if not self.options:
            raise InvalidInputError("choice needs at least one option", field="options")
        for option in self.options:
            if option is not None and not isinstance(option, bool | int | float | str):
                raise InvalidInputError(
                    f"choice options must be strings, numbers, booleans or null; "
                    f"got {type(option).__name__} {option!r}",
                    field="options",
                )

    def suggest(self, trial: Any, name: str) -> ChoiceValue:
        """Ask ``trial`` to pick one of the options."""
        value: ChoiceValue = trial.suggest_categorical(name, list(self.options))
        return value

    def to_dict(self) -> dict[str, list[ChoiceValue]]:
        """``{"choice": [...]}``."""
        return {"choice": list(self.options)}


@dataclass(frozen=True, slots=True)
class Fixed:
    """A value passed to every trial as is (not searched)."""

    value: Any

    def suggest(self, trial: Any, name: str) -> Any:
        """The value itself; the trial records it as a user attribute."""
        trial.set_user_attr(name, self.value)
        return self.value

    def to_dict(self) -> Any:
        """The value itself."""
        return self.value


#: A search space: parameter name -> a distribution (or a plain value to pass as is).
SpaceLike: TypeAlias = Mapping[str, Any]


def _check_order(low: float, high: float, kind: str) -> None:
    if not low <= high:
        raise InvalidInputError(
            f"{kind} needs low <= high, got [{low!r}, {high!r}]",
            field="low",
            hint="write the bounds as [low, high]",
        )


def uniform(low: float, high: float) -> Uniform:
    """A float drawn uniformly from ``[low, high]``."""
    return Uniform(_number(low, "low", "low"), _number(high, "high", "high"))


def loguniform(low: float, high: float) -> LogUniform:
    """A float in ``[low, high]`` drawn on a log scale (learning rates, regularization)."""
    return LogUniform(_number(low, "low", "low"), _number(high, "high", "high"))


def intrange(low: int, high: int, step: int = 1, *, log: bool = False) -> IntRange:
    """An integer in ``[low, high]``, both ends included, every ``step``."""
    return IntRange(
        _integer(low, "low", "low"),
        _integer(high, "high", "high"),
        _integer(step, "step", "step"),
        bool(log),
    )


def choice(options: Iterable[ChoiceValue]) -> Choice:
    """One of ``options`` (a list of strings, numbers, booleans or None)."""
    if isinstance(options, str | bytes):
        raise InvalidInputError(
            f"choice takes a list of options, got the string {options!r}",
            field="options",
            hint=f"write choice([{options!r}]) for a single option",
        )
    return Choice(tuple(options))


_KINDS = ("uniform", "loguniform", "int", "choice")
_ALIASES = {"intrange": "int", "log_uniform": "loguniform", "categorical": "choice"}


def _bounds(name: str, kind: str, spec: object, keys: tuple[str, ...]) -> dict[str, Any]:
    """Accept ``[low, high(, step)]`` or ``{low: .., high: .., ...}``."""
    field = f"space.{name}"
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(keys))
        if unknown:
            raise InvalidInputError(
                f"parameter {name!r}: {kind} does not take {', '.join(map(repr, unknown))}",
                field=field,
                hint=f"{kind} takes {', '.join(keys)}",
            )
        if "low" not in spec or "high" not in spec:
            raise InvalidInputError(f"parameter {name!r}: {kind} needs low and high", field=field)
        return dict(spec)
    positional = 3 if "step" in keys else 2
    if not isinstance(spec, list | tuple) or not 2 <= len(spec) <= positional:
        form = "[low, high] or [low, high, step]" if positional == 3 else "[low, high]"
        raise InvalidInputError(
            f"parameter {name!r}: {kind} needs {form}, got {spec!r}",
            field=field,
            hint=f"e.g. {name}: {{{kind}: [1, 10]}}",
        )
    return dict(zip(keys, spec, strict=False))


def _parse_one(name: str, spec: Any) -> Any:
    if isinstance(spec, Uniform | LogUniform | IntRange | Choice | Fixed):
        return spec
    if not isinstance(spec, Mapping):
        return Fixed(spec)
    field = f"space.{name}"
    if len(spec) != 1:
        raise InvalidInputError(
            f"parameter {name!r} must name exactly one distribution, got {sorted(spec)!r}",
            field=field,
            hint=f"one of {', '.join(_KINDS)}, e.g. {name}: {{uniform: [0, 1]}}",
        )
    ((raw_kind, args),) = spec.items()
    kind = _ALIASES.get(str(raw_kind), str(raw_kind))
    try:
        if kind == "uniform":
            b = _bounds(name, kind, args, ("low", "high"))
            return uniform(b["low"], b["high"])
        if kind == "loguniform":
            b = _bounds(name, kind, args, ("low", "high"))
            return loguniform(b["low"], b["high"])
        if kind == "int":
            b = _bounds(name, kind, args, ("low", "high", "step", "log"))
            return intrange(b["low"], b["high"], b.get("step", 1), log=b.get("log", False))
        if kind == "choice":
            if not isinstance(args, list | tuple):
                raise InvalidInputError(
                    f"parameter {name!r}: choice needs a list of options, got {args!r}",
                    field=field,
                    hint=f"e.g. {name}: {{choice: [a, b]}}",
                )
            return choice(args)
    except InvalidInputError as exc:
        if exc.field == field:
            raise
        raise InvalidInputError(
            f"parameter {name!r}: {exc.message}", field=field, hint=exc.hint
        ) from None
    raise InvalidInputError(
        f"parameter {name!r}: unknown distribution {raw_kind!r}",
        field=field,
        hint=f"use one of {', '.join(_KINDS)}",
    )


def parse_space(space: SpaceLike) -> dict[str, Any]:
    """Turn a mapping (from YAML, JSON or code) into distributions, checking every entry.

    Entries that are already distributions pass through; a mapping with one key names a
    distribution (``uniform``, ``loguniform``, ``int``, ``choice``); any other value is
    :class:`Fixed` (passed to every trial, not searched).

    Raises:
        InvalidInputError: an unknown distribution or bad bounds; ``field`` is
            ``space.<param>``.
    """
    if not isinstance(space, Mapping):
        raise InvalidInputError(
            f"a search space is a mapping of parameter name to distribution, "
            f"got {type(space).__name__}",
            field="space",
            hint="e.g. {'lr': loguniform(1e-4, 1)} or, in YAML, lr: {loguniform: [1.0e-4, 1]}",
        )
    if not space:
        raise InvalidInputError("the search space is empty", field="space")
    parsed: dict[str, Any] = {}
    for name, spec in space.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidInputError(
                f"parameter names must be identifiers, got {name!r}", field=f"space.{name}"
            )
        parsed[name] = _parse_one(name, spec)
    return parsed


def load_space(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a search space from a YAML (or JSON) file; see the module docstring for the form.

    Raises:
        NotFoundError: the file does not exist.
        InvalidInputError: it does not parse, or an entry is not a valid distribution.
    """
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"no search-space file {str(file)!r}", uri=str(file)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"{file} is not valid YAML: {exc}", field="space", uri=str(file)
        ) from None
    return parse_space(data)


def space_to_dict(space: Mapping[str, Any]) -> dict[str, Any]:
    """The YAML/JSON form of a parsed space (what :func:`parse_space` reads back)."""
    return {name: dist.to_dict() for name, dist in parse_space(space).items()}

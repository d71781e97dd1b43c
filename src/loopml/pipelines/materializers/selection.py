"""Choosing a materializer: from a step's return type before the run, from the value after."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from loopml.errors import InvalidInputError
from loopml.pipelines.materializers.arrays import DataFrameMaterializer, NumpyMaterializer
from loopml.pipelines.materializers.base import (
    MISSING,
    Materializer,
    is_open_hint,
    strip_annotated,
    type_name,
)
from loopml.pipelines.materializers.json_ import JsonMaterializer
from loopml.pipelines.materializers.model import ModelMaterializer
from loopml.pipelines.materializers.path import PathMaterializer
from loopml.pipelines.materializers.pickle_ import PickleMaterializer
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.tracking.context import TrackingContext

__all__ = [
    "AutoMaterializer",
    "get_materializer",
    "materializer_for",
    "register_materializer",
    "unsupported_hint",
]

_PICKLE = PickleMaterializer()
#: Tried in order; pickle is never in this list (it is the explicit opt-in fallback).
_CHOICES: list[Materializer] = [
    PathMaterializer(),
    DataFrameMaterializer(),
    NumpyMaterializer(),
    ModelMaterializer(),
    JsonMaterializer(),
]
_BY_NAME: dict[str, Materializer] = {m.name: m for m in [*_CHOICES, _PICKLE]}
_LOCK = threading.Lock()

_SUPPORTED = (
    "return a pandas DataFrame, a numpy array, a JSON-able value (dict/list/str/int/float/"
    "bool/None), a model loopml.models can save, or a pathlib.Path; or declare "
    "@step(allow_pickle=True) to store it with cloudpickle"
)


class AutoMaterializer(Materializer):
    """Stands for "decided by the value": chosen before the run for a step without a usable
    return type (none, ``Any``, a union of unrelated types). Saving picks the concrete
    materializer from the value and records its name in the ref, so loading never sees
    ``auto``."""

    name: ClassVar[str] = "auto"
    version: ClassVar[int] = 1

    def __init__(self, *, allow_pickle: bool = False, step: str = "?") -> None:
        self.allow_pickle = allow_pickle
        self.step = step

    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        return True

    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        chosen = materializer_for(None, value, allow_pickle=self.allow_pickle, step=self.step)
        return chosen.save(value, ctx)

    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        return get_materializer(ref.materializer).load(ref, ctx)


def register_materializer(materializer: Materializer) -> None:
    """Add a materializer, tried before the built-in ones (a plugin's own types first).

    Raises:
        InvalidInputError: its name is taken by another materializer.
    """
    with _LOCK:
        taken = _BY_NAME.get(materializer.name)
        if taken is not None and type(taken) is not type(materializer):
            raise InvalidInputError(
                f"a materializer called {materializer.name!r} exists already", field="name"
            )
        if taken is None:
            _CHOICES.insert(0, materializer)
            _BY_NAME[materializer.name] = materializer


def get_materializer(name: str) -> Materializer:
    """The materializer called ``name`` (as recorded in an ArtifactRef).

    Raises:
        InvalidInputError: no such materializer (``field="materializer"``).

    Example:
        >>> get_materializer("numpy.npy").name
        'numpy.npy'
    """
    if name == AutoMaterializer.name:
        return AutoMaterializer()
    found = _BY_NAME.get(name)
    if found is None:
        raise InvalidInputError(
            f"unknown materializer {name!r}",
            field="materializer",
            hint=f"known: {', '.join(sorted(_BY_NAME))}",
        )
    return found


def materializer_for(
    type_hint: Any, value: Any = MISSING, *, allow_pickle: bool = False, step: str = "?"
) -> Materializer:
    """The materializer for a step output.

    Before the run, pass the return type alone (``value`` left MISSING): an unsupported type
    is refused then, before any step runs; a type that says nothing (none, ``Any``, a union
    of unrelated types) gives the :class:`AutoMaterializer`. At run time, pass the value
    too: it must fit the type's materializer (else, with ``allow_pickle``, it is pickled).

    Args:
        type_hint: The output's type (``Annotated[...]`` is unwrapped), or None.
        value: The value the step returned, or MISSING.
        allow_pickle: Whether the step may store outputs with cloudpickle.
        step: The step's name, for the error message.

    Raises:
        InvalidInputError: nothing stores the type or the value (``field="<step>.returns"``),
            saying what to return instead.

    Example:
        >>> import pandas as pd
        >>> materializer_for(pd.DataFrame).name
        'pandas.parquet'
        >>> materializer_for(None, {"auc": 0.9}).name
        'json'
    """
    hint = strip_annotated(type_hint)
    chosen = None if is_open_hint(hint) else _from_hint(hint)
    if value is MISSING:
        if chosen is not None:
            return chosen
        if is_open_hint(hint) or _is_union(hint):
            return AutoMaterializer(allow_pickle=allow_pickle, step=step)
        if allow_pickle:
            return _PICKLE
        raise unsupported_hint(step, hint)
    if chosen is not None and chosen.handles(hint, value):
        return chosen
    if chosen is None:  # the hint says nothing, or nothing safe: the value decides
        by_value = next((m for m in _CHOICES if m.handles(None, value)), None)
        if by_value is not None:
            return by_value
    if allow_pickle:
        return _PICKLE
    raise _unsupported_value(step, hint, value, chosen)


def _from_hint(hint: Any) -> Materializer | None:
    for materializer in _CHOICES:
        if materializer.handles(hint):
            return materializer
    return None


def _is_union(hint: Any) -> bool:
    import types
    import typing

    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _hint_name(hint: Any) -> str:
    if isinstance(hint, type):
        return f"{hint.__module__}.{hint.__qualname__}".removeprefix("builtins.")
    return repr(hint).removeprefix("typing.")


def unsupported_hint(step: str, hint: Any) -> InvalidInputError:
    """The error for a return type no materializer stores (raised before the run)."""
    return InvalidInputError(
        f"step {step!r} returns {_hint_name(hint)}, which loopml cannot store without pickle",
        field=f"{step}.returns",
        hint=_SUPPORTED,
    )


def _unsupported_value(
    step: str, hint: Any, value: Any, chosen: Materializer | None
) -> InvalidInputError:
    if chosen is not None:
        message = (
            f"step {step!r} is declared to return {_hint_name(hint)} but returned a "
            f"{type_name(value)} that the {chosen.name} materializer cannot store"
        )
    else:
        message = (
            f"step {step!r} returned a {type_name(value)}, which loopml cannot store without pickle"
        )
    return InvalidInputError(message, field=f"{step}.returns", hint=_SUPPORTED)

"""Pipeline params: check names against the signature and convert values to its hints.

Text (from ``--param k=v`` or a YAML file) is converted to the annotated type; other values
must already fit it. Errors name the param and what it accepts, before any step runs.
"""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from loopml.errors import InvalidInputError

__all__ = ["bind_params", "convert_value", "parse_param_args"]

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def convert_value(name: str, value: Any, hint: Any) -> Any:
    """``value`` converted to ``hint`` (text is parsed; other values are checked).

    Raises:
        InvalidInputError: the value cannot be ``hint``; ``field`` is ``name``.
    """
    if hint is Any or hint is inspect.Parameter.empty:
        return value
    try:
        return _convert(value, hint)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"param {name!r} must be {_type_name(hint)}, got {value!r}",
            field=name,
            hint=str(exc) or None,
        ) from None


def _convert(value: Any, hint: Any) -> Any:  # noqa: PLR0911 - one return per kind of hint
    origin = get_origin(hint)
    if origin is typing.Annotated:
        return _convert(value, get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return _convert_union(value, get_args(hint))
    if origin is Literal:
        choices = get_args(hint)
        for choice in choices:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"expected one of {list(choices)}")
    if origin in (list, tuple, dict, set, frozenset):
        return _convert_container(value, hint, origin)
    if hint in _SCALARS:
        return _SCALARS[hint](value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if isinstance(value, hint):
            return value
        try:
            return hint(value)
        except ValueError:
            return hint[str(value)]
    if isinstance(hint, type) and not isinstance(value, hint):
        if isinstance(value, str):
            return hint(value)
        raise TypeError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value


def _convert_union(value: Any, options: tuple[Any, ...]) -> Any:
    is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
    if is_none and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _convert(value, option)
        except (ValueError, TypeError) as exc:
            errors.append(str(exc))
    raise ValueError("; ".join(errors))


def _convert_container(value: Any, hint: Any, origin: Any) -> Any:
    if isinstance(value, str):
        value = json.loads(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError("expected a dict")
        return value
    if not isinstance(value, list | tuple | set | frozenset):
        raise TypeError(f"expected a {origin.__name__}")
    args = [a for a in get_args(hint) if a is not Ellipsis]
    if origin is tuple and len(args) > 1 and len(args) == len(value):
        return tuple(_convert(v, a) for v, a in zip(value, args, strict=True))
    inner = args[0] if args else Any
    return origin([v if inner is Any else _convert(v, inner) for v in value])


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError("expected true or false")


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise TypeError("expected an integer")
    if isinstance(value, str):
        return int(value.strip())
    if isinstance(value, int | float):
        return int(value)
    raise TypeError("expected an integer")


def _to_float(value: Any) -> float:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError("expected a number")


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError("expected text")


def _to_path(value: Any) -> Path:
    if isinstance(value, str | Path):
        return Path(value)
    raise TypeError("expected a path")


_SCALARS: dict[Any, Callable[[Any], Any]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
    Path: _to_path,
}


def bind_params(
    func: Callable[..., Any], params: Mapping[str, Any], *, pipeline: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check ``params`` against ``func``'s signature and convert them.

    Returns:
        ``(all params with defaults, only those given)``, converted.

    Raises:
        InvalidInputError: an unknown or missing param, or one that cannot be converted.
    """
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no conversion
        hints = {}
    accepted = [
        p.name
        for p in signature.parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    given: dict[str, Any] = {}
    for name, value in params.items():
        if name not in accepted and not takes_any:
            raise InvalidInputError(
                f"pipeline {pipeline!r} has no param {name!r}",
                field=name,
                hint=f"it takes: {', '.join(accepted)}" if accepted else "it takes no params",
            )
        given[name] = convert_value(name, value, hints.get(name, Any))
    full: dict[str, Any] = {}
    for p in signature.parameters.values():
        if p.name in given:
            full[p.name] = given[p.name]
        elif p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        elif p.default is inspect.Parameter.empty:
            raise InvalidInputError(
                f"pipeline {pipeline!r} needs param {p.name!r}",
                field=p.name,
                hint=f"pass it: --param {p.name}=...",
            )
        else:
            full[p.name] = p.default
    for name, value in given.items():
        full.setdefault(name, value)
    return full, given


def parse_param_args(items: list[str]) -> dict[str, str]:
    """``["lr=0.1", "name=a=b"]`` -> ``{"lr": "0.1", "name": "a=b"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"--param {item!r} is not key=value", field="param", hint="e.g. --param lr=0.1"
            )
        out[key.strip()] = value
    return out

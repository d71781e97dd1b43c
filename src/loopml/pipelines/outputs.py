"""A step's named outputs, read from its return annotation.

* no annotation or a plain type ``T``: one output called ``output``;
* ``Annotated[T, "name"]``: one output called ``name``;
* ``tuple[A, B]``: outputs ``output_0``, ``output_1`` (or the names of ``Annotated`` items);
* a dataclass: one output per field, named after the field;
* ``None``: no outputs.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from loopml.errors import InvalidInputError

__all__ = ["DEFAULT_OUTPUT", "OutputSpec", "output_specs", "split_outputs"]

DEFAULT_OUTPUT = "output"


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One named output of a step and the type hint that picks its materializer."""

    name: str
    hint: Any = Any


@dataclass(frozen=True, slots=True)
class _Shape:
    kind: str  # "none" | "single" | "tuple" | "dataclass"
    specs: tuple[OutputSpec, ...]
    cls: type | None = None


def _annotated_name(hint: Any) -> tuple[Any, str | None]:
    if get_origin(hint) is Annotated:
        base, *extra = get_args(hint)
        names = [item for item in extra if isinstance(item, str)]
        return base, (names[0] if names else None)
    return hint, None


def return_hint(func: Callable[..., Any]) -> Any:
    """The resolved return annotation of ``func`` (``Any`` when missing)."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable forward refs: fall back to the raw text
        raw = inspect.signature(func).return_annotation
        return Any if raw is inspect.Signature.empty else raw
    return hints.get("return", Any)


def shape_of(func: Callable[..., Any], step: str) -> _Shape:
    """How ``func``'s return value splits into named outputs."""
    hint = return_hint(func)
    if hint is None or hint is type(None):
        return _Shape("none", ())
    base, name = _annotated_name(hint)
    if name is not None:
        return _Shape("single", (OutputSpec(name, base),))
    if get_origin(hint) is tuple:
        items = get_args(hint)
        if not items or (len(items) == 2 and items[1] is Ellipsis):
            return _Shape("single", (OutputSpec(DEFAULT_OUTPUT, hint),))
        specs = []
        for index, item in enumerate(items):
            item_base, item_name = _annotated_name(item)
            specs.append(OutputSpec(item_name or f"{DEFAULT_OUTPUT}_{index}", item_base))
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise InvalidInputError(
                f"step {step!r} names two outputs the same: {names}",
                field=f"{step}.returns",
                hint='give each tuple item its own Annotated[T, "name"]',
            )
        return _Shape("tuple", tuple(specs))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        field_hints = typing.get_type_hints(hint, include_extras=True)
        specs = [OutputSpec(f.name, field_hints.get(f.name, Any)) for f in dataclasses.fields(hint)]
        return _Shape("dataclass", tuple(specs), hint)
    return _Shape("single", (OutputSpec(DEFAULT_OUTPUT, hint),))


def output_specs(func: Callable[..., Any], step: str) -> tuple[OutputSpec, ...]:
    """The named outputs of ``func`` (see the module docstring)."""
    return shape_of(func, step).specs


def split_outputs(value: Any, shape: _Shape, step: str) -> dict[str, Any]:
    """Split a step's return value into ``{output name: value}``."""
    if shape.kind == "none":
        return {}
    if shape.kind == "single":
        return {shape.specs[0].name: value}
    if shape.kind == "tuple":
        if not isinstance(value, tuple) or len(value) != len(shape.specs):
            raise InvalidInputError(
                f"step {step!r} must return a tuple of {len(shape.specs)} items, "
                f"got {type(value).__name__}",
                field=f"{step}.returns",
            )
        return {spec.name: item for spec, item in zip(shape.specs, value, strict=True)}
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise InvalidInputError(
            f"step {step!r} must return a {getattr(shape.cls, '__name__', 'dataclass')}, "
            f"got {type(value).__name__}",
            field=f"{step}.returns",
        )
    return {spec.name: getattr(value, spec.name) for spec in shape.specs}


def join_outputs(values: Mapping[str, Any], shape: _Shape) -> Any:
    """The inverse of :func:`split_outputs` (for calling a step outside a pipeline)."""
    if shape.kind == "none":
        return None
    if shape.kind == "single":
        return values[shape.specs[0].name]
    if shape.kind == "tuple":
        return tuple(values[spec.name] for spec in shape.specs)
    assert shape.cls is not None
    return shape.cls(**{spec.name: values[spec.name] for spec in shape.specs})

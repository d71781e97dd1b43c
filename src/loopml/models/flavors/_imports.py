"""Rebuilding a model's class at load: import paths, JSON-able constructor arguments.

Shared by the flavors that store a class rather than a pickle (``pyfunc``, ``torch``).
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Mapping
from typing import Any

from loopml.errors import InvalidInputError

__all__ = ["check_constructible", "import_object", "import_path_of", "json_init_args"]


def import_path_of(cls: type, *, field: str = "model") -> str:
    """``module:QualName`` of ``cls``, checked to import back to the same class.

    Raises:
        InvalidInputError: the class lives in ``__main__`` or inside a function, or its
            path does not lead back to it.
    """
    module, qualname = cls.__module__, cls.__qualname__
    where = f"{module}.{qualname}"
    if module == "__main__":
        raise InvalidInputError(
            f"{where} is defined in __main__ and could not be imported when the model loads",
            field=field,
            hint="move the class into a module file (e.g. my_models.py) and import it from there",
        )
    if "<locals>" in qualname:
        raise InvalidInputError(
            f"{where} is defined inside a function and cannot be imported when the model loads",
            field=field,
            hint="define the class at the top level of a module",
        )
    path = f"{module}:{qualname}"
    try:
        found = import_object(path)
    except InvalidInputError:
        found = None
    if found is not cls:
        raise InvalidInputError(
            f"{path} does not import back to the class of the model",
            field=field,
            hint="define the class at the top level of an importable module",
        )
    return path


def import_object(path: str) -> Any:
    """The object at ``module:QualName`` (imports the module).

    Raises:
        InvalidInputError: a malformed path, or nothing there (``field="import_path"``).
    """
    module_name, sep, qualname = path.partition(":")
    if not sep or not module_name or not qualname:
        raise InvalidInputError(f"not an import path: {path!r}", field="import_path")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"cannot import {path}: {exc}",
            field="import_path",
            hint="the module must be importable (installed, or on sys.path) where the model loads",
        ) from exc
    return obj


def json_init_args(value: Any, *, field: str = "init_args") -> dict[str, Any]:
    """``value`` as a JSON-able mapping of keyword arguments (``None`` -> empty).

    Raises:
        InvalidInputError: not a mapping with string keys, or a value JSON cannot hold.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError(f"{field} must be a mapping of argument name -> value", field=field)
    try:
        text = json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{field} must hold JSON values (str, int, float, bool, None, lists, dicts): {exc}",
            field=field,
            hint="keep weights and other objects out of the constructor arguments",
        ) from exc
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def check_constructible(cls: type, init_args: Mapping[str, Any], *, given: bool) -> None:
    """Raise a clear error when ``cls(**init_args)`` cannot be called.

    Raises:
        InvalidInputError: ``field="init_args"``.
    """
    try:
        inspect.signature(cls).bind(**init_args)
    except (TypeError, ValueError) as exc:
        what = "with these init_args" if given else "without arguments"
        raise InvalidInputError(
            f"{cls.__qualname__} cannot be built {what} at load: {exc}",
            field="init_args",
            hint="pass init_args={...} with the JSON-able arguments that rebuild the model",
        ) from exc

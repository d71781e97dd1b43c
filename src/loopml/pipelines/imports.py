"""Functions by import path (``module:qualname``), so workers can find a step's code.

A step defined in a script (``__main__``) or a test module is still importable in a worker:
its folder (the folder that makes its module name importable) travels with the task and is
put on the worker's ``sys.path``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from loopml.errors import InvalidInputError

__all__ = ["import_object", "import_path_of", "module_root"]


def module_root(module: ModuleType) -> str | None:
    """The folder that must be on ``sys.path`` for ``module`` to import by its name."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    name = module.__name__
    if name in ("__main__", "__mp_main__"):
        return str(path.parent)
    depth = name.count(".") + (1 if path.stem == "__init__" else 0)
    folder = path.parent
    for _ in range(depth):
        folder = folder.parent
    return str(folder)


def import_path_of(func: Callable[..., Any]) -> tuple[str, str | None, str | None]:
    """``(module:qualname, sys.path folder, file)`` of a module-level function."""
    module_name = getattr(func, "__module__", None) or "__main__"
    module = sys.modules.get(module_name)
    qualname = getattr(func, "__qualname__", getattr(func, "__name__", "?"))
    root = module_root(module) if module is not None else None
    file = getattr(module, "__file__", None) if module is not None else None
    return f"{module_name}:{qualname}", root, file


def _load_file(file: str) -> ModuleType:
    name = "_loopml_main_" + Path(file).stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_object(path: str, *, sys_path: Sequence[str] = (), file: str | None = None) -> Any:
    """The object at ``module:qualname``; ``sys_path`` folders are added first.

    A script's ``__main__`` that is not the running main module is loaded from ``file``.

    Raises:
        InvalidInputError: the path is malformed, the module or the object is not there.
    """
    module_name, sep, qualname = path.partition(":")
    if not sep or not module_name or not qualname:
        raise InvalidInputError(
            f"{path!r} is not module:object", field="target", hint="e.g. pipelines:churn"
        )
    for folder in sys_path:
        if folder and folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise InvalidInputError(
                f"cannot import module {module_name!r}: {exc}",
                field="target",
                hint="run from the folder that holds the module, as `python -m` would",
            ) from exc
        raise
    obj: Any = module
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        if module_name in ("__main__", "__mp_main__") and file:
            obj = _load_file(file)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            return obj
        names = sorted(n for n in vars(module) if not n.startswith("_"))
        raise InvalidInputError(
            f"module {module_name!r} has no object {qualname!r}",
            field="target",
            hint=f"it has: {', '.join(names[:20])}" if names else None,
        ) from None
    return obj

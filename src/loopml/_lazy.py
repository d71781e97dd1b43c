"""Lazy package exports: a package names what it exports and from which module, and each
name is imported on first use, so ``import loopml`` and ``loopml --help`` stay fast."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


class _GuardedPackage(types.ModuleType):
    """A package whose exported functions share names with its submodules (``add``,
    ``status``, ``step``, ``sweep`` ...). Importing a submodule makes Python set it as an
    attribute of its package, which would replace the function by the module; this keeps the
    function (the module stays in ``sys.modules`` for ``from pkg.add import ...``)."""

    _lazy_exports: Mapping[str, str]

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if name in exports and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, which exports each name of
    ``exports`` from the module it maps to.

    Example (in a package's ``__init__.py``)::

        __getattr__, __dir__ = lazy_exports(__name__, {"add": "loopml.data.add"})
    """
    module = sys.modules[package]
    module.__class__ = _GuardedPackage
    module.__dict__["_lazy_exports"] = dict(exports)
    namespace = module.__dict__

    def get_attribute(name: str) -> Any:
        source = exports.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    def list_names() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return get_attribute, list_names

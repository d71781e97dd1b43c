"""Versioned data: datasets as content-addressed, immutable versions with lineage.

Example:
    >>> import loopml
    >>> v = loopml.data.add("data/raw/", name="churn-raw")            # doctest: +SKIP
    >>> t = loopml.data.log_table(df, name="churn-features")           # doctest: +SKIP
    >>> df = loopml.data.load("datasets:/churn-features@latest")       # doctest: +SKIP
    >>> path = loopml.data.get("datasets:/churn-raw/3")                # doctest: +SKIP

Functions are imported on first use, so ``import loopml`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "add": "loopml.data.add",
    "status": "loopml.data.status",
    "checkout": "loopml.data.checkout",
    "get": "loopml.data.checkout",
    "list_datasets": "loopml.data.catalog",
    "versions": "loopml.data.catalog",
    "resolve": "loopml.data.catalog",
    "files": "loopml.data.catalog",
    "log_table": "loopml.data.tables",
    "load": "loopml.data.tables",
    "profile": "loopml.data.tables",
    "diff": "loopml.data.diff",
    "push": "loopml.data.remote",
    "pull": "loopml.data.remote",
    "lineage": "loopml.data.lineage",
    "DatasetRef": "loopml.data.uris",
    "parse_dataset_uri": "loopml.data.uris",
}

__all__ = [
    "DatasetRef",
    "add",
    "checkout",
    "diff",
    "files",
    "get",
    "lineage",
    "list_datasets",
    "load",
    "log_table",
    "parse_dataset_uri",
    "profile",
    "pull",
    "push",
    "resolve",
    "status",
    "versions",
]

if TYPE_CHECKING:
    from loopml.data.add import add
    from loopml.data.catalog import files, list_datasets, resolve, versions
    from loopml.data.checkout import checkout, get
    from loopml.data.diff import diff
    from loopml.data.lineage import lineage
    from loopml.data.remote import pull, push
    from loopml.data.status import status
    from loopml.data.tables import load, log_table, profile
    from loopml.data.uris import DatasetRef, parse_dataset_uri


class _DataPackage(types.ModuleType):
    """``loopml.data`` itself. Importing a submodule makes Python set it as an attribute of
    its package; where a function has its module's name (``add``, ``status``, ``checkout``,
    ``diff``, ``lineage``), that would replace the function by the module. The function stays;
    the module is still in ``sys.modules`` for ``from loopml.data.diff import ...``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _DataPackage


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

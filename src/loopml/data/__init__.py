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

from typing import TYPE_CHECKING

from loopml._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""The metadata store: the :class:`Store` interface and :func:`open_store`."""

from __future__ import annotations

from loopml.store.base import LifecycleFilter, Store
from loopml.store.factory import open_store

__all__ = ["LifecycleFilter", "Store", "open_store"]

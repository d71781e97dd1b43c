"""The per-process tracking context: settings, the Store, the ObjectStore and the writer.

Created on first use from :func:`loopml.config.load_settings`; :func:`configure` replaces it.
A forked child starts with a fresh context (its parent's writer thread does not exist there).
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

from loopml.config import Settings, load_settings
from loopml.store import Store, open_store
from loopml.tracking.writer import BackgroundWriter

if TYPE_CHECKING:
    from loopml.objects import ObjectStore

__all__ = ["TrackingContext", "configure", "get_context", "reset_context"]


class TrackingContext:
    """Lazily opened connections for one process and one set of settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._objects: ObjectStore | None = None
        self._writer: BackgroundWriter | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        """The metadata store (opened, and migrated, on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.settings.tracking_uri)
        return self._store

    @property
    def objects(self) -> ObjectStore:
        """The blob store for artifacts."""
        if self._objects is None:
            from loopml.objects import ObjectStore

            with self._lock:
                if self._objects is None:
                    self._objects = ObjectStore(self.settings.artifact_uri)
        return self._objects

    @property
    def writer(self) -> BackgroundWriter:
        """The background writer in front of :attr:`store`."""
        if self._writer is None:
            store = self.store
            with self._lock:
                if self._writer is None:
                    self._writer = BackgroundWriter(store)
        return self._writer

    def flush(self) -> None:
        """Write everything queued; raise the first write error since the last flush."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush, stop the writer and close the stores."""
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            if self._store is not None:
                self._store.close()
            if self._objects is not None:
                self._objects.close()
            self._writer = None
            self._store = None
            self._objects = None


_context: TrackingContext | None = None
_context_lock = threading.Lock()


def get_context() -> TrackingContext:
    """The process's tracking context, created from settings on first use."""
    global _context
    if _context is None:
        with _context_lock:
            if _context is None:
                _context = TrackingContext(load_settings())
    return _context


def configure(
    *,
    tracking_uri: str | None = None,
    artifact_uri: str | None = None,
    project: str | None = None,
    token: str | None = None,
) -> Settings:
    """Point this process at other stores (arguments override environment and config file).

    Flushes and closes the previous context first.

    Example:
        >>> import loopml
        >>> loopml.configure(tracking_uri="sqlite:///tmp/demo.db")  # doctest: +SKIP
    """
    global _context
    settings = load_settings(
        tracking_uri=tracking_uri, artifact_uri=artifact_uri, project=project, token=token
    )
    with _context_lock:
        old, _context = _context, TrackingContext(settings)
    if old is not None:
        old.close()
    return settings


def reset_context() -> None:
    """Flush and drop the context; the next use re-reads settings."""
    global _context
    with _context_lock:
        old, _context = _context, None
    if old is not None:
        old.close()


def _after_fork_in_child() -> None:
    global _context, _context_lock
    _context = None
    _context_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _flush_at_exit() -> None:
    # Runs before daemon threads are stopped: end open runs, then write what is queued.
    from loopml.tracking.fluent import _end_runs_at_exit

    _end_runs_at_exit()
    if _context is not None:
        try:
            _context.close()
        except Exception as exc:  # noqa: BLE001 - at exit the only thing left is to tell
            import sys

            print(f"loopml: values not written at exit: {exc}", file=sys.stderr)

"""Ids and timestamps: sortable hex ids (UUIDv7 layout) and UTC integer milliseconds."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id", "now_ms"]

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def now_ms() -> int:
    """Milliseconds since the Unix epoch, UTC."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A new 32-character hex id that sorts by creation time (UUIDv7 layout).

    Ids made in the same millisecond by one process still sort in creation order: a 12-bit
    counter fills the ``rand_a`` field.

    Example:
        >>> a, b = new_id(), new_id()
        >>> len(a), a < b
        (32, True)
    """
    global _last_ms, _counter
    with _lock:
        ms = now_ms()
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0x2 << 62 | rand
    return f"{value:032x}"


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)

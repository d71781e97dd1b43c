"""Progress reports from long data operations, for whoever shows them (the CLI's Rich bars).

A report is ``report(phase, done, total)``: the phase (``"hashing"``, ``"storing"``,
``"checking out"``…), and how many bytes of the phase's ``total`` are done. The library never
prints; a :class:`Meter` forwards at most a few reports per second, from any thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Meter", "ProgressFn"]

#: ``report(phase, done, total)``; called from one thread at a time, possibly not the caller's.
ProgressFn = Callable[[str, int, int], None]
_INTERVAL_S = 0.1


class Meter:
    """Counts progress of one phase and forwards it to ``report`` (if any), throttled."""

    def __init__(self, report: ProgressFn | None, phase: str, total: int) -> None:
        self._report = report
        self._phase = phase
        self._total = total
        self._done = 0
        self._next = 0.0
        self._lock = threading.Lock()

    def advance(self, amount: int) -> None:
        """Add ``amount`` done (thread-safe)."""
        if self._report is None:
            return
        with self._lock:
            self._done += amount
            now = time.monotonic()
            if now < self._next:
                return
            self._next = now + _INTERVAL_S
            self._report(self._phase, self._done, self._total)

    def finish(self) -> None:
        """Report the phase as complete."""
        if self._report is not None:
            with self._lock:
                self._report(self._phase, self._total, self._total)

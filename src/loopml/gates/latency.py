"""Latency of ``predict`` on a batch: warm up, repeat, report percentiles.

The clock is :func:`time.perf_counter_ns`; each repeat times one call of ``predict`` on the
same batch, after a few untimed warm-up calls (caches, lazy initialisation, JIT).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from loopml.errors import InvalidInputError

__all__ = ["LatencyResult", "measure_latency"]


@dataclass(frozen=True, slots=True)
class LatencyResult:
    """Milliseconds per ``predict`` call on a batch of ``batch_rows`` rows."""

    batch_rows: int
    repeats: int
    warmup: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping."""
        return asdict(self)


def measure_latency(
    predict: Callable[[Any], Any],
    batch: Any,
    *,
    repeats: int = 50,
    warmup: int = 3,
    budget_s: float = 10.0,
) -> LatencyResult:
    """Time ``predict(batch)``: ``warmup`` untimed calls, then up to ``repeats`` timed ones.

    Args:
        predict: The function to time (a model's ``predict``).
        batch: Its input (e.g. the first 100 rows of the evaluation data).
        repeats: Timed calls (fewer if ``budget_s`` runs out, but at least 5).
        warmup: Untimed calls first.
        budget_s: Stop repeating after this many seconds of timed calls.

    Raises:
        InvalidInputError: ``repeats < 1`` or ``warmup < 0``.

    Example:
        >>> measure_latency(lambda x: x, [1, 2, 3], repeats=5).repeats
        5
    """
    if repeats < 1 or warmup < 0:
        raise InvalidInputError(
            "latency needs repeats >= 1 and warmup >= 0", field="latency", hint="e.g. repeats=50"
        )
    for _ in range(warmup):
        predict(batch)
    timings: list[int] = []
    budget_ns = int(budget_s * 1e9)
    spent = 0
    while len(timings) < repeats:
        start = time.perf_counter_ns()
        predict(batch)
        elapsed = time.perf_counter_ns() - start
        timings.append(elapsed)
        spent += elapsed
        if spent > budget_ns and len(timings) >= min(5, repeats):
            break
    ms = np.asarray(timings, dtype=float) / 1e6
    p50, p95, p99 = (float(v) for v in np.percentile(ms, [50, 95, 99]))
    return LatencyResult(
        batch_rows=len(batch),
        repeats=len(timings),
        warmup=warmup,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        mean_ms=float(ms.mean()),
        max_ms=float(ms.max()),
    )

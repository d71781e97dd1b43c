"""Paired bootstrap of the difference between two models on the same rows.

Each resample draws rows with replacement, and *the same rows* score both models, so the
noise that the evaluation set shares between them cancels out. The percentile interval of
``challenger - champion`` at the chosen confidence says whether a change is real: an
improvement (or a regression) whose interval includes 0 is "not significant".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from loopml.errors import InvalidInputError
from loopml.gates.metrics import Predictions, Target, compute_metrics, higher_is_better
from loopml.gates.resampled import ResampledScorer, counts_from_indices

__all__ = ["BootstrapResult", "Verdict", "paired_bootstrap"]

Verdict = Literal["improvement", "regression", "no change"]

#: resample-by-row cells per chunk (bounds the working memory to a few hundred MB)
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """The observed difference of one metric and its bootstrap confidence interval.

    ``difference`` is ``challenger - champion``; ``verdict`` is read in the metric's own
    direction (a lower log loss is an improvement). ``significant`` is True when the interval
    excludes 0.
    """

    metric: str
    champion: float
    challenger: float
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    resamples: int
    valid_resamples: int
    higher_is_better: bool
    verdict: Verdict
    significant: bool

    @property
    def summary(self) -> str:
        """``improvement (significant)``, ``regression (not significant)``, ``no change``."""
        if self.verdict == "no change":
            return "no change"
        return f"{self.verdict} ({'significant' if self.significant else 'not significant'})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (with ``summary``)."""
        return {**asdict(self), "summary": self.summary}


def _chunks(rng: np.random.Generator, rows: int, resamples: int) -> Iterator[np.ndarray]:
    per_chunk = max(1, _CHUNK_CELLS // max(rows, 1))
    done = 0
    while done < resamples:
        size = min(per_chunk, resamples - done)
        yield rng.integers(0, rows, size=(size, rows))
        done += size


def _verdict(metric: str, difference: float) -> Verdict:
    if difference == 0:
        return "no change"
    better = difference > 0 if higher_is_better(metric) else difference < 0
    return "improvement" if better else "regression"


def paired_bootstrap(
    target: Target,
    champion: Predictions,
    challenger: Predictions,
    *,
    metrics: Sequence[str] | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | None = None,
) -> list[BootstrapResult]:
    """Bootstrap ``challenger - champion`` for every metric both models have.

    Args:
        target: The true values (and classes) of the evaluation rows.
        champion: The champion's predictions on those rows.
        challenger: The challenger's predictions on the same rows.
        metrics: Only these metrics (default: every metric both models have).
        resamples: How many resamples (with replacement, the size of the data).
        confidence: The interval's confidence level, in (0, 1).
        seed: Seed for the resampling, for reproducible intervals.

    Returns:
        One result per metric, in the task's metric order.

    Raises:
        InvalidInputError: ``resamples < 1`` or ``confidence`` outside (0, 1).

    Example:
        >>> results = paired_bootstrap(target, old, new, seed=0)  # doctest: +SKIP
        >>> results[0].summary                                     # doctest: +SKIP
        'improvement (significant)'
    """
    if resamples < 1:
        raise InvalidInputError("resamples must be at least 1", field="bootstrap")
    if not 0 < confidence < 1:
        raise InvalidInputError(
            f"confidence {confidence} is not between 0 and 1", field="confidence", hint="e.g. 0.95"
        )
    observed_a = compute_metrics(target, champion)
    observed_b = compute_metrics(target, challenger)
    names = [
        m
        for m in (metrics or observed_a)
        if observed_a.get(m) is not None and observed_b.get(m) is not None
    ]
    if not names or len(target.y) == 0:
        return []
    rng = np.random.default_rng(seed)
    rows = len(target.y)
    score_a, score_b = ResampledScorer(target, champion), ResampledScorer(target, challenger)
    diffs: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for idx in _chunks(rng, rows, resamples):
        counts = counts_from_indices(idx, rows)  # the same rows for both models: paired
        a, b = score_a(counts), score_b(counts)
        for name in names:
            diffs[name].append(b[name] - a[name])
    alpha = (1 - confidence) / 2
    results = []
    for name in names:
        values = np.concatenate(diffs[name])
        valid = values[~np.isnan(values)]
        if valid.size:
            low, high = (float(q) for q in np.quantile(valid, [alpha, 1 - alpha]))
        else:
            low = high = float("nan")
        champ, chall = float(observed_a[name] or 0.0), float(observed_b[name] or 0.0)
        difference = chall - champ
        significant = bool(valid.size) and (low > 0 or high < 0)
        results.append(
            BootstrapResult(
                metric=name,
                champion=champ,
                challenger=chall,
                difference=difference,
                ci_low=low,
                ci_high=high,
                confidence=confidence,
                resamples=resamples,
                valid_resamples=int(valid.size),
                higher_is_better=higher_is_better(name),
                verdict=_verdict(name, difference),
                significant=significant,
            )
        )
    return results

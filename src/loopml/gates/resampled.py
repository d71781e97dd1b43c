"""The gate's metrics over many resamples at once, with numpy.

A resample is given by its *counts*: how many times each row was drawn (a ``(resamples,
rows)`` matrix; :func:`counts_from_indices` builds it from drawn row indices). Every metric
of :mod:`loopml.gates.metrics` is then a weighted sum over rows, so a thousand resamples cost
one matrix product (``counts @ per_row_values``) instead of a thousand scikit-learn calls.
ROC AUC is the Mann-Whitney statistic with ties counted as half, from one sort of the scores
(done once) and cumulative sums of the counts. Undefined values (a resample with one class,
for ROC AUC) are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loopml.gates.metrics import Predictions, Target

__all__ = ["ResampledScorer", "counts_from_indices", "resampled_metrics"]


def counts_from_indices(idx: np.ndarray, rows: int) -> np.ndarray:
    """``(resamples, rows)`` draw counts from a ``(resamples, draws)`` matrix of row indices."""
    resamples = idx.shape[0]
    flat = (np.arange(resamples)[:, None] * rows + idx).ravel()
    counts = np.bincount(flat, minlength=resamples * rows).reshape(resamples, rows)
    return counts.astype(float)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's ``zero_division=0``)."""
    out = np.zeros(np.shape(num), dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


@dataclass(frozen=True, slots=True)
class _AucPlan:
    """One binary ROC AUC, prepared once: rows in score order, tie groups, positives."""

    order: np.ndarray  # rows sorted by score
    positives: np.ndarray  # positions (in sorted order) of positive rows
    start: np.ndarray  # for each positive position: first position of its tie group
    stop: np.ndarray  # ... and one past its last
    positive_mask: np.ndarray  # by row

    @classmethod
    def build(cls, positive: np.ndarray, score: np.ndarray) -> _AucPlan:
        order = np.argsort(score, kind="stable")
        ranked = score[order]
        new_group = np.r_[True, ranked[1:] != ranked[:-1]]
        group = np.cumsum(new_group) - 1
        first = np.flatnonzero(new_group)
        stops = np.r_[first[1:], len(ranked)]
        positions = np.flatnonzero(positive[order])
        return cls(order, positions, first[group[positions]], stops[group[positions]], positive)

    def auc(self, counts: np.ndarray) -> np.ndarray:
        """Per resample: P(score of a positive > score of a negative), ties counting half."""
        weights = counts[:, self.order]
        negatives = weights * ~self.positive_mask[self.order]
        below = np.zeros((len(counts), weights.shape[1] + 1))
        np.cumsum(negatives, axis=1, out=below[:, 1:])
        lower = below[:, self.start]
        tied = below[:, self.stop] - lower
        u = (weights[:, self.positives] * (lower + 0.5 * tied)).sum(axis=1)
        n_pos = counts @ self.positive_mask.astype(float)
        n_neg = counts.sum(axis=1) - n_pos
        out = np.full(len(counts), np.nan)
        np.divide(u, n_pos * n_neg, out=out, where=(n_pos > 0) & (n_neg > 0))
        return out


class ResampledScorer:
    """One model's metrics on any number of resamples, with per-row work done once.

    Example:
        >>> scorer = ResampledScorer(target, predictions)          # doctest: +SKIP
        >>> scorer(counts)["accuracy"]                              # doctest: +SKIP
        array([0.91, 0.93, ...])
    """

    def __init__(self, target: Target, pred: Predictions) -> None:
        self.task = target.task
        columns: dict[str, np.ndarray] = {}
        self._auc: list[_AucPlan] = []
        self._classes = 0
        if target.task == "regression":
            err = pred.values - target.y
            centred = target.y - target.y.mean() if len(target.y) else target.y
            columns |= {"abs": np.abs(err), "sq": err**2, "y": centred, "y2": centred**2}
        else:
            columns["correct"] = pred.values == target.y
            labels = [target.positive] if target.binary else list(target.classes)
            self._classes = len(labels)
            for k, label in enumerate(labels):
                truth, guess = target.y == label, pred.values == label
                columns |= {f"tp{k}": truth & guess, f"fp{k}": ~truth & guess}
                columns[f"fn{k}"] = truth & ~guess
            if pred.proba is not None and len(target.classes) >= 2:
                columns["loss"] = _log_loss_rows(target, pred.proba)
                scored = [1] if target.binary else range(len(target.classes))
                self._auc = [
                    _AucPlan.build(target.y == target.classes[k], pred.proba[:, k]) for k in scored
                ]
        self._names = list(columns)
        self._matrix = np.column_stack([np.asarray(v, dtype=float) for v in columns.values()])

    def __call__(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric on each resample (row of ``counts``)."""
        sums = dict(zip(self._names, (counts @ self._matrix).T, strict=True))
        n = counts.sum(axis=1)
        if self.task == "regression":
            ss_res = sums["sq"]
            ss_tot = sums["y2"] - _ratio(sums["y"] ** 2, n)
            varied = ss_tot > 1e-12 * np.maximum(sums["y2"], 1.0)  # float noise is not spread
            ratio = np.zeros_like(ss_res)
            np.divide(ss_res, ss_tot, out=ratio, where=varied)
            # scikit-learn's force_finite: a constant target scores 1 if fit exactly, else 0
            r2 = np.where(varied, 1 - ratio, np.where(ss_res == 0, 1.0, 0.0))
            return {
                "mae": _ratio(sums["abs"], n),
                "rmse": np.sqrt(_ratio(ss_res, n)),
                "r2": r2,
            }
        out = {"accuracy": _ratio(sums["correct"], n)}
        out |= self._prf(sums)
        if self._auc:
            out["log_loss"] = _ratio(sums["loss"], n)
            per_class = np.stack([plan.auc(counts) for plan in self._auc])
            out["roc_auc"] = _mean_over_classes(per_class)
        return out

    def _prf(self, sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        shape = sums["correct"].shape
        totals = {"precision": np.zeros(shape), "recall": np.zeros(shape), "f1": np.zeros(shape)}
        present = np.zeros(shape)
        for k in range(self._classes):
            tp, fp, fn = sums[f"tp{k}"], sums[f"fp{k}"], sums[f"fn{k}"]
            # binary: the positive class alone; macro: labels in y_true or y_pred
            seen = np.ones(shape) if self._classes == 1 else ((tp + fp + fn) > 0).astype(float)
            present += seen
            totals["precision"] += _ratio(tp, tp + fp) * seen
            totals["recall"] += _ratio(tp, tp + fn) * seen
            totals["f1"] += _ratio(2 * tp, 2 * tp + fp + fn) * seen
        return {name: _ratio(total, present) for name, total in totals.items()}


def _mean_over_classes(per_class: np.ndarray) -> np.ndarray:
    """The mean over classes of the defined (non-NaN) values; NaN where none is."""
    valid = ~np.isnan(per_class)
    total = np.where(valid, per_class, 0.0).sum(axis=0)
    count = valid.sum(axis=0)
    out = np.full(per_class.shape[1], np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def _log_loss_rows(target: Target, proba: np.ndarray) -> np.ndarray:
    eps = np.finfo(proba.dtype).eps
    index = {label: k for k, label in enumerate(target.classes.tolist())}
    column = np.fromiter((index[v] for v in target.y.tolist()), dtype=np.intp, count=len(target.y))
    p_true = np.clip(proba, eps, 1 - eps)[np.arange(len(column)), column]
    return np.asarray(-np.log(p_true), dtype=float)


def resampled_metrics(
    target: Target, pred: Predictions, counts: np.ndarray
) -> dict[str, np.ndarray]:
    """Each metric of ``target.task`` for ``pred`` on each resample (row of ``counts``).

    Metrics a model cannot have (probability metrics without ``predict_proba``) are absent.
    """
    return ResampledScorer(target, pred)(counts)

"""The gate's core: score two models on one DataFrame and run every check.

No URIs, no registry: :func:`evaluate_models` takes objects with ``predict`` (and maybe
``predict_proba``) and the evaluation data, so it works for loaded packages and plain
scikit-learn estimators alike. :func:`loopml.gates.run_gate` loads, calls this, promotes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loopml.errors import InvalidInputError
from loopml.gates.bootstrap import paired_bootstrap
from loopml.gates.criteria import (
    Check,
    MaxRegression,
    Requirement,
    check_metrics_for_task,
    parse_max_regression,
    parse_requirement,
)
from loopml.gates.latency import LatencyResult, measure_latency
from loopml.gates.metrics import (
    TASKS,
    Predictions,
    Predictor,
    Target,
    Task,
    align,
    collect_outputs,
    compute_metrics,
    input_columns,
    make_target,
    resolve_task,
)
from loopml.gates.report import DataRef, GateReport, ModelRef
from loopml.gates.slices import evaluate_slices, slice_checks

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GateSpec", "evaluate_models"]


@dataclass(frozen=True)
class GateSpec:
    """What to check, parsed and validated (bad values raise InvalidInputError at once)."""

    target: str
    require: Sequence[str | Requirement] = ()
    max_regression: Sequence[str | MaxRegression] = ()
    slices: Sequence[str] = ()
    latency_p95_ms: float | None = None
    task: str = "auto"
    bootstrap: int = 1000
    confidence: float = 0.95
    seed: int | None = None
    min_slice_rows: int = 30
    latency_batch_rows: int = 100
    requirements: tuple[Requirement, ...] = field(init=False)
    regressions: tuple[MaxRegression, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "requirements", tuple(map(parse_requirement, self.require)))
        object.__setattr__(
            self, "regressions", tuple(map(parse_max_regression, self.max_regression))
        )
        problems = [
            ("task", self.task not in TASKS, "use auto, classification or regression"),
            ("bootstrap", self.bootstrap < 0, "a number of resamples, 0 to skip, e.g. 1000"),
            ("confidence", not 0 < self.confidence < 1, "between 0 and 1, e.g. 0.95"),
            ("min_slice_rows", self.min_slice_rows < 1, "at least 1, e.g. 30"),
            ("latency_batch_rows", self.latency_batch_rows < 1, "at least 1, e.g. 100"),
            (
                "latency_p95_ms",
                self.latency_p95_ms is not None and not self.latency_p95_ms > 0,
                "milliseconds, more than 0",
            ),
        ]
        for name, bad, hint in problems:
            if bad:
                value = getattr(self, name)
                raise InvalidInputError(f"bad {name}: {value!r}", field=name, hint=hint)
        if isinstance(self.slices, str):
            object.__setattr__(self, "slices", (self.slices,))

    def settings(self) -> dict[str, object]:
        """The knobs that shaped the result, for the report."""
        return {
            "bootstrap": self.bootstrap,
            "confidence": self.confidence,
            "seed": self.seed,
            "min_slice_rows": self.min_slice_rows,
            "latency_batch_rows": self.latency_batch_rows,
            "require": [str(r) for r in self.requirements],
            "max_regression": [str(r) for r in self.regressions],
            "slices": list(self.slices),
            "latency_p95_ms": self.latency_p95_ms,
        }


def check_columns(frame: pd.DataFrame, spec: GateSpec) -> None:
    """Raise InvalidInputError (``field="target"``/``"slice"``) for columns the data lacks."""
    columns = [str(c) for c in frame.columns]
    shown = ", ".join(columns[:20]) + (" ..." if len(columns) > 20 else "")
    for name, wanted in [("target", [spec.target]), ("slice", list(spec.slices))]:
        for column in wanted:
            if column not in frame.columns:
                raise InvalidInputError(
                    f"the data has no column {column!r}", field=name, hint=f"columns: {shown}"
                )
    if spec.target in spec.slices:
        raise InvalidInputError("the target cannot be a slice column", field="slice")
    if len(frame) == 0:
        raise InvalidInputError("the evaluation data has no rows", field="data")
    missing = int(frame[spec.target].isna().sum())
    if missing:
        raise InvalidInputError(
            f"the target column {spec.target!r} has {missing} missing values",
            field="target",
            hint="drop or fill those rows before logging the evaluation table",
        )


def _latency(model: Predictor, batch: pd.DataFrame) -> LatencyResult:
    return measure_latency(model.predict, input_columns(model, batch))


def evaluate_models(
    challenger: Predictor,
    champion: Predictor | None,
    frame: pd.DataFrame,
    spec: GateSpec,
    *,
    challenger_ref: ModelRef,
    champion_ref: ModelRef | None = None,
    data_ref: DataRef | None = None,
    champion_note: str | None = None,
) -> GateReport:
    """Score ``challenger`` (and ``champion``) on ``frame`` and run every check of ``spec``.

    With no champion, only the requirements and the latency limit are checked.

    Raises:
        InvalidInputError: a missing target or slice column, or a criterion on a metric the
            task does not have.
    """
    check_columns(frame, spec)
    y = frame[spec.target]
    X = frame.drop(columns=[spec.target])  # noqa: N806 - scikit-learn's name
    task: Task = resolve_task(spec.task, y)
    check_metrics_for_task(task, spec.requirements, spec.regressions)

    outputs = [collect_outputs(challenger, X, task)]
    if champion is not None:
        outputs.append(collect_outputs(champion, X, task))
    target = make_target(task, y, outputs)
    preds = [align(o, target) for o in outputs]
    new: Predictions = preds[0]
    old: Predictions | None = preds[1] if champion is not None else None

    metrics = {"challenger": compute_metrics(target, new)}
    if old is not None:
        metrics["champion"] = compute_metrics(target, old)
    checks = _checks(spec, metrics, new, old)
    slices = evaluate_slices(frame, spec.slices, target, new, old, min_rows=spec.min_slice_rows)
    checks += slice_checks(slices, spec.regressions)
    batch = X.iloc[: spec.latency_batch_rows]
    latency = {"challenger": _latency(challenger, batch)}
    if champion is not None:
        latency["champion"] = _latency(champion, batch)
    if spec.latency_p95_ms is not None:
        checks.append(_latency_check(latency["challenger"], spec.latency_p95_ms))
    bootstrap = (
        paired_bootstrap(
            target, old, new, resamples=spec.bootstrap, confidence=spec.confidence, seed=spec.seed
        )
        if old is not None and spec.bootstrap > 0
        else []
    )
    notes = _notes(new, old, target)
    return GateReport(
        passed=all(c.status != "failed" for c in checks),
        task=task,
        target=spec.target,
        challenger=challenger_ref,
        champion=champion_ref if champion is not None else None,
        champion_note=champion_note,
        data=data_ref or DataRef(uri="<DataFrame>", resolved=None, rows=len(frame)),
        checks=checks,
        metrics=metrics,
        bootstrap=bootstrap,
        slices=slices,
        latency=latency,
        notes=notes,
        settings=spec.settings(),
        created_at=int(time.time() * 1000),
    )


def _checks(
    spec: GateSpec,
    metrics: dict[str, dict[str, float | None]],
    new: Predictions,
    old: Predictions | None,
) -> list[Check]:
    checks = [
        r.evaluate(metrics["challenger"].get(r.metric), note=new.note) for r in spec.requirements
    ]
    if old is not None:
        checks += [
            r.evaluate(metrics["champion"].get(r.metric), metrics["challenger"].get(r.metric))
            for r in spec.regressions
        ]
    return checks


def _latency_check(latency: LatencyResult, limit_ms: float) -> Check:
    ok = latency.p95_ms <= limit_ms
    detail = (
        f"p95 of predict on {latency.batch_rows} rows = {latency.p95_ms:.3g} ms "
        f"({'within' if ok else 'over'} {limit_ms:g} ms; {latency.repeats} calls)"
    )
    return Check(f"latency p95 <= {limit_ms:g} ms", "latency", ok, latency.p95_ms, limit_ms, detail)


def _notes(new: Predictions, old: Predictions | None, target: Target) -> list[str]:
    notes = []
    if target.task == "classification":
        if new.note:
            notes.append(f"challenger: {new.note} (no roc_auc, log_loss)")
        if old is not None and old.note:
            notes.append(f"champion: {old.note} (no roc_auc, log_loss)")
    return notes

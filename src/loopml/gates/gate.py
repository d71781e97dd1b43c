"""``run_gate``: may the challenger replace the champion? Load, evaluate, promote on pass."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInputError, NotFoundError
from loopml.gates.criteria import MaxRegression, Requirement
from loopml.gates.evaluate import GateSpec, evaluate_models
from loopml.gates.report import DataRef, GateReport, ModelRef

if TYPE_CHECKING:
    from loopml.models import LoadedModel

__all__ = ["run_gate"]

_ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def _check_promote(alias: str | None) -> None:
    if alias is None:
        return
    if not _ALIAS.fullmatch(alias) or alias == "latest":
        raise InvalidInputError(
            f"cannot promote to alias {alias!r}",
            field="promote",
            hint="an alias is lowercase letters, digits, _ and - (not 'latest'), e.g. champion",
        )


def _is_alias_uri(uri: str) -> bool:
    """``models:/NAME@ALIAS``: the one kind of champion that may not exist yet."""
    return uri.startswith("models:/") and "@" in uri


def _ref(model: LoadedModel, uri: str) -> ModelRef:
    version = getattr(model, "model_version", None)
    if version is None:
        return ModelRef(uri=uri)
    return ModelRef(uri=uri, resolved=version.uri, name=version.name, version=version.version)


def _load_data(uri: str) -> tuple[Any, DataRef]:
    import loopml.data

    version = loopml.data.resolve(uri)  # one concrete version, even for @latest
    frame = loopml.data.load(version.uri)
    return frame, DataRef(uri=uri, resolved=version.uri, rows=len(frame))


def run_gate(
    challenger: str,
    *,
    data: str,
    target: str,
    against: str | None = None,
    require: Sequence[str | Requirement] = (),
    max_regression: Sequence[str | MaxRegression] = (),
    slices: Sequence[str] = (),
    latency_p95_ms: float | None = None,
    task: str = "auto",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int | None = None,
    min_slice_rows: int = 30,
    latency_batch_rows: int = 100,
    promote: str | None = None,
) -> GateReport:
    """Judge ``challenger`` against ``against`` on one version of ``data``.

    Both models are scored on the same dataset version (``@latest`` is resolved once). The
    gate passes when every requirement holds, no metric regresses beyond its tolerance overall
    or on any slice with at least ``min_slice_rows`` rows, and the challenger's p95 latency is
    within ``latency_p95_ms``. If ``against`` is an alias that names no model yet (a first
    deployment), the challenger is judged on the requirements (and latency) alone and the
    report says so; a pinned version (``models:/churn/3``) that does not exist is an error.

    Args:
        challenger: The candidate model URI (``models:/churn/4``, ``models:/churn@challenger``,
            ``runs:/<id>/model`` or a package folder).
        data: The evaluation table, ``datasets:/<name>/<version>`` or ``datasets:/<name>@latest``.
        target: The column holding the true values; every other column is model input.
        against: The champion's URI (``models:/churn@champion``), or None.
        require: Absolute requirements on the challenger, e.g. ``"accuracy>=0.9"``.
        max_regression: Allowed regression against the champion, e.g. ``"f1:0.01"``.
        slices: Columns whose values are checked one by one.
        latency_p95_ms: Fail if the challenger's p95 ``predict`` latency exceeds this.
        task: ``auto`` (from the target), ``classification`` or ``regression``.
        bootstrap: Paired bootstrap resamples for the confidence intervals (0: none).
        confidence: The intervals' confidence level.
        seed: Seed for the bootstrap.
        min_slice_rows: Smaller slices are reported but not judged.
        latency_batch_rows: Rows per timed ``predict`` call.
        promote: On pass, point this alias of the challenger's registered model at it.

    Returns:
        The report (``report.passed`` is the verdict).

    Raises:
        InvalidInputError: a criterion that does not parse, an unknown column, a malformed
            URI, or ``promote`` with a challenger that is not a registered version.
        NotFoundError: the challenger, the data, or a pinned (non-alias) champion does not
            exist.

    Example:
        >>> report = run_gate("models:/churn@challenger", against="models:/churn@champion",
        ...                   data="datasets:/churn-eval@latest", target="churned",
        ...                   require=["accuracy>=0.9"], max_regression=["f1:0.01"],
        ...                   promote="champion")  # doctest: +SKIP
        >>> report.passed  # doctest: +SKIP
        True
    """
    import loopml.models

    spec = GateSpec(
        target=target,
        require=require,
        max_regression=max_regression,
        slices=slices,
        latency_p95_ms=latency_p95_ms,
        task=task,
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
        min_slice_rows=min_slice_rows,
        latency_batch_rows=latency_batch_rows,
    )
    _check_promote(promote)
    frame, data_ref = _load_data(data)
    new = loopml.models.load(challenger)
    new_ref = _ref(new, challenger)
    if promote is not None and new_ref.version is None:
        raise InvalidInputError(
            f"cannot promote {challenger}: it is not a registered model version",
            field="promote",
            uri=challenger,
            hint="gate a models:/NAME/VERSION (or @alias) URI, or drop --promote",
        )
    old: LoadedModel | None = None
    old_ref: ModelRef | None = None
    note: str | None = None
    if against is not None:
        try:
            old = loopml.models.load(against)
        except NotFoundError as exc:
            if not _is_alias_uri(against):
                raise  # a pinned version or path that does not exist is a mistake, not a start
            note = (
                f"No champion: {against} does not exist yet ({exc.message}); the challenger "
                "is judged on the absolute requirements alone."
            )
        else:
            old_ref = _ref(old, against)
    report = evaluate_models(
        new,
        old,
        frame,
        spec,
        challenger_ref=new_ref,
        champion_ref=old_ref,
        data_ref=data_ref,
        champion_note=note,
    )
    if promote is not None and report.passed:
        assert new_ref.name is not None
        assert new_ref.version is not None
        loopml.models.set_alias(new_ref.name, promote, new_ref.version)
        report = replace(report, promoted=f"{new_ref.name}@{promote} -> version {new_ref.version}")
    return report

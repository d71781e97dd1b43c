"""Hyperparameter sweeps with Optuna over a ``@pipeline`` or a plain function.

The sweep is a run; each trial is a child run of it holding the trial's params and its
metric, so ``loopml runs list``/``runs compare`` show trials like any other runs. When the
sweep ends, its run records the best params (``best.<name>``) and the best value
(``best_<metric>``).

Trials run one at a time (``executor="inline"``) or in parallel: plain functions in a pool
of spawned processes (``"process"``) or as Ray tasks (``"ray"``); pipelines run their steps
on that executor, several trials at once. Only this process writes metadata.

Example:
    >>> import loopml
    >>> from loopml.pipelines.space import uniform
    >>> def objective(x: float) -> float:
    ...     return -((x - 2) ** 2)
    >>> result = loopml.sweep(objective, {"x": uniform(-5, 5)}, n_trials=30)  # doctest: +SKIP
    >>> round(result.best_params["x"])                                        # doctest: +SKIP
    2
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from loopml.errors import InvalidInputError, LoopmlError
from loopml.pipelines.space import Distribution, SpaceLike, parse_space
from loopml.pipelines.sweep_setup import (
    check_options,
    check_pipeline_metric,
    import_optuna,
    make_pruner,
    make_sampler,
    metric_of,
    sampler_name,
    suggest,
    target_name,
)
from loopml.pipelines.sweep_trials import (
    DEFAULT_METRIC,
    LiveTrial,
    PipelineTrials,
    Reporter,
    ReportServer,
    backend_for,
    report,
)

if TYPE_CHECKING:
    import pandas as pd

    from loopml.tracking.run import ActiveRun

__all__ = ["SweepResult", "TrialRecord", "report", "sweep"]

Direction = Literal["maximize", "minimize"]
TrialState = Literal["COMPLETE", "PRUNED", "FAIL"]


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """One finished trial, as the sweep run saw it."""

    number: int
    state: TrialState
    value: float | None
    params: dict[str, Any]
    run_id: str
    duration_s: float
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` found.

    Attributes:
        best_params: The params of the best trial.
        best_value: Its metric value.
        trials: One row per trial: ``number``, ``state``, ``value``, ``duration_s``,
            ``run_id`` and a ``params.<name>`` column per parameter.
        run_id: The sweep run (the trials are its children).
        metric: The metric optimized.
        direction: ``"maximize"`` or ``"minimize"``.
        best_run_id: The run of the best trial.
        study: The Optuna study, for its plots and analyses.
    """

    best_params: dict[str, Any]
    best_value: float
    trials: pd.DataFrame
    run_id: str
    metric: str
    direction: Direction
    best_run_id: str
    records: tuple[TrialRecord, ...] = field(repr=False, default=())
    study: Any = field(repr=False, default=None)


# -- Optuna -----------------------------------------------------------------------------------
class _Sweep:
    """The ask/tell loop: keeps ``workers`` trials in flight, records each as it ends."""

    def __init__(
        self,
        *,
        optuna: Any,
        study: Any,
        dists: Mapping[str, Distribution],
        sweep_run: ActiveRun,
        start_trial: Callable[[LiveTrial, Reporter | None], Future[Any]],
        workers: int,
        metric: str | None,
        catch: tuple[type[BaseException], ...],
        reporter_for: Callable[[LiveTrial], Reporter | None],
        on_trial: Callable[[TrialRecord], None] | None,
    ) -> None:
        self.optuna = optuna
        self.study = study
        self.dists = dists
        self.sweep_run = sweep_run
        self.start_trial = start_trial
        self.workers = max(1, workers)
        self.metric = metric
        self.catch = catch
        self.reporter_for = reporter_for
        self.on_trial = on_trial
        self.records: list[TrialRecord] = []
        self.best: TrialRecord | None = None

    def run(self, n_trials: int) -> None:
        """Ask, run and tell until ``n_trials`` trials have ended."""
        from loopml.tracking.fluent import start_run

        pending: dict[Future[Any], LiveTrial] = {}
        try:
            self._loop(n_trials, pending, start_run)
        except BaseException as exc:
            self._abandon(pending, exc)
            raise

    def _abandon(self, pending: dict[Future[Any], LiveTrial], exc: BaseException) -> None:
        """Interrupted (Ctrl-C, a broken pool): end the runs of the trials still in flight."""
        from loopml.entities import RunStatus

        status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        for future, live in pending.items():
            future.cancel()
            try:
                live.run.end(status, error=f"sweep stopped: {type(exc).__name__}: {exc}")
                self.study.tell(live.trial, state=self.optuna.trial.TrialState.FAIL)
            except Exception:  # noqa: BLE001, S110 - the interrupting error matters more
                pass

    def _loop(self, n_trials: int, pending: dict[Future[Any], LiveTrial], start_run: Any) -> None:
        asked = 0
        fatal: BaseException | None = None
        while pending or (asked < n_trials and fatal is None):
            while fatal is None and asked < n_trials and len(pending) < self.workers:
                trial = self.study.ask()
                asked += 1
                run = start_run(
                    project=self.sweep_run.project,
                    name=f"{self.sweep_run.name}-{trial.number}",
                    tags={"loopml.sweep": self.sweep_run.id, "loopml.trial": trial.number},
                    parent=self.sweep_run,
                )
                live = LiveTrial(trial, run, {}, time.perf_counter())
                try:
                    live.params = suggest(trial, self.dists)
                    run.log_params(live.params)
                    future = self.start_trial(live, self.reporter_for(live))
                except BaseException as exc:
                    self._finish(live, None, exc)
                    raise
                pending[future] = live
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: pending[f].trial.number):
                live = pending.pop(future)
                error = future.exception()
                try:
                    self._finish(live, None if error else future.result(), error)
                except BaseException as exc:  # noqa: BLE001 - stop asking, finish the rest
                    fatal = fatal or exc
        if fatal is not None:
            raise fatal

    def _finish(self, live: LiveTrial, value: Any, error: BaseException | None) -> None:
        from loopml.entities import RunStatus

        state: TrialState = "COMPLETE"
        metrics: dict[str, float] = {}
        score: float | None = None
        text: str | None = None
        if error is None:
            try:
                self.metric, score, metrics = metric_of(value, self.metric)
            except InvalidInputError as exc:
                error = exc
        if isinstance(error, self.optuna.TrialPruned):
            state = "PRUNED"
        elif error is not None:
            import traceback

            state = "FAIL"
            text = "".join(traceback.format_exception(error))
        elif score is not None and math.isnan(score):
            state, text = "FAIL", f"metric {self.metric!r} is NaN"
        duration = time.perf_counter() - live.started
        run = live.run
        try:
            if metrics:
                run.log_metrics(metrics)
            run.set_tags({"loopml.trial_state": state})
            run.end(RunStatus.FAILED if state == "FAIL" else RunStatus.FINISHED, error=text)
        finally:
            self.study.tell(
                live.trial,
                score if state == "COMPLETE" else None,
                state=getattr(self.optuna.trial.TrialState, state),
            )
        record = TrialRecord(
            live.trial.number, state, score, live.params, run.id, duration, metrics, text
        )
        self.records.append(record)
        if state == "COMPLETE" and score is not None and self._better(score):
            self.best = record
            self.sweep_run.log_metric(f"best_{self.metric}", score, step=record.number)
        if self.on_trial is not None:
            self.on_trial(record)
        if error is not None and state == "FAIL" and not isinstance(error, self.catch):
            raise error

    def _better(self, score: float) -> bool:
        if self.best is None or self.best.value is None:
            return True
        maximize = self.study.direction == self.optuna.study.StudyDirection.MAXIMIZE
        return score > self.best.value if maximize else score < self.best.value


def _trials_frame(records: list[TrialRecord], names: list[str]) -> pd.DataFrame:
    import pandas as pd

    rows = [
        {
            "number": r.number,
            "state": r.state,
            "value": r.value,
            "duration_s": r.duration_s,
            "run_id": r.run_id,
            **{f"params.{n}": r.params.get(n) for n in names},
        }
        for r in sorted(records, key=lambda r: r.number)
    ]
    columns = ["number", "state", "value", "duration_s", "run_id", *(f"params.{n}" for n in names)]
    return pd.DataFrame(rows, columns=columns)


def sweep(
    target: Any,
    space: SpaceLike,
    n_trials: int = 20,
    metric: str | None = None,
    direction: Direction = "maximize",
    executor: str = "inline",
    sampler: Any = "tpe",
    pruner: Any = None,
    seed: int | None = None,
    project: str | None = None,
    n_jobs: int | None = None,
    *,
    name: str | None = None,
    ray_address: str | None = None,
    catch: tuple[type[BaseException], ...] = (),
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> SweepResult:
    """Search ``space`` for the params that optimize ``metric`` of ``target``.

    Args:
        target: A ``@pipeline``, or a plain function taking the params as keyword arguments
            and returning a number or a dict of numbers.
        space: Parameter name -> distribution (:mod:`loopml.pipelines.space`: ``uniform``,
            ``loguniform``, ``intrange``, ``choice``), or the same as a mapping read from YAML
            (``{"lr": {"loguniform": [1e-4, 1]}}``); a plain value is passed as is.
        n_trials: How many trials to run.
        metric: For a pipeline, ``"<step>.<key>"``: the key of the dict that step returns.
            For a function returning a dict, the key; for one returning a number, the name
            it is logged under (default ``"value"``).
        direction: ``"maximize"`` or ``"minimize"``.
        executor: ``"inline"`` (one trial at a time, in this process), ``"process"`` or
            ``"ray"`` (``n_jobs`` trials at a time).
        sampler: ``"tpe"`` (default), ``"random"``, ``"cmaes"``, ``"qmc"`` or an Optuna sampler.
        pruner: None, ``"median"``, ``"hyperband"``, ``"successive_halving"`` or an Optuna
            pruner; trials feed it with :func:`report` (plain functions; inline or process).
        seed: Seeds the sampler, so a sweep can be repeated.
        project: Project of the sweep run (default: the configured one, or the pipeline's).
        n_jobs: Trials at a time on process/ray (default: the CPUs there are).
        name: Name of the sweep run (default ``sweep-<target>``).
        ray_address: Ray cluster for ``executor="ray"`` (default as ``RayExecutor``).
        catch: Exception types that fail only their trial; any other error stops the sweep
            (the trials in flight finish first) and is raised.
        on_trial: Called in this process after each trial with its :class:`TrialRecord`.

    Returns:
        The best params and value, a DataFrame of the trials, and the sweep's run id.

    Raises:
        InvalidInputError: a bad space, direction, metric, sampler, pruner or executor; a
            searched name the target does not take.
        MissingExtraError: optuna (or ray, for ``executor="ray"``) is not installed.
        LoopmlError: no trial completed.

    Example:
        >>> import loopml
        >>> from loopml.pipelines.space import uniform
        >>> def f(x: float) -> float:
        ...     return -((x - 2) ** 2)
        >>> loopml.sweep(f, {"x": uniform(-5, 5)}, n_trials=30, seed=1).best_value  # doctest: +SKIP
        -0.0004...
    """
    from loopml.tracking.fluent import start_run

    optuna = import_optuna()
    dists = parse_space(space)
    is_pipeline = check_options(target, dists, direction, n_trials, n_jobs, executor)
    pruner_obj = make_pruner(optuna, pruner)
    if pruner_obj is not None and (is_pipeline or executor == "ray"):
        raise InvalidInputError(
            "pruning needs a plain function that calls loopml.pipelines.sweep.report(), "
            "run on the inline or process executor",
            field="pruner",
        )
    if is_pipeline:
        metric = check_pipeline_metric(metric)
    run_name = name or f"sweep-{target_name(target)}"
    if project is None and is_pipeline:
        project = getattr(target, "project", None)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            direction=direction, sampler=make_sampler(optuna, sampler, seed), pruner=pruner_obj
        )
        with start_run(project=project, name=run_name, tags={"loopml.sweep": "true"}) as sweep_run:
            sweep_run.log_params(
                {
                    "sweep.target": target_name(target),
                    "sweep.metric": metric or DEFAULT_METRIC,
                    "sweep.direction": direction,
                    "sweep.n_trials": n_trials,
                    "sweep.executor": executor,
                    "sweep.sampler": sampler_name(sampler),
                    "sweep.seed": seed,
                }
            )
            sweep_run.log_dict({n: d.to_dict() for n, d in dists.items()}, "sweep/space.json")
            loop = _run_trials(
                optuna=optuna,
                study=study,
                target=target,
                dists=dists,
                sweep_run=sweep_run,
                is_pipeline=is_pipeline,
                executor=executor,
                n_jobs=n_jobs,
                ray_address=ray_address,
                metric=metric,
                pruning=pruner_obj is not None,
                catch=catch,
                on_trial=on_trial,
                n_trials=n_trials,
            )
            best = loop.best
            if best is None or best.value is None:
                raise LoopmlError(
                    f"no trial of the sweep completed ({len(loop.records)} pruned or failed)",
                    run_id=sweep_run.id,
                    hint="see the trials' runs: loopml runs list --filter "
                    f"\"tags.loopml.sweep = '{sweep_run.id}'\"",
                )
            sweep_run.log_params({f"best.{k}": v for k, v in best.params.items()})
            sweep_run.set_tags(
                {"loopml.best_trial_run": best.run_id, "loopml.best_trial": best.number}
            )
            frame = _trials_frame(loop.records, list(dists))
            metric_name = loop.metric or DEFAULT_METRIC
    finally:
        optuna.logging.set_verbosity(verbosity)
    return SweepResult(
        best_params=dict(best.params),
        best_value=best.value,
        trials=frame,
        run_id=sweep_run.id,
        metric=metric_name,
        direction=direction,
        best_run_id=best.run_id,
        records=tuple(sorted(loop.records, key=lambda r: r.number)),
        study=study,
    )


def _run_trials(
    *,
    optuna: Any,
    study: Any,
    target: Any,
    dists: Mapping[str, Distribution],
    sweep_run: ActiveRun,
    is_pipeline: bool,
    executor: str,
    n_jobs: int | None,
    ray_address: str | None,
    metric: str | None,
    pruning: bool,
    catch: tuple[type[BaseException], ...],
    on_trial: Callable[[TrialRecord], None] | None,
    n_trials: int,
) -> _Sweep:
    if is_pipeline:
        runner = PipelineTrials(target, executor, n_jobs, ray_address, metric or "")
        start: Callable[[LiveTrial, Reporter | None], Future[Any]] = runner.start
        workers = runner.workers
        close: Callable[[], None] = runner.close
        server = None

        def reporter_for(live: LiveTrial) -> Reporter | None:
            return None

    else:
        backend = backend_for(executor, n_jobs, ray_address)
        workers = backend.workers
        server = (
            ReportServer(backend, metric or DEFAULT_METRIC)
            if pruning and backend.remote_reports
            else None
        )

        def start(live: LiveTrial, reporter: Reporter | None) -> Future[Any]:
            return backend.submit(target, live.params, reporter)

        def reporter_for(live: LiveTrial) -> Reporter | None:
            if not pruning:
                return None
            if server is not None:
                return server.reporter(live)
            return Reporter(trial=live.trial, run=live.run, metric=metric or DEFAULT_METRIC)

        close = backend.close
    loop = _Sweep(
        optuna=optuna,
        study=study,
        dists=dists,
        sweep_run=sweep_run,
        start_trial=start,
        workers=workers,
        metric=metric,
        catch=catch,
        reporter_for=reporter_for,
        on_trial=on_trial,
    )
    try:
        loop.run(n_trials)
    finally:
        try:
            if server is not None:
                server.stop()
        finally:
            close()
    return loop

"""Where the trials of a sweep run, and how a running trial reports intermediate values.

Plain functions run in this process (inline), in a pool of spawned processes, or as Ray
tasks; a trial that calls :func:`report` gets its pruner's answer through queues when it
runs in another process. Pipelines run one pipeline run per trial. Only the sweep's process
writes metadata.
"""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInputError

if TYPE_CHECKING:
    from loopml.tracking.run import ActiveRun

__all__ = [
    "DEFAULT_METRIC",
    "Backend",
    "LiveTrial",
    "PipelineTrials",
    "ReportServer",
    "Reporter",
    "backend_for",
    "check_sendable",
    "report",
]

#: what the metric is called when a function returns a bare number
DEFAULT_METRIC = "value"


@dataclass
class LiveTrial:
    """A trial in flight: Optuna's trial, its run, its params and when it started."""

    trial: Any
    run: ActiveRun
    params: dict[str, Any]
    started: float
    replies: Any = None


class Reporter:
    """Where :func:`report` sends a value: the trial itself (inline) or the driver (queues)."""

    def __init__(
        self,
        *,
        trial: Any = None,
        run: ActiveRun | None = None,
        metric: str = DEFAULT_METRIC,
        requests: Any = None,
        replies: Any = None,
        number: int = -1,
    ) -> None:
        self.trial = trial
        self.run = run
        self.metric = metric
        self.requests = requests
        self.replies = replies
        self.number = number

    def __getstate__(self) -> dict[str, Any]:  # only the queues travel to workers
        return {"requests": self.requests, "replies": self.replies, "number": self.number}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def should_prune(self, value: float, step: int) -> bool:
        if self.trial is not None:
            if self.run is not None:
                self.run.log_metric(self.metric, value, step)
            self.trial.report(value, step)
            return bool(self.trial.should_prune())
        if self.requests is None:
            return False
        self.requests.put((self.number, value, step))
        return bool(self.replies.get())


_current: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar(
    "loopml_sweep_reporter", default=None
)


def report(value: float, step: int) -> None:
    """Report an intermediate value of the running trial (e.g. validation loss per epoch).

    The value is logged as the sweep metric at ``step`` on the trial's run, and the sweep's
    pruner decides whether the trial goes on. Outside a sweep this does nothing.

    Raises:
        optuna.TrialPruned: the pruner stopped the trial (let it propagate; the sweep
            records the trial as PRUNED).

    Example:
        >>> from loopml.pipelines.sweep import report
        >>> def objective(lr: float) -> float:
        ...     loss = 1.0
        ...     for epoch in range(10):
        ...         loss *= 1 - lr
        ...         report(loss, epoch)
        ...     return loss
    """
    reporter = _current.get()
    if reporter is None:
        return
    number = float(value)
    if reporter.should_prune(number, int(step)):
        import optuna

        raise optuna.TrialPruned(f"pruned at step {step} (value {number:g})")


def call_function(func: Any, params: dict[str, Any], reporter: Reporter | None) -> Any:
    """What a worker runs for one trial of a plain function."""
    if isinstance(func, tuple):  # (module:qualname, sys.path folder, file) from the driver
        from loopml.pipelines.imports import import_object

        path, root, file = func
        func = import_object(path, sys_path=[root] if root else [], file=file)
    token = _current.set(reporter)
    try:
        return func(**params)
    finally:
        _current.reset(token)


# -- where trials run -------------------------------------------------------------------------
class Backend:
    """Runs trials of a plain function: submit -> Future of the function's return value."""

    workers = 1
    remote_reports = False

    def submit(self, func: Any, params: dict[str, Any], reporter: Reporter | None) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(call_function(func, params, reporter))
        except BaseException as exc:  # noqa: BLE001 - handed to the sweep loop like a worker's
            done.set_exception(exc)
        return done

    def make_queue(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers."""


class ProcessBackend(Backend):
    remote_reports = True

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        self._context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=self._context)
        self._manager: Any = None

    def submit(self, func: Any, params: dict[str, Any], reporter: Reporter | None) -> Future[Any]:
        return self._pool.submit(call_function, func, params, reporter)

    def make_queue(self) -> Any:
        if self._manager is None:
            self._manager = self._context.Manager()
        return self._manager.Queue()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()


class RayBackend(Backend):
    def __init__(self, workers: int | None, address: str | None) -> None:
        from loopml.pipelines.executors.ray_executor import ensure_ray

        self._ray, _ = ensure_ray(address)
        self.workers = workers or max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        self._remote = self._ray.remote(call_function).options(num_cpus=1, max_retries=0)

    def submit(self, func: Any, params: dict[str, Any], reporter: Reporter | None) -> Future[Any]:
        from loopml.pipelines.executors.ray_executor import _unwrap

        ray_future: Future[Any] = self._remote.remote(function_ref(func), params, None).future()
        result: Future[Any] = Future()

        def relay(done: Future[Any]) -> None:
            error = done.exception()
            if error is not None:
                result.set_exception(_unwrap(error))
            else:
                result.set_result(done.result())

        ray_future.add_done_callback(relay)
        return result


class ReportServer:
    """Answers workers' :func:`report` calls in this process: log the value on the trial's
    run, tell Optuna, send back whether to prune."""

    def __init__(self, backend: Backend, metric: str) -> None:
        import threading

        self._backend = backend
        self._metric = metric
        self._requests = backend.make_queue()
        self._live: dict[int, LiveTrial] = {}
        self._thread = threading.Thread(target=self._serve, name="loopml-sweep-reports")
        self._thread.daemon = True
        self._thread.start()

    def reporter(self, live: LiveTrial) -> Reporter:
        live.replies = self._backend.make_queue()
        self._live[live.trial.number] = live
        return Reporter(requests=self._requests, replies=live.replies, number=live.trial.number)

    def _serve(self) -> None:
        while True:
            item = self._requests.get()
            if item is None:
                return
            number, value, step = item
            live = self._live.get(number)
            if live is None:
                continue
            prune = False
            try:
                live.run.log_metric(self._metric, value, step)
                live.trial.report(value, step)
                prune = bool(live.trial.should_prune())
            finally:
                live.replies.put(prune)

    def stop(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=10)


def function_ref(func: Any) -> Any:
    """A module function travels as its import path (Ray workers import it); a function of a
    script's ``__main__`` travels by value."""
    module = getattr(func, "__module__", None)
    local = "<locals>" in getattr(func, "__qualname__", "")
    if local or module in (None, "__main__", "__mp_main__"):
        return func
    from loopml.pipelines.imports import import_path_of

    return import_path_of(func)


def check_sendable(target: Any, executor: str) -> None:
    """Refuse, before anything runs, a function a process pool cannot send to its workers.

    Raises:
        InvalidInputError: a lambda or nested function with ``executor="process"``.
    """
    if executor != "process":
        return
    import pickle

    try:
        pickle.dumps(target)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise InvalidInputError(
            f"the process executor cannot send {getattr(target, '__qualname__', target)!r} "
            f"to its workers: {exc}",
            field="target",
            hint="define the function at the top level of a module, or use "
            "executor='inline' or 'ray'",
        ) from None


def backend_for(executor: str, n_jobs: int | None, ray_address: str | None) -> Backend:
    """The backend for plain-function trials on ``executor``.

    Raises:
        InvalidInputError: an unknown executor, or ``n_jobs`` on inline.
    """
    if executor == "inline":
        if n_jobs not in (None, 1):
            raise InvalidInputError(
                "the inline executor runs one trial at a time",
                field="n_jobs",
                hint="use executor='process' or 'ray' for parallel trials",
            )
        return Backend()
    if executor == "process":
        return ProcessBackend(n_jobs or os.cpu_count() or 1)
    if executor == "ray":
        return RayBackend(n_jobs, ray_address)
    raise InvalidInputError(
        f"unknown executor {executor!r}", field="executor", hint="use inline, process or ray"
    )


class PipelineTrials:
    """Runs trials of a pipeline: each trial one pipeline run, nested under the trial's run.

    Steps run on one shared executor; on process/ray several trials run at once (one driver
    thread each), so the pool stays busy even when a pipeline is a single chain of steps.
    The trial's value is the dict the metric's step returned, as ``<step>.<key>`` numbers.
    """

    def __init__(
        self, pipeline: Any, executor: str, n_jobs: int | None, address: str | None, metric: str
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from loopml.pipelines.executors import get_executor

        self.pipeline = pipeline
        self.step = metric.partition(".")[0]
        if executor == "inline":
            if n_jobs not in (None, 1):
                raise InvalidInputError(
                    "the inline executor runs one trial at a time",
                    field="n_jobs",
                    hint="use executor='process' or 'ray' for parallel trials",
                )
            self._executor = get_executor("inline")
            self.workers = 1
        else:
            options: dict[str, Any] = {"address": address} if executor == "ray" else {}
            if executor == "process" and n_jobs:
                options["max_workers"] = n_jobs
            self._executor = get_executor(executor, **options)
            self.workers = n_jobs or self._executor.max_workers
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="loopml-trial")

    def start(self, live: LiveTrial, reporter: Reporter | None) -> Future[Any]:
        """Run the pipeline with the trial's params in a driver thread."""
        if self.workers == 1:
            done: Future[Any] = Future()
            try:
                done.set_result(self._run(live))
            except BaseException as exc:  # noqa: BLE001 - the sweep loop decides what to do
                done.set_exception(exc)
            return done
        return self._threads.submit(self._run, live)

    def _run(self, live: LiveTrial) -> dict[str, float]:
        result = self.pipeline.run(executor=self._executor, parent=live.run.id, **live.params)
        live.run.set_tag("loopml.pipeline_run", result.run_id)
        value = result.output(self.step)
        if not isinstance(value, dict):
            raise InvalidInputError(
                f"step {self.step!r} returned {type(value).__name__}; a sweep metric "
                "'<step>.<key>' reads a key of the dict the step returns",
                field="metric",
            )
        return {f"{self.step}.{k}": v for k, v in value.items()}

    def close(self) -> None:
        """Stop the driver threads and the executor."""
        self._threads.shutdown(wait=True, cancel_futures=True)
        self._executor.close()

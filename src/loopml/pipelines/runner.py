"""The engine: schedule a pipeline's DAG on an executor, with caching, retries and lineage.

A pipeline run is a run; each step execution is a child run (params, tags, duration, logs,
lineage). Before a step is scheduled its cache key is looked up in the store: a hit reuses
the stored outputs and the step never reaches the executor. Ready steps are submitted as
soon as their inputs exist, so independent branches and map items run side by side on
executors with several workers. Only this driver writes metadata.
"""

from __future__ import annotations

import heapq
import json
import os
import time
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

from loopml.entities import LineageEdge, RunStatus, new_id, now_ms
from loopml.pipelines.errors import CacheDisabledWarning, StepFailedError
from loopml.pipelines.history import DAG_ARTIFACT
from loopml.pipelines.refs import ArtifactRef, StepCacheEntry
from loopml.pipelines.result import PipelineRunResult, StepRun
from loopml.pipelines.step_context import param_texts
from loopml.pipelines.task import OutputTask, StepResult, StepTask

if TYPE_CHECKING:
    from loopml.pipelines.dag import Graph, Node
    from loopml.pipelines.executors.base import Executor
    from loopml.pipelines.pipeline import Pipeline
    from loopml.pipelines.step import Step
    from loopml.tracking.context import TrackingContext
    from loopml.tracking.run import ActiveRun

__all__ = ["lineage_ref", "run_pipeline"]

#: tags on pipeline and step runs
TAG_PIPELINE = "loopml.pipeline"
TAG_STEP = "loopml.step"
TAG_NODE = "loopml.node"
TAG_CACHE = "loopml.cache"
TAG_CACHE_KEY = "loopml.cache_key"


def lineage_ref(ref: ArtifactRef) -> str:
    """The lineage ref of a stored output: its URI, else ``blake3:<content hash>``."""
    return ref.uri or f"blake3:{ref.content_hash}"


class _StepInfo:
    """What the driver knows of a step's code: resolved once per step per run."""

    __slots__ = ("file", "function", "function_bytes", "outputs", "sys_path")

    def __init__(self, step: Step[..., Any], node: Node, by_value: bool) -> None:
        from loopml.pipelines.imports import import_path_of

        path, root, file = import_path_of(step.func)
        self.function = path
        self.sys_path: tuple[str, ...] = (root,) if root else ()
        self.file = file
        self.function_bytes: bytes | None = None
        if by_value and ("<locals>" in path or (root is None and path.startswith("__main__"))):
            import cloudpickle

            self.function_bytes = cloudpickle.dumps(step.func)
        self.outputs = tuple(
            OutputTask(spec.name, repr(spec.hint), _concrete(node.materializers.get(spec.name)))
            for spec in step.shape.specs
        )


def _concrete(name: str | None) -> str | None:
    return None if name in (None, "auto") else name


class _Engine:
    def __init__(
        self,
        pipeline: Pipeline,
        graph: Graph,
        run: ActiveRun,
        ctx: TrackingContext,
        executor: Executor,
        *,
        read_cache: bool,
        resume_hint: str,
    ) -> None:
        self.pipeline = pipeline
        self.graph = graph
        self.run = run
        self.ctx = ctx
        self.store = ctx.store
        self.executor = executor
        self.read_cache = read_cache
        self.resume_hint = resume_hint
        self.in_process = bool(getattr(executor, "in_process", False))
        self.steps: dict[str, StepRun] = {
            n.name: StepRun(n.name, n.step.name, group=n.group) for n in graph.nodes.values()
        }
        self.waiting = {n.name: len(n.upstream) for n in graph.nodes.values()}
        self.down = graph.downstream()
        self.ready: deque[str] = deque(n for n, count in self.waiting.items() if count == 0)
        self.running: dict[Future[StepResult], str] = {}
        self.delayed: list[tuple[float, int, str]] = []
        self.tasks: dict[str, StepTask] = {}
        self.logs: dict[str, list[tuple[str, str]]] = {}
        self.infos: dict[int, _StepInfo] = {}
        self.edges: list[LineageEdge] = []
        self.failure: StepFailedError | None = None
        self.warned: set[str] = set()
        self.datasets: dict[str, str] = {}
        settings = ctx.settings
        self.tracking_uri = settings.tracking_uri
        self.artifact_uri = settings.artifact_uri
        self.writer = ctx.writer

    # -- the loop -------------------------------------------------------------------------
    def execute(self) -> None:
        ready, running = self.ready, self.running
        while ready or running or self.delayed:
            while ready and self.failure is None:
                self._start(ready.popleft())
            if self.failure is not None:
                self.delayed.clear()
                if not running:
                    break
            if not running and not self.delayed:
                continue
            timeout = None
            if self.delayed:
                timeout = max(0.0, self.delayed[0][0] - time.monotonic())
            if running:
                done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    self._finished(running.pop(future), future)
            elif timeout:
                time.sleep(timeout)
            now = time.monotonic()
            while self.delayed and self.delayed[0][0] <= now:
                _, _, name = heapq.heappop(self.delayed)
                if self.failure is None:
                    self._submit(name)

    def _submit(self, name: str) -> None:
        task = self.tasks[name]
        task.attempt = self.steps[name].attempts + 1
        self.steps[name].attempts = task.attempt
        try:
            future = self.executor.submit(task)
        except Exception as exc:  # noqa: BLE001 - e.g. a broken pool: the step fails, cleanly
            future = Future()
            future.set_exception(exc)
        if future.done():
            self._finished(name, future)
        else:
            self.running[future] = name

    # -- starting a node: cache lookup or submission -----------------------------------------
    def _start(self, name: str) -> None:
        node = self.graph.nodes[name]
        step = node.step
        record = self.steps[name]
        inputs: dict[str, ArtifactRef | list[ArtifactRef]] = {}
        for arg, ref in node.inputs.items():
            if isinstance(ref, list):
                inputs[arg] = [self.steps[r.node].outputs[r.output] for r in ref]
            else:
                inputs[arg] = self.steps[ref.node].outputs[ref.output]
        params = node.params
        if node.dataset_params:
            params = dict(params)
            for arg in node.dataset_params:
                params[arg] = self._pin_dataset(params[arg])
        key: str | None = None
        if step.cache:
            from loopml.pipelines.cache_key import cache_key

            key, reason = cache_key(
                step=step.name,
                func=step.func,
                params=params,
                inputs=inputs,
                output_materializers=list(node.materializers.values()),
                environment=step.environment,
                cache_version=step.cache_version,
            )
            if key is None and step.name not in self.warned:
                self.warned.add(step.name)
                warnings.warn(f"caching disabled: {reason}", CacheDisabledWarning, stacklevel=2)
        record.cache_key = key
        entry = self._lookup(key, record) if key is not None and self.read_cache else None
        if entry is not None:
            record.cache = "hit"
        else:
            record.cache = "miss" if key is not None and self.read_cache else "disabled"
        tags = {
            TAG_PIPELINE: self.pipeline.name,
            TAG_STEP: step.name,
            TAG_NODE: name,
            TAG_CACHE: record.cache,
            TAG_CACHE_KEY: key or "",
        }
        if entry is not None:
            tags["loopml.cache_source_run"] = entry.run_id
        run_id = new_id()
        self.store.create_run(
            self.run.project,
            name=name,
            tags=tags,
            parent_id=self.run.id,
            source=self.run.record.source,
            run_id=run_id,
        )
        record.run_id = run_id
        self._log_params(run_id, params)
        self._lineage_inputs(run_id, inputs, node, params)
        if entry is not None:
            record.outputs = dict(entry.outputs)
            record.status = RunStatus.FINISHED.value
            self._lineage_outputs(run_id, record.outputs)
            self.store.end_run(run_id, RunStatus.FINISHED, end_time=now_ms())
            self._release(name)
            return
        info = self._info(step, node)
        self.tasks[name] = StepTask(
            step=name,
            function=info.function,
            run_id=run_id,
            params=params,
            inputs=inputs,
            outputs=info.outputs,
            tracking_uri=self.tracking_uri,
            artifact_uri=self.artifact_uri,
            project=self.run.project,
            allow_pickle=step.allow_pickle,
            sys_path=info.sys_path,
            file=info.file,
            function_bytes=info.function_bytes,
            func=step.func if self.in_process else None,
        )
        self._submit(name)

    def _info(self, step: Step[..., Any], node: Node) -> _StepInfo:
        info = self.infos.get(id(step))
        if info is None:
            info = _StepInfo(step, node, by_value=not self.in_process)
            self.infos[id(step)] = info
        return info

    def _lookup(self, key: str, record: StepRun) -> StepCacheEntry | None:
        entry = self.store.get_step_cache(key)
        if entry is None:
            return None
        node = self.graph.nodes[record.name]
        if set(entry.outputs) != {spec.name for spec in node.step.shape.specs}:
            return None
        blobs = [ref.blob for ref in entry.outputs.values()]
        if blobs and len(self.ctx.objects.exists_many(blobs)) != len(set(blobs)):
            return None  # outputs deleted from the object store: recompute
        return entry

    def _pin_dataset(self, uri: str) -> str:
        pinned = self.datasets.get(uri)
        if pinned is None:
            from loopml.data.catalog import resolve_in

            pinned = resolve_in(self.ctx, uri).uri
            self.datasets[uri] = pinned
        return pinned

    # -- a result came back ---------------------------------------------------------------
    def _finished(self, name: str, future: Future[StepResult]) -> None:
        record = self.steps[name]
        node = self.graph.nodes[name]
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - the executor failed, not the step
            from loopml.pipelines.task import ErrorInfo

            result = StepResult({}, error=ErrorInfo.from_exception(exc, check_pickle=False))
        record.duration_s += result.duration_s
        self.logs.setdefault(name, []).append((result.stdout, result.stderr))
        error = result.error
        if error is not None and record.attempts <= node.step.retries:
            delay = node.step.backoff * 2 ** (record.attempts - 1)
            heapq.heappush(self.delayed, (time.monotonic() + delay, record.attempts, name))
            return
        assert record.run_id is not None
        run_id = record.run_id
        self._store_logs(run_id, name)
        if result.logged:
            self.writer.put_many(list(result.logged))
        if result.artifacts:
            self.store.record_artifacts(run_id, list(result.artifacts))
        self.writer.put_many(
            [
                (run_id, 0, "duration_s", record.duration_s, 0, now_ms()),
                (run_id, 2, "loopml.attempts", str(record.attempts), 0, 0),
            ]
        )
        if error is not None:
            record.status = RunStatus.FAILED.value
            self.store.end_run(run_id, RunStatus.FAILED, end_time=now_ms(), error=error.traceback)
            if self.failure is None:
                self.failure = StepFailedError(
                    name,
                    error.type,
                    error.message,
                    error.traceback,
                    resume_hint=self.resume_hint,
                    run_id=self.run.id,
                    step_run_id=run_id,
                    attempts=record.attempts,
                    original=error.exception,
                )
            return
        record.outputs = dict(result.outputs)
        record.status = RunStatus.FINISHED.value
        self._lineage_outputs(run_id, record.outputs)
        if record.cache_key is not None:
            self.store.put_step_cache(
                StepCacheEntry(
                    key=record.cache_key,
                    step=node.step.name,
                    pipeline=self.pipeline.name,
                    run_id=run_id,
                    created_at=now_ms(),
                    outputs=record.outputs,
                    project=self.run.project,
                )
            )
        self.store.end_run(run_id, RunStatus.FINISHED, end_time=now_ms())
        self._release(name)

    def _release(self, name: str) -> None:
        waiting = self.waiting
        for child in self.down[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                self.ready.append(child)

    # -- metadata -------------------------------------------------------------------------
    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        if params:
            self.writer.put_many(
                [(run_id, 1, key, text, 0, 0) for key, text in param_texts(params).items()]
            )

    def _lineage_inputs(
        self,
        run_id: str,
        inputs: dict[str, ArtifactRef | list[ArtifactRef]],
        node: Node,
        params: dict[str, Any],
    ) -> None:
        ts = now_ms()
        project = self.run.project
        refs: list[str] = [params[key] for key in node.dataset_params]
        for ref in inputs.values():
            for item in ref if isinstance(ref, list) else [ref]:
                refs.append(lineage_ref(item))
        self.edges.extend(LineageEdge(run_id, "input", r, ts, project) for r in dict.fromkeys(refs))

    def _lineage_outputs(self, run_id: str, outputs: dict[str, ArtifactRef]) -> None:
        ts = now_ms()
        project = self.run.project
        refs = dict.fromkeys(lineage_ref(ref) for ref in outputs.values())
        self.edges.extend(LineageEdge(run_id, "output", r, ts, project) for r in refs)

    def _store_logs(self, run_id: str, name: str) -> None:
        attempts = self.logs.pop(name, [])
        texts = []
        for index, stream in enumerate(("stdout", "stderr")):
            parts = [pair[index] for pair in attempts]
            if len(parts) > 1:
                text = "".join(
                    f"--- attempt {i} ---\n{part}" for i, part in enumerate(parts, 1) if part
                )
            else:
                text = parts[0] if parts else ""
            if text:
                texts.append((f"logs/{stream}.txt", text))
        if texts:
            from loopml.entities import ArtifactEntry

            entries = []
            for path, text in texts:
                blob = self.ctx.objects.put_bytes(text.encode("utf-8"))
                entries.append(ArtifactEntry(run_id, path, blob.hex, blob.size, now_ms()))
            self.store.record_artifacts(run_id, entries)

    def flush_lineage(self) -> None:
        if self.edges:
            edges, self.edges = self.edges, []
            self.store.add_lineage(edges)

    def end_unfinished(self, status: RunStatus) -> None:
        for record in self.steps.values():
            if record.run_id is not None and record.status == "SKIPPED":
                record.status = status.value
                self.store.end_run(record.run_id, status, end_time=now_ms())


def _make_executor(
    executor: str | Executor, ray_address: str | None, max_workers: int | None, nodes: int
) -> Executor:
    from loopml.pipelines.executors import get_executor

    if not isinstance(executor, str):
        return executor
    options: dict[str, Any] = {}
    if executor == "ray":
        options["address"] = ray_address
    elif executor == "process":  # never more processes than steps
        options["max_workers"] = max_workers or max(1, min(os.cpu_count() or 1, nodes))
    return get_executor(executor, **options)


def run_pipeline(
    pipeline: Pipeline,
    graph: Graph,
    params: dict[str, Any],
    given: dict[str, Any],
    *,
    executor: str | Executor = "inline",
    cache: bool = True,
    ray_address: str | None = None,
    max_workers: int | None = None,
    parent: str | None = None,
) -> PipelineRunResult:
    """Run a built graph (see :meth:`Pipeline.run`)."""
    from loopml.tracking import artifacts
    from loopml.tracking.context import get_context
    from loopml.tracking.fluent import start_run

    ctx = get_context()
    owned = isinstance(executor, str)
    runner = _make_executor(executor, ray_address, max_workers, len(graph.nodes))
    started = time.perf_counter()
    run = start_run(
        project=pipeline.project,
        name=pipeline.name,
        tags={
            TAG_PIPELINE: pipeline.name,
            "loopml.executor": runner.name,
            "loopml.pipeline.target": pipeline.target,
        },
        parent=parent,
    )
    engine: _Engine | None = None
    try:
        if params:
            ctx.writer.put_many(
                [(run.id, 1, key, text, 0, 0) for key, text in param_texts(params).items()]
            )
        artifacts.log_bytes(
            ctx, run.id, json.dumps(graph.to_dict(), indent=1).encode(), DAG_ARTIFACT
        )
        resume = pipeline.resume_command(given, runner.name)
        engine = _Engine(pipeline, graph, run, ctx, runner, read_cache=cache, resume_hint=resume)
        engine.execute()
        engine.flush_lineage()
        failure = engine.failure
        if failure is not None:
            engine.end_unfinished(RunStatus.KILLED)
            run.end(RunStatus.FAILED, failure.message + "\n" + failure.traceback_text)
            if failure.original is not None:
                raise failure from failure.original
            raise failure
    except BaseException as exc:
        if engine is not None:
            try:
                engine.flush_lineage()
                engine.end_unfinished(
                    RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
                )
            except Exception:  # noqa: BLE001, S110 - the original error matters more
                pass
        if not run.status.is_terminal:
            status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            run.end(status, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if owned:
            runner.close()
    run.end(RunStatus.FINISHED)
    return PipelineRunResult(
        run.id,
        pipeline.name,
        RunStatus.FINISHED.value,
        engine.steps,
        params,
        time.perf_counter() - started,
    )

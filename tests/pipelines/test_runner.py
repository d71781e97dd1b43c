"""The engine over the matrix: graph shapes (linear, diamond, fan-out/fan-in) x executors
(inline, process, ray): results, runs, lineage and caching."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests.pipelines.example_pipelines import (
    SHAPES,
    diamond,
    fan,
    linear,
    logging_pipeline,
    outputs,
)

import loopml
from loopml import pipeline, step
from loopml.pipelines import StepFailedError
from loopml.pipelines.history import read_pipeline_run
from loopml.pipelines.runner import lineage_ref
from loopml.tracking.context import get_context

pytestmark = pytest.mark.usefixtures("tracking")

SHAPE_NAMES = sorted(SHAPES)


@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_shape_results_and_runs(shape: str, executor: str) -> None:
    pipe, params, (node, expected) = SHAPES[shape]
    result = pipe.run(executor=executor, **params)
    assert result.status == "FINISHED"
    assert result.output(node) == expected
    assert result.cached == []
    assert result.executed == list(result.steps)
    run = loopml.get_run(result.run_id)
    assert run.tags["loopml.pipeline"] == pipe.name
    assert run.tags["loopml.executor"] == executor
    assert dict(run.params.items()) == {k: str(v) for k, v in params.items()}
    children = {r.name: r for r in read_pipeline_run(result.run_id).steps}
    assert set(children) == set(result.steps)
    for name, child in children.items():
        assert child.parent_id == result.run_id
        assert child.status.value == "FINISHED"
        assert child.tags["loopml.cache"] == "miss"
        assert child.tags["loopml.node"] == name
        assert len(child.tags["loopml.cache_key"]) == 64
        assert child.metrics["duration_s"] >= 0


@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_shape_second_run_is_all_hits(shape: str, executor: str) -> None:
    pipe, params, (node, expected) = SHAPES[shape]
    first = pipe.run(executor=executor, **params)
    second = pipe.run(executor=executor, **params)
    assert second.executed == []
    assert second.cached == list(second.steps)
    assert second.output(node) == expected
    for name, record in second.steps.items():
        assert record.outputs == first.steps[name].outputs
        assert record.cache_key == first.steps[name].cache_key
    child = loopml.get_run(second.steps[node].run_id or "")
    assert child.tags["loopml.cache"] == "hit"
    assert child.tags["loopml.cache_source_run"] == first.steps[node].run_id


@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_shape_lineage_links_outputs_to_inputs(shape: str, executor: str) -> None:
    pipe, params, _ = SHAPES[shape]
    result = pipe.run(executor=executor, **params)
    store = get_context().store
    run_ids = {name: s.run_id for name, s in result.steps.items()}
    edges = store.lineage_of_runs([r for r in run_ids.values() if r])
    by_run: dict[str, dict[str, set[str]]] = {}
    for edge in edges:
        by_run.setdefault(edge.run_id, {"input": set(), "output": set()})[edge.direction].add(
            edge.ref
        )
    graph, _, _ = pipe.build(**params)
    for node in graph.nodes.values():
        mine = by_run[run_ids[node.name] or ""]
        assert mine["output"] == {lineage_ref(r) for r in result.steps[node.name].outputs.values()}
        for up in node.upstream:
            upstream_out = {lineage_ref(r) for r in result.steps[up].outputs.values()}
            assert upstream_out <= mine["input"]


def test_changing_a_param_reruns_only_affected_steps(executor: str) -> None:
    diamond.run(executor=executor, x=1)
    again = diamond.run(executor=executor, x=2)
    assert again.executed == ["source", "add", "add_2", "mul"]
    fan.run(executor=executor, n=3)
    more = fan.run(executor=executor, n=4)
    assert more.cached == ["square[0]", "square[1]", "square[2]"]
    assert more.executed == ["square[3]", "total"]
    assert more.output("total") == 14
    assert more.output("square") == [0, 1, 4, 9]


def test_same_content_downstream_is_a_hit() -> None:
    # add(a=2) and add(a=2) again: a different upstream param, but the same value flows in
    linear.run(x=2)
    result = linear.run(x=2)
    assert result.executed == []


def test_no_cache_runs_everything_and_refreshes_the_cache() -> None:
    linear.run(x=3)
    forced = linear.run(x=3, cache=False)
    assert forced.executed == ["source", "add", "add_2"]
    assert {s.cache for s in forced.steps.values()} == {"disabled"}
    assert linear.run(x=3).executed == []


def test_named_tuple_and_dataclass_outputs(executor: str) -> None:
    result = outputs.run(executor=executor, x=3)
    assert set(result["split"].outputs) == {"low", "high"}
    assert result.output("split", "low") == 2
    assert set(result["stats"].outputs) == {"mean", "count"}
    assert result.output("stats", "count") == 2
    assert result.output("describe") == "3.0/2/2/4"
    assert result.output("named") == {"x": 3}
    assert list(result["named"].outputs) == ["report"]


def test_logs_are_captured_as_artifacts() -> None:
    result = linear.run(x=9)
    run_id = result.steps["source"].run_id or ""
    paths = [a.path for a in loopml.list_artifacts(run_id)]
    assert paths == ["logs/stdout.txt"]
    folder = loopml.download_artifacts(run_id, "logs/stdout.txt", dest=".")
    assert folder.read_text() == "source 9\n"


def test_pipeline_run_records_the_dag() -> None:
    result = diamond.run(x=1)
    record = read_pipeline_run(result.run_id)
    nodes = {n["name"]: n["upstream"] for n in record.dag["nodes"]}
    assert nodes == {"source": [], "add": ["source"], "add_2": ["source"], "mul": ["add", "add_2"]}


def test_pipeline_run_nests_under_an_active_run() -> None:
    with loopml.start_run(project="sweeps", name="outer") as outer:
        result = linear.run(x=1)
    run = loopml.get_run(result.run_id)
    assert run.parent_id == outer.id and run.project == "sweeps"


def test_steps_over_both_store_backends(any_store: str) -> None:
    first = diamond.run(x=4)
    assert first.output("mul") == 14 * 24
    assert diamond.run(x=4).executed == []


def _durations(result: Any) -> list[float]:
    return [s.duration_s for s in result.steps.values()]


def test_a_cached_step_is_not_scheduled(monkeypatch: pytest.MonkeyPatch) -> None:
    linear.run(x=11)
    from loopml.pipelines import task as task_module

    def boom(task: Any) -> Any:
        raise AssertionError(f"{task.step} was scheduled")

    monkeypatch.setattr(task_module, "execute_task", boom)
    assert linear.run(x=11).executed == []


def test_a_dataset_uri_param_is_pinned_and_recorded_as_lineage_input(tmp_path: Path) -> None:
    data = tmp_path / "raw.csv"
    data.write_text("a\n1\n")
    first = loopml.data.add(data, name="raw")

    @step
    def size(uri: str) -> str:
        return uri

    @pipeline
    def reads(uri: str = "datasets:/raw") -> None:
        size(uri)

    result = reads.run()
    assert result.output("size") == first.uri  # the latest version, pinned
    edges = get_context().store.lineage_of_runs([result["size"].run_id or ""])
    assert first.uri in {e.ref for e in edges if e.direction == "input"}
    assert reads.run().executed == []
    data.write_text("a\n2\n")
    second = loopml.data.add(data, name="raw")
    rerun = reads.run()
    assert rerun.executed == ["size"] and rerun.output("size") == second.uri


def test_engine_overhead_per_cached_step_stays_small() -> None:
    @step
    def bump(x: int) -> int:
        return x + 1

    @pipeline
    def chain(x: int = 0) -> None:
        for _ in range(30):
            x = bump(x)

    chain.run()
    start = time.perf_counter()
    assert chain.run().executed == []
    per_step = (time.perf_counter() - start) / 30
    assert per_step < 0.025, f"{per_step * 1000:.1f} ms per cached step"


def test_what_a_step_logs_goes_to_its_run(executor: str) -> None:
    result = logging_pipeline.run(executor=executor, x=4)
    run = loopml.get_run(result["logs_things"].run_id or "")
    assert run.metrics == {
        "score": 2.0,
        "a": 1.0,
        "b": 2.0,
        "duration_s": run.metrics["duration_s"],
    }
    assert run.params == {"x": "4", "extra": "yes"}
    assert run.tags["kind"] == "test"
    assert [a.path for a in loopml.list_artifacts(run.id)] == ["notes.txt"]
    pipeline_run = loopml.get_run(result.run_id)
    assert "score" not in pipeline_run.metrics


def test_a_step_changing_an_engine_param_is_a_conflict_in_the_step() -> None:
    @step
    def relog(x: int) -> int:
        loopml.log_param("x", x + 1)
        return x

    @pipeline
    def relogging(x: int = 1) -> None:
        relog(x)

    with pytest.raises(StepFailedError, match="ParamConflictError"):
        relogging.run()

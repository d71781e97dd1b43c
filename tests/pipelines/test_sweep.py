"""Sweeps: Optuna finds known optima; each trial is a child run of the sweep run; the sweep
run records the best; trials run in parallel on process (and Ray); pruning; bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.pipelines.sweep_pipelines import (
    decaying,
    failing,
    parabola,
    quadratic,
    scored,
    slow_parabola,
)

import loopml
from loopml.errors import InvalidInputError, LoopmlError, NotFoundError
from loopml.pipelines.space import (
    Choice,
    Fixed,
    IntRange,
    LogUniform,
    Uniform,
    choice,
    intrange,
    load_space,
    loguniform,
    parse_space,
    space_to_dict,
    uniform,
)
from loopml.pipelines.sweep import SweepResult, TrialRecord, report, sweep


def _children(parent_id: str) -> list[Any]:
    runs = loopml.search_runs(filter=f"tags.loopml.sweep = '{parent_id}'", output="list")
    return sorted(runs, key=lambda r: int(r.tags["loopml.trial"]))


# -- finding optima ----------------------------------------------------------------------------
def test_sweep_finds_the_optimum_of_a_known_function(tracking: str) -> None:
    result = sweep(parabola, {"x": uniform(-5, 5)}, n_trials=30, seed=0)
    assert isinstance(result, SweepResult)
    assert abs(result.best_params["x"] - 2.0) < 0.3
    assert result.best_value > -0.1
    assert result.metric == "value"
    assert len(result.trials) == 30
    assert list(result.trials.columns) == [
        "number",
        "state",
        "value",
        "duration_s",
        "run_id",
        "params.x",
    ]
    assert result.trials["value"].max() == result.best_value


def test_minimize_and_the_top_level_name(tracking: str) -> None:
    result = loopml.sweep(
        lambda x: (x - 1.0) ** 2, {"x": uniform(-3, 3)}, n_trials=25, direction="minimize", seed=3
    )
    assert abs(result.best_params["x"] - 1.0) < 0.4
    assert result.best_value == result.trials["value"].min()


def test_a_seed_makes_the_sweep_repeatable(tracking: str) -> None:
    first = sweep(parabola, {"x": uniform(-5, 5)}, n_trials=6, seed=11)
    second = sweep(parabola, {"x": uniform(-5, 5)}, n_trials=6, seed=11)
    assert list(first.trials["params.x"]) == list(second.trials["params.x"])
    assert first.run_id != second.run_id


def test_dict_results_choice_and_fixed_values(tracking: str) -> None:
    result = sweep(
        scored,
        {"x": {"uniform": [0, 4]}, "kind": {"choice": ["a", "b"]}},
        n_trials=25,
        metric="score",
        seed=1,
        sampler="random",
    )
    assert result.best_params["kind"] == "b"
    best = loopml.get_run(result.best_run_id)
    assert best.metrics["score"] == pytest.approx(result.best_value)
    assert "x" in best.metrics  # every number of the dict is logged


# -- runs ---------------------------------------------------------------------------------------
def test_trials_are_child_runs_of_the_sweep_run(tracking: str) -> None:
    records: list[TrialRecord] = []
    result = sweep(
        parabola,
        {"x": uniform(-5, 5)},
        n_trials=5,
        seed=2,
        name="find-two",
        project="sweeps",
        on_trial=records.append,
    )
    assert [r.number for r in records] == [0, 1, 2, 3, 4]
    parent = loopml.get_run(result.run_id)
    assert parent.name == "find-two"
    assert parent.project == "sweeps"
    assert parent.status == "FINISHED"
    assert parent.params["best.x"] == str(result.best_params["x"])
    assert parent.metrics["best_value"] == pytest.approx(result.best_value)
    assert parent.params["sweep.metric"] == "value"
    assert parent.tags["loopml.best_trial_run"] == result.best_run_id
    children = _children(result.run_id)
    assert [c.id for c in children] == list(result.trials["run_id"])
    for child, record in zip(children, records, strict=True):
        assert child.parent_id == result.run_id
        assert child.status == "FINISHED"
        assert child.project == "sweeps"
        assert child.params["x"] == str(record.params["x"])
        assert child.metrics["value"] == pytest.approx(record.value)
        assert child.tags["loopml.trial_state"] == "COMPLETE"


def test_the_space_is_stored_with_the_sweep_run(tracking: str, tmp_path: Path) -> None:
    import json

    result = sweep(parabola, {"x": uniform(-5, 5)}, n_trials=2, seed=0)
    folder = loopml.download_artifacts(result.run_id, "sweep/space.json", tmp_path / "out")
    assert json.loads(folder.read_text()) == {"x": {"uniform": [-5.0, 5.0]}}


def test_a_failing_trial_stops_the_sweep_with_its_error(tracking: str) -> None:
    with pytest.raises(ValueError, match="bad x"):
        sweep(failing, {"x": uniform(0, 1)}, n_trials=5, seed=0, name="broken")
    [parent] = loopml.search_runs(filter="attributes.name = 'broken'", output="list")
    assert parent.status == "FAILED"
    [child] = _children(parent.id)
    assert child.status == "FAILED"
    assert child.tags["loopml.trial_state"] == "FAIL"


def test_caught_failures_fail_only_their_trial(tracking: str) -> None:
    with pytest.raises(LoopmlError, match="no trial of the sweep completed"):
        sweep(failing, {"x": uniform(0, 1)}, n_trials=3, seed=0, catch=(ValueError,))


# -- pipelines ---------------------------------------------------------------------------------
def test_a_pipeline_sweep_reads_the_metric_from_a_step(tracking: str) -> None:
    result = sweep(quadratic, {"x": uniform(-5, 5)}, n_trials=8, metric="evaluate.score", seed=0)
    assert result.metric == "evaluate.score"
    assert abs(result.best_params["x"] - 2.0) < 1.0
    for child in _children(result.run_id):
        assert child.metrics["evaluate.score"] <= 0
        assert "evaluate.abs" in child.metrics
        pipeline_run = loopml.get_run(child.tags["loopml.pipeline_run"])
        assert pipeline_run.parent_id == child.id
        assert pipeline_run.tags["loopml.pipeline"] == "quadratic"


def test_a_pipeline_metric_names_a_step_and_a_key(tracking: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        sweep(quadratic, {"x": uniform(0, 1)}, n_trials=2, metric="score")
    assert info.value.field == "metric"


def test_a_pipeline_sweep_with_an_unknown_step_fails_clearly(tracking: str) -> None:
    with pytest.raises(NotFoundError, match="no step 'nope'"):
        sweep(quadratic, {"x": uniform(0, 1)}, n_trials=2, metric="nope.score")


@pytest.mark.slow
def test_pipeline_trials_run_in_parallel_on_process(tracking: str) -> None:
    result = sweep(
        quadratic,
        {"x": uniform(-5, 5)},
        n_trials=4,
        metric="evaluate.score",
        executor="process",
        n_jobs=2,
        seed=4,
    )
    assert len(_children(result.run_id)) == 4
    assert set(result.trials["state"]) == {"COMPLETE"}


# -- parallel trials and pruning ---------------------------------------------------------------
@pytest.mark.slow
def test_function_trials_run_in_parallel_on_process(tracking: str) -> None:
    result = sweep(
        slow_parabola,
        {"x": uniform(-5, 5)},
        n_trials=6,
        metric="score",
        executor="process",
        n_jobs=2,
        seed=0,
    )
    children = _children(result.run_id)
    assert len(children) == 6
    assert {c.status for c in children} == {"FINISHED"}
    assert len({c.metrics["pid"] for c in children}) == 2  # two worker processes
    started = sorted(c.start_time for c in children)
    ended = sorted(c.end_time or 0 for c in children)
    assert started[1] < ended[0]  # the first two trials overlapped


@pytest.mark.parametrize("executor", ["inline", pytest.param("process", marks=pytest.mark.slow)])
def test_pruning_stops_poor_trials(tracking: str, executor: str) -> None:
    result = sweep(
        decaying,
        {"lr": loguniform(1e-3, 0.5)},
        n_trials=14,
        direction="minimize",
        pruner="median",
        executor=executor,
        n_jobs=None if executor == "inline" else 2,
        seed=0,
    )
    states = result.trials["state"].value_counts().to_dict()
    assert states.get("PRUNED", 0) >= 1
    assert states.get("COMPLETE", 0) >= 5
    pruned = result.trials[result.trials["state"] == "PRUNED"].iloc[0]
    run = loopml.get_run(pruned["run_id"])
    assert run.tags["loopml.trial_state"] == "PRUNED"
    assert run.status == "FINISHED"
    history = loopml.get_metric_history(run.id, "value")
    assert 1 <= len(history) < 8  # stopped before the last epoch
    assert [m.step for m in history] == list(range(len(history)))


def test_report_outside_a_sweep_does_nothing() -> None:
    report(0.5, 1)
    assert decaying(0.5) == pytest.approx(0.5**8)


@pytest.mark.slow
def test_pipeline_trials_on_ray(tracking: str, local_ray: Any) -> None:
    result = sweep(
        quadratic,
        {"x": uniform(-5, 5)},
        n_trials=4,
        metric="evaluate.score",
        executor="ray",
        seed=5,
    )
    children = _children(result.run_id)
    assert len(children) == 4
    for child in children:
        pipeline_run = loopml.get_run(child.tags["loopml.pipeline_run"])
        assert pipeline_run.tags["loopml.executor"] == "ray"


@pytest.mark.slow
def test_function_trials_on_ray(tracking: str, local_ray: Any) -> None:
    result = sweep(parabola, {"x": uniform(-5, 5)}, n_trials=6, executor="ray", seed=0)
    assert len(_children(result.run_id)) == 6
    assert set(result.trials["state"]) == {"COMPLETE"}


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"direction": "up"}, "direction"),
        ({"n_trials": 0}, "n_trials"),
        ({"executor": "spark"}, "executor"),
        ({"sampler": "bayes"}, "sampler"),
        ({"pruner": "early"}, "pruner"),
        ({"pruner": "median", "executor": "ray"}, "pruner"),
        ({"n_jobs": 2}, "n_jobs"),
    ],
)
def test_bad_options_are_rejected(tracking: str, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        sweep(parabola, {"x": uniform(0, 1)}, **kwargs)
    assert info.value.field == field
    assert loopml.search_runs(output="list") == []  # refused before the sweep run started


def test_a_function_a_process_pool_cannot_send_is_refused(tracking: str) -> None:
    def local(x: float) -> float:
        return x

    with pytest.raises(InvalidInputError) as info:
        sweep(local, {"x": uniform(0, 1)}, n_trials=2, executor="process")
    assert info.value.field == "target"
    assert "top level of a module" in str(info.value)
    assert loopml.search_runs(output="list") == []  # refused before the sweep run started


def test_a_param_the_target_does_not_take(tracking: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        sweep(parabola, {"y": uniform(0, 1)}, n_trials=2)
    assert info.value.field == "space.y"
    assert "takes: x" in str(info.value)


def test_a_dict_result_needs_a_metric_key(tracking: str) -> None:
    with pytest.raises(InvalidInputError, match="say which one"):
        sweep(scored, {"x": uniform(0, 1)}, n_trials=1)
    with pytest.raises(InvalidInputError, match="no key 'auc'"):
        sweep(scored, {"x": uniform(0, 1)}, n_trials=1, metric="auc")


# -- spaces ------------------------------------------------------------------------------------
def test_space_from_yaml(tmp_path: Path) -> None:
    file = tmp_path / "space.yaml"
    file.write_text(
        "lr: {loguniform: [1.0e-4, 1]}\n"
        "alpha: {uniform: {low: 0, high: 2}}\n"
        "depth: {int: [2, 8]}\n"
        "leaves: {int: [8, 64, 8]}\n"
        "kind: {choice: [a, b, 3]}\n"
        "seed: 42\n"
    )
    space = load_space(file)
    assert space == {
        "lr": LogUniform(1e-4, 1.0),
        "alpha": Uniform(0.0, 2.0),
        "depth": IntRange(2, 8),
        "leaves": IntRange(8, 64, 8),
        "kind": Choice(("a", "b", 3)),
        "seed": Fixed(42),
    }
    assert parse_space(space_to_dict(space)) == space


def test_the_helpers_match_the_yaml_form() -> None:
    assert uniform(0, 1) == parse_space({"p": {"uniform": [0, 1]}})["p"]
    assert loguniform(1e-3, 1) == parse_space({"p": {"loguniform": [0.001, 1]}})["p"]
    assert intrange(1, 9, 2) == parse_space({"p": {"int": [1, 9, 2]}})["p"]
    assert choice(["x", "y"]) == parse_space({"p": {"choice": ["x", "y"]}})["p"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"lr": {"normal": [0, 1]}}, "parameter 'lr': unknown distribution 'normal'"),
        ({"lr": {"uniform": [1]}}, "parameter 'lr': uniform needs [low, high]"),
        ({"lr": {"uniform": [2, 1]}}, "parameter 'lr': uniform needs low <= high"),
        ({"lr": {"loguniform": [0, 1]}}, "parameter 'lr': loguniform needs low > 0"),
        ({"lr": {"int": [1.5, 3]}}, "parameter 'lr': low must be an integer"),
        ({"lr": {"choice": "abc"}}, "parameter 'lr': choice needs a list"),
        ({"lr": {"choice": []}}, "parameter 'lr': choice needs at least one option"),
        ({"lr": {"choice": [[1]]}}, "parameter 'lr': choice options must be"),
        ({"lr": {"uniform": [0, 1], "int": [1, 2]}}, "must name exactly one distribution"),
        ({"lr": {"uniform": {"low": 0, "top": 1}}}, "uniform does not take 'top'"),
        ({"lr": {"uniform": ["a", 1]}}, "low must be a finite number"),
    ],
)
def test_bad_space_entries_name_the_param(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_space(spec)
    assert message in str(info.value)
    assert info.value.field == "space.lr"


def test_space_file_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_space(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr: {loguniform: [1e-4, 1]\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_space(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- lr\n")
    with pytest.raises(InvalidInputError, match="mapping of parameter name"):
        load_space(listed)
    with pytest.raises(InvalidInputError, match="empty"):
        parse_space({})


@given(
    low=st.floats(-1e6, 1e6, allow_nan=False),
    width=st.floats(0, 1e6, allow_nan=False),
    ints=st.tuples(st.integers(-1000, 1000), st.integers(0, 1000), st.integers(1, 10)),
    options=st.lists(st.one_of(st.text(max_size=5), st.integers(), st.booleans()), min_size=1),
)
def test_space_round_trips_through_its_dict_form(
    low: float, width: float, ints: tuple[int, int, int], options: list[Any]
) -> None:
    space = {
        "a": uniform(low, low + width),
        "b": loguniform(abs(low) + 1e-3, abs(low) + 1e-3 + width),
        "c": intrange(ints[0], ints[0] + ints[1], ints[2]),
        "d": choice(options),
    }
    assert parse_space(space_to_dict(space)) == space

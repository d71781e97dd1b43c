"""The module-level API: runs, params, metrics, tags, nesting, endings, search."""

from __future__ import annotations

import math

import pytest

import loopml
from loopml.entities import RunStatus
from loopml.errors import FilterSyntaxError, InvalidInputError, NotFoundError, ParamConflictError


def test_run_records_everything_logged(tracking: str) -> None:
    with loopml.start_run(project="churn", name="baseline", tags={"team": "risk"}) as run:
        loopml.log_params({"lr": 0.01, "depth": 6})
        for step in range(100):
            loopml.log_metrics({"loss": 1 / (step + 1), "acc": step / 100}, step=step)
        loopml.set_tag("stage", "dev")
    stored = loopml.get_run(run.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.end_time is not None and stored.end_time >= stored.start_time
    assert stored.project == "churn" and stored.name == "baseline"
    assert dict(stored.params) == {"lr": "0.01", "depth": "6"}
    assert stored.metrics["acc"] == pytest.approx(0.99)
    assert dict(stored.tags) == {"team": "risk", "stage": "dev"}
    history = loopml.get_metric_history(run.id, "loss")
    assert [m.step for m in history] == list(range(100))
    assert history[-1].value == pytest.approx(0.01)


def test_exception_ends_run_failed_with_traceback(tracking: str) -> None:
    def train() -> str:
        with loopml.start_run(project="p") as run:
            loopml.log_metric("before", 1.0)
            _ = 1 / 0
        return run.id

    with pytest.raises(ZeroDivisionError):
        train()
    run = loopml.search_runs(project="p", output="list")[0]
    stored = loopml.get_run(run.id)
    assert stored.status is RunStatus.FAILED
    assert stored.error is not None and "ZeroDivisionError" in stored.error
    assert stored.metrics["before"] == 1.0, "values logged before the failure are kept"


def test_keyboard_interrupt_ends_run_killed(tracking: str) -> None:
    with pytest.raises(KeyboardInterrupt), loopml.start_run(project="p") as run:
        raise KeyboardInterrupt
    assert loopml.get_run(run.id).status is RunStatus.KILLED


def test_nested_runs_get_their_parent(tracking: str) -> None:
    with loopml.start_run(project="cv") as parent:
        with loopml.start_run(name="fold-0") as child:
            assert loopml.active_run() is child
        assert loopml.active_run() is parent
    assert loopml.active_run() is None
    assert loopml.get_run(child.id).parent_id == parent.id
    assert loopml.get_run(child.id).project == "cv", "a child inherits the project"


def test_nested_false_refuses_a_second_run(tracking: str) -> None:
    with loopml.start_run(project="p"), pytest.raises(InvalidInputError, match="still active"):
        loopml.start_run(project="p", nested=False)


def test_params_are_immutable(tracking: str) -> None:
    with loopml.start_run(project="p") as run:
        loopml.log_param("lr", 0.1)
        loopml.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(ParamConflictError, match="'lr'"):
            loopml.log_param("lr", 0.2)
    assert loopml.get_run(run.id).params["lr"] == "0.1"


def test_steps_default_to_previous_plus_one(tracking: str) -> None:
    with loopml.start_run(project="p") as run:
        for value in (3.0, 2.0, 1.0):
            loopml.log_metric("loss", value)
        loopml.log_metric("loss", 0.5, step=10)
        loopml.log_metric("loss", 0.4)
    steps = [m.step for m in loopml.get_metric_history(run.id, "loss")]
    assert steps == [0, 1, 2, 10, 11]


def test_nan_and_inf_round_trip(tracking: str) -> None:
    with loopml.start_run(project="p") as run:
        loopml.log_metric("nan", float("nan"))
        loopml.log_metric("inf", float("inf"))
    stored = loopml.get_run(run.id)
    assert math.isnan(stored.metrics["nan"])
    assert stored.metrics["inf"] == math.inf


def test_log_batch_accepts_tuples(tracking: str) -> None:
    with loopml.start_run(project="p") as run:
        loopml.log_batch(
            metrics=[("m", float(i), i) for i in range(1000)], params={"a": 1}, tags={"t": "x"}
        )
    stored = loopml.get_run(run.id)
    assert stored.metrics["m"] == 999.0
    assert len(loopml.get_metric_history(run.id, "m")) == 1000
    assert stored.params["a"] == "1" and stored.tags["t"] == "x"


def test_logging_without_a_run_starts_one(tracking: str) -> None:
    loopml.log_metric("x", 1.0)
    run = loopml.active_run()
    assert run is not None and run.project == "default"
    loopml.end_run()
    assert loopml.get_run(run.id).status is RunStatus.FINISHED


def test_search_runs_dataframe(tracking: str) -> None:
    for depth in (2, 4, 6):
        with loopml.start_run(project="s", name=f"d{depth}"):
            loopml.log_params({"depth": depth})
            loopml.log_metric("acc", depth / 10)
    df = loopml.search_runs(project="s", filter="metrics.acc > 0.3", order_by=["metrics.acc DESC"])
    assert list(df["name"]) == ["d6", "d4"]
    assert list(df["params.depth"]) == ["6", "4"]
    assert str(df["start_time"].dtype).startswith("datetime64")
    empty = loopml.search_runs(project="nobody")
    assert len(empty) == 0 and "run_id" in empty.columns


def test_search_runs_bad_filter_names_the_token(tracking: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        loopml.search_runs(filter="metrics.acc > 0.9 adn params.depth = '6'")
    assert "adn" in str(info.value)


def test_get_run_unknown_id(tracking: str) -> None:
    with pytest.raises(NotFoundError):
        loopml.get_run("0" * 32)


def test_delete_and_restore(tracking: str) -> None:
    with loopml.start_run(project="d") as run:
        pass
    loopml.delete_run(run.id)
    assert len(loopml.search_runs(project="d")) == 0
    assert len(loopml.search_runs(project="d", lifecycle="deleted")) == 1
    loopml.restore_run(run.id)
    assert list(loopml.search_runs(project="d")["run_id"]) == [run.id]

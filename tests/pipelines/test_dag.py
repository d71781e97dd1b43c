"""Definition: decorators, the static DAG, named outputs, fan-out/fan-in, validation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from tests.pipelines.example_pipelines import diamond, fan, outputs, source, split, square

from loopml import pipeline, step
from loopml.errors import InvalidInputError
from loopml.pipelines import Pipeline, Step
from loopml.pipelines.dag import MapOutput, StepOutput, StepOutputs
from loopml.pipelines.params import convert_value, parse_param_args


class Opaque:
    """A type no materializer stores without pickle."""


@step
def make_opaque() -> Opaque:
    return Opaque()


@step(allow_pickle=True)
def make_pickled() -> Opaque:
    return Opaque()


@step
def take(x: Any) -> None:
    return None


def test_decorators_with_and_without_options() -> None:
    assert isinstance(source, Step) and source.name == "source" and source.retries == 0

    @step(name="renamed", retries=3, backoff=0.1, cache=False, cache_version="2")
    def f(x: int) -> int:
        return x

    assert (f.name, f.retries, f.backoff, f.cache, f.cache_version) == (
        "renamed",
        3,
        0.1,
        False,
        "2",
    )
    assert isinstance(diamond, Pipeline) and diamond.name == "diamond"

    @pipeline(name="custom", project="proj")
    def p() -> None:
        f(1)

    assert (p.name, p.project) == ("custom", "proj")


def test_calling_a_step_outside_a_pipeline_calls_the_function() -> None:
    assert source(3) == 3
    assert split(3) == (2, 4)
    assert square.map([1, 2, 3]) == [1, 4, 9]


def test_the_body_builds_a_static_dag() -> None:
    graph, full, given = diamond.build(x=2)
    assert (full, given) == ({"x": 2}, {"x": 2})
    assert list(graph.nodes) == ["source", "add", "add_2", "mul"]
    mul = graph.nodes["mul"]
    assert mul.upstream == ("add", "add_2") and mul.params == {}
    assert mul.inputs == {"a": StepOutput("add", "output"), "b": StepOutput("add_2", "output")}
    assert graph.nodes["add"].params == {"b": 10}
    assert graph.downstream()["source"] == ["add", "add_2"]
    assert graph.nodes["source"].materializers == {"output": "json"}


def test_map_fans_out_and_passing_the_result_fans_in() -> None:
    graph, _, _ = fan.build(n=3)
    assert list(graph.nodes) == ["square[0]", "square[1]", "square[2]", "total"]
    assert graph.nodes["square[1]"].params == {"x": 1}
    assert graph.nodes["square[1]"].group == "square"
    total = graph.nodes["total"]
    assert total.inputs == {"values": [StepOutput(f"square[{i}]", "output") for i in range(3)]}


def test_map_over_a_map_goes_item_by_item() -> None:
    @pipeline
    def chained() -> None:
        squares = square.map([1, 2])
        assert isinstance(squares, MapOutput) and len(squares) == 2
        square.map(squares)

    graph, _, _ = chained.build()
    assert list(graph.nodes) == ["square[0]", "square[1]", "square_2[0]", "square_2[1]"]
    assert graph.nodes["square_2[1]"].upstream == ("square[1]",)


def test_named_outputs() -> None:
    seen: dict[str, Any] = {}

    @pipeline
    def probe() -> None:
        seen["tuple"] = split(1)
        seen["stats"] = outputs.func.__globals__["stats"]([seen["tuple"][0]])

    probe.build()
    low, high = seen["tuple"]
    assert (low, high) == (StepOutput("split", "low"), StepOutput("split", "high"))
    stats = seen["stats"]
    assert isinstance(stats, StepOutputs)
    assert stats.mean == StepOutput("stats", "mean") and stats["count"].output == "count"


def test_a_placeholder_has_no_value_in_the_body() -> None:
    @pipeline
    def branching() -> None:
        if source(1):
            pass

    with pytest.raises(InvalidInputError, match="no value while the pipeline is being built"):
        branching.build()


def test_passing_all_dataclass_outputs_is_refused() -> None:
    stats = outputs.func.__globals__["stats"]

    @pipeline
    def bad() -> None:
        take(stats([source(1)]))

    with pytest.raises(InvalidInputError, match="pass one output"):
        bad.build()


def test_a_dataset_uri_param_is_a_dataset_input() -> None:
    @step
    def read(uri: str) -> int:
        return len(uri)

    @pipeline
    def reads(uri: str = "datasets:/raw/1") -> None:
        read(uri)

    graph, _, _ = reads.build()
    assert graph.nodes["read"].dataset_params == ("uri",)


# -- validation before any step runs ----------------------------------------------------------
def test_unknown_param_names_the_accepted_ones() -> None:
    with pytest.raises(InvalidInputError) as info:
        diamond.build(y=1)
    assert info.value.field == "y" and "x" in (info.value.hint or "")


def test_unconvertible_param_says_the_expected_type() -> None:
    with pytest.raises(InvalidInputError) as info:
        diamond.build(x="abc")
    assert info.value.field == "x" and "must be int" in info.value.message


def test_missing_param() -> None:
    @pipeline
    def needs(x: int) -> None:
        source(x)

    with pytest.raises(InvalidInputError, match="needs param 'x'"):
        needs.build()


def test_text_params_are_converted_to_the_hints() -> None:
    graph, full, _ = diamond.build(x="7")
    assert full == {"x": 7} and graph.nodes["source"].params == {"x": 7}
    assert convert_value("f", "0.5", float) == 0.5
    assert convert_value("b", "yes", bool) is True
    assert convert_value("p", "a/b", Path) == Path("a/b")
    assert convert_value("l", "[1, 2]", list[int]) == [1, 2]
    assert convert_value("o", "none", int | None) is None
    assert convert_value("o", "3", int | None) == 3
    assert convert_value("a", "x", Annotated[str, "doc"]) == "x"
    with pytest.raises(InvalidInputError):
        convert_value("i", 1.5, int)
    with pytest.raises(InvalidInputError):
        convert_value("b", "maybe", bool)
    assert parse_param_args(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(InvalidInputError):
        parse_param_args(["novalue"])


def test_a_return_type_no_materializer_stores_is_refused_before_the_run() -> None:
    @pipeline
    def opaque() -> None:
        make_opaque()

    with pytest.raises(InvalidInputError) as info:
        opaque.build()
    assert info.value.field == "make_opaque.returns"

    @pipeline
    def pickled() -> None:
        make_pickled()

    graph, _, _ = pickled.build()
    assert graph.nodes["make_pickled"].materializers == {"output": "pickle"}


def test_bad_step_arguments_are_refused() -> None:
    @pipeline
    def wrong() -> None:
        source(1, 2)  # type: ignore[call-arg]

    with pytest.raises(InvalidInputError, match="source"):
        wrong.build()


def test_a_pipeline_without_steps_is_refused() -> None:
    @pipeline
    def empty() -> None:
        pass

    with pytest.raises(InvalidInputError, match="calls no step"):
        empty.build()


def test_star_args_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"\*args"):
        step(lambda *args: None)


def test_pipelines_compose() -> None:
    @pipeline
    def outer(x: int = 1) -> None:
        diamond(x)
        source(x)

    graph, _, _ = outer.build()
    assert list(graph.nodes) == ["source", "add", "add_2", "mul", "source_2"]

"""lineage: a three-step chain walked both ways, batched per level, and clear errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import loopml
from loopml.data.lineage import LineageGraph, lineage
from loopml.data.tables import load, log_table
from loopml.entities import LineageEdge, now_ms
from loopml.errors import InvalidInputError, NotFoundError
from loopml.tracking.context import get_context


@pytest.fixture(autouse=True)
def tracking(tmp_path: Path) -> None:
    loopml.configure(
        tracking_uri=f"sqlite:///{tmp_path / 'loopml.db'}", artifact_uri=str(tmp_path / "objects")
    )


def _edge(run_id: str, direction: str, ref: str) -> None:
    get_context().store.add_lineage([LineageEdge(run_id, direction, ref, now_ms(), "churn")])


@pytest.fixture
def chain() -> dict[str, str]:
    """ingest -> raw -> prep -> features -> train -> models:/churn/1 -> score -> predictions
    (score also reads features). Run ids by name."""
    ids: dict[str, str] = {}
    with loopml.start_run(project="churn", name="ingest") as run:
        log_table(pd.DataFrame({"x": [1, 2, 3]}), name="raw")
    ids["ingest"] = run.id
    with loopml.start_run(project="churn", name="prep") as run:
        raw = load("datasets:/raw@latest")
        log_table(raw.assign(y=raw.x * 2), name="features")
    ids["prep"] = run.id
    with loopml.start_run(project="churn", name="train") as run:
        load("datasets:/features/1")
        _edge(run.id, "output", "models:/churn/1")  # the registry records this later
    ids["train"] = run.id
    with loopml.start_run(project="churn", name="score") as run:
        _edge(run.id, "input", "models:/churn/1")
        features = load("datasets:/features/1")
        log_table(features.assign(p=0.5), name="predictions")
    ids["score"] = run.id
    return ids


def _edges(graph: LineageGraph, ids: dict[str, str]) -> set[tuple[str, str]]:
    names = {f"runs:/{v}": k for k, v in ids.items()}
    return {(names.get(e.source, e.source), names.get(e.target, e.target)) for e in graph.links}


def test_downstream_from_the_first_dataset(chain: dict[str, str]) -> None:
    graph = lineage("datasets:/raw@latest", depth=3)
    assert graph.root == "datasets:/raw/1"
    assert _edges(graph, chain) == {
        ("ingest", "datasets:/raw/1"),  # upstream: who made it
        ("datasets:/raw/1", "prep"),
        ("prep", "datasets:/features/1"),
        ("datasets:/features/1", "train"),
        ("datasets:/features/1", "score"),
        ("train", "models:/churn/1"),
        ("score", "datasets:/predictions/1"),
        ("models:/churn/1", "score"),
    }
    nodes = graph.nodes
    assert nodes[f"runs:/{chain['prep']}"].distance == 1
    assert nodes["datasets:/features/1"].distance == 2
    assert nodes["models:/churn/1"].distance == 4
    assert nodes["models:/churn/1"].kind == "model"
    assert nodes[f"runs:/{chain['ingest']}"].distance == -1
    prep = nodes[f"runs:/{chain['prep']}"]
    assert (prep.name, prep.project, prep.status) == ("prep", "churn", "FINISHED")


def test_upstream_from_the_last_dataset(chain: dict[str, str]) -> None:
    graph = lineage("datasets:/predictions/1", direction="upstream", depth=2)
    assert _edges(graph, chain) == {
        ("score", "datasets:/predictions/1"),
        ("models:/churn/1", "score"),
        ("datasets:/features/1", "score"),
        ("train", "models:/churn/1"),
        ("prep", "datasets:/features/1"),
        ("datasets:/features/1", "train"),
        ("datasets:/raw/1", "prep"),
    }  # two runs up: score, then train and prep; ingest is the third
    assert all(n.distance <= 0 for n in graph.nodes.values())
    assert graph.nodes["datasets:/raw/1"].distance == -4
    deeper = lineage("datasets:/predictions/1", direction="upstream", depth=3)
    assert ("ingest", "datasets:/raw/1") in _edges(deeper, chain)


def test_depth_counts_runs(chain: dict[str, str]) -> None:
    graph = lineage("datasets:/raw/1", depth=1, direction="downstream")
    assert _edges(graph, chain) == {
        ("datasets:/raw/1", "prep"),
        ("prep", "datasets:/features/1"),
    }


@pytest.mark.parametrize("form", ["runs:/{}", "{}"])
def test_from_a_run(chain: dict[str, str], form: str) -> None:
    graph = lineage(form.format(chain["train"]), depth=1)
    assert graph.root == f"runs:/{chain['train']}"
    assert _edges(graph, chain) == {
        ("datasets:/features/1", "train"),
        ("train", "models:/churn/1"),
    }
    assert graph.nodes[graph.root].name == "train"
    assert [n.id for n in graph.downstream(graph.root)] == ["models:/churn/1"]
    assert [n.id for n in graph.upstream(graph.root)] == ["datasets:/features/1"]


def test_from_a_model(chain: dict[str, str]) -> None:
    graph = lineage("models:/churn/1", depth=1)
    assert _edges(graph, chain) == {
        ("train", "models:/churn/1"),
        ("datasets:/features/1", "train"),
        ("models:/churn/1", "score"),
        ("score", "datasets:/predictions/1"),
    }


def test_one_batched_call_per_level(chain: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    store = get_context().store
    calls: Counter[str] = Counter()

    def counting(name: str) -> Callable[..., Any]:
        real = getattr(store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    for name in ("lineage_of_refs", "lineage_of_runs", "get_runs", "get_run"):
        monkeypatch.setattr(store, name, counting(name))
    lineage("datasets:/features/1", depth=3)
    assert calls["lineage_of_refs"] <= 3
    assert calls["lineage_of_runs"] <= 3
    assert calls["get_runs"] == 1
    assert calls["get_run"] == 0


def test_no_lineage_recorded() -> None:
    log_table(pd.DataFrame({"x": [1]}), name="lonely")
    graph = lineage("datasets:/lonely/1")
    assert list(graph.nodes) == ["datasets:/lonely/1"]
    assert graph.links == []
    assert graph.to_dict() == {
        "root": "datasets:/lonely/1",
        "depth": 3,
        "nodes": [
            {
                "id": "datasets:/lonely/1",
                "kind": "dataset",
                "distance": 0,
                "name": "lonely",
                "version": 1,
                "run_id": None,
                "project": None,
                "status": None,
            }
        ],
        "edges": [],
    }


def test_unknown_things() -> None:
    log_table(pd.DataFrame({"x": [1]}), name="t")
    with pytest.raises(NotFoundError, match="'ghost' does not exist"):
        lineage("datasets:/ghost@latest")
    with pytest.raises(NotFoundError, match="no version 4"):
        lineage("datasets:/t/4")
    with pytest.raises(NotFoundError, match="no run") as info:
        lineage("runs:/" + "0" * 32)
    assert info.value.run_id == "0" * 32


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("datasets:/t/x", "positive integer"),
        ("models:/churn@champion", "not a model version URI"),
        ("models:/churn", "not a model version URI"),
        ("runs:/xyz", "not a lineage URI"),
        ("churn", "not a lineage URI"),
        ("", "needs a URI"),
    ],
)
def test_malformed_uris(uri: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match) as info:
        lineage(uri)
    assert info.value.field == "uri"
    assert info.value.hint


def test_bad_depth_and_direction() -> None:
    with pytest.raises(InvalidInputError, match="depth") as info:
        lineage("datasets:/t/1", depth=0)
    assert info.value.field == "depth"
    with pytest.raises(InvalidInputError, match="direction"):
        lineage("datasets:/t/1", direction="sideways")  # type: ignore[arg-type]

"""SQL store search: every operator on every entity, nesting, ordering, paging, errors."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from loopml.entities import Metric, Param, RunSource, RunStatus, Tag, new_id
from loopml.errors import InvalidInputError
from loopml.store.filter.ast import And, Comparison, Node, Or, OrderBy
from loopml.store.sql import schema
from loopml.store.sql.store import SqlStore


def m(key: str, op: Any, value: Any = None) -> Comparison:
    return Comparison("metrics", key, op, value)


def p(key: str, op: Any, value: Any = None) -> Comparison:
    return Comparison("params", key, op, value)


def t(key: str, op: Any, value: Any = None) -> Comparison:
    return Comparison("tags", key, op, value)


def a(key: str, op: Any, value: Any = None) -> Comparison:
    return Comparison("attributes", key, op, value)


# r0..r4 in project p, r5 in project q; start times 1000, 2000, ... 6000.
DATA: list[dict[str, Any]] = [
    {"metrics": {"acc": 0.9, "loss": 0.1}, "params": {"opt": "adam", "lr": "0.01"},
     "tags": {"team": "Risk", "note": "a*b"}, "user": "alice", "status": RunStatus.FINISHED,
     "git_commit": "abc123"},
    {"metrics": {"acc": 0.5, "loss": 0.5}, "params": {"opt": "sgd", "lr": "0.1"},
     "tags": {"team": "ops", "note": "axb"}, "user": "bob", "status": RunStatus.FAILED},
    {"metrics": {"acc": 0.7}, "params": {"opt": "Adam"}, "tags": {"team": "risk_x",
     "note": "100%"}},
    {"metrics": {"acc": math.nan, "loss": math.inf}, "status": RunStatus.KILLED},
    {"params": {"opt": "adamw"}, "tags": {"team": "Team-A"}, "parent": 0},
    {"metrics": {"acc": 0.95}, "params": {"opt": "adam"}, "tags": {"team": "risk"},
     "project": "q"},
]  # fmt: skip
ALL = {f"r{i}" for i in range(len(DATA))}


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    with SqlStore(store_uri) as opened:
        yield opened


@pytest.fixture
def ids(store: SqlStore) -> dict[str, str]:
    made: dict[str, str] = {}
    for i, spec in enumerate(DATA):
        parent = made.get(f"r{spec['parent']}") if "parent" in spec else None
        run = store.create_run(
            spec.get("project", "p"),
            name=f"r{i}",
            start_time=(i + 1) * 1000,
            parent_id=parent,
            source=RunSource(user=spec.get("user"), git_commit=spec.get("git_commit")),
        )
        store.log_batch(
            run.id,
            metrics=[Metric(k, v, 0, 1) for k, v in spec.get("metrics", {}).items()],
            params=[Param(k, v) for k, v in spec.get("params", {}).items()],
            tags=[Tag(k, v) for k, v in spec.get("tags", {}).items()],
        )
        if "status" in spec:
            store.end_run(run.id, spec["status"], end_time=10_000)
        made[f"r{i}"] = run.id
    return made


def names(store: SqlStore, node: Node | None = None, **kwargs: Any) -> list[str]:
    page = store.search_runs(filter=node, **kwargs)
    assert page.next_token is None
    return [run.name for run in page.items]


def check(store: SqlStore, cases: Sequence[tuple[Node, set[str]]]) -> None:
    wrong = []
    for node, expected in cases:
        got = set(names(store, node))
        if got != expected:
            wrong.append(f"{node}: expected {sorted(expected)}, got {sorted(got)}")
    assert wrong == []


def test_metric_operators(store: SqlStore, ids: dict[str, str]) -> None:
    check(
        store,
        [
            (m("acc", "=", 0.5), {"r1"}),
            (m("acc", "!=", 0.5), {"r0", "r2", "r5"}),  # NaN and missing match nothing
            (m("acc", "<", 0.7), {"r1"}),
            (m("acc", "<=", 0.7), {"r1", "r2"}),
            (m("acc", ">", 0.7), {"r0", "r5"}),
            (m("acc", ">=", 0.9), {"r0", "r5"}),
            (m("acc", ">", 0), {"r0", "r1", "r2", "r5"}),
            (m("loss", ">", 1e308), {"r3"}),
            (m("loss", "=", math.inf), {"r3"}),
            (m("acc", "IS NULL"), {"r3", "r4"}),  # NaN counts as missing
            (m("acc", "IS NOT NULL"), {"r0", "r1", "r2", "r5"}),
            (m("loss", "IS NULL"), {"r2", "r4", "r5"}),
        ],
    )


def test_param_operators(store: SqlStore, ids: dict[str, str]) -> None:
    check(
        store,
        [
            (p("opt", "=", "adam"), {"r0", "r5"}),
            (p("opt", "!=", "adam"), {"r1", "r2", "r4"}),
            (p("opt", "LIKE", "adam%"), {"r0", "r4", "r5"}),
            (p("opt", "ILIKE", "adam%"), {"r0", "r2", "r4", "r5"}),
            (p("opt", "LIKE", "Adam"), {"r2"}),
            (p("opt", "ILIKE", "ADAM"), {"r0", "r2", "r5"}),
            (p("lr", "LIKE", "0._1"), {"r0"}),
            (p("opt", "IN", ("sgd", "adamw")), {"r1", "r4"}),
            (p("opt", "NOT IN", ("sgd", "adamw")), {"r0", "r2", "r5"}),
            (p("opt", "IN", ["sgd"]), {"r1"}),  # a list works like a tuple
            (p("opt", "IS NULL"), {"r3"}),
            (p("opt", "IS NOT NULL"), ALL - {"r3"}),
            (p("missing", "=", "x"), set()),
        ],
    )


def test_tag_operators(store: SqlStore, ids: dict[str, str]) -> None:
    check(
        store,
        [
            (t("team", "=", "risk"), {"r5"}),
            (t("team", "!=", "ops"), {"r0", "r2", "r4", "r5"}),
            (t("team", "LIKE", "risk%"), {"r2", "r5"}),
            (t("team", "ILIKE", "risk"), {"r0", "r5"}),
            (t("team", "LIKE", "risk\\_%"), {"r2"}),  # escaped underscore is literal
            (t("team", "LIKE", "risk_x"), {"r2"}),
            (t("note", "LIKE", "a*b"), {"r0"}),  # GLOB characters are literal in LIKE
            (t("note", "LIKE", "a_b"), {"r0", "r1"}),
            (t("note", "LIKE", "100\\%"), {"r2"}),
            (t("note", "LIKE", "%\\%"), {"r2"}),
            (t("note", "ILIKE", "100\\%"), {"r2"}),
            (t("team", "ILIKE", "RISK\\_%"), {"r2"}),
            (t("note", "ILIKE", "A*B"), {"r0"}),
            (t("team", "IN", ("ops", "Team-A")), {"r1", "r4"}),
            (t("team", "NOT IN", ("ops",)), {"r0", "r2", "r4", "r5"}),
            (t("team", "IS NULL"), {"r3"}),
            (t("team", "IS NOT NULL"), ALL - {"r3"}),
        ],
    )


def test_like_is_case_sensitive_and_ilike_is_not(store: SqlStore, ids: dict[str, str]) -> None:
    assert set(names(store, t("team", "LIKE", "team-a"))) == set()
    assert set(names(store, t("team", "LIKE", "Team-A"))) == {"r4"}
    assert set(names(store, t("team", "ILIKE", "team-a"))) == {"r4"}
    assert set(names(store, a("name", "LIKE", "R%"))) == set()
    assert set(names(store, a("name", "ILIKE", "R%"))) == ALL


def test_attribute_operators(store: SqlStore, ids: dict[str, str]) -> None:
    check(
        store,
        [
            (a("name", "=", "r1"), {"r1"}),
            (a("run_name", "=", "r1"), {"r1"}),
            (a("name", "IN", ("r1", "r2")), {"r1", "r2"}),
            (a("id", "=", ids["r3"]), {"r3"}),
            (a("run_id", "NOT IN", (ids["r3"],)), ALL - {"r3"}),
            (a("status", "=", "FINISHED"), {"r0"}),
            (a("status", "IN", ("FAILED", "KILLED")), {"r1", "r3"}),
            (a("status", "!=", "RUNNING"), {"r0", "r1", "r3"}),
            (a("start_time", ">", 3000), {"r3", "r4", "r5"}),
            (a("start_time", "<=", 2000), {"r0", "r1"}),
            (a("start_time", "=", 2000), {"r1"}),
            (a("start_time", "!=", 2000), ALL - {"r1"}),
            (a("start_time", ">=", 6000), {"r5"}),
            (a("start_time", "<", 1001), {"r0"}),
            (a("end_time", "IS NULL"), {"r2", "r4", "r5"}),
            (a("end_time", "IS NOT NULL"), {"r0", "r1", "r3"}),
            (a("parent_id", "=", ids["r0"]), {"r4"}),
            (a("parent_id", "IS NULL"), ALL - {"r4"}),
            (a("user", "=", "alice"), {"r0"}),
            (a("user", "IS NULL"), ALL - {"r0", "r1"}),
            (a("git_commit", "LIKE", "abc%"), {"r0"}),
            (a("project", "=", "q"), {"r5"}),
            (a("project", "!=", "q"), ALL - {"r5"}),
            (a("project", "ILIKE", "Q"), {"r5"}),
        ],
    )


def test_and_or_nesting(store: SqlStore, ids: dict[str, str]) -> None:
    risky = t("team", "ILIKE", "risk")
    check(
        store,
        [
            (And((m("acc", ">", 0.6), Or((p("opt", "=", "sgd"), risky)))), {"r0", "r5"}),
            (
                Or((And((m("acc", "<", 0.6), p("opt", "=", "sgd"))),
                    And((a("project", "=", "q"), m("acc", ">", 0.9))))),
                {"r1", "r5"},
            ),
            (
                And((Or((m("acc", ">", 0.8), m("acc", "<", 0.6))),
                     Or((p("opt", "ILIKE", "adam%"), t("team", "=", "ops"))),
                     Or((a("project", "=", "p"), And((risky, m("loss", "IS NULL"))))))),
                {"r0", "r1", "r5"},
            ),
            (Or((m("acc", ">", 2), p("opt", "=", "none"))), set()),
            (And((p("opt", "IS NULL"), m("loss", "IS NOT NULL"))), {"r3"}),
        ],
    )  # fmt: skip


# -- ordering ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ([], ["r5", "r4", "r3", "r2", "r1", "r0"]),
        ([OrderBy("metrics", "acc")], ["r1", "r2", "r0", "r5", "r4", "r3"]),
        ([OrderBy("metrics", "acc", True)], ["r5", "r0", "r2", "r1", "r4", "r3"]),
        ([OrderBy("metrics", "loss", True)], ["r3", "r1", "r0", "r5", "r4", "r2"]),
        ([OrderBy("params", "opt")], ["r2", "r5", "r0", "r4", "r1", "r3"]),
        ([OrderBy("params", "opt", True)], ["r1", "r4", "r5", "r0", "r2", "r3"]),
        ([OrderBy("tags", "team")], ["r0", "r4", "r1", "r5", "r2", "r3"]),
        ([OrderBy("attributes", "name", True)], ["r5", "r4", "r3", "r2", "r1", "r0"]),
        ([OrderBy("attributes", "start_time")], ["r0", "r1", "r2", "r3", "r4", "r5"]),
        ([OrderBy("attributes", "end_time")], ["r3", "r1", "r0", "r5", "r4", "r2"]),
        ([OrderBy("attributes", "project", True)], ["r5", "r4", "r3", "r2", "r1", "r0"]),
        ([OrderBy("attributes", "project")], ["r4", "r3", "r2", "r1", "r0", "r5"]),
        (
            [OrderBy("params", "opt"), OrderBy("metrics", "acc")],
            ["r2", "r0", "r5", "r4", "r1", "r3"],
        ),
    ],
)
def test_order_by(
    store: SqlStore, ids: dict[str, str], order: list[OrderBy], expected: list[str]
) -> None:
    assert names(store, order_by=order) == expected


def test_filter_and_order_on_the_same_keys(store: SqlStore, ids: dict[str, str]) -> None:
    """A filter's per-run checks stay tied to the run while the ordering joins the same
    tables again (under aliases)."""
    node = And((m("acc", ">", 0.6), Or((p("opt", "=", "adam"), t("team", "LIKE", "risk%")))))
    order = [OrderBy("metrics", "acc"), OrderBy("params", "opt", True)]
    assert names(store, node, order_by=order) == ["r2", "r0", "r5"]
    assert names(store, And((m("loss", "IS NULL"), p("opt", "IS NOT NULL"))), order_by=order) == [
        "r2",
        "r5",
        "r4",
    ]


def test_ties_break_by_start_time_then_id(store: SqlStore) -> None:
    made = [store.create_run("p", start_time=500).id for _ in range(4)]
    made.append(store.create_run("p", start_time=900).id)
    got = [r.id for r in store.search_runs(order_by=[OrderBy("metrics", "none")]).items]
    assert got == [made[4], *sorted(made[:4], reverse=True)]


# -- paging, lifecycle, projects --------------------------------------------------------------
def test_pagination_covers_every_run_once(store: SqlStore) -> None:
    for i in range(25):
        run = store.create_run("p", start_time=1000 + i // 3)  # some equal start times
        if i % 4:
            store.log_batch(run.id, metrics=[Metric("acc", float(i % 5), 0, 1)])
    for order in ([], [OrderBy("metrics", "acc", True)]):
        full = [r.id for r in store.search_runs(order_by=order).items]
        paged: list[str] = []
        token = None
        pages = 0
        while True:
            page = store.search_runs(order_by=order, max_results=7, page_token=token)
            paged += [r.id for r in page.items]
            pages += 1
            token = page.next_token
            if token is None:
                break
        assert pages == 4
        assert len(full) == 25
        assert paged == full
        assert len(set(paged)) == 25


def test_page_tokens_are_checked(store: SqlStore) -> None:
    for _ in range(3):
        store.create_run("p")
    token = store.search_runs(max_results=1).next_token
    assert token is not None
    with pytest.raises(InvalidInputError) as info:
        store.search_runs(max_results=1, page_token=token, filter=m("acc", ">", 1))
    assert info.value.field == "page_token"
    with pytest.raises(InvalidInputError):
        store.search_runs(page_token="not a token")
    with pytest.raises(InvalidInputError) as info:
        store.search_runs(max_results=0)
    assert info.value.field == "max_results"


def test_exact_page_size_has_no_next_token(store: SqlStore) -> None:
    for _ in range(4):
        store.create_run("p")
    first = store.search_runs(max_results=2)
    assert first.next_token is not None
    second = store.search_runs(max_results=2, page_token=first.next_token)
    assert len(second.items) == 2
    assert second.next_token is None


def test_lifecycle_filter(store: SqlStore, ids: dict[str, str]) -> None:
    store.delete_runs([ids["r1"], ids["r3"]])
    assert set(names(store)) == ALL - {"r1", "r3"}
    assert set(names(store, lifecycle="deleted")) == {"r1", "r3"}
    assert set(names(store, lifecycle="all")) == ALL
    assert set(names(store, m("acc", "<", 0.6), lifecycle="all")) == {"r1"}
    assert set(names(store, m("acc", "<", 0.6))) == set()
    with pytest.raises(InvalidInputError):
        store.search_runs(lifecycle="gone")  # type: ignore[arg-type]


def test_projects_filter(store: SqlStore, ids: dict[str, str]) -> None:
    assert names(store, projects=["q"]) == ["r5"]
    assert set(names(store, projects=["p", "q"])) == ALL
    assert set(names(store, projects=["p"])) == ALL - {"r5"}
    assert names(store, projects=[]) == []
    assert names(store, projects=["nope"]) == []
    assert set(names(store, projects=["nope", "q"])) == {"r5"}


def test_results_carry_their_data(store: SqlStore, ids: dict[str, str]) -> None:
    (run,) = store.search_runs(filter=a("name", "=", "r0")).items
    assert dict(run.metrics) == {"acc": 0.9, "loss": 0.1}
    assert dict(run.params) == {"opt": "adam", "lr": "0.01"}
    assert run.tags["team"] == "Risk"
    assert run.status is RunStatus.FINISHED
    assert run == store.get_run(ids["r0"])


def test_long_param_values_match_exactly(store: SqlStore) -> None:
    base = "x" * 300
    one, two = store.create_run("p"), store.create_run("p")
    store.log_batch(one.id, params=[Param("cfg", base + "1")])
    store.log_batch(two.id, params=[Param("cfg", base + "2")])
    assert [r.id for r in store.search_runs(filter=p("cfg", "=", base + "2")).items] == [two.id]
    hit = store.search_runs(filter=p("cfg", "IN", (base + "1", "other"))).items
    assert [r.id for r in hit] == [one.id]
    edge, longer = store.create_run("p"), store.create_run("p")  # exactly the indexed length
    store.log_batch(edge.id, params=[Param("edge", "y" * 200)])
    store.log_batch(longer.id, params=[Param("edge", "y" * 200 + "z")])
    assert [r.id for r in store.search_runs(filter=p("edge", "=", "y" * 200)).items] == [edge.id]
    assert [r.id for r in store.search_runs(filter=p("edge", "=", "y" * 199)).items] == []


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("node", "mentions"),
    [
        (m("acc", ">", "x"), "metrics.acc"),
        (m("acc", ">", "0.5"), "without quotes"),
        (m("acc", "LIKE", "x%"), "metrics.acc"),
        (m("acc", "IS NULL", 1), "metrics.acc"),
        (m("acc", ">", math.nan), "NaN"),
        (p("x", ">", 1), "params.x"),
        (p("x", "=", 1), "quote"),
        (t("team", "IN", ()), "tags.team"),
        (t("team", "IN", ("a", 1)), "tags.team"),
        (t("team", "LIKE", "abc\\"), "backslash"),
        (a("nope", "=", "x"), "nope"),
        (a("status", "=", "running"), "RUNNING"),
        (a("start_time", "=", "yesterday"), "attributes.start_time"),
        (a("name", ">", "a"), "attributes.name"),
        (Comparison("bogus", "k", "=", "x"), "bogus"),  # type: ignore[arg-type]
        (And(()), "empty"),
        (Or((m("acc", ">", 0.5), p("x", "<", "1"))), "params.x"),
    ],
)
def test_bad_filters_name_the_key_and_the_fix(store: SqlStore, node: Node, mentions: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        store.search_runs(filter=node)
    assert info.value.field == "filter"
    assert mentions in str(info.value)
    assert info.value.hint


def test_bad_order_by(store: SqlStore) -> None:
    with pytest.raises(InvalidInputError):
        store.search_runs(order_by=[OrderBy("attributes", "nope")])
    with pytest.raises(InvalidInputError) as info:
        store.search_runs(order_by=[replace(OrderBy("metrics", "x"), entity="bogus")])  # type: ignore[arg-type]
    assert info.value.field == "order_by"


# -- scale ------------------------------------------------------------------------------------
def _seed(conn: Connection, project_id: str, count: int) -> list[tuple[str, float, str]]:
    rng = random.Random(7)
    rows, metric_rows, param_rows, truth = [], [], [], []
    for i in range(count):
        run_id, acc, model = new_id(), rng.random(), f"m{rng.randrange(10)}"
        truth.append((run_id, acc, model))
        rows.append(
            {
                "id": run_id,
                "project_id": project_id,
                "name": f"run-{i}",
                "status": "FINISHED",
                "start_time": 1_000 + i,
                "lifecycle": "active",
            }
        )
        metric_rows.append(
            {"run_id": run_id, "key": "acc", "value": acc, "step": 0, "timestamp": 1}
        )
        param_rows.append({"run_id": run_id, "key": "model", "value": model})
    conn.execute(insert(schema.runs), rows)
    conn.execute(insert(schema.latest_metrics), metric_rows)
    conn.execute(insert(schema.params), param_rows)
    return truth  # fmt: skip


def test_search_over_ten_thousand_runs(store: SqlStore) -> None:
    project_id = store.get_or_create_project("big").id
    truth = store._db.run(lambda conn: _seed(conn, project_id, 10_000), mode="write")
    if store._db.dialect == "postgresql":
        # A bulk load outruns autovacuum; refresh the planner's statistics as it would.
        store._db.run(lambda conn: conn.exec_driver_sql("ANALYZE"))
    node = And((m("acc", ">", 0.5), p("model", "=", "m3")))
    expected = sorted(((acc, run_id) for run_id, acc, model in truth
                       if acc > 0.5 and model == "m3"), reverse=True)  # fmt: skip
    started = time.perf_counter()
    page = store.search_runs(["big"], filter=node, order_by=[OrderBy("metrics", "acc", True)])
    elapsed = time.perf_counter() - started
    print(f"\nsearch over 10,000 runs, two clauses ({store.uri.split(':')[0]}): "
          f"{elapsed * 1000:.1f} ms for {len(page.items)} runs")  # fmt: skip
    assert [r.id for r in page.items] == [run_id for _, run_id in expected]
    assert len(page.items) > 100

"""The search-filter grammar: exact trees, precise errors, orderings and the text round-trip."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.errors import FilterSyntaxError, InvalidInputError, LoopmlError
from loopml.store.filter.ast import (
    ATTRIBUTES,
    And,
    Comparison,
    Entity,
    Node,
    Operator,
    Or,
    OrderBy,
    Value,
)
from loopml.store.filter.parser import format_filter, parse_filter, parse_order_by

STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")


def metric(key: str, op: Operator, value: Value = None) -> Comparison:
    return Comparison("metrics", key, op, value)


def param(key: str, op: Operator, value: Value = None) -> Comparison:
    return Comparison("params", key, op, value)


def tag(key: str, op: Operator, value: Value = None) -> Comparison:
    return Comparison("tags", key, op, value)


def attr(key: str, op: Operator, value: Value = None) -> Comparison:
    return Comparison("attributes", key, op, value)


A, B, C = metric("a", ">", 1), metric("b", "<", 2), metric("c", "=", 3)


# -- good filters -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("   \n\t ", None),
        ("metrics.acc > 0.9", metric("acc", ">", 0.9)),
        ("metrics.a > 1 and metrics.b < 2 or metrics.c = 3", Or((And((A, B)), C))),
        ("metrics.a > 1 or metrics.b < 2 and metrics.c = 3", Or((A, And((B, C))))),
        ("(metrics.a > 1 or metrics.b < 2) and metrics.c = 3", And((Or((A, B)), C))),
        ("metrics.a > 1 and (metrics.b < 2 and metrics.c = 3)", And((A, B, C))),
        ("(metrics.a > 1 or (metrics.b < 2)) or metrics.c = 3", Or((A, B, C))),
        ("((metrics.a > 1))", A),
        ("metrics.a > 1 AND metrics.b < 2 Or metrics.c = 3", Or((And((A, B)), C))),
        ("metrics.a>1 and metrics.b<2", And((A, B))),
        ("metrics.x == 1", metric("x", "=", 1)),
        ("metrics.x <> 1", metric("x", "!=", 1)),
        ("metrics.x != -2.5e3", metric("x", "!=", -2500.0)),
        ("metrics.x >= +.5", metric("x", ">=", 0.5)),
        ("metrics.x <= 1E-3", metric("x", "<=", 0.001)),
        ("metrics.x < inf", metric("x", "<", math.inf)),
        ("metrics.x > -Infinity", metric("x", ">", -math.inf)),
        ("metrics.x is null", metric("x", "IS NULL")),
        ("metrics.x IS NOT NULL", metric("x", "IS NOT NULL")),
        ('metrics."val loss" < 1', metric("val loss", "<", 1)),
        ("metrics.`f1-score` >= 0.5", metric("f1-score", ">=", 0.5)),
        ("metrics.`a``b` = 1", metric("a`b", "=", 1)),
        ("metrics.`a\\`b` = 1", metric("a`b", "=", 1)),
        ("metrics.train.loss < 1", metric("train.loss", "<", 1)),
        ("metrics.and = 1", metric("and", "=", 1)),
        ("params.a.b = 'x'", param("a.b", "=", "x")),
        ("params.depth = 6", param("depth", "=", "6")),
        ("params.lr = 0.010", param("lr", "=", "0.010")),
        ("params.lr != 1e-3", param("lr", "!=", "1e-3")),
        ("params.depth IN (5, '6', 7.0)", param("depth", "IN", ("5", "6", "7.0"))),
        ("params.opt not in ('sgd')", param("opt", "NOT IN", ("sgd",))),
        ("params.name LIKE 'base%'", param("name", "LIKE", "base%")),
        ('params.name ilike "Base%"', param("name", "ILIKE", "Base%")),
        ("params.x = 'it''s'", param("x", "=", "it's")),
        ("params.x = 'it\\'s'", param("x", "=", "it's")),
        ('params.x = "say ""hi"""', param("x", "=", 'say "hi"')),
        ("params.x = 'a\\nb\\\\c'", param("x", "=", "a\nb\\c")),
        ("params.x LIKE '100\\%'", param("x", "LIKE", "100\\%")),
        ("params.x = ''", param("x", "=", "")),
        ("tags.team IN ('risk', 'ops')", tag("team", "IN", ("risk", "ops"))),
        ("tags.note IS NULL", tag("note", "IS NULL")),
        ("metric.a > 1", A),
        ("param.p = 'x'", param("p", "=", "x")),
        ("tag.t = 'x'", tag("t", "=", "x")),
        ("Metrics.a > 1", A),
        ("status = 'finished'", attr("status", "=", "FINISHED")),
        ("attributes.status IN ('failed', 'KILLED')", attr("status", "IN", ("FAILED", "KILLED"))),
        ("attribute.status LIKE 'fin%'", attr("status", "LIKE", "FIN%")),
        ("attr.name LIKE 'base%'", attr("name", "LIKE", "base%")),
        ("run.user = 'ada'", attr("user", "=", "ada")),
        ("name = 'x'", attr("name", "=", "x")),
        ("run_name = 'x'", attr("name", "=", "x")),
        ("run_id = 'abc'", attr("id", "=", "abc")),
        ("attributes.run_id = 'abc'", attr("id", "=", "abc")),
        ("start_time > 0", attr("start_time", ">", 0)),
        ("end_time IS NULL", attr("end_time", "IS NULL")),
        ("git_commit = 123", attr("git_commit", "=", "123")),
        ("\n  metrics.a > 1\n  and metrics.b < 2\n", And((A, B))),
    ],
)
def test_parses_to_the_exact_tree(text: str | None, expected: Node | None) -> None:
    assert parse_filter(text) == expected


def test_integer_stays_int_and_float_stays_float() -> None:
    integer, real = parse_filter("metrics.x = 1"), parse_filter("metrics.x = 1.0")
    assert isinstance(integer, Comparison)
    assert isinstance(real, Comparison)
    assert (type(integer.value), type(real.value)) == (int, float)


def test_nested_groups_of_the_same_kind_are_flattened() -> None:
    tree = parse_filter("(metrics.a > 1 and (metrics.b < 2 and (metrics.c = 3)))")
    assert tree == And((A, B, C))


def test_non_text_filter_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="must be text"):
        parse_filter(42)  # type: ignore[arg-type]


# -- errors -----------------------------------------------------------------------------------
SYNTAX_ERRORS = [
    # (text, position, token, words the message must hold)
    ("metrics.a > 1 adn metrics.b < 2", 14, "adn", "did you mean AND"),
    ("metrics.a > 1 metrics.b < 2", 14, "metrics.b", "expected AND, OR"),
    ("metrics.a > 1 )", 14, ")", "unmatched"),
    ("(metrics.a > 1", 0, "(", "never closed"),
    ("(metrics.a > 1 'x'", 15, "'x'", "expected AND, OR or ')'"),
    ("params.a IN ()", 13, ")", "at least one value"),
    ("params.a IN ('x',)", 17, ")", "expected a value"),
    ("params.a IN ('x' 'y')", 17, "'y'", "expected ',' or ')'"),
    ("params.a IN ('x'", 12, "(", "never closed"),
    ("params.a IN 'x'", 12, "'x'", "expected '('"),
    ("metrics.a >", 11, "<end>", "expected a value"),
    ("metrics.a > 1 and", 17, "<end>", "expected a name"),
    ("metrics.a = NULL", 12, "NULL", "IS NULL"),
    ("status = FINISHED", 9, "FINISHED", "quote text"),
    ("metrics.a lke 'x'", 10, "lke", "did you mean LIKE"),
    ("metrics.a 'x'", 10, "'x'", "expected an operator"),
    ("metrics.a", 9, "<end>", "expected an operator"),
    ("params.x NOT LIKE 'a'", 13, "LIKE", "expected IN after NOT"),
    ("params.x IS NOTNULL", 12, "NOTNULL", "expected NULL"),
    ("params.x IS NOT 'a'", 16, "'a'", "expected NULL"),
    ("metrics.f1-score > 1", 10, "-", "quote a key"),
    ("metrics.a > 1.2.3", 12, "1.2.3", "malformed number"),
    ("metrics.a > 5abc", 12, "5abc", "malformed number"),
    ("params.x = 'abc", 11, "'", "unterminated"),
    ("metrics.`abc = 1", 8, "`", "unterminated"),
    ("metrics.a ! 1", 10, "!", "unexpected character"),
    ("metrics.a > 1;", 13, ";", "unexpected character"),
    ("metrics = 1", 0, "metrics", "needs a key"),
    ("metrics. = 1", 8, " ", "expected a key"),
    ("metrics.`` = 1", 8, "``", "cannot be empty"),
    ("`acc` > 1", 0, "`acc`", "entity in front"),
    ("and metrics.a > 1", 0, "and", "expected a name"),
    ("'acc' > 1", 0, "'acc'", "expected a name"),
    ("()", 1, ")", "expected a name"),
    ("(" * 101 + "metrics.a > 1" + ")" * 101, 100, "(", "nested"),
    ("metrics.a = 1" + "1" * 5000, 12, "1" * 5001, "too long"),
]


@pytest.mark.parametrize(("text", "position", "token", "words"), SYNTAX_ERRORS)
def test_syntax_errors_point_at_the_token(text: str, position: int, token: str, words: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    error = caught.value
    assert (error.position, error.token) == (position, token)
    assert words in error.message
    assert f"at position {position} (near {token!r})" in error.message
    assert error.message.endswith(f"\n  {' ' * position}^")
    assert error.field == "filter"


TYPE_ERRORS = [
    # (text, position, token, words the message must hold, words the hint must hold)
    ("metrics.acc > 'x'", 14, "'x'", "metrics are numbers: compare to a number", None),
    ("metrics.acc > '0.5'", 14, "'0.5'", "not the text '0.5'", "drop the quotes"),
    ("metrics.acc LIKE 'x%'", 12, "LIKE", "metrics are numbers", None),
    ("metrics.acc IN (1, 2)", 12, "IN", "not IN", "OR"),
    ("metrics.acc = nan", 14, "nan", "NaN", "IS NULL"),
    ("params.depth > 5", 13, ">", "params are text", "params.depth = '5'"),
    ("tags.team <= 'b'", 10, "<=", "tags are text", "tags.team = 'b'"),
    ("params.depth LIKE 5", 18, "5", "LIKE needs a quoted pattern", "'5%'"),
    ("tags.t ILIKE 1.5", 13, "1.5", "ILIKE needs a quoted pattern", None),
    ("status = 'done'", 9, "'done'", "RUNNING, FINISHED, FAILED, KILLED", None),
    ("status IN ('FAILED', 'nope')", 21, "'nope'", "unknown run status", None),
    ("start_time = 'today'", 13, "'today'", "'start_time' is a number", None),
    ("start_time LIKE '1%'", 11, "LIKE", "'start_time' is a number", None),
    ("user > 'a'", 5, ">", "'user' is text", "user = 'a'"),
    ("foo = 1", 0, "foo", "unknown attribute 'foo'; known: id, name, status", "metrics.foo"),
    ("attributes.foo = 1", 0, "attributes.foo", "unknown attribute 'foo'", None),
    ("metrcs.acc > 1", 0, "metrcs.acc", "metrics., params., tags. or attributes.", "metrics.acc"),
    ("foo.bar = 1", 0, "foo.bar", "unknown entity 'foo'", None),
]


@pytest.mark.parametrize(("text", "position", "token", "words", "hint"), TYPE_ERRORS)
def test_type_errors_name_the_token_and_position(
    text: str, position: int, token: str, words: str, hint: str | None
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_filter(text)
    error = caught.value
    assert type(error) is InvalidInputError
    assert words in error.message
    assert f"at position {position} (near {token!r})" in error.message
    assert error.message.endswith(f"\n  {text}\n  {' ' * position}^")
    assert error.field == "filter"
    if hint is not None:
        assert error.hint is not None
        assert hint in error.hint


def test_caret_lines_up_in_a_multi_line_filter() -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter("metrics.a > 1\n\tand metrics.b ?")
    assert caught.value.position == 29
    assert caught.value.text == "metrics.a > 1  and metrics.b ?"


# -- orderings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (None, []),
        ("", []),
        ([], []),
        (["  "], []),
        ("metrics.acc", [OrderBy("metrics", "acc")]),
        ("metrics.acc DESC", [OrderBy("metrics", "acc", descending=True)]),
        ("metrics.acc asc", [OrderBy("metrics", "acc")]),
        ("start_time desc", [OrderBy("attributes", "start_time", descending=True)]),
        ("run_name", [OrderBy("attributes", "name")]),
        ("param.`a b` DESC", [OrderBy("params", "a b", descending=True)]),
        (
            "metrics.acc DESC, params.lr",
            [OrderBy("metrics", "acc", descending=True), OrderBy("params", "lr")],
        ),
        (
            ["metrics.acc DESC", 'tags."x,y"'],
            [OrderBy("metrics", "acc", descending=True), OrderBy("tags", "x,y")],
        ),
    ],
)
def test_order_by(terms: list[str] | str | None, expected: list[OrderBy]) -> None:
    assert parse_order_by(terms) == expected


@pytest.mark.parametrize(
    ("text", "position", "token", "words"),
    [
        ("metrics.acc DESCENDING", 12, "DESCENDING", "unknown direction"),
        ("metrics.acc DECS", 12, "DECS", "did you mean DESC"),
        ("metrics.acc > 1", 12, ">", "expected ASC, DESC"),
        ("metrics.acc DESC,", 17, "<end>", "expected a name"),
        ("DESC", 0, "DESC", "expected a name"),
    ],
)
def test_order_by_syntax_errors(text: str, position: int, token: str, words: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_order_by([text])
    assert (caught.value.position, caught.value.token) == (position, token)
    assert words in caught.value.message


def test_order_by_unknown_attribute() -> None:
    with pytest.raises(InvalidInputError, match="unknown attribute 'size'"):
        parse_order_by("size")


def test_order_by_non_text_term() -> None:
    with pytest.raises(InvalidInputError, match="must be text"):
        parse_order_by([1])  # type: ignore[list-item]


# -- format_filter ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tree", "text"),
    [
        (Or((And((A, B)), C)), "(metrics.a > 1 and metrics.b < 2) or metrics.c = 3"),
        (And((Or((A, B)), C)), "(metrics.a > 1 or metrics.b < 2) and metrics.c = 3"),
        (param("a b", "IN", ("x", "it's")), "params.`a b` IN ('x', 'it\\'s')"),
        (param("a.b", "=", "x\\y\n"), "params.a.b = 'x\\\\y\\n'"),
        (metric("a`b", "IS NOT NULL"), "metrics.`a\\`b` IS NOT NULL"),
        (attr("status", "=", "FINISHED"), "status = 'FINISHED'"),
        (metric("x", "<", -math.inf), "metrics.x < -inf"),
        (And((A,)), "metrics.a > 1"),
    ],
)
def test_format_filter(tree: Node, text: str) -> None:
    assert format_filter(tree) == text
    assert parse_filter(text) == parse_filter(format_filter(tree))


@pytest.mark.parametrize(
    "tree", [And(()), metric("x", "=", None), metric("x", "IN", ()), metric("x", "=", True)]
)
def test_format_filter_rejects_malformed_trees(tree: Node) -> None:
    with pytest.raises(InvalidInputError):
        format_filter(tree)


# -- properties -------------------------------------------------------------------------------
KEYS = st.text(min_size=1, max_size=12)
TEXT_ATTRIBUTES = sorted(k for k, kind in ATTRIBUTES.items() if kind == "text" and k != "status")
NUMBER_ATTRIBUTES = sorted(k for k, kind in ATTRIBUTES.items() if kind == "number")


def _text_comparison(
    entity: Entity, key: st.SearchStrategy[str], values: st.SearchStrategy[str]
) -> st.SearchStrategy[Comparison]:
    ops: st.SearchStrategy[Operator] = st.sampled_from(["=", "!=", "LIKE", "ILIKE"])
    lists: st.SearchStrategy[Operator] = st.sampled_from(["IN", "NOT IN"])
    many = st.lists(values, min_size=1, max_size=4).map(tuple)
    return (
        st.builds(Comparison, st.just(entity), key, ops, values)
        | st.builds(Comparison, st.just(entity), key, lists, many)
        | _null_comparison(entity, key)
    )


def _number_comparison(
    entity: Entity, key: st.SearchStrategy[str]
) -> st.SearchStrategy[Comparison]:
    ops: st.SearchStrategy[Operator] = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    numbers = st.integers() | st.floats(allow_nan=False)
    return st.builds(Comparison, st.just(entity), key, ops, numbers) | _null_comparison(entity, key)


def _null_comparison(entity: Entity, key: st.SearchStrategy[str]) -> st.SearchStrategy[Comparison]:
    ops: st.SearchStrategy[Operator] = st.sampled_from(["IS NULL", "IS NOT NULL"])
    return st.builds(Comparison, st.just(entity), key, ops)


COMPARISONS = (
    _number_comparison("metrics", KEYS)
    | _number_comparison("attributes", st.sampled_from(NUMBER_ATTRIBUTES))
    | _text_comparison("params", KEYS, st.text(max_size=12))
    | _text_comparison("tags", KEYS, st.text(max_size=12))
    | _text_comparison("attributes", st.sampled_from(TEXT_ATTRIBUTES), st.text(max_size=12))
    | _text_comparison("attributes", st.just("status"), st.sampled_from(STATUSES))
)
TREES = st.recursive(
    COMPARISONS,
    lambda children: st.lists(children, min_size=2, max_size=4).flatmap(
        lambda items: st.sampled_from([And(tuple(items)), Or(tuple(items))])
    ),
    max_leaves=10,
)


def _canonical(node: Node) -> Node:
    """What the parser builds: groups of the same kind merged into their parent."""
    if isinstance(node, Comparison):
        return node
    items: list[Node] = []
    for item in map(_canonical, node.items):
        items.extend(item.items if isinstance(item, type(node)) else (item,))
    return type(node)(tuple(items))


@given(TREES)
def test_format_then_parse_gives_the_tree_back(tree: Node) -> None:
    tree = _canonical(tree)
    text = format_filter(tree)
    parsed = parse_filter(text)
    assert parsed == tree
    assert format_filter(parsed) == text


FRAGMENTS = st.sampled_from(
    [
        "metrics.a", "params.`b c`", 'tags."d"', "status", "start_time", "foo", "metric.x",
        "and", "or", "AND", "not", "in", "is", "null", "like", "ilike", "asc", "desc",
        "(", ")", ",", "=", "==", "!=", "<>", "<", "<=", ">", ">=", "!", "-",
        "1", "-2.5e3", ".5", "inf", "nan", "1e", "'x'", "'FINISHED'", "'", '"', "`", "\\",
        "'it''s'", "\n", " ",
    ]
)  # fmt: skip


@given(st.text())
def test_arbitrary_text_raises_only_loopml_errors(text: str) -> None:
    with contextlib.suppress(LoopmlError):
        parse_filter(text)


@given(st.lists(FRAGMENTS, max_size=12), st.sampled_from([" ", ""]))
def test_token_soup_raises_only_loopml_errors(fragments: list[str], joiner: str) -> None:
    text = joiner.join(fragments)
    try:
        tree = parse_filter(text)
    except LoopmlError:
        return
    if tree is not None:
        assert parse_filter(format_filter(tree)) == tree


@given(st.text())
def test_arbitrary_ordering_raises_only_loopml_errors(text: str) -> None:
    with contextlib.suppress(LoopmlError):
        parse_order_by(text)


@given(
    st.builds(
        OrderBy,
        st.sampled_from(["metrics", "params", "tags"]),
        st.text(st.characters(blacklist_characters="`\\"), min_size=1, max_size=12),
        st.booleans(),
    )
    | st.builds(OrderBy, st.just("attributes"), st.sampled_from(sorted(ATTRIBUTES)), st.booleans())
)
def test_order_by_text_parses_back(term: OrderBy) -> None:
    assert parse_order_by(term.to_text()) == [term]

"""Compile a search (filter AST, ordering, projects, lifecycle, page) to one SQL query.

Semantics, the same on SQLite and PostgreSQL:

- ``metrics.k`` is the run's latest value of ``k``; ``params.k`` / ``tags.k`` the stored text.
  An equality (``=``, ``IN``) on a param or tag becomes ``runs.id IN (SELECT run_id FROM
  <table> WHERE key = :k AND value ...)``, which the ``(key, value)`` index answers and which
  may drive the search; every other comparison a correlated ``EXISTS`` on the ``(run_id,
  key)`` primary key. A run without the key matches no comparison, not even ``!=`` or
  ``NOT IN``; use ``IS NULL`` to find it. A NaN metric counts as missing.
- ``attributes.<name>`` (see :data:`~loopml.store.filter.ast.ATTRIBUTES`) compares a run
  column; ``project`` compares the project name. ``!=`` does not match a NULL attribute.
- ``LIKE`` is case-sensitive and ``ILIKE`` case-insensitive on both databases (SQLite's own
  LIKE ignores case, so LIKE is translated to GLOB there). ``%`` matches any text, ``_`` one
  character, and a backslash makes the next character literal. On SQLite ILIKE folds ASCII
  letters only.
- Ordering by a metric, param or tag joins it in; runs without it come last in either
  direction. Ties are broken by ``start_time`` then ``id``, both newest first (the default
  order). Text sorts by code point on both databases.
- ``page_token`` is opaque: base64 JSON of the offset and a fingerprint of the query, so a
  token cannot be replayed against another query.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, false, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.expression import FromClause

from loopml.entities import Lifecycle, RunStatus
from loopml.errors import InvalidInputError
from loopml.store.filter.ast import (
    ATTRIBUTE_SYNONYMS,
    ATTRIBUTES,
    NUMERIC_OPS,
    TEXT_OPS,
    And,
    Comparison,
    Node,
    Or,
    OrderBy,
)
from loopml.store.sql.schema import (
    VALUE_PREFIX_CHARS,
    latest_metrics,
    params,
    projects,
    runs,
    tags,
    value_prefix,
)

__all__ = [
    "MAX_RESULTS_LIMIT",
    "SearchQuery",
    "build_select",
    "compile_filter",
    "like_to_glob",
    "search_run_ids",
]

#: The largest page ``max_results`` may ask for.
MAX_RESULTS_LIMIT = 50_000

_COMPARE: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ORDERED_OPS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL",
                "IS NOT NULL")  # fmt: skip
_KEYED: dict[str, Table] = {"metrics": latest_metrics, "params": params, "tags": tags}
_FILTER_HINT = "see `loopml runs list --help` for the filter grammar"


def _invalid(message: str, hint: str = _FILTER_HINT) -> InvalidInputError:
    return InvalidInputError(message, field="filter", hint=hint)


# -- filter -----------------------------------------------------------------------------------
def compile_filter(node: Node, dialect: str) -> ColumnElement[bool]:
    """The SQL condition on ``runs`` for a filter tree.

    Raises:
        InvalidInputError: an unknown attribute, an operator the key does not take, or a value
            of the wrong type (``field="filter"``; the message names the key and the fix).
    """
    if isinstance(node, And | Or):
        if not node.items:
            raise _invalid(f"an empty {type(node).__name__.upper()} group")
        items = [compile_filter(item, dialect) for item in node.items]
        return and_(*items) if isinstance(node, And) else or_(*items)
    if not isinstance(node, Comparison):
        raise _invalid(f"not a filter node: {node!r}")
    if node.entity == "metrics":
        return _metric_condition(node)
    if node.entity in ("params", "tags"):
        return _keyed_text_condition(node, _KEYED[node.entity], dialect)
    if node.entity == "attributes":
        return _attribute_condition(node, dialect)
    raise _invalid(
        f"unknown filter entity {node.entity!r}", "use metrics., params., tags. or attributes."
    )


def _name(node: Comparison) -> str:
    return f"{node.entity}.{node.key}"


def _check_op(node: Comparison, allowed: frozenset[str], what: str) -> None:
    if node.op not in allowed:
        raise _invalid(
            f"{_name(node)} is {what} and does not take {node.op}",
            f"use one of {', '.join(op for op in _ORDERED_OPS if op in allowed)}",
        )
    if node.op in ("IS NULL", "IS NOT NULL") and node.value is not None:
        raise _invalid(f"{_name(node)} {node.op} takes no value", f"write {_name(node)} {node.op}")


def _number(node: Comparison) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        fix = f"compare with a number, e.g. {_name(node)} {node.op} 0.5"
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                fix = f"write the number without quotes: {_name(node)} {node.op} {float(value)!r}"
        raise _invalid(f"{_name(node)} is a number; cannot compare it with {value!r}", fix)
    if isinstance(value, float) and math.isnan(value):
        raise _invalid(f"{_name(node)} cannot be compared with NaN", f"use {_name(node)} IS NULL")
    return value


def _text(node: Comparison) -> str | tuple[str, ...]:
    value = node.value
    if node.op in ("IN", "NOT IN"):
        if not isinstance(value, tuple | list) or not value:
            raise _invalid(
                f"{node.op} on {_name(node)} needs a non-empty list",
                f"write {_name(node)} {node.op} ('a', 'b')",
            )
        if not all(isinstance(item, str) for item in value):
            raise _invalid(
                f"{_name(node)} is text; the list {value!r} has non-text items",
                "quote every item: ('1', '2')",
            )
        return tuple(str(item) for item in value)
    if not isinstance(value, str):
        raise _invalid(
            f"{_name(node)} is text; cannot compare it with {value!r}",
            f"quote the value: {_name(node)} {node.op} '{value}'",
        )
    return value


def _has_key(
    table: Table, key: str, condition: ColumnElement[bool] | None = None
) -> ColumnElement[bool]:
    """The run has ``key`` in ``table`` (with a row matching ``condition``): a correlated
    ``EXISTS``, answered by one probe of the ``(run_id, key)`` primary key per candidate run.

    Written as ``runs.id IN (SELECT run_id ...)`` instead, SQLite first collects every
    matching row of the whole table (5,000 rows for ``metrics.acc > 0.5`` over 10,000 runs,
    even when the project has 200); PostgreSQL plans both forms as the same semi-join.
    """
    found = select(table.c.run_id).where(table.c.run_id == runs.c.id, table.c.key == key)
    if condition is not None:
        found = found.where(condition)
    return found.correlate(runs).exists()


def _key_equals(table: Table, key: str, value: str | tuple[str, ...]) -> ColumnElement[bool]:
    """``runs.id IN (runs whose ``key`` equals ``value``)``: an equality is usually selective,
    so the ``(key, value)`` index may drive the search from the few runs it names."""
    matching = select(table.c.run_id).where(
        table.c.key == key, _indexed_equality(table.c.value, value)
    )
    return runs.c.id.in_(matching)


def _metric_condition(node: Comparison) -> ColumnElement[bool]:
    _check_op(node, NUMERIC_OPS, "a metric (a number)")
    table = latest_metrics
    if node.op in ("IS NULL", "IS NOT NULL"):
        having = _has_key(table, node.key, table.c.value.is_not(None))
        return ~having if node.op == "IS NULL" else having
    return _has_key(table, node.key, _COMPARE[node.op](table.c.value, _number(node)))


def _keyed_text_condition(node: Comparison, table: Table, dialect: str) -> ColumnElement[bool]:
    kind = "a param (text)" if table is params else "a tag (text)"
    _check_op(node, TEXT_OPS, kind)
    if node.op == "IS NULL":
        return ~_has_key(table, node.key)
    if node.op == "IS NOT NULL":
        return _has_key(table, node.key)
    value = _text(node)
    if node.op in ("=", "IN"):
        return _key_equals(table, node.key, value)
    return _has_key(table, node.key, _text_condition(table.c.value, node.op, value, dialect))


def _indexed_equality(
    column: ColumnElement[str], value: str | tuple[str, ...]
) -> ColumnElement[bool]:
    """``column = value`` (or ``IN``) phrased on the indexed prefix ``substr(value, 1, N)``.

    A value shorter than N characters equals the column exactly when it equals the column's
    prefix, so the prefix test alone is exact and the (key, prefix) index answers it. Longer
    values also need the full comparison. (Writing both for short values would not do: SQLite
    substitutes ``value = 'x'`` into ``substr(value, ...)`` and then misses the index.)
    """
    values = (value,) if isinstance(value, str) else value
    prefixes = {v[:VALUE_PREFIX_CHARS] for v in values}
    prefix = value_prefix(column)
    condition = prefix == next(iter(prefixes)) if len(prefixes) == 1 else prefix.in_(prefixes)
    if all(len(v) < VALUE_PREFIX_CHARS for v in values):
        return condition
    return and_(condition, column == values[0] if len(values) == 1 else column.in_(values))


def _text_condition(
    column: ColumnElement[Any], op: str, value: str | tuple[str, ...], dialect: str
) -> ColumnElement[bool]:
    if isinstance(value, tuple):
        return column.in_(value) if op == "IN" else column.not_in(value)
    if op in ("=", "!="):
        return _COMPARE[op](column, value)
    if (len(value) - len(value.rstrip("\\"))) % 2:
        raise _invalid(f"the pattern {value!r} ends with a lone backslash", "escape it as \\\\")
    if dialect == "sqlite":
        if op == "LIKE":
            return column.op("GLOB", is_comparison=True)(like_to_glob(value))
        return column.like(value, escape="\\")
    return column.like(value) if op == "LIKE" else column.ilike(value)


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (``%``, ``_``, backslash escapes) as the equivalent SQLite GLOB.

    Example:
        >>> like_to_glob("a%b_c*")
        'a*b?c[*]'
    """
    out: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(_glob_literal(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(_glob_literal(char))
    return "".join(out)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char


def _attribute(key: str) -> str:
    name = ATTRIBUTE_SYNONYMS.get(key, key)
    if name not in ATTRIBUTES:
        raise _invalid(
            f"unknown run attribute {key!r}",
            f"known attributes: {', '.join(sorted(ATTRIBUTES))}",
        )
    return name


def _attribute_condition(node: Comparison, dialect: str) -> ColumnElement[bool]:
    name = _attribute(node.key)
    if ATTRIBUTES[name] == "number":
        _check_op(node, NUMERIC_OPS, "a number attribute")
        column = runs.c[name]
        if node.op in ("IS NULL", "IS NOT NULL"):
            return column.is_(None) if node.op == "IS NULL" else column.is_not(None)
        return _COMPARE[node.op](column, _number(node))
    _check_op(node, TEXT_OPS, "a text attribute")
    column = projects.c.name if name == "project" else runs.c[name]
    condition: ColumnElement[bool]
    if node.op in ("IS NULL", "IS NOT NULL"):
        condition = column.is_(None) if node.op == "IS NULL" else column.is_not(None)
    else:
        value = _text(node)
        if name == "status" and node.op in ("=", "!=", "IN", "NOT IN"):
            _check_statuses(node, value)
        condition = _text_condition(column, node.op, value, dialect)
    if name == "project":
        return runs.c.project_id.in_(select(projects.c.id).where(condition))
    return condition


def _check_statuses(node: Comparison, value: str | tuple[str, ...]) -> None:
    known = {status.value for status in RunStatus}
    for item in (value,) if isinstance(value, str) else value:
        if item not in known:
            raise _invalid(
                f"{item!r} is not a run status", f"use one of {', '.join(sorted(known))}"
            )


# -- ordering ---------------------------------------------------------------------------------
def _order(
    order_by: Sequence[OrderBy], dialect: str
) -> tuple[FromClause, list[UnaryExpression[Any]]]:
    source: FromClause = runs
    terms: list[UnaryExpression[Any]] = []
    for index, term in enumerate(order_by):
        column: ColumnElement[Any]
        if term.entity in _KEYED:
            joined = _KEYED[term.entity].alias(f"order_{index}")
            source = source.outerjoin(
                joined, and_(joined.c.run_id == runs.c.id, joined.c.key == term.key)
            )
            column = joined.c.value
        elif term.entity == "attributes":
            name = _attribute(term.key)
            if name == "project":
                owner = projects.alias(f"order_{index}")
                source = source.join(owner, owner.c.id == runs.c.project_id)
                column = owner.c.name
            else:
                column = runs.c[name]
        else:
            raise InvalidInputError(
                f"cannot order by {term.entity}.{term.key}",
                field="order_by",
                hint="order by metrics.<key>, params.<key>, tags.<key> or an attribute",
            )
        if dialect == "postgresql" and term.entity != "metrics" and _is_text(term):
            column = column.collate("C")
        terms.append((column.desc() if term.descending else column.asc()).nulls_last())
    terms += [runs.c.start_time.desc(), runs.c.id.desc()]
    return source, terms


def _is_text(term: OrderBy) -> bool:
    return term.entity != "attributes" or ATTRIBUTES[_attribute(term.key)] == "text"


# -- the query --------------------------------------------------------------------------------
class SearchQuery:
    """A checked search: what to match, in which order, which page."""

    def __init__(
        self,
        projects: Sequence[str] | None,
        where: Node | None,
        order_by: Sequence[OrderBy],
        max_results: int,
        page_token: str | None,
        lifecycle: str,
    ) -> None:
        if (
            isinstance(max_results, bool)
            or not isinstance(max_results, int)
            or not (1 <= max_results <= MAX_RESULTS_LIMIT)
        ):
            raise InvalidInputError(
                f"max_results must be an integer from 1 to {MAX_RESULTS_LIMIT},"
                f" got {max_results!r}",
                field="max_results",
                hint="page through larger results with page_token",
            )
        if lifecycle not in ("active", "deleted", "all"):
            raise InvalidInputError(
                f"lifecycle must be 'active', 'deleted' or 'all', got {lifecycle!r}",
                field="lifecycle",
            )
        if isinstance(projects, str):
            projects = [projects]
        self.projects = None if projects is None else list(dict.fromkeys(projects))
        self.filter = where
        self.order_by = list(order_by)
        self.max_results = max_results
        self.lifecycle = lifecycle
        self.fingerprint = hashlib.sha256(
            repr((self.projects, where, self.order_by, lifecycle)).encode()
        ).hexdigest()[:16]
        self.offset = self._decode(page_token)

    def _decode(self, token: str | None) -> int:
        if token is None or token == "":
            return 0
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
            offset, fingerprint = data["o"], data["q"]
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
            raise InvalidInputError(
                "page_token is not a token this store issued",
                field="page_token",
                hint="pass the next_token of the previous page unchanged",
            ) from None
        if fingerprint != self.fingerprint or not isinstance(offset, int) or offset < 0:
            raise InvalidInputError(
                "page_token belongs to a different search",
                field="page_token",
                hint="repeat the same projects, filter, order and lifecycle as the first page",
            )
        return offset

    def next_token(self) -> str:
        """The token of the page after this one."""
        data = {"o": self.offset + self.max_results, "q": self.fingerprint}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode("ascii")


def build_select(conn: Connection, query: SearchQuery) -> Select[str]:
    """The SELECT of the ids of one page (plus one row, to tell whether more follow)."""
    dialect = conn.dialect.name
    source, ordering = _order(query.order_by, dialect)
    conditions: list[ColumnElement[bool]] = []
    if query.projects is not None:  # an unknown project name simply matches no run
        named = select(projects.c.id).where(projects.c.name.in_(query.projects))
        conditions.append(runs.c.project_id.in_(named) if query.projects else false())
    if query.lifecycle != "all":
        conditions.append(runs.c.lifecycle == Lifecycle(query.lifecycle).value)
    if query.filter is not None:
        conditions.append(compile_filter(query.filter, dialect))
    return (
        select(runs.c.id)
        .select_from(source)
        .where(and_(true(), *conditions))
        .order_by(*ordering)
        .limit(query.max_results + 1)
        .offset(query.offset)
    )


def search_run_ids(conn: Connection, query: SearchQuery) -> tuple[list[str], str | None]:
    """The ids of one page of matching runs, in order, and the next page's token (or None)."""
    ids = list(conn.execute(build_select(conn, query)).scalars().all())
    if len(ids) > query.max_results:
        return ids[: query.max_results], query.next_token()
    return ids, None

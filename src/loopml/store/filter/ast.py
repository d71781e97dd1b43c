"""The search-filter AST: what the parser produces, the SQL compiler consumes and the REST
client sends. It is plain data with a JSON form, so the grammar is the same everywhere.

A filter is a tree of :class:`Comparison` leaves joined by :class:`And` / :class:`Or`::

    metrics.acc > 0.9 and (params.depth = '6' or tags.team IN ('risk', 'ops'))

Entities and the operators each accepts:

- ``metrics.<key>``: the run's latest value; ``= != < <= > >=`` against a number,
  ``IS NULL`` / ``IS NOT NULL``.
- ``params.<key>`` and ``tags.<key>``: text; ``= != LIKE ILIKE IN NOT IN IS NULL IS NOT NULL``.
- ``attributes.<name>`` (or the bare name): see :data:`ATTRIBUTES` for names and types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

__all__ = [
    "ATTRIBUTES",
    "ENTITIES",
    "NUMERIC_OPS",
    "OPERATORS",
    "TEXT_OPS",
    "And",
    "Comparison",
    "Node",
    "Or",
    "OrderBy",
    "Value",
    "node_from_dict",
    "node_to_dict",
]

Entity: TypeAlias = Literal["metrics", "params", "tags", "attributes"]
Operator: TypeAlias = Literal[
    "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
]
Value: TypeAlias = str | int | float | tuple[str | int | float, ...] | None

ENTITIES: tuple[Entity, ...] = ("metrics", "params", "tags", "attributes")
OPERATORS: tuple[Operator, ...] = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
)
NUMERIC_OPS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL"})
TEXT_OPS: frozenset[str] = frozenset(
    {"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"}
)

#: Run attributes a filter or an ordering may name, with their type ("text" or "number").
#: ``run_name`` is accepted as a synonym of ``name`` and ``run_id`` of ``id``.
ATTRIBUTES: dict[str, Literal["text", "number"]] = {
    "id": "text",
    "name": "text",
    "status": "text",
    "start_time": "number",
    "end_time": "number",
    "parent_id": "text",
    "user": "text",
    "git_commit": "text",
    "project": "text",
}
ATTRIBUTE_SYNONYMS: dict[str, str] = {"run_id": "id", "run_name": "name"}


@dataclass(frozen=True, slots=True)
class Comparison:
    """``<entity>.<key> <op> <value>``; ``value`` is a tuple for IN / NOT IN, None for IS NULL."""

    entity: Entity
    key: str
    op: Operator
    value: Value = None


@dataclass(frozen=True, slots=True)
class And:
    """All of ``items`` hold."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one of ``items`` holds."""

    items: tuple[Node, ...]


Node: TypeAlias = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One ordering term, e.g. ``metrics.acc DESC``. Missing values sort last either way."""

    entity: Entity
    key: str
    descending: bool = False

    def to_text(self) -> str:
        """The term as the user would write it."""
        return f"{self.entity}.{_quote_key(self.key)} {'DESC' if self.descending else 'ASC'}"


def _quote_key(key: str) -> str:
    if key.replace("_", "").isalnum():
        return key
    return "`" + key.replace("\\", "\\\\").replace("`", "\\`") + "`"


def node_to_dict(node: Node) -> dict[str, Any]:
    """The JSON form of a filter tree (what RestStore sends and the server accepts)."""
    if isinstance(node, Comparison):
        value: Any = list(node.value) if isinstance(node.value, tuple) else node.value
        return {"entity": node.entity, "key": node.key, "op": node.op, "value": value}
    kind = "and" if isinstance(node, And) else "or"
    return {kind: [node_to_dict(item) for item in node.items]}


def node_from_dict(data: dict[str, Any]) -> Node:
    """Rebuild a filter tree from :func:`node_to_dict`'s output.

    Raises:
        InvalidInputError: the mapping is not a filter tree.
    """
    from loopml.errors import InvalidInputError

    if not isinstance(data, dict):
        raise InvalidInputError("a filter node must be an object", field="filter")
    if "and" in data or "or" in data:
        kind = "and" if "and" in data else "or"
        items = data[kind]
        if not isinstance(items, list) or not items:
            raise InvalidInputError(f"'{kind}' must be a non-empty list", field="filter")
        children = tuple(node_from_dict(item) for item in items)
        return And(children) if kind == "and" else Or(children)
    try:
        entity, key, op = data["entity"], data["key"], data["op"]
    except KeyError as exc:
        raise InvalidInputError(f"filter node lacks {exc.args[0]!r}", field="filter") from None
    if entity not in ENTITIES:
        raise InvalidInputError(f"unknown filter entity {entity!r}", field="filter")
    if op not in OPERATORS:
        raise InvalidInputError(f"unknown filter operator {op!r}", field="filter")
    if not isinstance(key, str) or not key:
        raise InvalidInputError("filter key must be a non-empty string", field="filter")
    value = data.get("value")
    if isinstance(value, list):
        value = tuple(value)
    return Comparison(cast(Entity, entity), key, cast(Operator, op), value)

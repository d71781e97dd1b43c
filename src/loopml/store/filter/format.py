"""The canonical text form of a filter tree: what :func:`parse_filter` reads back equal."""

from __future__ import annotations

import re

from loopml.errors import InvalidInputError
from loopml.store.filter.ast import ATTRIBUTES, And, Comparison, Entity, Node, Value

__all__ = ["BARE_KEY", "format_filter", "format_name", "quote_text"]

#: A key that needs no quoting: words joined by dots (``a.b``).
BARE_KEY = re.compile(r"\w+(?:\.\w+)*")
_ESCAPED = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def format_filter(node: Node) -> str:
    """The canonical text of a filter tree; :func:`parse_filter` reads it back to an equal tree.

    Keywords ``and``/``or`` are lower case, operators upper case, strings single-quoted, keys
    quoted with backticks when they are not plain words, and every nested group parenthesised.

    Raises:
        InvalidInputError: the tree holds an empty group or a value of the wrong shape.

    Examples:
        >>> from loopml.store.filter.ast import Comparison, Or
        >>> format_filter(Or((Comparison("metrics", "val loss", "<", 0.5),
        ...                   Comparison("attributes", "status", "IN", ("FAILED", "KILLED")))))
        "metrics.`val loss` < 0.5 or status IN ('FAILED', 'KILLED')"
    """
    if isinstance(node, Comparison):
        return _format_comparison(node)
    if not node.items:
        raise InvalidInputError(f"an empty {type(node).__name__} has no text", field="filter")
    joiner = " and " if isinstance(node, And) else " or "
    return joiner.join(_format_child(item) for item in node.items)


def _format_child(node: Node) -> str:
    text = format_filter(node)
    return text if isinstance(node, Comparison) or len(node.items) == 1 else f"({text})"


def _format_comparison(node: Comparison) -> str:
    name = format_name(node.entity, node.key)
    if node.op in ("IS NULL", "IS NOT NULL"):
        return f"{name} {node.op}"
    if node.op in ("IN", "NOT IN") and isinstance(node.value, tuple) and node.value:
        return f"{name} {node.op} ({', '.join(_format_value(v) for v in node.value)})"
    return f"{name} {node.op} {_format_value(node.value)}"


def format_name(entity: Entity, key: str) -> str:
    if entity == "attributes" and key in ATTRIBUTES:
        return key
    return f"{entity}.{key if BARE_KEY.fullmatch(key) else quote_text(key, '`')}"


def _format_value(value: Value) -> str:
    if isinstance(value, str):
        return quote_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise InvalidInputError(f"a filter value cannot be {value!r} here", field="filter")


def quote_text(text: str, quote: str = "'") -> str:
    body = "".join(_ESCAPED.get(char, "\\" + char if char == quote else char) for char in text)
    return f"{quote}{body}{quote}"

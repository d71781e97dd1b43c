"""Search filters: the AST (shared by every store) and the parser of the text grammar."""

from __future__ import annotations

from loopml.store.filter.ast import (
    ATTRIBUTES,
    And,
    Comparison,
    Node,
    Or,
    OrderBy,
    node_from_dict,
    node_to_dict,
)
from loopml.store.filter.parser import format_filter, parse_filter, parse_order_by

__all__ = [
    "ATTRIBUTES",
    "And",
    "Comparison",
    "Node",
    "Or",
    "OrderBy",
    "format_filter",
    "node_from_dict",
    "node_to_dict",
    "parse_filter",
    "parse_order_by",
]

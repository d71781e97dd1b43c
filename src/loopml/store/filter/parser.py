r"""The text grammar of search filters and orderings, parsed into :mod:`loopml.store.filter.ast`.

A hand-written tokenizer and a recursive-descent parser; nothing here builds SQL. Keywords are
case-insensitive::

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := atom ("and" atom)*
    atom       := "(" or_expr ")" | comparison
    comparison := name op value
                | name ["NOT"] "IN" "(" value ("," value)* ")"
                | name "IS" ["NOT"] "NULL"
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE"
    name       := entity "." key | attribute
    entity     := "metrics" | "params" | "tags" | "attributes"
                  (also "metric", "param", "tag", "attribute", "attr", "run")
    key        := word ("." word)* | `quoted` | "quoted"
    value      := 'text' | "text" | number
    order_by   := name ["ASC" | "DESC"] ("," name ["ASC" | "DESC"])*

Quoted text takes doubled quotes (``'it''s'``) and the backslash escapes ``\\ \' \" \` \n \t
\r``; any other backslash is kept as written, so LIKE escapes such as ``\%`` reach the store.
Numbers are integers or floats with optional sign and exponent, or ``inf``.

Types are checked here, so a bad filter fails before any store sees it: metrics and the number
attributes take numbers; params, tags and the text attributes take text (a number given with
``=``, ``!=`` or ``IN`` becomes its text as written, ``params.lr = 0.010`` means ``'0.010'``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from loopml.entities.records import RunStatus
from loopml.errors import FilterSyntaxError, InvalidInputError
from loopml.store.filter.ast import (
    ATTRIBUTE_SYNONYMS,
    ATTRIBUTES,
    NUMERIC_OPS,
    OPERATORS,
    TEXT_OPS,
    And,
    Comparison,
    Entity,
    Node,
    Operator,
    Or,
    OrderBy,
)
from loopml.store.filter.format import BARE_KEY, format_filter, format_name, quote_text

__all__ = ["format_filter", "parse_filter", "parse_order_by"]

_Kind: TypeAlias = Literal["name", "word", "string", "quoted", "number", "op", "(", ")", ",", "end"]
_Number: TypeAlias = int | float
_Values: TypeAlias = "list[_Token] | None"

_WORD = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:infinity|inf|nan))"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_WORD_CHAR = re.compile(r"[\w.]")
_LUMP = re.compile(r"[^\s(),'\"`=!<>]+")
_PUNCTUATION: dict[str, _Kind] = {"(": "(", ")": ")", ",": ","}
_SYMBOLS: dict[str, Operator] = {
    "==": "=", "!=": "!=", "<>": "!=", "<=": "<=", ">=": ">=", "=": "=", "<": "<", ">": ">",
}  # fmt: skip
_OPERATOR_WORDS: dict[str, Operator] = {"like": "LIKE", "ilike": "ILIKE", "in": "IN"}
_NUMBER_WORDS = frozenset({"inf", "infinity", "nan"})
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "like", "ilike", "asc", "desc"})
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "`": "`", "n": "\n", "t": "\t", "r": "\r"}
_ENTITY_ALIASES: dict[str, Entity] = {
    "metrics": "metrics", "metric": "metrics", "params": "params", "param": "params",
    "tags": "tags", "tag": "tags", "attributes": "attributes", "attribute": "attributes",
    "attr": "attributes", "run": "attributes",
}  # fmt: skip
_STATUSES = tuple(status.value for status in RunStatus)
_MAX_DEPTH = 100
_END = "<end>"


@dataclass(frozen=True, slots=True)
class _Token:
    """One lexeme: ``text`` as written at offset ``pos``; ``value`` decoded (a key, a string)."""

    kind: _Kind
    text: str
    pos: int
    value: str = ""
    prefix: str = ""  # the entity word of a name: "metrics" in "metrics.acc"


def parse_filter(text: str | None) -> Node | None:
    """Parse a search filter into its AST.

    Args:
        text: The filter, e.g. ``"metrics.acc > 0.9 and params.depth = '6'"``; None or blank
            text means no filter.

    Returns:
        The tree, with single-item and nested same-kind ``And``/``Or`` flattened; None for no
        filter.

    Raises:
        FilterSyntaxError: the text does not parse; ``.position`` points at the bad token.
        InvalidInputError: it parses but names an unknown entity, attribute or status, or
            compares a value of the wrong type (the message shows the position too).

    Examples:
        >>> parse_filter("metrics.acc > 0.9")
        Comparison(entity='metrics', key='acc', op='>', value=0.9)
        >>> parse_filter("status = 'finished' and params.depth IN (5, '6')")
        ... # doctest: +NORMALIZE_WHITESPACE
        And(items=(Comparison(entity='attributes', key='status', op='=', value='FINISHED'),
                   Comparison(entity='params', key='depth', op='IN', value=('5', '6'))))
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidInputError(f"a filter must be text, not {type(text).__name__}", field="filter")
    if not text.strip():
        return None
    return _Parser(text).parse_filter()


def parse_order_by(terms: Sequence[str] | str | None) -> list[OrderBy]:
    """Parse ordering terms such as ``"metrics.acc DESC"``.

    Args:
        terms: One text or several; each holds one or more comma-separated
            ``name [ASC|DESC]`` terms (ASC when omitted). None or blank text means none.

    Returns:
        The terms in order.

    Raises:
        FilterSyntaxError: a term does not parse (e.g. an unknown direction).
        InvalidInputError: a term names an unknown entity or attribute.

    Examples:
        >>> parse_order_by(["metrics.acc desc", "start_time"])  # doctest: +NORMALIZE_WHITESPACE
        [OrderBy(entity='metrics', key='acc', descending=True),
         OrderBy(entity='attributes', key='start_time', descending=False)]
    """
    if terms is None:
        return []
    ordering: list[OrderBy] = []
    for text in [terms] if isinstance(terms, str) else terms:
        if not isinstance(text, str):
            message = f"an ordering term must be text, not {type(text).__name__}"
            raise InvalidInputError(message, field="order_by")
        if text.strip():
            ordering.extend(_Parser(text).parse_order_by())
    return ordering


# -- tokenizer --------------------------------------------------------------------------------
def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        token = _read_token(text, pos)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_token(text: str, pos: int) -> _Token:
    char = text[pos]
    if char in _PUNCTUATION:
        return _Token(_PUNCTUATION[char], char, pos)
    if char in "'\"`":
        value, end = _read_quoted(text, pos)
        return _Token("quoted" if char == "`" else "string", text[pos:end], pos, value)
    if char in "+-.0123456789":
        return _read_number(text, pos)
    if word := _WORD.match(text, pos):
        return _read_name(text, word)
    symbol = next((op for op in _SYMBOLS if text.startswith(op, pos)), None)
    if symbol is None:
        raise _unexpected(text, pos)
    return _Token("op", symbol, pos)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Decode the quoted text opening at ``start``; returns it and the offset after it."""
    quote, parts, pos = text[start], [], start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            parts.append(_ESCAPES.get(text[pos + 1], text[pos : pos + 2]))
            pos += 2
        elif char == quote and text.startswith(quote, pos + 1):
            parts.append(quote)
            pos += 2
        elif char == quote:
            return "".join(parts), pos + 1
        else:
            parts.append(char)
            pos += 1
    raise _syntax_error(f"unterminated quoted text, no closing {quote}", start, quote, text)


def _read_number(text: str, pos: int) -> _Token:
    match = _NUMBER.match(text, pos)
    if match is None:
        raise _unexpected(text, pos)
    if _WORD_CHAR.match(text, match.end()):
        lump = _LUMP.match(text, pos)
        shown = lump.group() if lump else match.group()
        raise _syntax_error(f"malformed number {shown!r}", pos, shown, text)
    return _Token("number", match.group(), pos, match.group())


def _unexpected(text: str, pos: int) -> FilterSyntaxError:
    message = f"unexpected character {text[pos]!r}"
    if pos and _WORD_CHAR.match(text, pos - 1):  # glued to a name: metrics.f1-score
        message += "; quote a key holding it, e.g. metrics.`f1-score`"
    return _syntax_error(message, pos, text[pos], text)


def _read_name(text: str, word: re.Match[str]) -> _Token:
    """A bare word, or ``entity.key`` where the key is everything after the first dot."""
    pos, start = word.start(), word.end() + 1
    if text[word.end() : start] != ".":
        kind: _Kind = "number" if word.group().lower() in _NUMBER_WORDS else "word"
        return _Token(kind, word.group(), pos, word.group())
    if text[start : start + 1] in ("`", '"'):
        key, end = _read_quoted(text, start)
    elif bare := BARE_KEY.match(text, start):
        key, end = bare.group(), bare.end()
    else:
        found = text[start : start + 1] or _END
        raise _syntax_error(f"expected a key after {text[pos:start]!r}", start, found, text)
    if not key:
        raise _syntax_error("a key cannot be empty", start, text[start:end], text)
    return _Token("name", text[pos:end], pos, key, prefix=word.group())


# -- parser -----------------------------------------------------------------------------------
class _Parser:
    """Recursive descent over the tokens of one filter or ordering text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def error(self, message: str, token: _Token) -> FilterSyntaxError:
        return _syntax_error(message, token.pos, token.text or _END, self.text)

    def invalid(self, message: str, token: _Token, hint: str | None = None) -> InvalidInputError:
        where = f" at position {token.pos} (near {token.text or _END!r})"
        return InvalidInputError(
            message + where + _pointer(self.text, token.pos), field="filter", hint=hint
        )

    def expect_end(self, expected: str, choices: Iterable[str]) -> None:
        token = self.peek()
        if token.kind == ")":
            raise self.error("unmatched ')'", token)
        if token.kind != "end":
            raise self.error(f"expected {expected}, found {_found(token, choices)}", token)

    # filters
    def parse_filter(self) -> Node:
        node = self.parse_or(0)
        self.expect_end("AND, OR or the end of the filter", ("and", "or"))
        return node

    def parse_or(self, depth: int) -> Node:
        items = [self.parse_and(depth)]
        while self.at_word("or"):
            self.advance()
            items.append(self.parse_and(depth))
        return _join(Or, items)

    def parse_and(self, depth: int) -> Node:
        items = [self.parse_atom(depth)]
        while self.at_word("and"):
            self.advance()
            items.append(self.parse_atom(depth))
        return _join(And, items)

    def parse_atom(self, depth: int) -> Node:
        opening = self.peek()
        if opening.kind != "(":
            return self.parse_comparison()
        if depth >= _MAX_DEPTH:
            raise self.error(f"parentheses nested more than {_MAX_DEPTH} deep", opening)
        self.advance()
        node = self.parse_or(depth + 1)
        closing = self.advance()
        if closing.kind == "end":
            raise self.error("'(' is never closed", opening)
        if closing.kind != ")":
            found = _found(closing, ("and", "or"))
            raise self.error(f"expected AND, OR or ')', found {found}", closing)
        return node

    def parse_comparison(self) -> Comparison:
        entity, key = self.parse_name()
        name_token, op_token = self.tokens[self.index - 1], self.peek()
        op = self.parse_operator(name_token)
        values: _Values = None
        if op in ("IN", "NOT IN"):
            values = self.parse_list()
        elif op not in ("IS NULL", "IS NOT NULL"):
            values = [self.parse_value()]
        return self.build(entity, key, op, op_token, values)

    def parse_name(self) -> tuple[Entity, str]:
        token = self.advance()
        word = token.text.lower() if token.kind == "word" else None
        if token.kind == "name":
            entity = _ENTITY_ALIASES.get(token.prefix.lower())
            if entity is None:
                known = "metrics., params., tags. or attributes."
                message = f"unknown entity {token.prefix!r}; use {known}"
                raise self.invalid(message, token, _entity_guess(token))
            if entity == "attributes":
                return entity, self.attribute(token, token.value)
            return entity, token.value
        if word in _ENTITY_ALIASES:
            raise self.error(
                f"{token.text!r} needs a key after a dot, e.g. {token.text}.acc", token
            )
        if word is not None and word not in _KEYWORDS:
            return "attributes", self.attribute(token, token.text)
        if token.kind == "quoted":
            raise self.error(f"a quoted key needs an entity in front: metrics.{token.text}", token)
        found = _found(token)
        raise self.error(f"expected a name such as metrics.acc or status, found {found}", token)

    def attribute(self, token: _Token, name: str) -> str:
        attribute = ATTRIBUTE_SYNONYMS.get(name.lower(), name.lower())
        if attribute not in ATTRIBUTES:
            known = ", ".join([*ATTRIBUTES, *ATTRIBUTE_SYNONYMS])
            hint = f"metrics, params and tags need their prefix, e.g. metrics.{name}"
            raise self.invalid(f"unknown attribute {name!r}; known: {known}", token, hint)
        return attribute

    def parse_operator(self, name: _Token) -> Operator:
        token = self.advance()
        word = token.text.lower() if token.kind == "word" else ""
        if token.kind == "op":
            return _SYMBOLS[token.text]
        if word in _OPERATOR_WORDS:
            return _OPERATOR_WORDS[word]
        if word == "not":
            self.expect_word("in", "expected IN after NOT (NOT IN is the only negation)")
            return "NOT IN"
        if word == "is":
            negated = self.at_word("not")
            if negated:
                self.advance()
            self.expect_word("null", f"expected {'NULL' if negated else 'NULL or NOT NULL'}")
            return "IS NOT NULL" if negated else "IS NULL"
        found = _found(token, ("like", "ilike", "in", "not", "is"))
        ops = "= != < <= > >= LIKE ILIKE IN NOT IN IS NULL"
        raise self.error(f"expected an operator ({ops}) after {name.text!r}, found {found}", token)

    def expect_word(self, word: str, message: str) -> None:
        token = self.advance()
        if not (token.kind == "word" and token.text.lower() == word):
            raise self.error(f"{message}, found {_found(token)}", token)

    def parse_value(self) -> _Token:
        token = self.advance()
        if token.kind in ("string", "number"):
            return token
        if token.kind == "word" and token.text.lower() == "null":
            raise self.error("NULL is not a value; test for it with IS NULL or IS NOT NULL", token)
        quote = f"; quote text, e.g. {quote_text(token.text)}" if token.kind == "word" else ""
        found = _found(token) + quote
        raise self.error(f"expected a value (a quoted text or a number), found {found}", token)

    def number(self, token: _Token) -> _Number:
        try:
            return int(token.text) if _INTEGER.fullmatch(token.text) else float(token.text)
        except ValueError:  # more digits than int() accepts (sys.get_int_max_str_digits)
            raise self.error("number too long", token) from None

    def parse_list(self) -> list[_Token]:
        opening = self.advance()
        if opening.kind != "(":
            raise self.error(f"expected '(' after IN, found {_found(opening)}", opening)
        if self.peek().kind == ")":
            raise self.error("an IN list needs at least one value", self.peek())
        values = [self.parse_value()]
        while self.peek().kind == ",":
            self.advance()
            values.append(self.parse_value())
        closing = self.advance()
        if closing.kind == "end":
            raise self.error("the '(' of the IN list is never closed", opening)
        if closing.kind != ")":
            found = _found(closing)
            raise self.error(f"expected ',' or ')' in the IN list, found {found}", closing)
        return values

    # orderings
    def parse_order_by(self) -> list[OrderBy]:
        ordering = [self.parse_order_term()]
        while self.peek().kind == ",":
            self.advance()
            ordering.append(self.parse_order_term())
        self.expect_end("ASC, DESC, ',' or the end of the ordering", ())
        return ordering

    def parse_order_term(self) -> OrderBy:
        entity, key = self.parse_name()
        token = self.peek()
        if token.kind != "word":
            return OrderBy(entity, key)
        if token.text.lower() not in ("asc", "desc"):
            found = _found(token, ("asc", "desc"))
            raise self.error(f"unknown direction {found}; use ASC or DESC", token)
        self.advance()
        return OrderBy(entity, key, descending=token.text.lower() == "desc")

    # types
    def build(
        self, entity: Entity, key: str, op: Operator, op_token: _Token, values: _Values
    ) -> Comparison:
        numeric = entity == "metrics" or (entity == "attributes" and ATTRIBUTES[key] == "number")
        allowed = NUMERIC_OPS if numeric else TEXT_OPS
        if op not in allowed:
            ops = ", ".join(each for each in OPERATORS if each in allowed)
            hint = _op_hint(entity, key, op, numeric, values)
            raise self.invalid(f"{_subject(entity, key)}: use {ops}, not {op}", op_token, hint)
        if values is None:
            return Comparison(entity, key, op)
        coerce = self.as_number if numeric else self.as_text
        found = tuple(coerce(entity, key, op, token) for token in values)
        return Comparison(entity, key, op, found if op in ("IN", "NOT IN") else found[0])

    def as_number(self, entity: Entity, key: str, op: Operator, token: _Token) -> _Number:
        if token.kind == "string":
            hint = f"drop the quotes: {format_name(entity, key)} {op} {token.value}"
            message = f"{_subject(entity, key)}: compare to a number, not the text {token.text}"
            raise self.invalid(message, token, hint if _is_number_text(token.value) else None)
        value = self.number(token)
        if math.isnan(value):
            message = f"{_subject(entity, key)}: NaN cannot be compared"
            raise self.invalid(message, token, "test for a missing value with IS NULL")
        return value

    def as_text(self, entity: Entity, key: str, op: Operator, token: _Token) -> str:
        if op in ("LIKE", "ILIKE") and token.kind == "number":
            hint = f"{format_name(entity, key)} {op} '{token.text}%'"
            message = f"{op} needs a quoted pattern, not the number {token.text}"
            raise self.invalid(message, token, hint)
        if (entity, key) != ("attributes", "status"):
            return token.value  # a number's text as written: params.lr = 0.010 means '0.010'
        if op not in ("LIKE", "ILIKE") and token.value.upper() not in _STATUSES:
            known = ", ".join(_STATUSES)
            raise self.invalid(f"unknown run status {token.text}; use one of {known}", token)
        return token.value.upper()


# -- helpers ----------------------------------------------------------------------------------
def _syntax_error(message: str, pos: int, token: str, text: str) -> FilterSyntaxError:
    return FilterSyntaxError(message, position=pos, token=token, text=_one_line(text))


def _one_line(text: str) -> str:
    """``text`` with line breaks and tabs as spaces, so the caret lines up under the token."""
    return "".join(" " if char.isspace() else char for char in text)


def _pointer(text: str, pos: int) -> str:
    return f"\n  {_one_line(text)}\n  {' ' * pos}^"


def _found(token: _Token, keywords: Iterable[str] = ()) -> str:
    """The token for a message, e.g. ``'adn' (did you mean AND?)`` for a misspelled keyword."""
    if token.kind == "end":
        return "the end of the text"
    close = difflib.get_close_matches(token.text.lower(), list(keywords), n=1)
    guess = f" (did you mean {close[0].upper()}?)" if close and token.kind == "word" else ""
    return repr(token.text) + guess


def _entity_guess(token: _Token) -> str | None:
    """``did you mean metrics.acc?`` for a misspelled entity prefix."""
    close = difflib.get_close_matches(token.prefix.lower(), list(_ENTITY_ALIASES), n=1)
    return f"did you mean {_ENTITY_ALIASES[close[0]]}.{token.value}?" if close else None


def _subject(entity: Entity, key: str) -> str:
    if entity == "attributes":
        kind = "a number" if ATTRIBUTES[key] == "number" else "text"
        return f"attribute {key!r} is {kind}"
    return f"{entity} are {'numbers' if entity == 'metrics' else 'text'}"


def _op_hint(entity: Entity, key: str, op: Operator, numeric: bool, values: _Values) -> str | None:
    name = format_name(entity, key)
    if numeric and op in ("IN", "NOT IN"):
        return f"join comparisons with OR instead, e.g. {name} = 1 or {name} = 2"
    if numeric or not values:
        return None
    return f"compare as text, e.g. {name} = {quote_text(values[0].value)}"


def _is_number_text(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text)) and not math.isnan(float(text))


def _join(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """One node for ``items``: the item itself if alone, nested groups of the same kind merged."""
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return kind(tuple(flat))

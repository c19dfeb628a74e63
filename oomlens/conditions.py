"""The ``when`` language of rules: parse once (grammars/condition.lark), check units, compile.

A condition is compiled to a closure over fact values. Evaluation uses three-valued logic:
a comparison whose fact is ``None`` (the kernel did not print what the fact needs) is
*unknown*, ``not unknown`` stays unknown, ``unknown and x`` is unknown unless ``x`` is false,
``unknown or x`` is unknown unless ``x`` is true, and a rule fires only when its condition is
*true*. So missing evidence never fires a rule, not even through ``not``; a rule that wants
to act on a missing value says so with ``fact is null``.

Types: every fact has a unit (``kib``, ``ratio``, ``s``, ``count``, ``bool``, ``str``).
Literals carry theirs: ``512 MiB`` / ``4 KiB`` / ``2 GB`` are memory (compared in KiB),
``80%`` is a ratio (0.8), ``30 s`` / ``500 ms`` / ``2 min`` are time (seconds), a bare number
is a count, ``"text"`` a string, ``true``/``false`` booleans. Both sides of a comparison must
have the same kind (a bare ``0`` also matches memory, ratio and time); ``<``/``>`` need numbers;
a bare fact name must be a ``bool`` fact. These checks run when the rule is loaded.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import RuleError
from .resources import grammar_path, load_lark

# fact unit -> kind compared; units not listed compare as plain counts
UNIT_KINDS: dict[str, str] = {
    "kib": "memory",
    "ratio": "ratio",
    "s": "time",
    "count": "number",
    "bool": "bool",
    "str": "str",
}

# literal unit -> (kind, factor to the fact unit: KiB, ratio, seconds)
_LITERAL_UNITS: dict[str, tuple[str, float]] = {
    "B": ("memory", 1 / 1024),
    "kB": ("memory", 1.0),  # the kernel's "kB" is KiB
    "KB": ("memory", 1.0),
    "KiB": ("memory", 1.0),
    "MB": ("memory", 1e6 / 1024),
    "MiB": ("memory", 1024.0),
    "GB": ("memory", 1e9 / 1024),
    "GiB": ("memory", 1024.0**2),
    "TB": ("memory", 1e12 / 1024),
    "TiB": ("memory", 1024.0**3),
    "%": ("ratio", 0.01),
    "ms": ("time", 0.001),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
}

_ORDERING = frozenset({"<", "<=", ">", ">="})
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

Values = Mapping[str, Any]
Evaluator = Callable[[Values], bool | None]  # None: unknown


class ConditionError(RuleError):
    """A condition that does not parse or does not type-check; line/column are 1-based
    positions inside the condition text (a RuleError: the one kind rule loading raises)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled ``when``: ``facts`` are the fact names it reads, in order of appearance."""

    text: str
    facts: tuple[str, ...]
    _evaluate: Evaluator

    def evaluate(self, values: Values) -> bool:
        """True only when the condition is definitely true for ``values``."""
        return self._evaluate(values) is True

    def evaluate3(self, values: Values) -> bool | None:
        """The three-valued result (None: unknown because a fact was None)."""
        return self._evaluate(values)


@cache
def _parser() -> Lark:
    text = grammar_path("condition.lark").read_text(encoding="utf-8")
    return load_lark(text, parser="lalr", maybe_placeholders=False)


def parse(text: str) -> Tree[Token]:
    """The parse tree of a condition; errors become ConditionError with line and column."""
    try:
        return _parser().parse(text)
    except UnexpectedCharacters as exc:
        raise ConditionError(
            f"unexpected character {text[exc.pos_in_stream]!r}"
            if exc.pos_in_stream is not None and exc.pos_in_stream < len(text)
            else "unexpected character",
            exc.line,
            exc.column,
        ) from None
    except UnexpectedEOF:
        line, column = _end_position(text)
        raise ConditionError("condition ends too early", line, column) from None
    except UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            line, column = _end_position(text)
            raise ConditionError("condition ends too early", line, column) from None
        expected = ", ".join(sorted(_pretty(t) for t in exc.expected))
        raise ConditionError(
            f"unexpected {token.value!r}; expected one of: {expected}",
            token.line or 1,
            token.column or 1,
        ) from None
    except UnexpectedInput as exc:  # pragma: no cover - the three above cover LALR
        raise ConditionError(str(exc), exc.line, exc.column) from None


def _pretty(terminal: str) -> str:
    names = {
        "LPAR": "'('",
        "RPAR": "')'",
        "AND": "'and'",
        "OR": "'or'",
        "NOT": "'not'",
        "IS": "'is'",
        "NULL": "'null'",
        "TRUE": "'true'",
        "FALSE": "'false'",
        "NAME": "a fact",
        "NUMBER": "a number",
        "STRING": "a string",
        "UNIT": "a unit",
        "COMPARATOR": "a comparison",
    }
    return names.get(terminal, terminal)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


@dataclass(frozen=True, slots=True)
class _Operand:
    kind: str  # memory, ratio, time, number, bool, str
    get: Callable[[Values], Any]
    fact: str | None
    zero: bool  # a bare 0 literal (matches any numeric kind)
    token: Token


def compile_condition(text: str, fact_units: Mapping[str, str | None]) -> Condition:
    """Parse and type-check ``text`` against the known facts and their units."""
    tree = parse(text)
    used: list[str] = []

    def fact_kind(token: Token) -> str:
        name = str(token)
        if name not in fact_units:
            raise ConditionError(f"unknown fact {name!r}", token.line or 1, token.column or 1)
        if name not in used:
            used.append(name)
        unit = fact_units[name]
        return UNIT_KINDS.get(unit or "count", "number")

    def operand(node: Tree[Token] | Token) -> _Operand:
        assert isinstance(node, Tree)
        first = node.children[0]
        assert isinstance(first, Token)
        if node.data == "fact":
            name = str(first)
            return _Operand(fact_kind(first), lambda v: v.get(name), name, False, first)
        if node.data == "quantity":
            number = float(first)
            if len(node.children) == 1:
                value: float = int(number) if number.is_integer() else number
                return _Operand("number", lambda v: value, None, number == 0, first)
            unit = node.children[1]
            assert isinstance(unit, Token)
            kind, factor = _LITERAL_UNITS[str(unit)]
            scaled = number * factor
            return _Operand(kind, lambda v: scaled, None, False, first)
        if node.data == "string":
            literal = _unquote(str(first))
            return _Operand("str", lambda v: literal, None, False, first)
        flag = node.data == "true"
        return _Operand("bool", lambda v: flag, None, False, first)

    def compile_node(node: Tree[Token] | Token) -> Evaluator:
        if isinstance(node, Token):  # pragma: no cover - the grammar wraps every token
            raise ConditionError("unexpected token", node.line or 1, node.column or 1)
        data = node.data
        if data in ("or_", "and_"):
            parts = [compile_node(child) for child in node.children]
            return _kleene_or(parts) if data == "or_" else _kleene_and(parts)
        if data == "not_":
            inner = compile_node(node.children[0])

            def negate(values: Values) -> bool | None:
                result = inner(values)
                return None if result is None else not result

            return negate
        if data in ("is_null", "is_not_null"):
            token = node.children[0]
            assert isinstance(token, Token)
            fact_kind(token)
            name = str(token)
            want_null = data == "is_null"
            return lambda values: (values.get(name) is None) == want_null
        if data == "truth":
            token = node.children[0]
            assert isinstance(token, Token)
            kind = fact_kind(token)
            if kind != "bool":
                raise ConditionError(
                    f"fact {str(token)!r} is {kind}, not bool: compare it with a value",
                    token.line or 1,
                    token.column or 1,
                )
            name = str(token)

            def truth(values: Values) -> bool | None:
                value = values.get(name)
                return None if value is None else bool(value)

            return truth
        if data == "compare":
            return compile_compare(node)
        if data in ("fact", "quantity", "string", "true", "false"):
            found = operand(node)
            raise ConditionError(
                "a value alone is not a condition: compare it",
                found.token.line or 1,
                found.token.column or 1,
            )
        raise ConditionError(f"unsupported construct {data}", 1, 1)  # pragma: no cover

    def compile_compare(node: Tree[Token]) -> Evaluator:
        left_node, op_token, right_node = node.children
        assert isinstance(op_token, Token)
        left, right = operand(left_node), operand(right_node)
        op = str(op_token)
        if left.fact is None and right.fact is None:
            raise ConditionError(
                "comparison of two literals: one side must be a fact",
                left.token.line or 1,
                left.token.column or 1,
            )
        compatible = (
            left.kind == right.kind
            or (left.zero and right.kind in ("memory", "ratio", "time"))
            or (right.zero and left.kind in ("memory", "ratio", "time"))
        )
        if not compatible:
            blame = right if right.fact is None else left
            raise ConditionError(
                f"cannot compare {_describe(left)} with {_describe(right)}",
                blame.token.line or 1,
                blame.token.column or 1,
            )
        if op in _ORDERING and left.kind in ("bool", "str"):
            raise ConditionError(
                f"{op!r} needs numbers; {_describe(left)} only supports == and !=",
                op_token.line or 1,
                op_token.column or 1,
            )
        fn = _OPS[op]
        get_left, get_right = left.get, right.get

        def compare(values: Values) -> bool | None:
            a, b = get_left(values), get_right(values)
            if a is None or b is None:
                return None
            return bool(fn(a, b))

        return compare

    evaluator = compile_node(tree)
    return Condition(text=text, facts=tuple(used), _evaluate=evaluator)


def _describe(operand: _Operand) -> str:
    if operand.fact is not None:
        return f"fact {operand.fact!r} ({operand.kind})"
    return f"{operand.kind} literal {str(operand.token)!r}"


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\")


def _kleene_and(parts: list[Evaluator]) -> Evaluator:
    def evaluate(values: Values) -> bool | None:
        unknown = False
        for part in parts:
            result = part(values)
            if result is False:
                return False
            if result is None:
                unknown = True
        return None if unknown else True

    return evaluate


def _kleene_or(parts: list[Evaluator]) -> Evaluator:
    def evaluate(values: Values) -> bool | None:
        unknown = False
        for part in parts:
            result = part(values)
            if result is True:
                return True
            if result is None:
                unknown = True
        return None if unknown else False

    return evaluate

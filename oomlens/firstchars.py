"""The ASCII characters a regular expression's match can start with, read off the pattern's
parse tree (``re._parser``, the one ``re.compile`` uses).

The line classifier (``parsing.py``) tries the grammar's families as one alternation; most
families start with a literal (``Node``, ``lowmem_reserve``, ``[``), so a line's first
character rules most of them out before the regex engine tries them. Whatever is not
understood here answers None ("any character"), which only ever keeps a family in.
"""

from __future__ import annotations

import re
from re import _constants as sre
from re import _parser
from typing import Any

__all__ = ["first_characters"]

_ASCII = tuple(chr(code) for code in range(128))
_CATEGORIES = {
    sre.CATEGORY_DIGIT: re.compile(r"\d"),
    sre.CATEGORY_SPACE: re.compile(r"\s"),
    sre.CATEGORY_WORD: re.compile(r"\w"),
}
_NEGATED = {
    sre.CATEGORY_NOT_DIGIT: sre.CATEGORY_DIGIT,
    sre.CATEGORY_NOT_SPACE: sre.CATEGORY_SPACE,
    sre.CATEGORY_NOT_WORD: sre.CATEGORY_WORD,
}
_Chars = frozenset[str]


def first_characters(pattern: str) -> _Chars | None:
    """The ASCII characters a match of ``pattern`` can start with; None when any character
    might (a pattern that can match the empty string, case-insensitive or verbose parts,
    or a construct not read here). Non-ASCII first characters are not tracked."""
    try:
        chars, can_be_empty = _sequence(_parser.parse(pattern))
    except Exception:  # noqa: BLE001 - an unreadable pattern only costs the shortcut
        return None
    return None if chars is None or can_be_empty else chars


def _sequence(items: Any) -> tuple[_Chars | None, bool]:
    """(first characters, can it match the empty string) of a sequence of nodes."""
    chars: set[str] = set()
    for op, value in items:
        first, can_be_empty = _node(op, value)
        if first is None:
            return None, False
        chars |= first
        if not can_be_empty:
            return frozenset(chars), False
    return frozenset(chars), True


def _node(op: Any, value: Any) -> tuple[_Chars | None, bool]:
    if op is sre.LITERAL:
        return frozenset({chr(value)} if value < 128 else ()), False
    if op is sre.IN:
        return _char_set(value), False
    if op is sre.SUBPATTERN:
        _, add_flags, _, body = value
        if add_flags & (re.IGNORECASE | re.VERBOSE):
            return None, False
        return _sequence(body)
    if op is sre.ATOMIC_GROUP:
        return _sequence(value)
    if op is sre.BRANCH:
        chars: set[str] = set()
        can_be_empty = False
        for alternative in value[1]:
            first, empty = _sequence(alternative)
            if first is None:
                return None, False
            chars |= first
            can_be_empty |= empty
        return frozenset(chars), can_be_empty
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _, body = value
        first, empty = _sequence(body)
        return first, low == 0 or empty
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return frozenset(), True  # zero width: it only narrows what follows
    return None, False  # ANY, NOT_LITERAL, group references, ...


def _char_set(items: Any) -> _Chars | None:
    """The ASCII members of a ``[...]`` set (or ``\\d``, ``\\w``, ``\\s``)."""
    chars: set[str] = set()
    negate = False
    for op, value in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            if value < 128:
                chars.add(chr(value))
        elif op is sre.RANGE:
            chars.update(chr(code) for code in range(value[0], min(value[1], 127) + 1))
        elif op is sre.CATEGORY and value in _CATEGORIES:
            chars.update(c for c in _ASCII if _CATEGORIES[value].match(c))
        elif op is sre.CATEGORY and value in _NEGATED:
            chars.update(c for c in _ASCII if not _CATEGORIES[_NEGATED[value]].match(c))
        else:
            return None
    return frozenset(set(_ASCII) - chars if negate else chars)

"""Literal strings a regular expression's every match contains one of, read off the pattern's
parse tree (``re._parser``, the one ``re.compile`` uses).

``str.find`` runs through a report's text many times faster than the regex engine tries an
alternation at every position, so the facts look for these literals first and run the regex
only on the lines that hold one (``facts.fact_evidence``). Whatever is not understood here
answers None ("search every line"), which only ever costs speed.
"""

from __future__ import annotations

import re
from functools import cache
from re import _constants as sre
from re import _parser
from typing import Any

__all__ = ["required_literals"]

MIN_LITERAL = 3  # shorter literals match too often to be worth looking for first
_Literals = frozenset[str]


@cache
def required_literals(pattern: str) -> _Literals | None:
    """Strings of which every match of ``pattern`` contains at least one (none of them
    shorter than ``MIN_LITERAL``, none holding a newline); None when no such set is known
    (case-insensitive or verbose patterns, or nothing literal enough)."""
    try:
        parsed = _parser.parse(pattern)
    except Exception:  # noqa: BLE001 - an unreadable pattern only costs the shortcut
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    found = _sequence(parsed)
    if found is None or min(map(len, found)) < MIN_LITERAL or any("\n" in s for s in found):
        return None
    return found


def _sequence(items: Any) -> _Literals | None:
    """The most selective literal set of any node of a sequence (every node's match is
    part of the sequence's), a run of literal characters counting as one node."""
    candidates: list[_Literals] = []
    run: list[str] = []
    for op, value in items:
        if op is sre.LITERAL:
            run.append(chr(value))
            continue
        if run:
            candidates.append(frozenset({"".join(run)}))
            run = []
        found = _node(op, value)
        if found is not None:
            candidates.append(found)
    if run:
        candidates.append(frozenset({"".join(run)}))
    if not candidates:
        return None
    # the set whose shortest string is longest finds fewest lines; then the smallest set
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _node(op: Any, value: Any) -> _Literals | None:
    if op is sre.SUBPATTERN:
        _, add_flags, _, body = value
        if add_flags & (re.IGNORECASE | re.VERBOSE):
            return None
        return _sequence(body)
    if op is sre.ATOMIC_GROUP:
        return _sequence(value)
    if op is sre.BRANCH:  # a match of one alternative: the union of theirs
        union: set[str] = set()
        for alternative in value[1]:
            found = _sequence(alternative)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _, body = value
        return _sequence(body) if low >= 1 else None
    return None  # character sets, anchors, lookarounds, references: nothing required

"""Lazily built, cached Lark parser for report blocks, and the line classifier it lexes with.

Each report line is one token of the grammar in ``grammars/oom_report.lark``. The terminals
are whole-line shapes; lexing a line means finding the first family, in the grammar's
priority order, whose shape matches the whole line. Doing that with one big alternation costs
~15 µs a line, because a few shapes (``<comm> invoked oom-killer:``, ``<msg>: Killed process``)
may start anywhere. So the lexer here gates those "floating" shapes on a literal they must
contain and tries the line-start-anchored shapes as one alternation: same answer, a few µs.
Once a run has classified a few thousand lines, that alternation holds only the shapes that
can start with the line's first character (``firstchars.py``), about a fifth of them.

Lark exceptions never escape this module: they become ``ParseError``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError
from lark.lexer import Lexer

from .errors import ParseError
from .firstchars import first_characters
from .resources import grammar_path, load_lark

OTHER = "OTHER"
_EMPTY = ""

# Literals a floating shape cannot match without; checked with ``in`` before the regex runs.
_GATES: dict[str, tuple[str, ...]] = {
    "HEADER": ("oom-killer:",),
    "KILL_SELECT": ("ill process",),
    "KILL_SHARING": ("sharing same memory",),
    "KILLED": ("Killed process",),
    "NO_KILLABLE": ("no killable processes",),
    "ALREADY_EXITING": ("is already exiting",),
    "ALLOC_FAILURE": ("mode:0x", "page allocation"),
    "CPUSET_LINE": (" cpuset=",),
    "PANIC": ("Kernel panic - not syncing:",),
    "PANIC_END": ("---[ end Kernel panic",),
}


@dataclass(frozen=True, slots=True)
class _Family:
    name: str
    regex: re.Pattern[str]
    gates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Classifier:
    floating: tuple[_Family, ...]  # gated, tried first (they hold the highest priorities)
    gate: re.Pattern[str]  # any gate literal of any floating family
    # every other family is anchored at the line start; these are tried as one alternation
    # in priority order, of only the families (indexes into ``groups``) whose pattern can
    # start with the line's (ASCII) first character: the same first match
    members: dict[str, tuple[int, ...]]
    groups: tuple[str, ...]  # each anchored family as a named group
    by_first: dict[str, re.Pattern[str]]  # those alternations, compiled on first use
    compiled: dict[tuple[int, ...], re.Pattern[str]]  # ... once per set of families
    seen: list[int]  # lines classified with every anchored family (see _alternation)
    every: list[re.Pattern[str]]  # the alternation of them all, once compiled
    reference: str  # the plain alternation of all families (tests compare; compiled then)


def _grammar_text() -> str:
    return grammar_path("oom_report.lark").read_text(encoding="utf-8")


class _LineLexer(Lexer):
    """Lark lexer: one token per run of consecutive lines of the same family.

    A report is mostly runs (task rows, stack frames, zone and buddy lines); one token per run
    keeps the parser's per-token cost off the per-line path. ``Token.line`` is the 1-based
    index of the run's first line in the block; its value holds the run's lines joined by "\n".
    """

    def __init__(self, lexer_conf: Any) -> None:
        self.lexer_conf = lexer_conf

    def lex(self, text: str) -> Iterator[Token]:  # type: ignore[override]
        lines = text.split("\n")
        return _runs(lines, [classify(line) if line else _EMPTY for line in lines])


def _runs(lines: Sequence[str], families: Sequence[str]) -> Iterator[Token]:
    """One token per run of consecutive lines of one family; empty lines end runs."""
    if len(lines) != len(families):
        raise ValueError("one family per line is needed")
    start = 0
    for family, members in itertools.groupby(families):
        size = len(list(members))  # counted in C: a report has ~30 runs and ~120 lines
        if family != _EMPTY:
            # positional: Token's keyword handling costs as much as the rest of a run
            yield Token(family, "\n".join(lines[start : start + size]), None, start + 1, 1)
        start += size


@cache
def report_parser() -> Lark:
    return load_lark(_grammar_text(), parser="lalr", lexer=_LineLexer)


def prepare() -> None:
    """Build the classifier now (from the grammar), so processes forked later inherit it."""
    _classifier()


@cache
def _classifier() -> _Classifier:
    terminals = [t for t in report_parser().terminals if t.name != "END"]
    # Lark's basic lexer orders its alternation this way; keep the same order.
    terminals.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    floating = []
    anchored = []
    for terminal in terminals:
        regexp = _whole_line(terminal.pattern.to_regexp())
        if terminal.name in _GATES:
            floating.append(_Family(terminal.name, re.compile(regexp), _GATES[terminal.name]))
        elif terminal.name != OTHER:
            anchored.append((regexp, f"(?P<{terminal.name}>{regexp})"))
    reference = "|".join(
        f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals if t.name != OTHER
    )
    gates = sorted({gate for family in floating for gate in family.gates})
    return _Classifier(
        floating=tuple(floating),
        gate=re.compile("|".join(re.escape(gate) for gate in gates)),
        members=_members_by_first_character([regex for regex, _ in anchored]),
        groups=tuple(group for _, group in anchored),
        by_first={},
        compiled={},
        seen=[0],
        every=[],
        reference=reference,
    )


_END = "(?=\n|$)"  # the grammar's END: where a line ends inside a block's joined text


def _whole_line(regexp: str) -> str:
    """A terminal's regex for one line on its own (no newline in it), where END means the
    end of the text: ``\\Z``, which the regex engine checks far faster than END's
    lookahead (a task row: 1.8 -> 1.1 µs)."""
    return regexp[: -len(_END)] + r"\Z" if regexp.endswith(_END) else regexp


def _members_by_first_character(regexes: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """For each ASCII character, the families (indexes, in priority order) that can start
    with it; a family whose first characters are not known is in every set. A family left
    out cannot match there at all, so the first match of the smaller alternation is that of
    the whole one: lines starting with ``N`` try 10 of the 53 families, not all of them."""
    starts = [first_characters(regex) for regex in regexes]
    return {
        char: tuple(i for i, first in enumerate(starts) if first is None or char in first)
        for char in map(chr, range(128))
    }


# Compiling the alternation of one first character costs ~1.5 ms and saves ~4 µs a line:
# a small log (one incident, a few hundred report lines) is classified with all families.
LINES_BEFORE_FIRST_CHARACTER = 5000


def _alternation(classifier: _Classifier, first: str) -> re.Pattern[str]:
    """The anchored alternation for lines starting with ``first``: every family for the
    first lines of a run, then only those that can start with it (each compiled once)."""
    members = classifier.members.get(first)
    if members is None or classifier.seen[0] < LINES_BEFORE_FIRST_CHARACTER:
        classifier.seen[0] += 1
        if not classifier.every:
            classifier.every.append(re.compile("|".join(classifier.groups)))
        return classifier.every[0]
    pattern = classifier.compiled.get(members) or re.compile(
        "|".join(classifier.groups[i] for i in members) or "(?!)"
    )
    classifier.compiled[members] = pattern
    classifier.by_first[first] = pattern
    return pattern


# Reports of one machine repeat many lines word for word (stack frames, headings, idle
# tasks' rows): a line seen before is classified by one dict lookup. Bounded, emptied when
# full; long lines are rarely repeated and not kept.
_SEEN: dict[str, str] = {}
_SEEN_LINES = 8192
_SEEN_LENGTH = 200


def classify(text: str) -> str:
    """Name of the line family (grammar terminal) of one stripped logical line."""
    family = _SEEN.get(text)
    if family is None:
        family = classify_fresh(text)
        if len(text) <= _SEEN_LENGTH:
            if len(_SEEN) >= _SEEN_LINES:
                _SEEN.clear()
            _SEEN[text] = family
    return family


def classify_fresh(text: str) -> str:
    """``classify`` without its memory of lines seen (the tests compare the two)."""
    if "\n" in text:  # not one line: END is not the end of the text (never from a scan)
        return classify_reference(text)
    classifier = _classifier()
    if classifier.gate.search(text) is not None:
        for family in classifier.floating:
            for gate in family.gates:
                if gate in text:
                    match = family.regex.match(text)
                    if match is not None and match.end() == len(text):
                        return family.name
                    break
    first = text[:1]
    pattern = classifier.by_first.get(first) or _alternation(classifier, first)
    match = pattern.match(text)
    if match is None or match.end() != len(text):
        return OTHER
    return match.lastgroup or OTHER


@cache
def _reference() -> re.Pattern[str]:
    return re.compile(_classifier().reference)


def classify_reference(text: str) -> str:
    """The plain-alternation answer ``classify`` must agree with (used by tests)."""
    match = _reference().match(text)
    if match is None or match.end() != len(text):
        return OTHER
    return match.lastgroup or OTHER


def parse_block(texts: Sequence[str], families: Sequence[str] | None = None) -> Tree[Token]:
    """Parse the stripped logical lines of one report block (one line per text).

    ``families``: each line's family when the caller has already classified the lines (the
    splitter has), so no line is classified twice.

    The grammar's start rule is a flat sequence of whole-line tokens (``start: _line*``, every
    ``_line`` a terminal), which every token sequence satisfies, and for which the LALR parser
    returns ``Tree("start", tokens)``. Driving the parser token by token cost about a quarter
    of a report's parse+transform time, so the tree is built directly; ``parse_block_lalr``
    runs the real parser, and the tests check both agree on the corpus and synthetic reports.
    """
    if families is None:
        families = [classify(text) if text else _EMPTY for text in texts]
    return Tree("start", list(_runs(texts, families)))


def parse_block_lalr(texts: Sequence[str]) -> Tree[Token]:
    """The same tree through Lark's LALR parser and this module's lexer."""
    try:
        return report_parser().parse("\n".join(texts))
    except LarkError as exc:  # pragma: no cover - every line lexes (OTHER catches the rest)
        raise ParseError(f"report grammar failed: {exc}") from exc

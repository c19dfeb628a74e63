"""Every match of a pattern holds one of the literals ``required_literals`` names for it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomlens.facts import FACTS
from oomlens.literals import required_literals

SELECTORS = sorted({spec.lines for spec in FACTS.values() if isinstance(spec.lines, str)})
CRAFTED = [
    r"abc(?:def|ghi)+jk",
    r"(?:foo|bar)\d+ (baz|quux)",
    r"x{2,}yyy(?=z)z+",
    r"(?>atomic)|(?:plain)",
    r"^start\b.*end$",
]


@pytest.mark.parametrize("pattern", SELECTORS + CRAFTED)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_match_holds_a_literal(pattern: str, data: st.DataObject) -> None:
    literals = required_literals(pattern)
    assert literals is not None, "these patterns all have literals to look for"
    text = data.draw(st.from_regex(pattern, fullmatch=True))
    assert any(literal in text for literal in literals)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"Killed process|[Kk]ill process", {"Killed process", "ill process"}),
        (r"^(anon|file) \d+$", {"anon", "file"}),
        (r"ab(?:cdef)?gh", None),  # an optional part is not required; the rest too short
        (r"(?i)Killed process", None),  # case-insensitive: not read
        (r"(?i:Killed) process", {" process"}),
        (r"\d+ pages", {" pages"}),
        (r"a|\d+", None),  # one alternative holds no literal
        (r"line\nbreak", None),  # a report's text joins lines with newlines
        (r"[", None),  # not a pattern at all
    ],
)
def test_literals_of_patterns(pattern: str, expected: set[str] | None) -> None:
    assert required_literals(pattern) == (None if expected is None else frozenset(expected))

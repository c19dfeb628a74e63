"""The first characters read off a pattern hold every match's first character, and the
classifier that uses them agrees with the grammar's plain alternation."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomlens import parsing
from oomlens.firstchars import first_characters
from oomlens.parsing import classify_fresh, classify_reference, report_parser

DIGITS = frozenset("0123456789")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"Node \d+", frozenset("N")),
        (r"(?:Node \d+ )?(?:DMA|Normal) free:", frozenset("ND")),
        (r"\d+ pages RAM", DIGITS),
        (r"-?\d+ total", DIGITS | {"-"}),
        (r"\[\s*pid\s*\]", frozenset("[")),
        (r"(?:sysrq: )?(?:SysRq : )?Manual", frozenset("sSM")),
        (r"[^\W\d_]x", frozenset(c for c in map(chr, range(128)) if c.isalpha())),
        (r"(?=a)ab", frozenset("a")),
    ],
)
def test_first_characters_of_known_shapes(pattern: str, expected: frozenset[str]) -> None:
    assert first_characters(pattern) == expected


@pytest.mark.parametrize("pattern", [r"a?", r".x", r"(?i:abc)", r"(a)?\1", r"x*", r"(?x: a)"])
def test_anything_unsure_means_any_character(pattern: str) -> None:
    assert first_characters(pattern) is None


def _families() -> list[tuple[str, str]]:
    terminals = [t for t in report_parser().terminals if t.name not in ("END", "OTHER")]
    return [(t.name, t.pattern.to_regexp()) for t in terminals]


FAMILIES = _families()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_match_of_a_family_starts_with_one_of_its_first_characters(
    data: st.DataObject,
) -> None:
    name, pattern = data.draw(st.sampled_from(FAMILIES))
    text = data.draw(st.from_regex(re.compile(pattern), fullmatch=True), label=name)
    first = first_characters(pattern)
    if first is not None and text and text[0].isascii():
        assert text[0] in first, (name, text)


@pytest.fixture
def first_character_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The classifier uses the first-character alternations from the first line on."""
    monkeypatch.setattr(parsing, "LINES_BEFORE_FIRST_CHARACTER", 0)


@pytest.mark.usefixtures("first_character_sets")
@settings(
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_the_classifier_agrees_with_the_plain_alternation_on_family_shapes(
    data: st.DataObject,
) -> None:
    """Lines shaped like each family, their first character sometimes replaced."""
    _, pattern = data.draw(st.sampled_from(FAMILIES))
    text = data.draw(st.from_regex(re.compile(pattern), fullmatch=True))
    if data.draw(st.booleans()) and text:
        text = data.draw(st.characters(max_codepoint=0x7F)) + text[1:]
    text = text.strip()
    if text and "\n" not in text:
        assert classify_fresh(text) == classify_reference(text), text

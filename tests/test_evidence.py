"""A fact's evidence by regex is found through the literals every match holds; it must pick
the same lines as searching each line alone."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import pytest
from conftest import synthetic_reports

from oomlens import synth
from oomlens.api import analyze_text
from oomlens.facts import FACTS, FactContext, _lines_matching, fact_evidence
from oomlens.model import Analysis, Evidence, OomEvent, Replay

SELECTORS = sorted({spec.lines for spec in FACTS.values() if isinstance(spec.lines, str)})
EVIDENCE_LIMIT = 6


def one_by_one(event: OomEvent, selector: str) -> tuple[Evidence, ...]:
    search = re.compile(selector).search
    picked = (line for line in event.lines if search(line.text))
    return tuple(
        Evidence(path=line.path, line=line.number, text=line.text)
        for line in itertools.islice(picked, EVIDENCE_LIMIT)
    )


def assert_same_evidence(events: tuple[OomEvent, ...]) -> None:
    assert events
    for event in events:
        ctx = FactContext(event=event, replay=Replay(steps=()))
        for name, spec in FACTS.items():
            if isinstance(spec.lines, str):
                found = fact_evidence(ctx, name, EVIDENCE_LIMIT)
                assert found == one_by_one(event, spec.lines), (name, event.source)


def test_there_are_regex_selectors() -> None:
    assert len(SELECTORS) >= 5


def test_corpus_evidence_is_that_of_each_line(corpus_analysis: Analysis) -> None:
    assert_same_evidence(corpus_analysis.events)


@pytest.mark.parametrize("era", synth.ERAS)
def test_synthetic_evidence_is_that_of_each_line(era: str) -> None:
    assert_same_evidence(analyze_text(synthetic_reports(era), explain=False).events)


@pytest.mark.parametrize(
    ("selector", "texts", "expected"),
    [
        # no literal to look for: each line is searched
        (r"a[^z]*c", ["a", "xac", "c"], [1]),
        (r"\d+$", ["1 x", "x 2", "3"], [1, 2]),
        # literals found in lines the regex then rejects (anchors), or twice in one line
        (r"^memory: usage", ["memory: usage 1", "swap memory: usage", "memory: usage"], [0, 2]),
        (r"usage \d+$", ["usage 1 usage 2", "usage x", "no"], [0]),
        (r"Killed process|[Kk]ill process", ["kill process 1", "x", "Killed process 2"], [0, 2]),
        (r"quux", ["a", "b"], []),
    ],
)
def test_lines_are_picked_as_each_line_alone_would_be(
    selector: str, texts: list[str], expected: list[int]
) -> None:
    event = analyze_text(
        "[    1.0] app invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n",
        explain=False,
    ).events[0]
    header = event.lines[0]
    lines = tuple(replace(header, number=n, text=t) for n, t in enumerate(texts, start=1))
    ctx = FactContext(event=replace(event, lines=lines), replay=Replay(steps=()))
    picked = [line.number - 1 for line in _lines_matching(ctx, selector)]
    assert picked == expected
    assert picked == [i for i, t in enumerate(texts) if re.search(selector, t)]

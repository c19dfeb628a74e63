"""Every corpus event gets exactly one primary finding; the primary causes are compared with
the hand-diagnosed ones in real/*.causes.json (run with ``-s`` to see the table).

The rules reason from the facts of each report; nothing here or in the rules looks at file
names. Agreement is measured on the events whose hand label is of high confidence (the
low-confidence ones are reports too thin to decide, where ``unknown`` is an honest answer).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from conftest import CORPUS_DIR

from oomlens.api import analyze_paths
from oomlens.engine import explain_event, load_rules
from oomlens.model import Finding, OomEvent, Replay

MIN_HIGH_CONFIDENCE_AGREEMENT = 0.8


def replay_of(event: OomEvent) -> Replay:
    try:
        from oomlens.replay import replay  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return Replay(steps=())
    result: Replay = replay(event)
    return result


def corpus_logs() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(p for p in CORPUS_DIR.rglob("*") if p.suffix in (".log", ".txt") and p.is_file())


@cache
def explained(path: Path) -> tuple[tuple[OomEvent, tuple[Finding, ...]], ...]:
    events = analyze_paths([str(path)], jobs=1).events
    ruleset = load_rules()
    return tuple((e, explain_event(e, replay_of(e), events, ruleset)) for e in events)


LOGS = corpus_logs()


@pytest.mark.skipif(not LOGS, reason="the shared corpus is not available")
@pytest.mark.parametrize("path", LOGS, ids=[p.name for p in LOGS])
def test_exactly_one_primary_finding(path: Path) -> None:
    for event, findings in explained(path):
        primaries = [f for f in findings if f.primary]
        assert len(primaries) == 1, (event.source, [f.rule_id for f in findings])
        assert findings[0].primary
        for finding in findings:
            assert finding.title and finding.explanation and finding.remedy


@pytest.mark.skipif(not LOGS, reason="the shared corpus is not available")
def test_primary_causes_agree_with_hand_diagnosis() -> None:
    rows: list[tuple[str, int, str, str, str, str]] = []
    for path in LOGS:
        labels_path = path.with_suffix(".causes.json")
        if not labels_path.exists():
            continue
        labels = {e["index"]: e for e in json.loads(labels_path.read_text())["events"]}
        for index, (_, findings) in enumerate(explained(path)):
            label = labels.get(index)
            if label is None:
                continue
            primary = findings[0]
            rows.append(
                (
                    path.stem[:44],
                    index,
                    primary.cause.value,
                    primary.rule_id,
                    label["primary"],
                    label["confidence"],
                )
            )
    assert rows, "no hand-diagnosed events found"
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'file':<{width}}  ev  {'oomlens':<20} rule    {'hand':<20} conf   ")
    for name, index, ours, rule_id, hand, confidence in rows:
        mark = "ok" if ours == hand else "--"
        print(
            f"{name:<{width}}  {index:>2}  {ours:<20} {rule_id:<7} {hand:<20} "
            f"{confidence:<6} {mark}"
        )
    agree = sum(r[2] == r[4] for r in rows)
    high = [r for r in rows if r[5] == "high"]
    high_agree = sum(r[2] == r[4] for r in high)
    print(f"agreement: {agree}/{len(rows)} events; high confidence: {high_agree}/{len(high)}")
    assert high and high_agree / len(high) >= MIN_HIGH_CONFIDENCE_AGREEMENT

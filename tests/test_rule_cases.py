"""Every rule's fire and quiet cases (tests/rules/<ID>.toml), run by one parametrised test.

A case holds a kernel-format log snippet (``log``) or a corpus file (``corpus``, relative to
the corpus directory) and the index of the event to judge (``event``). ``expect = "fire"``
means the rule must produce a finding for that event, ``"quiet"`` that it must not.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS_DIR

from oomlens.api import analyze_paths, analyze_text
from oomlens.engine import explain_event, load_rules
from oomlens.model import OomEvent, Replay

CASES_DIR = Path(__file__).parent / "rules"


def replay_of(event: OomEvent) -> Replay:
    """The replay when the replay stage is available, else an empty one."""
    try:
        from oomlens.replay import replay  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return Replay(steps=())
    result: Replay = replay(event)
    return result


@dataclass(frozen=True)
class RuleCase:
    rule_id: str
    name: str
    expect: str
    event: int
    log: str | None
    corpus: str | None


def load_cases() -> list[RuleCase]:
    cases: list[RuleCase] = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        for raw in data.get("case", []):
            cases.append(
                RuleCase(
                    rule_id=path.stem,
                    name=raw["name"],
                    expect=raw["expect"],
                    event=raw.get("event", 0),
                    log=raw.get("log"),
                    corpus=raw.get("corpus"),
                )
            )
    return cases


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule_id}-{c.expect}-{c.name}" for c in CASES])
def test_rule_case(case: RuleCase) -> None:
    ruleset = load_rules()
    assert ruleset.get(case.rule_id) is not None, f"no rule {case.rule_id}"
    if case.corpus is not None:
        analysis = analyze_paths([str(CORPUS_DIR / case.corpus)], jobs=1)
    else:
        assert case.log is not None, "a case needs log or corpus"
        analysis = analyze_text(case.log, path=f"{case.rule_id}.log")
    events = analysis.events
    assert len(events) > case.event, f"only {len(events)} event(s) parsed"
    event = events[case.event]
    findings = explain_event(event, replay_of(event), events, ruleset)
    fired = {f.rule_id: f for f in findings}
    assert sum(f.primary for f in findings) == 1
    if case.expect == "fire":
        assert case.rule_id in fired, f"{case.rule_id} did not fire; fired: {sorted(fired)}"
        finding = fired[case.rule_id]
        assert finding.title and finding.explanation and finding.remedy
        assert "None" not in finding.title, finding.title
        assert finding.facts, "a finding cites the facts it used"
    else:
        assert case.expect == "quiet", f"expect must be fire or quiet, not {case.expect!r}"
        assert case.rule_id not in fired, fired[case.rule_id].title


def test_every_rule_has_fire_and_quiet_cases() -> None:
    ruleset = load_rules()
    kinds: dict[str, set[str]] = {}
    for case in CASES:
        kinds.setdefault(case.rule_id, set()).add(case.expect)
    missing = [r.id for r in ruleset.rules if kinds.get(r.id) != {"fire", "quiet"}]
    assert not missing, f"rules without both a fire and a quiet case: {missing}"

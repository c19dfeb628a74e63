"""Reports written from the kernel's formats (oomlens.synth) parse back to the same values."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from oomlens import synth
from oomlens.api import analyze_text
from oomlens.serialize import analysis_to_json, event_to_json

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "docs" / "oomlens-1.schema.json").read_text()
)
ENVELOPES = ("bare", "dmesg", "dmesg-T", "syslog", "journal", "rfc3339", "kmsg")


def _render(report: synth.SynthReport, envelope: str) -> str:
    lines = synth.render(
        report.records(),
        envelope,
        start_uptime=100.0,
        wallclock=datetime(2024, 5, 1, 12, 0, 0),
        host="node1",
    )
    return "\n".join(lines) + "\n"


def _check(expected: dict[str, Any], got: dict[str, Any]) -> None:
    assert got["kind"] == expected["kind"]
    assert got["constraint"] == expected["constraint"]
    assert got["manual"] == expected["manual"]
    assert got["reaped"] == expected["reaped"]
    assert bool(got["panic"]) == bool(expected["panic"])
    for key in ("comm", "pid", "gfp_mask", "order", "oom_score_adj", "gfp_flags"):
        assert got["trigger"][key] == expected["trigger"][key], key
    if expected["victim"] is None:
        assert got["victim"] is None
    else:
        for key, value in expected["victim"].items():
            if key in got["victim"]:
                assert got["victim"][key] == value, key
    if expected.get("tasks") is not None:
        assert got["tasks"] is not None
        assert [t["pid"] for t in got["tasks"]] == [t["pid"] for t in expected["tasks"]]
        assert [t["name"] for t in got["tasks"]] == [t["name"] for t in expected["tasks"]]
    assert got["swap"] == expected["swap"]
    if expected.get("memcg"):
        for key in ("limit_path", "victim_path", "usage_kib", "limit_kib", "failcnt"):
            assert got["memcg"][key] == expected["memcg"][key], key


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("kind", synth.KINDS)
@pytest.mark.parametrize("era", synth.ERAS)
def test_report_round_trips(era: str, kind: str, envelope: str) -> None:
    report = synth.random_report(random.Random(f"{era}/{kind}"), era=era, kind=kind)
    analysis = analyze_text(_render(report, envelope))
    assert len(analysis.events) == 1
    _check(report.expected(), event_to_json(analysis.events[0]))
    jsonschema.validate(analysis_to_json(analysis), SCHEMA)


@pytest.mark.parametrize("seed", range(40))
def test_random_reports_with_hostile_names_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    report = synth.random_report(rng)
    envelope = rng.choice(ENVELOPES)
    analysis = analyze_text(_render(report, envelope))
    assert len(analysis.events) == 1, envelope
    _check(report.expected(), event_to_json(analysis.events[0]))


def test_several_reports_in_noise_are_all_found(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    expected = synth.write_log(log, size_bytes=3_000_000, reports=25, envelope="syslog", seed=7)
    from oomlens.api import analyze_paths

    analysis = analyze_paths([str(log)])
    assert len(analysis.events) == len(expected)
    for want, event in zip(expected, analysis.events, strict=True):
        assert event.source.first_line == want["source"]["first_line"]

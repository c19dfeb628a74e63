"""Line accounting: every physical line read is part of an event, named by a diagnostic, or
noise, and the three counts add up to the lines read (counted independently here)."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import CORPUS_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomlens.api import analyze_paths
from oomlens.model import Analysis, SourceInfo
from oomlens.synth import noise_lines, random_report, render

LOST = ": in a report, kept by no event"


def _corpus_files() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS_DIR.rglob("*")
        if p.suffix in (".log", ".txt") and not p.name.startswith(("LICENSE", "README"))
    )


def _physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)


def _check(analysis: Analysis, source: SourceInfo, expected_lines: int) -> None:
    assert source.lines == expected_lines
    assert source.event_lines + source.diagnostic_lines + source.noise_lines == source.lines
    assert min(source.event_lines, source.diagnostic_lines, source.noise_lines) >= 0
    lost = [d for d in analysis.diagnostics if d.message.endswith(LOST)]
    assert not lost, lost[:3]
    # the event lines counted are the lines the events hold, minus the diagnosed ones
    numbers = {
        n
        for event in analysis.events
        for line in event.lines
        for n in range(line.number, line.last_number + 1)
    }
    diagnosed = {d.line for d in analysis.diagnostics if 0 < d.line <= source.lines}
    assert source.event_lines == len(numbers - diagnosed)
    assert all(1 <= n <= source.lines for n in numbers)


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_corpus_lines_add_up(path: Path) -> None:
    analysis = analyze_paths([str(path)], explain=False)
    (source,) = analysis.sources
    _check(analysis, source, _physical_lines(path.read_bytes()))
    if analysis.events:
        assert source.event_lines > 0


ENVELOPES = ["syslog", "dmesg", "dmesg-T", "journal", "rfc3339", "bare"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seeds=st.lists(st.integers(0, 10_000), min_size=1, max_size=4),
    envelope=st.sampled_from(ENVELOPES),
    noise=st.integers(0, 60),
    compress=st.booleans(),
)
def test_generated_logs_add_up(
    tmp_path: Path, seeds: list[int], envelope: str, noise: int, compress: bool
) -> None:
    lines: list[str] = []
    uptime = 100.0
    wall = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    for seed in seeds:
        rng = random.Random(seed)
        chatter = list(noise_lines(rng, noise, kernel_only=True))
        lines += render(chatter, envelope, start_uptime=uptime - 5, wallclock=wall)
        report = random_report(rng)
        lines += render(report.records(), envelope, start_uptime=uptime, wallclock=wall)
        uptime += 500.0
        wall += timedelta(seconds=500)
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / ("gen.log.gz" if compress else "gen.log")
    path.write_bytes(gzip.compress(data) if compress else data)
    analysis = analyze_paths([str(path)], explain=False)
    (source,) = analysis.sources
    _check(analysis, source, _physical_lines(data))
    assert len(analysis.events) >= 1

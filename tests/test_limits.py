"""Every limit oomlens puts on its input: reached, with a diagnostic that says what was left.

No real log comes near these; they keep crafted or broken input from costing unbounded
memory or time. The README's "Guarantees and limits" lists each one with its value.

Tested elsewhere at full size (not repeated): a 50 MB line (tests/test_hostile.py
test_50mb_line_then_report) and a 100 MB one (tests/test_mutations.py
test_100mb_line_inside_a_log); the archive member budget and nesting depth
(tests/test_archives.py test_member_size_limit, test_nesting_depth_limit).
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ROOT

from oomlens import api, archives, splitter
from oomlens.api import analyze_stream, analyze_text
from oomlens.archives import DEFAULT_MAX_MEMBER_BYTES, MAX_DEPTH
from oomlens.synth import random_report, render


def _reports(count: int, n_tasks: int = 4) -> str:
    rng = random.Random(5)
    lines: list[str] = []
    for i in range(count):
        report = random_report(rng, era="5.15", kind="oom_kill", n_tasks=n_tasks, hostile=False)
        lines += render(
            report.records(),
            "dmesg",
            start_uptime=100.0 + 50 * i,
            wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
        )
    return "\n".join(lines) + "\n"


def test_line_length_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_LINE_BYTES: a longer line inside a report is skipped (never decoded); the
    diagnostic gives its number and size, once."""
    monkeypatch.setattr(splitter, "MAX_LINE_BYTES", 4096)
    lines = _reports(1).splitlines()
    text = "\n".join([lines[0], "[  100.000001] " + "x" * 9_985, *lines[1:]]) + "\n"
    events, _, diagnostics = analyze_stream(io.BytesIO(text.encode()), "long.log")
    assert len(events) == 1 and events[0].source.first_line == 1
    assert [(d.line, d.message) for d in diagnostics if "longer" in d.message] == [
        (2, "line of 10000 bytes is longer than 4096; skipped")
    ]


def test_events_per_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_EVENTS_PER_FILE: reports past it are counted, not parsed; the diagnostic names
    the first one left and how many there were."""
    full = analyze_text(_reports(5), explain=False)
    assert len(full.events) == 5
    monkeypatch.setattr(api, "MAX_EVENTS_PER_FILE", 3)
    cut = analyze_text(_reports(5), explain=False)
    assert [e.source for e in cut.events] == [e.source for e in full.events[:3]]
    (diagnostic,) = [d for d in cut.diagnostics if "OOM events" in d.message]
    assert diagnostic.line == full.events[3].source.first_line
    assert diagnostic.message == (
        "more than 3 OOM events in this input: the 2 reports from this line on were not parsed"
    )
    # their lines are accounted as diagnosed, one diagnostic per run of lines, not per line
    (source,) = cut.sources
    assert source.event_lines + source.diagnostic_lines + source.noise_lines == source.lines
    runs = [d for d in cut.diagnostics if d.message.endswith(": in a report, kept by no event")]
    assert 1 <= len(runs) <= 2
    assert source.diagnostic_lines >= sum(len(e.lines) for e in full.events[3:]) - 2


def test_events_per_file_limit_default() -> None:
    assert api.MAX_EVENTS_PER_FILE == 100_000


def test_report_lines_limit() -> None:
    """MAX_REPORT_LINES: a report that never ends (here a task table of 25,000 rows) keeps its
    first 20,000 lines; the diagnostic says how many were not parsed."""
    assert splitter.MAX_REPORT_LINES == 20_000
    header = (
        "[  100.000000] a.out invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, "
        "oom_score_adj=0\n"
        "[  100.000001] Tasks state (memory values in pages):\n"
        "[  100.000002] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents "
        "oom_score_adj name\n"
    )
    rows = "".join(
        f"[  100.000003] [{pid:7d}]     0 {pid:5d}     1000      100    40960        0"
        "             0 worker\n"
        for pid in range(1, 25_001)
    )
    events, _, diagnostics = analyze_stream(io.BytesIO((header + rows).encode()), "big.log")
    (event,) = events
    assert event.tasks is not None and len(event.tasks) == 20_000 - 3
    (diagnostic,) = [d for d in diagnostics if "longer than" in d.message]
    assert diagnostic.line == 1
    assert diagnostic.message == (
        "report longer than 20,000 lines: the 5,003 lines after its first 20,000 were not parsed"
    )


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_archive_member_budget_message(tmp_path: Path) -> None:
    """DEFAULT_MAX_MEMBER_BYTES (4 GiB, --max-member-bytes): a compressed member that inflates
    past the budget (a gzip bomb inside a tar) is stopped while it is read; the others are
    analysed; the message names the budget and the option."""
    from oomlens.batch import run_batch

    assert DEFAULT_MAX_MEMBER_BYTES == 4 << 30
    bomb = gzip.compress(b"\n" * (8 << 20))  # 8 KiB that inflate to 8 MiB
    path = tmp_path / "bomb.tar"
    path.write_bytes(_tar({"var/log/messages.gz": bomb, "var/log/syslog": _reports(1).encode()}))
    result = run_batch([str(path)], jobs=1, max_member_bytes=1 << 20)
    assert len(result.rows) == 1
    (refused,) = result.bad
    assert refused.path == f"{path}!var/log/messages.gz"
    assert archives.LIMIT_MESSAGE in refused.message
    assert "1048576 bytes (--max-member-bytes)" in refused.message


def test_archive_depth_default() -> None:
    assert MAX_DEPTH == 3


def test_readme_lists_every_limit() -> None:
    """The README's limits table names each constant with its value."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Guarantees and limits") :]
    for name, shown in [
        ("MAX_LINE_BYTES", "1 MiB"),
        ("MAX_REPORT_LINES", "20,000"),
        ("MAX_EVENTS_PER_FILE", "100,000"),
        ("DEFAULT_MAX_MEMBER_BYTES", "4 GiB"),
        ("MAX_DEPTH", "3"),
        ("NESTED_ZIP_BYTES", "256 MiB"),
    ]:
        rows = [line for line in section.splitlines() if f"`{name}`" in line]
        assert rows and shown in rows[0], (name, shown)
    assert splitter.MAX_LINE_BYTES == 1 << 20
    assert archives.NESTED_ZIP_BYTES == 256 << 20


def test_forward_walk_stops_at_region_limit() -> None:
    """MAX_REGION_LINES: a forward walk over endless report-like lines stops, so a file of
    nothing but task rows is read in bounded memory; the lines past it are counted."""
    assert splitter.MAX_REGION_LINES == 2 * splitter.MAX_REPORT_LINES
    header = (
        "[  100.000000] a.out invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, "
        "oom_score_adj=0\n"
        "[  100.000001] Tasks state (memory values in pages):\n"
        "[  100.000002] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents "
        "oom_score_adj name\n"
    )
    count = splitter.MAX_REGION_LINES + 5_000
    rows = "".join(
        f"[  100.1] [{i:7d}]     0 {i:7d}    10000     2000    40960        0             0 x\n"
        for i in range(count)
    )
    analysis = analyze_text(header + rows, explain=False)
    (event,) = analysis.events
    assert event.tasks is not None and len(event.tasks) < splitter.MAX_REPORT_LINES
    (source,) = analysis.sources
    assert source.lines == count + 3
    assert source.event_lines + source.diagnostic_lines + source.noise_lines == source.lines

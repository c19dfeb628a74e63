"""The composed pipeline: one file scanned in parallel pieces equals one stream."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oomlens import synth
from oomlens.api import analyze_file_parallel, analyze_paths, analyze_text, split_pieces
from oomlens.model import Analysis
from oomlens.serialize import event_to_json
from oomlens.splitter import HIT_PATTERNS, QUIET_BYTES


def test_parallel_pieces_give_the_same_events_as_one_stream(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    expected = synth.write_log(log, size_bytes=24_000_000, reports=12, envelope="syslog", seed=5)
    size = log.stat().st_size
    pieces = split_pieces(str(log), size, 3, jobs=3)
    assert len(pieces) >= 2  # 24 MB of mostly noise has quiet points: it is cut
    events, info, _ = analyze_file_parallel(str(log), size, 2026, 3)
    single = analyze_paths([str(log)], jobs=1)
    assert len(events) == len(expected) == len(single.events)
    assert [event_to_json(e) for e in events] == [event_to_json(e) for e in single.events]
    assert info.lines == single.sources[0].lines


def test_pieces_are_cut_at_quiet_line_starts(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    synth.write_log(log, size_bytes=40_000_000, reports=8, envelope="dmesg", seed=9)
    data = log.read_bytes()
    pieces = split_pieces(str(log), len(data), 4, jobs=2)
    assert len(pieces) >= 3 and pieces[0][0] == 0 and pieces[-1][1] == len(data)
    for (_, end), (start, _) in zip(pieces, pieces[1:], strict=False):
        assert end == start and data[start - 1 : start] == b"\n"
        around = data[max(0, start - QUIET_BYTES) : start + QUIET_BYTES]
        assert not any(pattern.search(around) for pattern in HIT_PATTERNS)


def _hits(data: bytes) -> list[tuple[int, int]]:
    """What a finder reports: each literal match's offset, with its line number."""
    from oomlens.hits import HIT_LITERALS

    found = set()
    for literal in HIT_LITERALS:
        at = data.find(literal)
        while at >= 0:
            found.add((at, data.count(b"\n", 0, at) + 1))
            at = data.find(literal, at + 1)
    return sorted(found)


def test_pieces_cut_by_hits_are_quiet_and_share_the_hits(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    synth.write_log(log, size_bytes=60_000_000, reports=12, envelope="dmesg", seed=4)
    data = log.read_bytes()
    found = _hits(data)
    pieces = split_pieces(str(log), len(data), 6, found, jobs=2)
    assert len(pieces) >= 4 and pieces[0][0] == 0 and pieces[-1][1] == len(data)
    for (_, end), (start, _) in zip(pieces, pieces[1:], strict=False):
        assert end == start and data[start - 1 : start] == b"\n"
        around = data[max(0, start - QUIET_BYTES) : start + QUIET_BYTES]
        assert not any(pattern.search(around) for pattern in HIT_PATTERNS)
    shares = [sum(1 for offset, _ in found if start <= offset < end) for start, end in pieces]
    assert max(shares) <= 2 * len(found) / len(pieces) + 20


@pytest.mark.parametrize(("parts", "jobs"), [(2, 2), (5, 2), (16, 2), (24, 3), (64, 8)])
def test_pieces_shrink_toward_where_the_processes_meet(parts: int, jobs: int) -> None:
    from oomlens.api import _cut_shares

    cuts = [0.0, *_cut_shares(parts, jobs), 1.0]
    sizes = [b - a for a, b in zip(cuts, cuts[1:], strict=False)]
    assert len(sizes) == parts and all(size > 0 for size in sizes)
    assert pytest.approx(sum(sizes)) == 1
    meet = cuts.index(pytest.approx(1 / jobs))  # a cut lies where they meet
    front, back = sizes[:meet], sizes[meet:]
    assert front == sorted(front, reverse=True) and back == sorted(back)
    assert pytest.approx(sum(front)) == 1 / jobs


def test_a_long_line_after_a_hit_is_not_cut_near(tmp_path: Path) -> None:
    """A hit's line longer than the probe: its anchor might lie anywhere on it, so the gap
    after it is not used; the next quiet gap is."""
    noise = b"Nov 25 12:00:00 h kernel: [    1.000000] noise\n" * (3 * QUIET_BYTES // 45)
    data = (
        b"Nov 25 12:00:00 h kernel: [    1.000000] oom-kill: "
        + b"x" * (200 << 10)
        + b"\n"
        + noise
        + b"Nov 25 12:00:00 h kernel: [    2.000000] oom-kill:constraint=x\n"
        + noise
    )
    log = tmp_path / "kern.log"
    log.write_bytes(data)
    found = _hits(data)
    pieces = split_pieces(str(log), len(data), 2, found, jobs=2)
    (_, cut), _ = pieces
    second_hit = found[1][0]
    assert cut > second_hit + QUIET_BYTES  # not in the gap after the long line


@pytest.fixture
def pieced_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Analysis]:
    """A 40 MB log with its reports megabytes apart (quiet points all along), pieces of
    1 MiB allowed, and the log's analysis in one process by the Python finder."""
    from oomlens import api

    log = tmp_path / "kern.log"
    synth.write_log(log, size_bytes=40_000_000, reports=10, envelope="syslog", seed=7)
    monkeypatch.setattr(api, "_MIN_PIECE_BYTES", 1 << 20)
    monkeypatch.setenv("OOMLENS_HITS", "python")
    single = analyze_paths([str(log)], jobs=1)
    monkeypatch.setenv("OOMLENS_HITS", "auto")
    return log, single


def test_many_pieces_in_workers_equal_one_stream(
    pieced_log: tuple[Path, Analysis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces handed out from both ends, a few at a time, come back in file order."""
    log, single = pieced_log
    size = log.stat().st_size
    assert len(split_pieces(str(log), size, 24, _hits(log.read_bytes()), jobs=3)) >= 6
    for finder in ("rg", "grep"):
        monkeypatch.setenv("OOMLENS_HITS", finder)
        events, info, diagnostics = analyze_file_parallel(str(log), size, 2026, 3)
        assert [event_to_json(e) for e in events] == [event_to_json(e) for e in single.events]
        assert info.lines == single.sources[0].lines
        assert diagnostics == list(single.diagnostics)


def test_pieces_of_a_worker_that_died_are_scanned_here(
    pieced_log: tuple[Path, Analysis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-scan (out of memory, a signal) costs time, not events."""
    from oomlens import api

    log, single = pieced_log
    size = log.stat().st_size
    parent = os.getpid()
    scan = api._scan_piece
    scanned_here: list[object] = []

    def dying(*args: object) -> object:
        if os.getpid() != parent:
            os._exit(9)
        scanned_here.append(args)
        return scan(*args)  # type: ignore[arg-type]

    dying.__qualname__ = dying.__name__ = "_scan_piece"  # workers look it up by name
    dying.__module__ = api.__name__
    monkeypatch.setattr(api, "_scan_piece", dying)
    events, info, _ = analyze_file_parallel(str(log), size, 2026, 2)
    assert [event_to_json(e) for e in events] == [event_to_json(e) for e in single.events]
    assert info.lines == single.sources[0].lines
    pieces = split_pieces(str(log), size, 16, _hits(log.read_bytes()), jobs=2)
    assert len(scanned_here) == len(pieces) >= 4  # the two handed out first too


def test_a_panic_that_is_not_an_oom_is_not_an_event() -> None:
    text = "[    1.000000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown\n"
    assert analyze_text(text).events == ()
    oom = (
        "[  185.133252] Kernel panic - not syncing: "
        "Out of memory: system-wide panic_on_oom is enabled\n"
    )
    (event,) = analyze_text(oom).events
    assert event.kind.value == "oom_panic"
    assert event.panic is not None and event.panic.startswith("Kernel panic - not syncing:")


def test_events_explained_in_processes_equal_one_process(tmp_path: Path) -> None:
    from oomlens.api import PARALLEL_MIN_EVENTS, explain_analysis
    from oomlens.serialize import analysis_to_json

    log = tmp_path / "kern.log"
    synth.write_log(
        log, size_bytes=4_000_000, reports=PARALLEL_MIN_EVENTS + 8, envelope="syslog", seed=11
    )
    analysis = analyze_paths([str(log)], jobs=1, explain=False)
    assert len(analysis.events) >= PARALLEL_MIN_EVENTS
    one = analysis_to_json(explain_analysis(analysis, jobs=1))
    forked = analysis_to_json(explain_analysis(analysis, jobs=3))
    assert forked == one
    assert all(event["findings"] for event in one["events"])


def test_json_explained_in_processes_is_the_same_text(tmp_path: Path) -> None:
    from oomlens.api import PARALLEL_MIN_EVENTS, explain_analysis, explained_json_chunks
    from oomlens.serialize import json_chunks

    log = tmp_path / "kern.log"
    synth.write_log(
        log, size_bytes=3_000_000, reports=PARALLEL_MIN_EVENTS + 5, envelope="syslog", seed=12
    )
    analysis = analyze_paths([str(log)], jobs=1, explain=False)
    expected = "".join(json_chunks(explain_analysis(analysis)))
    for jobs in (1, 3):
        chunks, later = explained_json_chunks(analysis, jobs=jobs)
        assert "".join(chunks) == expected
        assert later == []


def test_an_explaining_process_that_dies_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forked explaining process killed (out of memory, a signal): the slices it left are
    explained in the parent, and the document is the same."""
    from oomlens import api
    from oomlens.serialize import json_chunks

    log = tmp_path / "kern.log"
    synth.write_log(
        log, size_bytes=3_000_000, reports=api.PARALLEL_MIN_EVENTS + 5, envelope="syslog", seed=12
    )
    analysis = analyze_paths([str(log)], jobs=1, explain=False)
    expected = "".join(json_chunks(api.explain_analysis(analysis)))

    monkeypatch.setattr(api, "_explain_inherited", _dies)
    chunks, later = api.explained_json_chunks(analysis, jobs=2)
    assert "".join(chunks) == expected
    assert later == []


def _dies(start: int, stop: int, as_json: bool) -> list[object]:
    os._exit(9)  # as the kernel's OOM killer would end it


def test_work_alongside_runs_once_while_the_workers_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's work runs in this process once the workers have their first pieces, at
    the first large file only; the analysis is the same as without it."""
    from oomlens import api

    log = tmp_path / "kern.log"
    synth.write_log(log, size_bytes=30_000_000, reports=8, envelope="syslog", seed=12)
    other = tmp_path / "small.log"
    other.write_text(log.read_text()[:20_000])
    monkeypatch.setattr(api, "PARALLEL_MIN_BYTES", 1 << 20)
    monkeypatch.setattr(api, "_MIN_PIECE_BYTES", 1 << 20)
    calls: list[int] = []
    with_work = analyze_paths(
        [str(other), str(log), str(log)], jobs=2, explain=False, alongside=lambda: calls.append(1)
    )
    assert calls == [1]
    plain = analyze_paths([str(other), str(log), str(log)], jobs=1, explain=False)
    assert [event_to_json(e) for e in with_work.events] == [event_to_json(e) for e in plain.events]
    calls.clear()
    analyze_paths([str(other)], jobs=2, explain=False, alongside=lambda: calls.append(1))
    assert calls == []  # no large file: nothing ran alongside

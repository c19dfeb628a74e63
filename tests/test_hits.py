"""The finders (ripgrep, GNU grep) beside the scanner, reading a file or fed a stream, give
the same analysis as its own search, and a finder that fails leaves the scanner to search
alone."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import cli_command
from hypothesis import given, settings
from hypothesis import strategies as st

from oomlens import hits, synth
from oomlens.api import analyze_file_parallel, analyze_paths
from oomlens.serialize import analysis_to_json, event_to_json
from oomlens.splitter import CHUNK_BYTES, HIT_PATTERNS, MAX_LINE_BYTES, split_stream

FINDERS = [name for name in hits.FINDERS if shutil.which(name)]
needs_finders = pytest.mark.skipif(
    set(FINDERS) != set(hits.FINDERS), reason="rg and grep are installed by scripts/test.sh"
)

fragments = st.sampled_from(
    [
        b"oom",
        b"-",
        b"_",
        b"k",
        b"ill",
        b"ed",
        b" process",
        b"ing",
        b", mode:0x",
        b"mode:0x",
        b"Kernel panic - not syncing",
        b"Kernel panic",
        b" ",
        b"\x00",
        b"\xff",
        b"x",
    ]
)


@settings(max_examples=500)
@given(line=st.lists(fragments, max_size=8).map(b"".join))
def test_literals_match_the_lines_the_patterns_match(line: bytes) -> None:
    by_pattern = any(pattern.search(line) for pattern in HIT_PATTERNS)
    by_literal = any(literal in line for literal in hits.HIT_LITERALS)
    assert by_pattern == by_literal


def _analysis(paths: list[Path], finder: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("OOMLENS_HITS", finder)
    monkeypatch.setattr(hits, "FINDER_MIN_BYTES", 0)  # small test files get a finder too
    document = analysis_to_json(analyze_paths([str(p) for p in paths], jobs=2))
    for source in document["sources"]:
        source["path"] = Path(source["path"]).name
    return document


def _hostile_log(path: Path) -> None:
    """Reports among NULs, invalid UTF-8, CRLF, a 2 MB line holding a hit literal, and noise
    lines holding the literals without being reports."""
    report = synth.render(
        synth.random_report(random.Random(3), era=synth.ERAS[-1], kind="oom_kill").records(),
        "syslog",
        start_uptime=50.0,
        wallclock=datetime(2026, 11, 25, 12, 5, 0),
        host="h",
    )
    lines = [
        b"Nov 25 12:00:00 h systemd[1]: foo.service: oom_score_adj set\n",
        b"Nov 25 12:00:01 h app[9]: Killing process 12 (worker)\r\n",
        b"\x00\x00garbage \xff\xfe oom- \x00\n",
        b"Nov 25 12:00:02 h kernel: " + b"x" * 2_000_000 + b" oom-kill: cut\n",
        *(line.encode() + b"\n" for line in report),
        b"Nov 25 12:10:00 h kernel: page allocation failure here, mode:0x cut\r\n",
        *(line.encode() + b"\r\n" for line in report),
    ]
    path.write_bytes(b"".join(lines))


@needs_finders
def test_every_finder_gives_the_python_answer_on_the_corpus(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = sorted(p for p in corpus_dir.rglob("*") if p.suffix in (".log", ".txt"))
    logs = [p for p in logs if not p.name.startswith(("LICENSE", "README", "PROVENANCE"))]
    assert logs
    expected = _analysis(logs, "python", monkeypatch)
    assert expected["events"]
    for finder in FINDERS:
        assert _analysis(logs, finder, monkeypatch) == expected, finder


@needs_finders
def test_every_finder_gives_the_python_answer_on_hostile_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "hostile.log"
    _hostile_log(plain)
    expected = _analysis([plain], "python", monkeypatch)
    assert len(expected["events"]) == 2
    for finder in FINDERS:
        assert _analysis([plain], finder, monkeypatch) == expected, finder


@needs_finders
def test_a_finder_that_dies_leaves_the_scanner_to_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "kern.log"
    _hostile_log(plain)
    expected = _analysis([plain], "python", monkeypatch)
    # too little memory to run: the finder dies with an error, its silence proves nothing
    monkeypatch.setattr(hits, "FINDER_MEMORY_BYTES", 1 << 20)
    for finder in FINDERS:
        monkeypatch.setenv("OOMLENS_HITS", finder)
        running = hits.start_finder(str(plain))
        assert running is not None
        with pytest.raises(hits.FinderFailed):
            list(running.hits())
        assert _analysis([plain], finder, monkeypatch) == expected, finder


def _found_by(finder: str, path: Path) -> list[hits.Hit]:
    """Every hit ``finder`` reports in the file ``path``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OOMLENS_HITS", finder)
        running = hits.start_finder(str(path))
        assert running is not None
        found = hits.hits_to_end(running)
    assert found is not None
    return found


@needs_finders
def test_finder_offsets_are_the_pattern_matches(tmp_path: Path) -> None:
    plain = tmp_path / "kern.log"
    _hostile_log(plain)
    data = plain.read_bytes()
    for finder in FINDERS:
        found = _found_by(finder, plain)
        lines = {data.rfind(b"\n", 0, offset) + 1 for offset, _ in found}
        # each hit's line number is its line's, counted from 1
        assert all(line == data.count(b"\n", 0, offset) + 1 for offset, line in found)
        expected = {
            data.rfind(b"\n", 0, match.start()) + 1
            for pattern in HIT_PATTERNS
            for match in pattern.finditer(data)
        }
        assert lines == expected, finder


@needs_finders
def test_parallel_pieces_with_a_finder_equal_one_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "kern.log"
    synth.write_log(log, size_bytes=24_000_000, reports=12, envelope="syslog", seed=5)
    size = log.stat().st_size
    monkeypatch.setenv("OOMLENS_HITS", "python")
    single = analyze_paths([str(log)], jobs=1)
    for finder in FINDERS:
        monkeypatch.setenv("OOMLENS_HITS", finder)
        events, info, _ = analyze_file_parallel(str(log), size, 2026, 3)
        assert [event_to_json(e) for e in events] == [event_to_json(e) for e in single.events]
        assert info.lines == single.sources[0].lines


def test_unknown_or_missing_finder_means_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OOMLENS_HITS", "python")
    assert hits.chosen_finder() is None
    monkeypatch.setenv("OOMLENS_HITS", "no-such-tool")
    assert hits.chosen_finder() is None
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("OOMLENS_HITS", "auto")
    assert hits.chosen_finder() is None


KILL_LINE = (
    b"Nov 25 13:00:00 h kernel: [ 9999.000000] Out of memory: Killed process 4242 (leaky) "
    b"total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:100kB "
    b"oom_score_adj:0\n"
)


def _chunk_and_a_bit(path: Path, tail_bytes: int) -> None:
    """A gzip log one scan chunk plus ``tail_bytes`` long (decompressed), with reports in the
    chunk and a kill line at the very end: the finder is fed a whole chunk, then a short one
    whose hit the scanner must wait for."""
    source = path.with_suffix(".txt")
    synth.write_log(source, size_bytes=CHUNK_BYTES + 600_000, reports=5, envelope="syslog", seed=8)
    data = source.read_bytes()
    target = CHUNK_BYTES + tail_bytes
    data = data[: data.rfind(b"\n", 0, CHUNK_BYTES - 40_000) + 1]
    # short noise lines to the end: no report runs from the chunk into the short read
    line = b"Nov 25 12:59:59 h cron[1]: (root) CMD (run-parts /etc/cron.hourly)\n"
    room = target - len(data) - len(KILL_LINE)
    data += line * (room // len(line) - 1)
    room = target - len(data) - len(KILL_LINE)
    data += b"Nov 25 12:59:59 h cron[1]: " + b"x" * (room - 28) + b"\n" + KILL_LINE
    assert len(data) == target
    path.write_bytes(gzip.compress(data))
    source.unlink()


def _cli_json(path: Path, finder: str, *, stdin: bool = False) -> dict[str, Any]:
    env = {**os.environ, "OOMLENS_HITS": finder}
    done = subprocess.run(
        [*cli_command(), "analyze", "-" if stdin else str(path), "-f", "json", "-j", "2"],
        input=path.read_bytes() if stdin else None,
        capture_output=True,
        env=env,
        timeout=180,  # a finder that never answers would hang here, not in CI
        check=True,
    )
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@needs_finders
@pytest.mark.parametrize("tail_bytes", [2760, 100_000])
def test_a_fed_finder_gives_the_python_answer(tmp_path: Path, tail_bytes: int) -> None:
    log = tmp_path / "kern.log.gz"
    _chunk_and_a_bit(log, tail_bytes)
    expected = _cli_json(log, "python")
    assert len(expected["events"]) >= 2
    for finder in FINDERS:
        assert _cli_json(log, finder) == expected, finder


@needs_finders
def test_a_fed_finder_that_dies_leaves_the_scanner_to_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "kern.log.gz"
    _chunk_and_a_bit(log, 50_000)
    expected = _analysis([log], "python", monkeypatch)
    monkeypatch.setattr(hits, "FINDER_MEMORY_BYTES", 1 << 20)
    for finder in FINDERS:
        results: list[dict[str, Any]] = []

        def scan(name: str = finder, into: list[dict[str, Any]] = results) -> None:
            into.append(_analysis([log], name, monkeypatch))

        worker = threading.Thread(target=scan, daemon=True)
        worker.start()
        worker.join(timeout=180)
        assert not worker.is_alive(), f"{finder}: the scan never ended"
        assert results == [expected], finder


@needs_finders
def test_a_fed_finder_over_a_line_longer_than_two_chunks(tmp_path: Path) -> None:
    """A 20 MB line holding a hit literal (piped on without a sync line, skipped by the
    scanner) between reports: every finder gives the Python answer."""
    report = synth.render(
        synth.random_report(random.Random(4), era="6.1", kind="oom_kill").records(),
        "syslog",
        start_uptime=10.0,
        wallclock=datetime(2026, 11, 25, 12, 0, 0),
        host="h",
    )
    block = ("\n".join(report) + "\n").encode()
    long_line = b"Nov 25 12:00:05 h kernel: " + b"y" * 9_000_000 + b" oom-kill: "
    long_line += b"z" * 11_000_000 + b"\n"
    log = tmp_path / "long.log.gz"
    log.write_bytes(gzip.compress(block + long_line + block + b"noise\n" * 1000 + block, 1))
    expected = _cli_json(log, "python")
    assert len(expected["events"]) == 3
    assert any("longer than" in d["message"] for d in expected["diagnostics"])
    for finder in FINDERS:
        assert _cli_json(log, finder) == expected, finder


@needs_finders
def test_a_fed_finder_on_stdin_gives_the_python_answer(tmp_path: Path) -> None:
    packed = tmp_path / "kern.log.gz"
    _chunk_and_a_bit(packed, 300_000)
    plain = tmp_path / "kern.log"
    plain.write_bytes(gzip.decompress(packed.read_bytes()))
    expected = _cli_json(plain, "python", stdin=True)
    assert len(expected["events"]) >= 2
    for finder in FINDERS:
        assert _cli_json(plain, finder, stdin=True) == expected, finder


class _CountingRange:
    """A seekable byte range that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.reads: list[tuple[int, int]] = []  # (offset, size) of each read

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int) -> int:
        self.pos = offset
        return offset

    def read(self, size: int = -1) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.reads.append((self.pos, len(chunk)))
        self.pos += len(chunk)
        return chunk


def _blocks(
    data: bytes, found: list[hits.Hit] | None
) -> tuple[list[Any], Any, list[tuple[int, int]]]:
    """(each block's lines as (number, text), the scan stats, the reads) of one scan."""
    stream = _CountingRange(data)
    blocks, stats = split_stream(
        stream,  # type: ignore[arg-type]
        "kern.log",
        year=2026,
        found=iter(found) if found is not None else None,
    )
    lines = [[(line.number, line.text) for line in block.lines] for block in blocks]
    return lines, stats, stream.reads


def _far_apart_reports(path: Path) -> bytes:
    """Reports megabytes apart, the last followed by a noise line longer than
    MAX_LINE_BYTES (skipped with a diagnostic, whichever finder ran)."""
    expected = synth.write_log(path, size_bytes=30_000_000, reports=4, envelope="syslog", seed=11)
    data = path.read_bytes()
    after = 0
    for _ in range(expected[-1]["source"]["last_line"]):
        after = data.index(b"\n", after) + 1
    long_line = b"Nov 25 12:30:00 h app[7]: " + b"A" * (2 * MAX_LINE_BYTES) + b"\n"
    data = data[:after] + long_line + data[after:]
    path.write_bytes(data)
    return data


@needs_finders
def test_a_scan_jumps_between_numbered_hits(tmp_path: Path) -> None:
    """With a file finder's numbered hits the scan seeks from hit to hit: it reads a small
    part of the file, yet finds the same reports, counts the same lines and still reports
    the over-long line between two of them."""
    log = tmp_path / "kern.log"
    data = _far_apart_reports(log)
    expected, expected_stats, _ = _blocks(data, None)
    assert len(expected) == 4
    assert any("longer than" in d.message for d in expected_stats.diagnostics)
    for finder in FINDERS:
        found = _found_by(finder, log)
        blocks, stats, reads = _blocks(data, found)
        assert blocks == expected, finder
        assert stats.lines == expected_stats.lines == data.count(b"\n")
        assert stats.diagnostics == expected_stats.diagnostics
        # up to the last hit (after it, the lines are read to be counted) little is read
        last = found[-1][0]
        read = sum(size for offset, size in reads if offset < last)
        assert read < last // 3, (finder, read, last)


@needs_finders
def test_a_jump_lands_far_enough_back_for_a_report_whose_first_hit_comes_late(
    tmp_path: Path,
) -> None:
    """A report whose header was lost starts with lines no finder matches (here 40 KiB of
    free-page lists): the jump to its first hit lands far enough back to keep them all."""
    from oomlens.splitter import NEAR_BYTES

    prefix = "Nov 25 12:00:01 h kernel: [  100.000000] "
    buddy = "Node 0 Normal: 17*4kB (UME) 24*8kB (UME) 9*16kB (UM) 3*32kB (M) 0*64kB = 508kB"
    report = [f"{prefix}{buddy}" for _ in range(500)] + [
        f"{prefix}[  pid  ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
        f"{prefix}[ 4242]  1000  4242  2031087  1978123    3900        0             0 leaky",
        f"{prefix}Out of memory: Kill process 4242 (leaky) score 943 or sacrifice child",
        f"{prefix}Killed process 4242 (leaky) total-vm:8124348kB, anon-rss:7912492kB, file-rss:0kB",
    ]
    assert sum(len(line) + 1 for line in report[:500]) > 2 * NEAR_BYTES
    noise = [f"Nov 25 12:00:00 h app[7]: request {n} served" for n in range(60_000)]
    data = "\n".join([*noise, *report, *noise, *report, *noise, ""]).encode()
    log = tmp_path / "kern.log"
    log.write_bytes(data)
    expected, expected_stats, _ = _blocks(data, None)
    assert len(expected) == 2
    assert all(len(block) == len(report) for block in expected)  # every buddy line kept
    for finder in FINDERS:
        blocks, stats, _ = _blocks(data, _found_by(finder, log))
        assert blocks == expected, finder
        assert stats.lines == expected_stats.lines


def test_line_numbers_that_contradict_the_file_are_not_trusted(tmp_path: Path) -> None:
    """Hits in the second half numbered lower than lines already passed (the file changed
    after the finder read it): the scan notices and counts the lines itself."""
    log = tmp_path / "kern.log"
    data = _far_apart_reports(log)
    expected, expected_stats, _ = _blocks(data, None)
    found = [
        (offset, 50 if offset > len(data) // 2 else data.count(b"\n", 0, offset) + 1)
        for pattern in HIT_PATTERNS
        for offset in (match.start() for match in pattern.finditer(data))
    ]
    blocks, stats, _ = _blocks(data, sorted(found))
    assert blocks == expected
    assert stats.lines == expected_stats.lines


@needs_finders
def test_a_prestarted_finder_is_taken_over_only_for_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hits, "FINDER_MIN_BYTES", 1000)
    plain, packed, small = tmp_path / "kern.log", tmp_path / "kern.log.gz", tmp_path / "small.log"
    _hostile_log(plain)
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    small.write_bytes(b"Nov 25 12:00:00 h kernel: hello\n")
    try:
        hits.prestart([str(plain), str(packed), str(small), str(tmp_path)])
        assert len(hits._prestarted) == 1  # only the large plain file
        finder = hits.start_finder(str(plain))
        assert finder is not None and not hits._prestarted
        assert hits.hits_to_end(finder) is not None
        hits.prestart([str(plain)])
        with plain.open("ab") as log:  # the file grew: its finder read less than is there
            log.write(KILL_LINE)
        waiting = next(iter(hits._prestarted.values()))
        fresh = hits.start_finder(str(plain))
        assert fresh is not None and fresh is not waiting
        fresh.close()
    finally:
        hits.stop_prestarted()
    assert not hits._prestarted
    assert waiting.process.poll() is not None  # stopped, not left running

"""Hostile input: garbage, huge lines, bad bytes, CRLF, truncation, and nasty process names."""

from __future__ import annotations

import dataclasses
import os
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS_DIR, EXAMPLE_LOG, check_document, check_event, run_json, run_oomlens

from oomlens.synth import random_report, render

KERN_LINES = EXAMPLE_LOG.read_bytes().splitlines(keepends=True)
# the first report of examples/kern.log: header at line 97 .. oom_reaper at line 168
FIRST_REPORT = KERN_LINES[96:168]
FIRST_HEADER, FIRST_KILL, FIRST_VICTIM = 97, 167, 514


def _only_event(doc: dict[str, Any]) -> dict[str, Any]:
    assert len(doc["events"]) == 1, [e["kind"] for e in doc["events"]]
    return doc["events"][0]


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(os.urandom(1 << 20))
    code, doc, _ = run_json(path)
    assert code == 0
    check_document(doc)


def test_binary_garbage_markdown(tmp_path: Path) -> None:
    path = tmp_path / "garbage.log"
    path.write_bytes(os.urandom(1 << 20))
    proc = run_oomlens("analyze", path)
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr
    assert proc.stdout.startswith(b"#")


def test_50mb_line_then_report(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    with path.open("wb") as f:
        f.write(b"x" * (50 << 20))
        f.write(b"\n")
        f.writelines(FIRST_REPORT)
    code, doc, _ = run_json(path)
    assert code == 0
    check_document(doc)
    event = _only_event(doc)
    assert event["kind"] == "oom_kill"
    assert event["complete"] is True
    assert event["source"]["first_line"] == 2
    assert event["trigger"]["comm"] == "nginx"
    assert event["victim"]["pid"] == FIRST_VICTIM
    long_line = [d for d in doc["diagnostics"] if d["line"] == 1]
    assert long_line, doc["diagnostics"]
    assert any("long" in d["message"].lower() for d in long_line), long_line


def test_invalid_utf8_and_nul_bytes(tmp_path: Path) -> None:
    lines = list(FIRST_REPORT)
    # the header's comm gets invalid UTF-8, a Mem-Info line gets a NUL, a task row a NUL too
    lines[0] = lines[0].replace(b"nginx invoked", b"ng\xff\xfeinx invoked", 1)
    for i, line in enumerate(lines):
        if b"Mem-Info" in line:
            lines[i] = line.replace(b"Mem-Info:", b"Mem-Info:\x00\xc3\x28", 1)
        if line.rstrip().endswith(b" php-fpm"):
            lines[i] = line.rstrip(b"\n") + b"\x00\xc0\n"
    path = tmp_path / "bad-bytes.log"
    path.write_bytes(b"".join(lines))
    code, doc, _ = run_json(path)
    assert code == 0
    check_document(doc)
    event = _only_event(doc)
    assert event["kind"] == "oom_kill"
    assert event["victim"]["pid"] == FIRST_VICTIM
    assert event["victim"]["comm"] == "nginx"
    assert event["trigger"]["comm"] is not None and event["trigger"]["comm"].startswith("ng")
    assert event["trigger"]["order"] == 0
    assert event["source"]["first_line"] == 1


def _without_paths(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The events with every source path (event, evidence lines) replaced by "X"."""
    paths = {source["path"] for source in doc["sources"]}

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "X" if k == "path" and v in paths else scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    events: list[dict[str, Any]] = scrub(doc["events"])
    return events


def test_crlf_same_events_as_lf(tmp_path: Path) -> None:
    lf, crlf = tmp_path / "lf.log", tmp_path / "crlf.log"
    data = EXAMPLE_LOG.read_bytes()
    lf.write_bytes(data)
    crlf.write_bytes(data.replace(b"\n", b"\r\n"))
    _, lf_doc, _ = run_json(lf)
    code, crlf_doc, _ = run_json(crlf)
    assert code == 0
    check_document(crlf_doc)
    assert len(crlf_doc["events"]) == 2
    assert _without_paths(crlf_doc) == _without_paths(lf_doc)
    assert crlf_doc["sources"][0]["format"] == lf_doc["sources"][0]["format"]


# --------------------------------------------------------------------------- truncation


def _truncations(tmp_path: Path, lines: list[bytes], tag: str) -> dict[int, list[dict[str, Any]]]:
    """Write the first k lines for every k; analyse them all in one real run."""
    files = []
    for k in range(1, len(lines) + 1):
        path = tmp_path / f"{tag}-{k:04d}.log"
        path.write_bytes(b"".join(lines[:k]))
        files.append(path)
    code, doc, _ = run_json(*files)
    assert code == 0
    check_document(doc)
    assert len(doc["sources"]) == len(files)
    by_k: dict[int, list[dict[str, Any]]] = {k: [] for k in range(1, len(lines) + 1)}
    index = {str(p): k for k, p in enumerate(files, 1)}
    for event in doc["events"]:
        by_k[index[event["source"]["path"]]].append(event)
    return by_k


def _check_truncated(
    by_k: dict[int, list[dict[str, Any]]], reports: list[tuple[int, int, int]]
) -> None:
    """reports: (header line, "Killed process" line, victim pid), 1-based in the file."""
    for k, events in by_k.items():
        for event in events:
            check_event(event, f"k={k}")
            if event["complete"]:  # a complete event has its header and its outcome
                assert event["trigger"]["comm"] is not None, (k, event["source"])
                assert (
                    event["victim"] is not None
                    or event["panic"] is not None
                    or event["kind"] in ("allocation_failure", "oom_no_kill")
                ), (k, event["source"])
        for header, kill, pid in reports:
            if k < header:
                continue
            found = [e for e in events if e["source"]["first_line"] == header]
            assert len(found) == 1, (k, header, [e["source"] for e in events])
            event = found[0]
            assert event["source"]["last_line"] <= k
            if k >= kill:
                assert event["victim"] is not None, (k, header)
                assert event["victim"]["pid"] == pid, (k, header)
                assert event["kind"] == "oom_kill"


def test_truncated_example_report(tmp_path: Path) -> None:
    by_k = _truncations(tmp_path, FIRST_REPORT, "kern")
    kill = FIRST_KILL - FIRST_HEADER + 1
    _check_truncated(by_k, [(1, kill, FIRST_VICTIM)])
    for k in range(1, kill - 2):  # before the oom-kill summary and the kill line
        (event,) = by_k[k]
        assert event["complete"] is False, k
        assert event["victim"] is None, k


def test_truncated_after_summary_is_incomplete(tmp_path: Path) -> None:
    kill = FIRST_KILL - FIRST_HEADER + 1
    path = tmp_path / "cut-after-summary.log"
    path.write_bytes(b"".join(FIRST_REPORT[: kill - 1]))
    assert b"oom-kill:constraint=" in FIRST_REPORT[kill - 2]
    code, doc, _ = run_json(path)
    assert code == 0
    assert _only_event(doc)["complete"] is False


def _corpus_018() -> Path | None:
    found = sorted((CORPUS_DIR / "real").glob("018*.log")) if CORPUS_DIR.is_dir() else []
    return found[0] if found else None


def test_truncated_corpus_018(tmp_path: Path, corpus_dir: Path) -> None:
    log = _corpus_018()
    if log is None:
        pytest.skip(f"real/018*.log not found in {corpus_dir}")
    lines = log.read_bytes().splitlines(keepends=True)
    reports = []
    for header in (i for i, line in enumerate(lines, 1) if b"invoked oom-killer" in line):
        kill = next(
            i for i, line in enumerate(lines, 1) if i > header and b"Killed process" in line
        )
        pid = int(re.search(rb"Killed process (\d+)", lines[kill - 1]).group(1))  # type: ignore[union-attr]
        reports.append((header, kill, pid))
    assert [pid for _, _, pid in reports] == [12950, 13594, 13494]
    by_k = _truncations(tmp_path, lines, "c018")
    _check_truncated(by_k, reports)
    assert len(by_k[len(lines)]) == 3
    assert all(e["complete"] for e in by_k[len(lines)])


# --------------------------------------------------------------------------- hostile names

HOSTILE = ["<script>alert(1)</script>", "|", "`id`", '"><img onerror=x>']


@pytest.mark.parametrize("name", HOSTILE, ids=["script", "pipe", "backticks", "img"])
def test_hostile_process_names(tmp_path: Path, name: str) -> None:
    report = random_report(random.Random(3), era="5.15", kind="oom_kill", n_tasks=6, hostile=False)
    assert report.victim_pid is not None
    tasks = tuple(
        dataclasses.replace(t, name=name) if t.pid == report.victim_pid else t for t in report.tasks
    )
    report = dataclasses.replace(report, tasks=tasks, trigger_comm=name)
    lines = render(
        report.records(),
        "syslog",
        start_uptime=1234.5,
        wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
        host="web1",
    )
    path = tmp_path / "hostile.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, doc, _ = run_json(path)
    assert code == 0
    check_document(doc)
    event = _only_event(doc)
    assert event["trigger"]["comm"] == name
    assert event["victim"]["comm"] == name
    assert event["victim"]["pid"] == report.victim_pid
    rows = [t for t in event["tasks"] if t["pid"] == report.victim_pid]
    assert [t["name"] for t in rows] == [name]

    proc = run_oomlens("analyze", path, "--format", "md")
    assert proc.returncode == 0
    md = proc.stdout.decode("utf-8")
    assert "<script>" not in md
    # the report's own HTML blocks (raw lines in <details><pre>, entity-escaped <code>) aside,
    # no '<' may reach the Markdown unescaped
    own_tags = re.sub(r"</?(details|summary|pre|code)>", "", md)
    assert re.search(r"(?<!\\)<", own_tags) is None, "unescaped '<' in the Markdown"
    mentions = [line for line in md.splitlines() if f"pid {report.victim_pid}" in line]
    assert mentions, md
    for line in mentions:
        assert re.search(r"(?<!\\)\|", line) is None, f"unescaped '|': {line!r}"
        assert re.search(r"(?<!\\)`", line) is None, f"unescaped '`': {line!r}"

"""The shared hand-annotated corpus: score_corpus.py accuracy, and per-file contract checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS_DIR, check_document, cli_command

SCORE_TOOL = CORPUS_DIR.parent / "tools" / "score_corpus.py"
SUMMARY = re.compile(
    r"fields (\d+)/(\d+) \(([\d.]+)%\) event-counts (\d+)/(\d+) files_ok (\d+)/(\d+)"
)


def _corpus_logs() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        return []
    logs = []
    for path in sorted(CORPUS_DIR.rglob("*")):
        if path.suffix not in (".log", ".txt"):
            continue
        truth = path.with_name(path.name[: -len(path.suffix)] + ".truth.json")
        if truth.exists():
            logs.append(path)
    return logs


LOGS = _corpus_logs()

KNOWN_BUGS: dict[str, Any] = {}


def _params() -> list[Any]:
    if not LOGS:
        return [
            pytest.param(
                None, marks=pytest.mark.skip(reason=f"shared corpus not found at {CORPUS_DIR}")
            )
        ]
    return [
        pytest.param(p, id=str(p.relative_to(CORPUS_DIR)), marks=KNOWN_BUGS.get(p.name[:4], ()))
        for p in LOGS
    ]


def test_score_corpus(corpus_dir: Path) -> None:
    if not SCORE_TOOL.exists():
        pytest.skip(f"score tool not found at {SCORE_TOOL}")
    cmd = " ".join([*cli_command(), "analyze", "{file}", "--format", "json"])
    proc = subprocess.run(
        [sys.executable, str(SCORE_TOOL), "-v", "--cmd", cmd]
        + [str(corpus_dir / "real"), str(corpus_dir / "peers")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(f"command: {cmd}")
    print(proc.stdout)
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    match = SUMMARY.fullmatch(lines[-1].strip())
    assert match, f"unexpected last line: {lines[-1]!r}"
    ok, total, pct, ev_ok, ev_tot, files_ok, nfiles = match.groups()
    assert int(total) > 0 and int(nfiles) > 0
    assert float(pct) >= 95.0, lines[-1]
    assert int(ev_ok) / int(ev_tot) >= 0.9, lines[-1]


@pytest.fixture(scope="module")
def corpus_results() -> dict[Path, subprocess.CompletedProcess[bytes]]:
    """Every corpus log through a real ``oomlens analyze FILE --format json`` (in parallel)."""

    def run(path: Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*cli_command(), "analyze", str(path), "--format", "json"],
            capture_output=True,
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(LOGS, pool.map(run, LOGS), strict=True))


@pytest.mark.parametrize("log", _params())
def test_corpus_file_contract(
    log: Path, corpus_results: dict[Path, subprocess.CompletedProcess[bytes]]
) -> None:
    proc = corpus_results[log]
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr
    assert proc.returncode == 0, stderr
    doc = json.loads(proc.stdout)
    check_document(doc)
    assert [s["path"] for s in doc["sources"]] == [str(log)]
    truth = json.loads(log.with_name(log.name[: -len(log.suffix)] + ".truth.json").read_text())
    if truth.get("events"):
        assert doc["events"], "the truth file has events but oomlens found none"
    for event in doc["events"]:
        assert event["source"]["path"] == str(log)

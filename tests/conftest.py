"""Shared fixtures: the repository root, the example log, the shared corpus, the CLI command."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from oomlens import synth
from oomlens.api import analyze_paths
from oomlens.model import Analysis

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_LOG = ROOT / "examples" / "kern.log"
CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus"
OOMLENS_SCRIPT = Path(sys.executable).parent / "oomlens"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def example_log() -> Path:
    return EXAMPLE_LOG


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def corpus_analysis(corpus_dir: Path) -> Analysis:
    """Every corpus log analysed and explained in one process, once per test session."""
    logs = sorted(p for p in corpus_dir.rglob("*") if p.suffix in (".log", ".txt"))
    return analyze_paths([str(p) for p in logs], jobs=1)


def synthetic_reports(era: str, envelope: str = "dmesg") -> str:
    """One synthetic report of every kind for ``era``, as a log (seeded by the era)."""
    rng = random.Random(era)
    texts = []
    for kind in synth.KINDS:
        report = synth.random_report(rng, era=era, kind=kind)
        lines = synth.render(
            report.records(), envelope, start_uptime=10.0, wallclock=datetime(2024, 1, 1)
        )
        texts.append("\n".join(lines))
    return "\n".join(texts) + "\n"


def _module_entry_point_works() -> bool:
    """``python -m oomlens.cli`` must actually run the app (not import and exit silently)."""
    proc = subprocess.run(
        [sys.executable, "-m", "oomlens.cli", "analyze", str(EXAMPLE_LOG), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode == 0 and proc.stdout.strip().startswith("{")


_CLI_CACHE: list[list[str]] = []


def cli_command() -> list[str]:
    """argv prefix that runs ``oomlens``: ``python -m oomlens.cli`` if it works, else the script."""
    if not _CLI_CACHE:
        if _module_entry_point_works():
            _CLI_CACHE.append([sys.executable, "-m", "oomlens.cli"])
        else:
            _CLI_CACHE.append([str(OOMLENS_SCRIPT)])
    return _CLI_CACHE[0]


@pytest.fixture(scope="session")
def oomlens_cmd() -> list[str]:
    return cli_command()


def run_oomlens(
    *args: str | Path,
    input: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``oomlens ARGS`` as a real subprocess; output as bytes."""
    return subprocess.run(
        [*cli_command(), *map(str, args)],
        input=input,
        capture_output=True,
        cwd=cwd,
        timeout=timeout,
    )


def run_json(*paths: str | Path, cwd: Path | None = None) -> tuple[int, dict[str, Any], str]:
    """``oomlens analyze PATHS --format json``: (exit code, parsed document, stderr)."""
    proc = run_oomlens("analyze", *paths, "--format", "json", cwd=cwd)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr
    return proc.returncode, json.loads(proc.stdout), stderr


# --------------------------------------------------------------------------- contract checks

_INT = (int,)
_NUM = (int, float)


def _is(value: Any, types: tuple[type, ...], nullable: bool) -> bool:
    if value is None:
        return nullable
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _check_keys(where: str, obj: Any, spec: dict[str, tuple[tuple[type, ...], bool]]) -> None:
    assert isinstance(obj, dict), f"{where}: not an object: {obj!r}"
    for key, (types, nullable) in spec.items():
        assert key in obj, f"{where}: missing key {key!r}"
        assert _is(obj[key], types, nullable), (
            f"{where}.{key}: {obj[key]!r} is not {'/'.join(t.__name__ for t in types)}"
            + (" or null" if nullable else "")
        )


S, N, F, B, L = (str,), _INT, _NUM, (bool,), (list,)

_EVENT = {
    "kind": (S, False),
    "source": ((dict,), False),
    "time": ((dict,), False),
    "host": (S, True),
    "kernel_release": (S, True),
    "trigger": ((dict,), False),
    "constraint": (S, True),
    "manual": (B, False),
    "memcg": ((dict,), True),
    "swap": ((dict,), False),
    "tasks": (L, True),
    "victim": ((dict,), True),
    "selected": ((dict,), True),
    "reaped": (B, False),
    "panic": (S, True),
    "complete": (B, False),
    "replay": (L, False),
    "findings": (L, False),
}
_SOURCE = {"path": (S, False), "first_line": (N, False), "last_line": (N, False)}
_TIME = {"uptime_s": (F, True), "wallclock": (S, True)}
_TRIGGER = {
    "comm": (S, True),
    "pid": (N, True),
    "gfp_mask": (S, True),
    "gfp_flags": (L, False),
    "order": (N, True),
    "oom_score_adj": (N, True),
}
_MEMCG = {
    "limit_path": (S, True),
    "victim_path": (S, True),
    "usage_kib": (N, True),
    "limit_kib": (N, True),
    "failcnt": (N, True),
    "swap_usage_kib": (N, True),
    "swap_limit_kib": (N, True),
}
_SWAP = {"total_kib": (N, True), "free_kib": (N, True)}
_TASK = {
    "pid": (N, False),
    "uid": (N, True),
    "tgid": (N, True),
    "total_vm_pages": (N, True),
    "rss_pages": (N, True),
    "pgtables_bytes": (N, True),
    "swapents": (N, True),
    "oom_score_adj": (N, True),
    "name": (S, False),
}
_VICTIM = {
    "pid": (N, True),  # null only for the 2.6 "VM: killing process <comm>" line (no pid printed)
    "comm": (S, True),  # null when the kill line was cut before the name
    "total_vm_kib": (N, True),
    "anon_rss_kib": (N, True),
    "file_rss_kib": (N, True),
    "shmem_rss_kib": (N, True),
    "pgtables_kib": (N, True),
    "uid": (N, True),
    "oom_score_adj": (N, True),
    "score": (N, True),
}
_SELECTED = {"pid": (N, False), "comm": (S, False), "score": (N, True)}
KINDS = {"oom_kill", "oom_no_kill", "allocation_failure", "oom_panic", "reaper_only"}
CONSTRAINTS = {
    "CONSTRAINT_NONE",
    "CONSTRAINT_MEMCG",
    "CONSTRAINT_CPUSET",
    "CONSTRAINT_MEMORY_POLICY",
}


def check_event(event: Any, where: str = "event") -> None:
    """Structural check of one event against shared/docs/json-contract.md."""
    _check_keys(where, event, _EVENT)
    assert event["kind"] in KINDS, f"{where}.kind: {event['kind']!r}"
    _check_keys(f"{where}.source", event["source"], _SOURCE)
    assert 1 <= event["source"]["first_line"] <= event["source"]["last_line"]
    _check_keys(f"{where}.time", event["time"], _TIME)
    _check_keys(f"{where}.trigger", event["trigger"], _TRIGGER)
    assert all(isinstance(f, str) for f in event["trigger"]["gfp_flags"])
    if event["constraint"] is not None:
        assert event["constraint"] in CONSTRAINTS, event["constraint"]
    if event["memcg"] is not None:
        _check_keys(f"{where}.memcg", event["memcg"], _MEMCG)
    _check_keys(f"{where}.swap", event["swap"], _SWAP)
    for i, task in enumerate(event["tasks"] or []):
        _check_keys(f"{where}.tasks[{i}]", task, _TASK)
    if event["victim"] is not None:
        _check_keys(f"{where}.victim", event["victim"], _VICTIM)
    if event["selected"] is not None:
        _check_keys(f"{where}.selected", event["selected"], _SELECTED)


def check_document(doc: Any) -> None:
    """Structural check of a whole ``--format json`` document."""
    assert isinstance(doc, dict)
    assert doc["schema"] == "oomlens/1"
    assert isinstance(doc["sources"], list)
    for src in doc["sources"]:
        _check_keys("source", src, {"path": (S, False), "format": (S, False)})
    assert isinstance(doc["events"], list)
    for i, event in enumerate(doc["events"]):
        check_event(event, f"events[{i}]")
    assert isinstance(doc["diagnostics"], list)
    for d in doc["diagnostics"]:
        _check_keys(
            "diagnostic", d, {"path": (S, False), "line": (N, False), "message": (S, False)}
        )


# --------------------------------------------------------------------------- hypothesis

try:  # the fuzz tests need hypothesis; the rest of the suite does not
    from hypothesis import HealthCheck, settings

    # "ci" keeps tests/test_fuzz.py under two minutes on two CPUs; "long" is for
    # `HYPOTHESIS_PROFILE=long scripts/fuzz.sh` (and any run that wants more examples).
    _SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile("ci", deadline=None, suppress_health_check=_SLOW)
    settings.register_profile("long", deadline=None, max_examples=5000, suppress_health_check=_SLOW)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover
    pass

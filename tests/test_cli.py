"""The ``oomlens analyze`` command: in-process (typer CliRunner) and as a real subprocess."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import EXAMPLE_LOG, check_document, run_oomlens
from typer.testing import CliRunner

from oomlens.cli import app

VICTIMS = {514: "nginx", 809545: "gunicorn"}


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def _via_runner(args: list[str], stdin: bytes | None, cwd: Path) -> Result:
    with pytest.MonkeyPatch.context() as mp:  # chdir only: the runner shares our process
        mp.chdir(cwd)
        res = CliRunner().invoke(app, args, input=stdin)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return Result(res.exit_code, res.stdout, res.stderr)


def _via_subprocess(args: list[str], stdin: bytes | None, cwd: Path) -> Result:
    proc = run_oomlens(*args, input=stdin, cwd=cwd)
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


Invoke = Callable[..., Result]


@pytest.fixture(params=["runner", "subprocess"])
def invoke(request: pytest.FixtureRequest, tmp_path: Path) -> Invoke:
    impl = _via_runner if request.param == "runner" else _via_subprocess

    def call(*args: str | Path, stdin: bytes | None = None) -> Result:
        result = impl([str(a) for a in args], stdin, tmp_path)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    return call


def _events(doc: dict) -> list[tuple[int, str]]:
    return [(e["victim"]["pid"], e["victim"]["comm"]) for e in doc["events"]]


def _assert_example_json(text: str) -> dict:
    doc = json.loads(text)
    check_document(doc)
    assert doc["schema"] == "oomlens/1"
    assert len(doc["events"]) == 2
    assert _events(doc) == list(VICTIMS.items())
    return doc


def test_markdown_to_stdout(invoke: Invoke) -> None:
    res = invoke("analyze", EXAMPLE_LOG)
    assert res.code == 0, res.stderr
    assert res.stdout.lstrip().startswith("#")
    for pid, comm in VICTIMS.items():
        assert comm in res.stdout
        assert str(pid) in res.stdout
    assert "2 OOM-related event" in res.stderr


def test_json_to_stdout(invoke: Invoke) -> None:
    res = invoke("analyze", EXAMPLE_LOG, "--format", "json")
    assert res.code == 0, res.stderr
    doc = _assert_example_json(res.stdout)
    assert [(s["path"], s["format"]) for s in doc["sources"]] == [(str(EXAMPLE_LOG), "syslog")]
    assert [e["source"]["first_line"] for e in doc["events"]] == [97, 188]


def test_output_json_inferred_from_suffix(invoke: Invoke, tmp_path: Path) -> None:
    res = invoke("analyze", EXAMPLE_LOG, "-o", "out.json")
    assert res.code == 0, res.stderr
    assert res.stdout == ""
    _assert_example_json((tmp_path / "out.json").read_text(encoding="utf-8"))


def test_output_markdown_file(invoke: Invoke, tmp_path: Path) -> None:
    res = invoke("analyze", EXAMPLE_LOG, "-o", tmp_path / "report.md")
    assert res.code == 0, res.stderr
    assert res.stdout == ""
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert text.startswith("#")
    assert all(comm in text for comm in VICTIMS.values())
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_format_option_beats_suffix(invoke: Invoke, tmp_path: Path) -> None:
    res = invoke("analyze", EXAMPLE_LOG, "--format", "md", "-o", "out.json")
    assert res.code == 0, res.stderr
    assert (tmp_path / "out.json").read_text(encoding="utf-8").startswith("#")


def test_stdin_plain(invoke: Invoke) -> None:
    res = invoke("analyze", "-", "--format", "json", stdin=EXAMPLE_LOG.read_bytes())
    assert res.code == 0, res.stderr
    doc = _assert_example_json(res.stdout)
    assert doc["sources"][0]["path"] == "-"


def test_stdin_gzip(invoke: Invoke) -> None:
    data = gzip.compress(EXAMPLE_LOG.read_bytes())
    res = invoke("analyze", "-", "--format", "json", stdin=data)
    assert res.code == 0, res.stderr
    _assert_example_json(res.stdout)


def test_directory_argument(invoke: Invoke, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "nested").mkdir(parents=True)
    shutil.copy(EXAMPLE_LOG, logs / "kern.log")
    (logs / "nested" / "kern.log.gz").write_bytes(gzip.compress(EXAMPLE_LOG.read_bytes()))
    (logs / "nested" / "quiet.log").write_text("Nov 25 12:00:00 h kernel: hello\n")
    res = invoke("analyze", logs, "--format", "json")
    assert res.code == 0, res.stderr
    doc = json.loads(res.stdout)
    check_document(doc)
    assert len(doc["sources"]) == 3
    assert len(doc["events"]) == 4
    by_path: dict[str, int] = {}
    for event in doc["events"]:
        by_path[event["source"]["path"]] = by_path.get(event["source"]["path"], 0) + 1
    assert sorted(by_path.values()) == [2, 2]


def test_missing_file_exit_1_others_analysed(invoke: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist.log"
    res = invoke("analyze", missing, EXAMPLE_LOG, "--format", "json")
    assert res.code == 1
    assert str(missing) in res.stderr
    doc = _assert_example_json(res.stdout)
    assert any(d["path"] == str(missing) for d in doc["diagnostics"])


def test_missing_file_markdown_still_reports_others(invoke: Invoke, tmp_path: Path) -> None:
    res = invoke("analyze", EXAMPLE_LOG, tmp_path / "gone.log")
    assert res.code == 1
    assert "gone.log" in res.stderr
    assert all(comm in res.stdout for comm in VICTIMS.values())


@pytest.mark.parametrize(
    "args",
    [[], ["analyze"], ["analyze", "--bogus", "x.log"], ["analyze", "-f", "xml", "x.log"]],
    ids=["no-args", "no-paths", "bad-option", "bad-format"],
)
def test_usage_errors_exit_2(invoke: Invoke, args: list[str]) -> None:
    res = invoke(*args)
    assert res.code == 2
    assert "Usage" in res.stdout + res.stderr


def test_empty_file(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    res = invoke("analyze", "empty.log")
    assert res.code == 0, res.stderr
    assert "no oom" in res.stdout.lower()
    res = invoke("analyze", "empty.log", "--format", "json")
    assert res.code == 0
    doc = json.loads(res.stdout)
    check_document(doc)
    assert doc["events"] == []


@pytest.mark.parametrize("args", [["--help"], ["analyze", "--help"]])
def test_help(invoke: Invoke, args: list[str]) -> None:
    res = invoke(*args)
    assert res.code == 0
    assert "Usage" in res.stdout
    if args[0] == "analyze":
        assert "--format" in res.stdout and "--output" in res.stdout
    else:
        assert "analyze" in res.stdout


def test_unwritable_output_exit_1(invoke: Invoke, tmp_path: Path) -> None:
    res = invoke("analyze", EXAMPLE_LOG, "-o", tmp_path / "no" / "such" / "dir" / "out.json")
    assert res.code == 1
    assert "cannot write" in res.stderr


def test_console_script_pipe(tmp_path: Path) -> None:
    """A real shell pipeline: ``gzip -c kern.log | oomlens analyze - --format json``."""
    script = Path(sys.executable).parent / "oomlens"
    gz = shutil.which("gzip")
    if gz is None:
        pytest.skip("gzip not installed")
    with subprocess.Popen([gz, "-c", str(EXAMPLE_LOG)], stdout=subprocess.PIPE) as producer:
        proc = subprocess.run(
            [str(script), "analyze", "-", "--format", "json"],
            stdin=producer.stdout,
            capture_output=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert proc.returncode == 0, proc.stderr
    _assert_example_json(proc.stdout.decode())


def test_python_m_oomlens_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "oomlens.cli", "analyze", str(EXAMPLE_LOG), "--format", "json"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0
    _assert_example_json(proc.stdout.decode())


USER_RULE = """
id = "USR001"
name = "site.any_kill"
cause = "kill_loop"
severity = "info"
priority = 1
when = "victim_pid is not null"
title = "Site rule: a task was killed"
explanation = "Killed {{ victim_comm }}."
remedy = "Nothing: a site rule for the test."
references = []
"""


def test_user_rules_directory(invoke: Invoke, tmp_path: Path) -> None:
    rules = tmp_path / "site-rules"
    rules.mkdir()
    (rules / "USR001_any_kill.toml").write_text(USER_RULE, encoding="utf-8")
    res = invoke("analyze", EXAMPLE_LOG, "--format", "json", "--rules", rules)
    assert res.code == 0, res.stderr
    doc = json.loads(res.stdout)
    for event in doc["events"]:
        ids = [f["id"] for f in event["findings"]]
        assert "USR001" in ids
        assert sum(f["primary"] for f in event["findings"]) == 1
        mine = next(f for f in event["findings"] if f["id"] == "USR001")
        assert mine["explanation"].strip() == f"Killed {event['victim']['comm']}."


def test_broken_user_rule_exit_2_with_location(invoke: Invoke, tmp_path: Path) -> None:
    rules = tmp_path / "site-rules"
    rules.mkdir()
    broken = USER_RULE.replace("victim_pid is not null", "victim_pid >")
    (rules / "USR001_any_kill.toml").write_text(broken, encoding="utf-8")
    res = invoke("analyze", EXAMPLE_LOG, "--rules", rules)
    assert res.code == 2
    assert "USR001_any_kill.toml:7:" in res.stderr


def test_streamed_json_is_the_document(tmp_path: Path) -> None:
    """The CLI writes JSON one event at a time; the text reads back as the whole document,
    each event on one line, including a comm holding U+2028 (left raw by ensure_ascii=False),
    and with no events at all."""
    from oomlens.api import analyze_paths
    from oomlens.serialize import analysis_to_json, json_chunks

    odd = tmp_path / "odd.log"
    odd.write_text(
        EXAMPLE_LOG.read_text(encoding="utf-8").replace("nginx", "ng\u2028inx"), encoding="utf-8"
    )
    empty = tmp_path / "empty.log"
    empty.write_text("nothing here\n", encoding="utf-8")
    for paths in ([EXAMPLE_LOG, odd], [empty]):
        analysis = analyze_paths([str(p) for p in paths])
        text = "".join(json_chunks(analysis))
        assert json.loads(text) == analysis_to_json(analysis)
        event_lines = [line for line in text.split("\n") if line.startswith('  {"')]
        assert len(event_lines) == len(analysis.events)
        for line, event in zip(event_lines, analysis_to_json(analysis)["events"], strict=True):
            assert json.loads(line.rstrip(",")) == event

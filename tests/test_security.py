"""Security: text chosen by whoever names a process or a cgroup never becomes markup, code or
a command, and archives never touch the disk.

Tests of the same guarantees elsewhere (not repeated here):
- tests/test_archives.py: traversal and absolute member names, symlinks and devices refused
  (test_unsafe_members_are_refused, test_zip_traversal_and_symlink_refused), member size and
  nesting limits (test_member_size_limit, test_nesting_depth_limit).
- tests/test_hostile.py: a few hostile names through the CLI's JSON and Markdown.
- tests/test_reader.py: journalctl with an odd file name, killed and reaped on early exit.
"""

from __future__ import annotations

import json
import os
import random
import re
import stat
import subprocess
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import run_oomlens
from markdown_it import MarkdownIt

from oomlens import reader
from oomlens.api import analyze_paths, analyze_text
from oomlens.model import Analysis
from oomlens.render import analysis_to_html, analysis_to_markdown
from oomlens.serialize import analysis_to_json
from oomlens.synth import random_report, render

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</details>",
    "</pre><b>x",
    "{{7*7}}",
    "{{ 7*7 }}",
    "{% for x in range(3) %}y{% endfor %}",
    "{# c #}",
    "a|b|c",
    "`id`",
    "``x``",
    "[x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "![i](http://x/i.png)",
    "line\nbreak",
    "\x1b[31mred\x1b[0m",
    "\u202eexe.txt",
    "&lt;amp&gt;",
    "*em* _u_ ~~s~~",
    "# heading",
    "\\",
    "x" * 300,
]


# --------------------------------------------------------------------------- checkers


class _Elements(HTMLParser):
    """Every start tag and attribute of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def active_html(html: str) -> list[str]:
    """What in ``html`` could run or load something: script/iframe/img/object elements,
    ``on*`` handlers, ``javascript:`` URLs. A report has none of them of its own (its only
    head elements are <meta>, its charts inline <svg> without handlers)."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    found = []
    for tag, attrs in parser.tags:
        if tag in ("script", "iframe", "img", "object", "embed", "base", "form", "link"):
            found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"<{tag} {name}>")
            if (value or "").strip().lower().startswith(("javascript:", "data:")):
                found.append(f"<{tag} {name}={value}>")
    return found


def markdown_to_html(markdown: str) -> str:
    """CommonMark plus GFM tables, with link validation off so that any link the Markdown
    forms shows up (the default would silently drop javascript: ones)."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md.render(markdown)


def markdown_problems(markdown: str) -> list[str]:
    """Active HTML or links in the rendered Markdown, and tables whose rows differ in cells."""
    rendered = markdown_to_html(markdown)
    problems = active_html(rendered)
    problems += [f"link {m}" for m in re.findall(r'<a href="[^"]*"', rendered)]
    for table in re.findall(r"<table>.*?</table>", rendered, re.S):
        widths = {
            len(re.findall(r"<t[dh][ >]", row)) for row in re.findall(r"<tr>.*?</tr>", table, re.S)
        }
        if len(widths) > 1:
            problems.append(f"table rows with {sorted(widths)} cells")
    return problems


def source_table_rows(markdown: str) -> list[str]:
    """Markdown table rows whose unescaped ``|`` count differs from their table's header."""
    bad = []
    header: int | None = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        if header is None:
            header = cells
        elif cells != header:
            bad.append(line)
    return bad


# --------------------------------------------------------------------------- hostile logs


def _hostile_log(name: str, cgroup: str, seed: int = 3) -> str:
    """A 5.15 memcg OOM whose trigger, victim, task row and cgroup paths carry ``name``."""
    report = random_report(
        random.Random(seed), era="5.15", kind="oom_kill", n_tasks=6, hostile=False
    )
    assert report.victim_pid is not None
    tasks = tuple(replace(t, name=name) if t.pid == report.victim_pid else t for t in report.tasks)
    path = "/kubepods/" + cgroup
    report = replace(
        report,
        tasks=tasks,
        trigger_comm=name,
        memcg_limit_path=path,
        memcg_victim_path=path,
        memcg_usage_kib=report.memcg_usage_kib or 1048576,
        memcg_limit_kib=report.memcg_limit_kib or 1048576,
    )
    lines = render(
        report.records(),
        "syslog",
        start_uptime=1234.5,
        wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
        host="web1",
    )
    return "\n".join(lines) + "\n"


def _analysis(name: str) -> Analysis:
    # comm never holds a newline in a kernel line (the line ends there); cgroup paths neither
    flat = name.replace("\n", " ")
    return analyze_text(_hostile_log(flat, flat.replace(" ", "_")), "hostile.log")


@pytest.fixture(scope="module", params=HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def hostile(request: pytest.FixtureRequest) -> tuple[str, Analysis]:
    return request.param, _analysis(request.param)


def test_hostile_values_are_read_literally(hostile: tuple[str, Analysis]) -> None:
    name, analysis = hostile
    flat = name.replace("\n", " ")
    (event,) = analysis_to_json(analysis)["events"]
    assert event["victim"]["comm"] == flat
    assert event["trigger"]["comm"] == flat
    assert [t["name"] for t in event["tasks"] if t["pid"] == event["victim"]["pid"]] == [flat]
    assert event["memcg"]["victim_path"] == "/kubepods/" + flat.replace(" ", "_")


def test_html_escapes_hostile_values(hostile: tuple[str, Analysis]) -> None:
    name, analysis = hostile
    html = analysis_to_html(analysis)
    assert active_html(html) == []
    assert "<script" not in html.lower()
    assert "</details>" not in name or html.count("</details>") == html.count("<details")
    assert "<b>x" not in html


def test_markdown_keeps_hostile_values_inert(hostile: tuple[str, Analysis]) -> None:
    name, analysis = hostile
    markdown = analysis_to_markdown(analysis)
    assert markdown_problems(markdown) == []
    assert source_table_rows(markdown) == []
    assert "<script" not in markdown_to_html(markdown).lower()


def test_json_round_trips_hostile_values(hostile: tuple[str, Analysis]) -> None:
    name, analysis = hostile
    doc = analysis_to_json(analysis)
    assert json.loads(json.dumps(doc)) == doc
    assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc


@pytest.mark.parametrize("name", ["{{7*7}}", "{{ 7*7 }}", "{% if true %}T{% endif %}"])
def test_template_syntax_in_a_name_is_shown_literally(name: str) -> None:
    """Rule explanations are Jinja templates that quote facts: a fact's value is data. The
    findings for a log naming its process ``name`` read exactly as those for a process named
    ``plain``, with the name in place (evaluated, ``{{7*7}}`` would read 49)."""

    def texts(analysis: Analysis) -> list[str]:
        (explained,) = analysis.explained
        return [f.title + "\n" + f.explanation for f in explained.findings]

    hostile, plain = texts(_analysis(name)), texts(_analysis("plain"))
    assert any(name in text for text in hostile), hostile
    undone = [t.replace(name.replace(" ", "_"), "plain").replace(name, "plain") for t in hostile]
    assert undone == plain
    html = analysis_to_html(_analysis(name))
    assert name.replace("*", "") not in html or "{" in html  # the braces survive into HTML
    assert "7*7" in html or "{% if true %}" in html


def test_ansi_and_bidi_controls_do_not_reach_reports_raw() -> None:
    """Terminal escapes and the RTL override are shown as visible escapes or kept as text,
    never as raw control bytes that could rewrite a terminal or reorder a line."""
    analysis = _analysis("\x1b[2J\x1b[31mred\u202eexe")
    for text in (analysis_to_markdown(analysis), analysis_to_html(analysis)):
        assert "\x1b" not in text and "\u202e" not in text
        assert "\\x1b[2J" in text and "\\u202e" in text
    # the data keeps the name as the kernel printed it
    assert analysis.events[0].kills[0].comm == "\x1b[2J\x1b[31mred\u202eexe"


@pytest.mark.parametrize(
    "name", ["[x](javascript:alert(1))", "<script>alert(1)</script>", "a|b`c", "\x1b[2Jx"]
)
def test_fleet_summary_keeps_hostile_values_inert(tmp_path: Path, name: str) -> None:
    """The batch summary (HTML and Markdown) quotes comms, cgroups and paths from the logs."""
    from oomlens.batch import render_summary, run_batch

    log = tmp_path / "kern.log"
    log.write_text(_hostile_log(name, name.replace(" ", "_")), encoding="utf-8")
    result = run_batch([str(log)], jobs=1)
    assert len(result.rows) == 1
    markdown = render_summary(result, "md")
    assert markdown_problems(markdown) == []
    assert source_table_rows(markdown) == []
    html = render_summary(result, "html")
    assert active_html(html) == []
    for text in (markdown, html):
        assert "\x1b" not in text


# --------------------------------------------------------------------------- no shell


def test_journalctl_runs_without_a_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A binary journal whose name holds shell syntax is passed to journalctl as one argv item."""
    monkeypatch.chdir(tmp_path)
    name = tmp_path / "x; touch pwned.journal"
    name.write_bytes(b"LPKSHHRH" + b"\x00" * 300)  # journal magic, nothing valid after it
    analysis = analyze_paths([str(name)], jobs=1)
    assert str(name) in analysis.failed_inputs
    proc = run_oomlens("analyze", name.name, cwd=tmp_path)
    assert b"Traceback" not in proc.stderr
    assert proc.returncode != 0 and b"journal" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name.name]


def test_reader_never_uses_a_shell() -> None:
    source = Path(reader.__file__).read_text(encoding="utf-8")
    assert "shell=True" not in source
    assert "os.system" not in source and "os.popen" not in source
    assert re.search(r"subprocess\.Popen\(\s*argv", source), "journalctl argv must be a list"


# --------------------------------------------------------------------------- temp files


def test_journal_spool_is_private_and_removed(tmp_path: Path) -> None:
    """A compressed binary journal is copied to one temp file: mode 0600, gone afterwards."""
    import gzip

    journal = tmp_path / "system.journal.gz"
    journal.write_bytes(gzip.compress(b"LPKSHHRH" + b"\x00" * 4096))
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    seen: list[int] = []
    real_mkstemp = tempfile.mkstemp

    def watching_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **{**kwargs, "dir": str(spool_dir)})
        seen.append(stat.S_IMODE(os.stat(name).st_mode))
        return fd, name

    tempfile.mkstemp = watching_mkstemp  # type: ignore[assignment]
    try:
        analysis = analyze_paths([str(journal)], jobs=1, explain=False)
    finally:
        tempfile.mkstemp = real_mkstemp  # type: ignore[assignment]
    assert seen == [0o600]
    assert list(spool_dir.iterdir()) == []
    assert str(journal) in analysis.failed_inputs or analysis.sources


def test_archives_are_read_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a tar and a zip of logs creates no file (temp directory, working directory),
    and a member named ../../etc/kern.log is refused, not resolved."""
    import io
    import tarfile
    import zipfile

    from oomlens.batch import run_batch

    log = _hostile_log("evil<x>", "a").encode()
    inputs = tmp_path / "in"
    inputs.mkdir()
    with tarfile.open(inputs / "logs.tar.gz", "w:gz") as tar:
        for member in ("../../etc/kern.log", "host1/kern.log"):
            info = tarfile.TarInfo(member)
            info.size = len(log)
            tar.addfile(info, io.BytesIO(log))
    with zipfile.ZipFile(inputs / "logs.zip", "w") as z:
        z.writestr("host2/kern.log", log)
    private_tmp, work = tmp_path / "tmp", tmp_path / "work"
    private_tmp.mkdir()
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.chdir(work)
    result = run_batch([str(inputs / "logs.tar.gz"), str(inputs / "logs.zip")], jobs=1)
    assert _tree(private_tmp) == set() and _tree(work) == set()
    assert _tree(tmp_path) == {str(inputs / "logs.tar.gz"), str(inputs / "logs.zip")}
    assert len(result.rows) == 2, result.rows
    assert any("../../etc/kern.log" in bad.path for bad in result.bad), result.bad


def test_large_members_are_not_spooled_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member too large to travel to a worker with its bytes (INLINE_BYTES) is read again
    from the archive by its locator, never copied to a file (temp, cache or working dir)."""
    import gzip
    import io
    import tarfile

    from oomlens.archives import INLINE_BYTES
    from oomlens.batch import run_batch

    log = _hostile_log("big", "a").encode()
    noise = b"Mar  1 11:00:00 web1 app[1]: filler line of an application\n"
    data = noise * (INLINE_BYTES // len(noise) + 1) + log
    inputs = tmp_path / "in"
    inputs.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("host1/var/log/messages", "host2/var/log/messages"):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (inputs / "big.tar.gz").write_bytes(gzip.compress(buffer.getvalue(), compresslevel=1))
    private = tmp_path / "private"
    for sub in ("tmp", "home", "cache", "work"):
        (private / sub).mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(private / "tmp"))
    monkeypatch.setenv("TMPDIR", str(private / "tmp"))
    monkeypatch.setenv("HOME", str(private / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(private / "cache"))
    monkeypatch.chdir(private / "work")
    result = run_batch([str(inputs / "big.tar.gz")], jobs=2)
    assert (result.analysed, result.source_rows, result.bad) == (2, 2, ()), result
    assert _tree(private) == set()


def _tree(root: Path) -> set[str]:
    out = set()
    for dirpath, _dirs, files in os.walk(root):
        out.update(os.path.join(dirpath, f) for f in files)
    return out


# --------------------------------------------------------------------------- the CLI


def test_cli_markdown_with_hostile_names_has_no_live_markup(tmp_path: Path) -> None:
    log = tmp_path / "evil.log"
    log.write_text(_hostile_log("[x](javascript:alert(1))", "<svg onload=alert(1)>"), "utf-8")
    proc = subprocess.run(
        [*__import__("conftest").cli_command(), "analyze", str(log)],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    markdown = proc.stdout.decode("utf-8")
    assert markdown_problems(markdown) == []
    assert source_table_rows(markdown) == []

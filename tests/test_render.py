"""Incident reports (oomlens/render.py, oomlens/charts.py, reports/*.j2): filters, the
view-model, escaping of hostile log text, golden files per format, every corpus file in
every format, size caps and the CLI options."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import CORPUS_DIR, EXAMPLE_LOG, run_oomlens
from markupsafe import escape
from report_builder import analyse, explained_analysis, synth_log

from oomlens.model import Analysis, MemoryState, StepName
from oomlens.render import (
    analysis_to_html,
    analysis_to_markdown,
    build_report,
    cgroup_owner,
    format_kib,
    format_pct,
    md_code,
    md_escape,
)
from oomlens.serialize import analysis_to_json

GOLDEN = Path(__file__).parent / "golden" / "reports"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
GOLDEN_CORPUS = (
    "real/021_ubuntu18.04-4.15-k3s-memcgv1-dmesgT-hierarchy-reaper.log",
    "real/015_rhel6-2.6.32-279-global-syslog-slab-leak-haproxy.log",
    "real/025_sles15sp4-5.14-rfc3339-rsyslog-callerid-two-global-kills-elided.log",
    "real/002_imx6ul-arm32-5.16-no-killable-panic.log",
    "peers/oomanalyser/example_proxmox_cgroup_oom.txt",
)
HOSTILE = (
    "<script>window.__xss=1</script>",
    '"><img src=x onerror=window.__xss=1>',
    "a|b`c`",
    "new\nline",
)


def corpus_files() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(p for p in CORPUS_DIR.rglob("*") if p.suffix in (".log", ".txt") and p.is_file())


def names(analysis: Analysis) -> dict[str, str]:
    """Stable display paths: the file name only."""
    return {s.path: Path(s.path).name for s in analysis.sources}


class _Collector(HTMLParser):
    """Well-formedness enough for a browser: tags, attributes, text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br", "link", "rect", "line", "circle", "input"):
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("rect", "line", "circle"):
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> _Collector:
    parser = _Collector()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], parser.stack
    return parser


def assert_self_contained(text: str) -> None:
    parsed = parse_html(text)
    tags = {t for t, _ in parsed.tags}
    assert not tags & {"script", "img", "iframe", "link", "object", "embed", "image", "use"}
    for tag, attrs in parsed.tags:
        for key, value in attrs.items():
            assert not key.startswith("on"), (tag, key)
            if key in ("href", "src", "xlink:href", "action"):
                assert value is not None and value.startswith("#"), (tag, key, value)
    assert "url(" not in text and "@import" not in text


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("kib", "text"),
    [
        (None, "not in the report"),
        (0, "0 KiB"),
        (1023, "1023 KiB"),
        (1536, "1.5 MiB"),
        (1572864, "1.5 GiB"),
        (3 << 30, "3.0 TiB"),
        (9007199254740988, "unlimited"),
    ],
)
def test_kib(kib: int | None, text: str) -> None:
    assert format_kib(kib) == text


def test_pct() -> None:
    assert format_pct(1, 4) == "25.0%"
    assert format_pct(None, 4) == "not in the report"
    assert format_pct(5, 0) == "—"
    assert format_pct(85.8) == "85.8%"


def test_md_escape_makes_markup_inert() -> None:
    text = md_escape("a|b `x` <script> [l](u) *s* _u_ ~d~ &amp;\nz")
    assert re.search(r"(?<!\\)[|`<>\[\]*_~&]", text) is None
    assert "\n" not in text


@pytest.mark.parametrize("value", ["plain-name", *HOSTILE])
def test_md_code_is_one_safe_span(value: str) -> None:
    code = md_code(value)
    assert "\n" not in code and re.search(r"(?<!\\)\|", code) is None
    if code.startswith("<code>"):
        assert code.endswith("</code>")
        assert "<" not in code[6:-7] and "`" not in code[6:-7]
    else:
        assert code == "`" + value.replace("\n", " ") + "`"


@pytest.mark.parametrize(
    ("path", "kind", "facts"),
    [
        (
            "/kubepods/burstable/podbc001ffa-68fc-11e9-92d7-5ef9efd9374c/a2ed67c63e82",
            "Kubernetes pod",
            {
                "pod UID": "bc001ffa-68fc-11e9-92d7-5ef9efd9374c",
                "QoS class": "burstable",
                "container ID": "a2ed67c63e82",
            },
        ),
        (
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b3c4d_1111_2222"
            "_3333_444455556666.slice/cri-containerd-0123456789abcdef.scope",
            "Kubernetes pod",
            {
                "pod UID": "1a2b3c4d-1111-2222-3333-444455556666",
                "QoS class": "besteffort",
                "container ID": "0123456789abcdef",
                "runtime": "cri-containerd",
            },
        ),
        (
            "/kubepods/pod1a2b3c4d-1111-2222-3333-444455556666",
            "Kubernetes pod",
            {"pod UID": "1a2b3c4d-1111-2222-3333-444455556666", "QoS class": "guaranteed"},
        ),
        (
            "/docker/0123456789abcdef0123",
            "Docker container",
            {"container ID": "0123456789abcdef0123"},
        ),
        (
            "/system.slice/docker-0123456789abcdef0123.scope",
            "Docker container",
            {"container ID": "0123456789abcdef0123"},
        ),
        ("/system.slice/nginx.service", "systemd unit", {"unit": "nginx.service"}),
        (
            "/user.slice/user-1000.slice/session-3.scope",
            "systemd unit",
            {"unit": "session-3.scope", "user id": 1000},
        ),
    ],
)
def test_cgroup_owner(path: str, kind: str, facts: dict[str, object]) -> None:
    owner = cgroup_owner(path)
    assert owner is not None
    assert owner.kind == kind
    assert {q.label: q.value for q in owner.facts} == facts


@pytest.mark.parametrize("path", [None, "", "/", "/mygroup/sub"])
def test_cgroup_owner_unknown(path: str | None) -> None:
    assert cgroup_owner(path) is None


# --------------------------------------------------------------------------- view-model


def test_unexplained_sections_say_not_analysed(tmp_path: Path) -> None:
    analysis = dataclasses.replace(analyse(synth_log(tmp_path)), explained=())
    view = build_report(analysis)
    event = view.events[0]
    assert not event.explained and event.findings == () and event.steps == ()
    assert event.ranking is not None and not event.ranking.from_replay
    assert "Cause: not analysed." in event.answer
    md = analysis_to_markdown(analysis)
    assert "*Findings: not analysed.*" in md and "*Replay: not analysed.*" in md
    html = analysis_to_html(analysis)
    assert "Findings: not analysed." in html and "Replay: not analysed." in html


def test_memory_sections_come_from_the_report(tmp_path: Path) -> None:
    analysis = dataclasses.replace(analyse(synth_log(tmp_path)), explained=())
    parsed = analysis.events[0].memory
    assert parsed.meminfo is not None and parsed.page_size_kib is not None
    assert parsed.ram is not None and parsed.ram.ram_pages is not None
    ram = build_report(analysis).events[0].ram
    assert ram is not None and ram.total_kib == parsed.ram.ram_pages * parsed.page_size_kib
    info, page = parsed.meminfo, parsed.page_size_kib
    anon = (info.active_anon_pages or 0) + (info.inactive_anon_pages or 0)
    assert {p.key: p.kib for p in ram.parts}["anon"] == anon * page
    assert len(build_report(analysis).events[0].zones) == len(parsed.zones) > 0

    # a report without Mem-Info: no invented numbers, the sections say so
    bare = dataclasses.replace(analysis.events[0], memory=MemoryState())
    analysis = dataclasses.replace(analysis, events=(bare,))
    event = build_report(analysis).events[0]
    assert event.ram is None and event.zones == ()
    md = analysis_to_markdown(analysis)
    assert "Where the memory went" not in md and "Mem-Info counters with a page size: not in" in md
    html = analysis_to_html(analysis)
    assert "chart-ram" not in html and "chart-zones" not in html
    assert "Zone lines: not in the report." in html


def test_explained_answer_and_sections(tmp_path: Path) -> None:
    analysis = explained_analysis(analyse(synth_log(tmp_path)))
    event = analysis.events[0]
    victim = event.victim
    assert victim is not None and victim.comm is not None
    view = build_report(analysis).events[0]
    assert view.answer.startswith(f"Cause: One process, {victim.comm}, used most of the memory.")
    assert f"killed {victim.comm} (pid {victim.pid})" in view.answer
    assert view.answer.endswith(
        f"What to change: Cap {victim.comm} with a memory limit or fix its leak."
    )
    assert view.findings[0].primary and view.findings[0].evidence[0].line == victim.line
    assert [s.step for s in view.steps] == [
        "request",
        "free_pages",
        "reclaim",
        "accounting",
        "victim_selection",
        "outcome",
    ]
    assert {q.label for q in view.accounting} >= {"anon", "victim rss", "anon share"}
    assert view.ranking is not None and view.ranking.from_replay
    assert [r.pid for r in view.ranking.rows if r.is_victim] == [victim.pid]
    assert view.ram is not None and view.ram.total_kib == 4_194_304 * 4
    assert [z.below for z in view.zones] == [None, None, "min"]

    html = analysis_to_html(analysis)
    assert_self_contained(html)
    for chart in ("chart-ram", "chart-tasks", "chart-zones"):
        match = re.search(rf'<svg class="chart {chart}" role="img" aria-label="[^"]+"', html)
        assert match, chart
    assert re.search(
        r'<tr class="victim[^"]*">\s*<th scope="row">\d+</th>\s*<td>' + str(victim.pid), html
    )
    assert "<details>" in html and "Raw report lines" in html

    md = analysis_to_markdown(analysis)
    assert "#### Primary cause: One process" in md
    assert "**What to change:** Cap" in md
    assert "| **killed**" in md or "**killed**, allocating" in md


def test_timeline_only_with_several_events() -> None:
    analysis = analyse(EXAMPLE_LOG)
    assert len(analysis.events) == 2
    view = build_report(analysis)
    assert [r.index for r in view.timeline] == [1, 2]
    assert view.timeline[0].offset_s == 0.0 and view.timeline[1].offset_s is not None
    html = analysis_to_html(analysis)
    assert "chart-timeline" in html and 'href="#event-2"' in html
    assert [i.events for i in view.incidents] == [(1, 2)]
    assert view.incidents[0].victims == "nginx ×1, gunicorn ×1"
    assert "| 1 | db2 | repeated | 1, 2 | 2 |" in analysis_to_markdown(analysis)
    single = dataclasses.replace(analysis, events=analysis.events[:1])
    assert build_report(single).timeline == ()
    assert "## Timeline" not in analysis_to_markdown(single)


def test_markdown_keeps_the_summary_facts() -> None:
    """What the first Markdown summary showed per event is still there."""
    md = analysis_to_markdown(analyse(EXAMPLE_LOG))
    assert md.startswith("# oomlens report\n")
    assert "Found 2 OOM-related event(s)." in md
    for needle in (
        "## Event 1: oom kill",
        "- **Where:** ",
        "- **Kernel:** 5.15.0-91-generic",
        "- **Trigger:** nginx (pid 514)",
        "- **Constraint:** CONSTRAINT\\_MEMCG",
        "- **Memory cgroup:** limit hit in ",
        "- **Killed:** nginx (pid 514): rss ",
        "reaped: yes",
        "- **Task table:** ",
        "## Event 2: oom kill",
        "gunicorn (pid 809545)",
    ):
        assert needle in md, needle


# --------------------------------------------------------------------------- hostile text


def hostile_analysis(directory: Path, name: str) -> Analysis:
    """A parsed report whose victim, allocating task, cgroup and raw lines carry ``name``
    (set on the model, so that names a log line cannot hold, like a newline, are covered)."""
    analysis = analyse(synth_log(directory, victim_name="HOSTILENAME"))
    event = analysis.events[0]
    memcg = event.memcg
    if memcg is not None:
        memcg = dataclasses.replace(memcg, victim_path=f"/x/{name}/y")
    event = dataclasses.replace(
        event,
        trigger=dataclasses.replace(event.trigger, comm=name),
        kills=tuple(dataclasses.replace(k, comm=name) for k in event.kills),
        tasks=tuple(
            dataclasses.replace(t, name=name) if t.name == "HOSTILENAME" else t
            for t in event.tasks or ()
        ),
        memcg=memcg,
        lines=tuple(
            dataclasses.replace(x, text=x.text.replace("HOSTILENAME", name)) for x in event.lines
        ),
    )
    return explained_analysis(dataclasses.replace(analysis, events=(event,)))


@pytest.mark.parametrize("name", HOSTILE, ids=["script", "img", "pipe-backtick", "newline"])
def test_hostile_names_render_as_text(tmp_path: Path, name: str) -> None:
    analysis = hostile_analysis(tmp_path, name)
    html = analysis_to_html(analysis)
    assert_self_contained(html)
    assert "<script" not in html and "<img" not in html
    assert name in "".join(parse_html(html).text)  # shown as text, whole

    md = analysis_to_markdown(analysis)
    own = re.sub(r"</?(details|summary|pre|code)>", "", md)
    assert re.search(r"(?<!\\)<", own) is None
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "**killed**" in ln]
    assert rows
    for row in rows:  # the name stays inside its cell
        assert len(re.split(r"(?<!\\)\|", row.strip())[1:-1]) == 8, row
    for line in md.splitlines():
        if line.startswith(("- **Killed:**", "**Answer.**", "#### ")):
            assert re.search(r"(?<!\\)[|`<]", line) is None, line


# --------------------------------------------------------------------------- golden files


def _golden_cases() -> list[tuple[str, Path, str]]:
    cases = [("example-explained", EXAMPLE_LOG, "builder"), ("example", EXAMPLE_LOG, "pipeline")]
    for rel in GOLDEN_CORPUS:
        cases.append((Path(rel).stem, CORPUS_DIR / rel, "pipeline"))
    for rel in GOLDEN_CORPUS[:2]:
        cases.append((Path(rel).stem + "-unexplained", CORPUS_DIR / rel, "unexplained"))
    return cases


@pytest.mark.parametrize(("name", "path", "explained"), _golden_cases(), ids=lambda v: str(v))
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_golden(name: str, path: Path, explained: str, fmt: str) -> None:
    """``explained``: "pipeline" (as ``analyze`` explains it: replay and rules), "builder"
    (every section, from report_builder) or "unexplained" (replay and findings removed)."""
    if not path.is_file():
        pytest.skip(f"corpus file not found: {path}")
    analysis = analyse(path)
    if explained == "builder":
        analysis = explained_analysis(analysis)
    elif explained == "unexplained":
        analysis = dataclasses.replace(analysis, explained=())
    paths = names(analysis)
    text = (
        analysis_to_markdown(analysis, path_names=paths)
        if fmt == "md"
        else analysis_to_html(analysis, path_names=paths)
    )
    golden = GOLDEN / f"{name}.{fmt}"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing {golden}; run with UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), f"{golden} differs (UPDATE_GOLDEN=1)"


# --------------------------------------------------------------------------- whole corpus


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_every_corpus_file_in_every_format(path: Path) -> None:
    analysis = analyse(path)
    md = analysis_to_markdown(analysis)
    assert md.startswith("# oomlens report\n")
    assert md.count("\n## Event ") == len(analysis.events)
    html = analysis_to_html(analysis)
    assert_self_contained(html)
    assert html.count('class="event"') == len(analysis.events)
    json.dumps(analysis_to_json(analysis))
    explained = explained_analysis(analysis)
    assert_self_contained(analysis_to_html(explained))
    assert analysis_to_markdown(explained).count("### Replay") == len(analysis.events)


def test_corpus_is_present() -> None:
    if not CORPUS_DIR.is_dir():
        pytest.skip("shared corpus not found")
    assert len(corpus_files()) >= 20


# --------------------------------------------------------------------------- size


@pytest.mark.parametrize("era", ["6.1", "4.19", "2.6.32-rhel6"])
def test_html_for_400_tasks_under_1mb(tmp_path: Path, era: str) -> None:
    analysis = analyse(synth_log(tmp_path, n_tasks=400, era=era))
    assert len(analysis.events[0].tasks or ()) == 400
    assert analysis.explained and analysis.explained[0].replay.ranking  # as analyze gives it
    for variant in (analysis, explained_analysis(analysis)):
        html = analysis_to_html(variant)
        assert_self_contained(html)
        assert len(html.encode("utf-8")) < 1_000_000


@pytest.mark.parametrize("cap", [30_000, 12_000, 5_000, 2_000])
def test_markdown_max_bytes(tmp_path: Path, cap: int) -> None:
    analysis = explained_analysis(analyse(synth_log(tmp_path, n_tasks=400, era="6.1")))
    full = analysis_to_markdown(analysis)
    assert len(full.encode()) > cap
    cut = analysis_to_markdown(analysis, max_bytes=cap)
    assert len(cut.encode()) <= cap
    assert "Shortened to fit" in cut or "Report cut at" in cut
    assert cut.startswith("# oomlens report")
    assert cut.count("<pre>") == cut.count("</pre>")
    small = analysis_to_markdown(analysis, max_bytes=len(full.encode()))
    assert small == full


# --------------------------------------------------------------------------- CLI


def test_cli_html_from_suffix(tmp_path: Path) -> None:
    for suffix in (".html", ".htm"):
        out = tmp_path / f"report{suffix}"
        proc = run_oomlens("analyze", EXAMPLE_LOG, "-o", out)
        assert proc.returncode == 0, proc.stderr
        text = out.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>")
        assert_self_contained(text)


def test_cli_markdown_max_bytes(tmp_path: Path) -> None:
    path = synth_log(tmp_path, n_tasks=300, era="6.1")
    proc = run_oomlens("analyze", path, "--max-bytes", "6000")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) <= 6000 and proc.stdout.startswith(b"# oomlens report")
    proc = run_oomlens("analyze", path, "--format", "html", "--max-bytes", "10")
    assert proc.returncode == 2


# --------------------------------------------------------------------------- charts and timeline


def test_timeline_offsets_from_wallclock_when_uptime_missing() -> None:
    analysis = analyse(EXAMPLE_LOG)
    first, second = analysis.events
    no_uptime = tuple(
        dataclasses.replace(e, time=dataclasses.replace(e.time, uptime_s=None), source=src)
        for e, src in zip(
            analysis.events,
            (first.source, dataclasses.replace(second.source, path="other.log")),
            strict=True,
        )
    )
    view = build_report(dataclasses.replace(analysis, events=no_uptime))
    assert first.time.wallclock is not None and second.time.wallclock is not None
    assert [r.offset_s for r in view.timeline] == [0.0, 5.0]
    mixed = (
        no_uptime[0],
        dataclasses.replace(
            no_uptime[1], time=dataclasses.replace(no_uptime[1].time, wallclock=None)
        ),
    )
    view = build_report(dataclasses.replace(analysis, events=mixed))
    assert [r.offset_s for r in view.timeline] == [None, None]
    html = analysis_to_html(dataclasses.replace(analysis, events=mixed))
    assert "in log order" in html


def test_hugepages_pool_is_its_own_part(tmp_path: Path) -> None:
    from oomlens.model import HugePool

    analysis = explained_analysis(analyse(synth_log(tmp_path)))
    event = analysis.events[0]
    pool = HugePool(node=0, total=512, free=512, surplus=0, size_kib=2048)
    memory = dataclasses.replace(event.memory, hugepages=(pool,))
    analysis = dataclasses.replace(analysis, events=(dataclasses.replace(event, memory=memory),))
    ram = build_report(analysis).events[0].ram
    assert ram is not None
    parts = {p.key: p.kib for p in ram.parts}
    assert parts["hugepages"] == 512 * 2048
    assert sum(parts.values()) == ram.total_kib  # "other" is what no counter explains


def test_tasks_chart_marks_the_victim(tmp_path: Path) -> None:
    from oomlens.charts import tasks_chart, zones_chart

    analysis = explained_analysis(analyse(synth_log(tmp_path, n_tasks=40)))
    view = build_report(analysis).events[0]
    svg = str(tasks_chart(view.ranking))
    assert svg.count('class="bar victim"') == 1 and "(killed)</text>" in svg
    rows = view.ranking.rows if view.ranking else ()
    beyond = [r for r in rows if r.rank and r.rank > 10 and (r.is_victim or r.is_trigger)]
    assert svg.count("<rect ") == 10 + len(beyond)  # the top ten, plus the victim or trigger
    zones = str(zones_chart(view.zones))
    assert zones.count("<line ") == 3 * len(view.zones)
    assert 'class="bar low"' in zones  # Normal is below min in the builder's memory state


def test_victim_rss_falls_back_to_the_task_table(tmp_path: Path) -> None:
    analysis = analyse(synth_log(tmp_path))
    event = analysis.events[0]
    kill = event.kills[0]
    row = next(t for t in event.tasks or () if t.pid == kill.pid)
    page = event.memory.page_size_kib
    assert row.rss_pages is not None and page is not None
    bare = dataclasses.replace(kill, anon_rss_kib=None, file_rss_kib=None, shmem_rss_kib=None)
    analysis = dataclasses.replace(
        analysis, events=(dataclasses.replace(event, kills=(bare, *event.kills[1:])),)
    )
    victim = build_report(analysis).events[0].victim
    assert victim is not None and victim.rss_from_table
    assert victim.rss_kib == row.rss_pages * page
    assert "RSS (from the task table)." in build_report(analysis).events[0].answer
    # without a page size the pages cannot be converted: nothing is claimed
    no_page = dataclasses.replace(
        analysis.events[0], memory=dataclasses.replace(event.memory, page_size_kib=None)
    )
    victim = build_report(dataclasses.replace(analysis, events=(no_page,))).events[0].victim
    assert victim is not None and victim.rss_kib is None and not victim.rss_from_table


def test_slab_table_largest_first(tmp_path: Path) -> None:
    from oomlens.model import SlabUsage

    analysis = analyse(synth_log(tmp_path))
    caches = tuple(
        SlabUsage(name=f"kmalloc-{k}", used_kib=k, total_kib=k * 2) for k in range(1, 40)
    ) + (SlabUsage(name="<b>x|y</b>", used_kib=1, total_kib=5000),)
    memory = dataclasses.replace(analysis.events[0].memory, slab=caches)
    analysis = dataclasses.replace(
        analysis, events=(dataclasses.replace(analysis.events[0], memory=memory),)
    )
    event = build_report(analysis).events[0]
    assert [q.label for q in event.slab[:2]] == ["<b>x|y</b>", "kmalloc-39"]
    assert len(event.slab) == 25 and event.slab_omitted == 15
    md = analysis_to_markdown(analysis)
    assert "| <code>&lt;b&gt;x&#124;y&lt;/b&gt;</code> | 4.9 MiB |" in md
    assert "*15 more slab caches not shown.*" in md
    html = analysis_to_html(analysis)
    assert "&lt;b&gt;x|y&lt;/b&gt;" in html and "<b>x" not in html


def test_real_rule_findings_render(corpus_dir: Path) -> None:
    analysis = analyse(corpus_dir / GOLDEN_CORPUS[0])
    explained = analysis.explained[0]
    primary = explained.primary
    assert primary is not None
    view = build_report(analysis).events[0]
    assert view.cause == primary.title
    assert view.answer.startswith(f"Cause: {primary.title.rstrip('.')}.")
    assert view.answer.endswith(primary.remedy.strip())
    assert [f.rule_id for f in view.findings][0] == primary.rule_id
    assert all(f.evidence for f in view.findings)
    html = analysis_to_html(analysis)
    assert_self_contained(html)
    # rule text quotes log values, so it is shown as text like them, backticks included
    remedy = html.split("<strong>What to change:</strong>", 1)[1].split("</p>", 1)[0]
    assert remedy.strip() == escape(primary.remedy)
    md = analysis_to_markdown(analysis)
    assert "#### Primary cause: " in md and "*Findings: not analysed.*" not in md


def test_memory_chart_from_the_accounting_step(corpus_dir: Path) -> None:
    analysis = analyse(corpus_dir / GOLDEN_CORPUS[1])  # a global OOM with Mem-Info
    step = analysis.explained[0].replay.step(StepName.ACCOUNTING)
    assert step is not None
    parts_kib = dict(step.data)["parts_kib"]
    ram = build_report(analysis).events[0].ram
    assert ram is not None and ram.source == "accounting step" and ram.scope == "RAM"
    assert {p.label: p.kib for p in ram.parts} == {
        k.removesuffix("_kib").replace("_", " "): v for k, v in parts_kib.items()
    }
    assert ram.total_kib == dict(step.data)["ram_kib"]
    rows = {q.label: q for q in build_report(analysis).events[0].accounting}
    assert rows["scope"].value == "global"
    assert not any(label.startswith("parts: ") for label in rows)  # drawn, not repeated
    assert any(label.startswith("overlaps not added: ") for label in rows)  # mapping -> rows


def test_no_stale_golden_files() -> None:
    expected = {f"{name}.{fmt}" for name, _, _ in _golden_cases() for fmt in ("md", "html")}
    assert {p.name for p in GOLDEN.iterdir()} <= expected

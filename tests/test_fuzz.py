"""Property-based fuzzing of every stage that reads untrusted text.

Each property feeds generated input to a public entry point and checks that nothing escapes
but the documented ``OomlensError`` kinds, and that the outputs keep their invariants: the
JSON validates against docs/oomlens-1.schema.json, every explained event has exactly one
primary finding, and no markup from the input reaches a report unescaped.

The CI profile keeps the whole file under two minutes on two CPUs; ``HYPOTHESIS_PROFILE=long``
(see scripts/fuzz.sh) multiplies every budget by 50.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import zstandard
from conftest import CORPUS_DIR, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_security import active_html, markdown_problems, source_table_rows

from oomlens.api import INTERNAL_ERROR, analyze_paths, analyze_stream, analyze_text
from oomlens.conditions import ConditionError, compile_condition
from oomlens.errors import InputError, OomlensError, RuleError
from oomlens.facts import FACTS
from oomlens.model import Analysis, Envelope
from oomlens.prefixes import parse_prefix
from oomlens.render import analysis_to_html, analysis_to_markdown
from oomlens.serialize import analysis_to_json
from oomlens.synth import ENVELOPES, random_report, render

_FACTOR = 50 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1


def budget(examples: int) -> Any:
    """Hypothesis settings for one property: ``examples`` in CI, 50x in the long profile."""
    return settings(max_examples=examples * _FACTOR, deadline=None)


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((ROOT / "docs" / "oomlens-1.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)  # type: ignore[no-any-return]


def check_analysis(analysis: Analysis) -> dict[str, Any]:
    """The invariants of every analysis, whatever its input: valid JSON (which round-trips),
    one primary finding per explained event, one explained entry per event."""
    bugs = [
        d.message
        for d in analysis.diagnostics
        if d.message.startswith((INTERNAL_ERROR, "could not explain this event"))
    ]
    assert bugs == [], bugs[:3]
    doc = analysis_to_json(analysis)
    text = json.dumps(doc, ensure_ascii=False)
    assert json.loads(text) == doc
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:3]]
    if analysis.explained:
        assert len(analysis.explained) == len(analysis.events)
        for explained in analysis.explained:
            assert sum(f.primary for f in explained.findings) == 1, explained.findings
    return doc


# --------------------------------------------------------------------------- line sources


@cache
def corpus_lines() -> tuple[str, ...]:
    if not CORPUS_DIR.is_dir():
        return ()
    lines: list[str] = []
    for path in sorted(CORPUS_DIR.rglob("*")):
        if path.suffix in (".log", ".txt") and path.is_file():
            lines.extend(path.read_text("utf-8", "replace").splitlines())
    return tuple(lines)


@cache
def synth_lines() -> tuple[str, ...]:
    rng = random.Random(20261126)
    lines: list[str] = []
    for i in range(12):
        report = random_report(rng, n_tasks=rng.randint(2, 12))
        lines.extend(
            render(
                report.records(),
                ENVELOPES[i % len(ENVELOPES)],
                start_uptime=100.0 + i,
                wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
                host="h",
            )
        )
    return tuple(lines)


def _report_lines() -> st.SearchStrategy[str]:
    sources = [st.sampled_from(synth_lines())]
    if corpus_lines():
        sources.append(st.sampled_from(corpus_lines()))
    return st.one_of(*sources)


@st.composite
def damaged_line(draw: st.DrawFn) -> str:
    """A real report line, sometimes cut mid-token or with random text spliced in."""
    line = draw(_report_lines())
    action = draw(st.sampled_from(["keep", "keep", "cut", "splice", "random"]))
    if action == "cut" and line:
        return line[: draw(st.integers(0, len(line)))]
    if action == "splice":
        at = draw(st.integers(0, len(line)))
        return line[:at] + draw(st.text(max_size=12)) + line[at:]
    if action == "random":
        return draw(st.text(max_size=80))
    return line


@st.composite
def report_mix(draw: st.DrawFn) -> str:
    """Runs of consecutive real lines (so reports form), shuffled, duplicated and cut."""
    pool = synth_lines() if draw(st.booleans()) or not corpus_lines() else corpus_lines()
    runs: list[list[str]] = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(pool) - 1))
        runs.append(list(pool[start : start + draw(st.integers(1, 120))]))
    lines = [line for run in runs for line in run]
    for _ in range(draw(st.integers(0, 6))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["dup", "drop", "cut", "swap", "insert"]))
        if op == "dup":
            lines.insert(i, lines[i])
        elif op == "drop":
            del lines[i]
        elif op == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(i, draw(damaged_line()))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


# --------------------------------------------------------------------------- reader


def _analyze_file(path: Path) -> Analysis:
    analysis = analyze_paths([str(path)], jobs=1, explain=False)
    check_analysis(analysis)
    return analysis


@budget(60)
@given(data=st.binary(max_size=4096))
def test_reader_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "random.log"
    path.write_bytes(data)
    analysis = _analyze_file(path)
    assert len(analysis.sources) + len(analysis.failed_inputs) >= 1


_CODECS = {
    "gz": gzip.compress,
    "xz": lzma.compress,
    "bz2": bz2.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


@budget(80)
@given(
    text=st.lists(damaged_line(), min_size=1, max_size=60).map("\n".join),
    codec=st.sampled_from(sorted(_CODECS)),
    cut=st.floats(0.0, 1.0),
)
def test_reader_truncated_compression(
    tmp_path_factory: pytest.TempPathFactory, text: str, codec: str, cut: float
) -> None:
    whole = _CODECS[codec](text.encode("utf-8"))
    kept = whole[: int(len(whole) * cut)]
    path = tmp_path_factory.mktemp("codec") / f"log.{codec}"
    path.write_bytes(kept)
    analysis = _analyze_file(path)
    if len(kept) < len(whole) and len(kept) >= 8:
        # a damaged stream is never taken for a complete one: the input is named as failed
        assert str(path) in analysis.failed_inputs, analysis.diagnostics


_FIELD = st.sampled_from(
    [
        "MESSAGE",
        "_HOSTNAME",
        "SYSLOG_IDENTIFIER",
        "_COMM",
        "_TRANSPORT",
        "PRIORITY",
        "__REALTIME_TIMESTAMP",
        "_SOURCE_MONOTONIC_TIMESTAMP",
        "__CURSOR",
        "X",
        "_BOOT_ID",
    ]
)


@st.composite
def export_entry(draw: st.DrawFn) -> bytes:
    """One journal export entry: KEY=value lines, binary fields (KEY\\n<le64>data\\n)."""
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        key = draw(_FIELD).encode()
        if draw(st.integers(0, 5)) == 0:
            value = draw(st.binary(max_size=40))
            size = len(value) + draw(st.sampled_from([0, 0, 0, -1, 1, 1 << 40]))
            out += key + b"\n" + max(size, 0).to_bytes(8, "little") + value + b"\n"
        else:
            value = draw(st.one_of(_report_lines(), st.text(max_size=30))).encode("utf-8")
            out += key + b"=" + value.replace(b"\n", b" ") + b"\n"
    return out + b"\n"


@budget(80)
@given(entries=st.lists(export_entry(), min_size=1, max_size=10), cut=st.integers(0, 1 << 16))
def test_reader_journal_export_ish(
    tmp_path_factory: pytest.TempPathFactory, entries: list[bytes], cut: int
) -> None:
    data = b"__CURSOR=s=0\n" + b"".join(entries)
    path = tmp_path_factory.mktemp("export") / "system.export"
    path.write_bytes(data[: max(13, len(data) - cut % 64)])
    _analyze_file(path)


@st.composite
def json_entry(draw: st.DrawFn) -> str:
    fields: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 5))):
        fields[draw(_FIELD)] = draw(
            st.one_of(
                _report_lines(),
                st.integers(-(1 << 70), 1 << 70),
                st.lists(st.integers(-5, 300), max_size=8),
                st.none(),
                st.floats(allow_nan=False),
            )
        )
    return json.dumps(fields)


@budget(60)
@given(entries=st.lists(json_entry(), min_size=1, max_size=10))
def test_reader_journal_json_ish(entries: list[str]) -> None:
    data = ("\n".join(entries) + "\n").encode()
    try:
        events, _, _ = analyze_stream(io.BytesIO(data), "<json>")
    except InputError:
        return
    assert isinstance(events, list)


# --------------------------------------------------------------------------- envelopes

_ENVELOPE_TEXT = re.compile(r"\\x0a|#012")


@budget(300)
@given(line=st.one_of(_report_lines(), damaged_line(), st.text(max_size=200)))
def test_parse_prefix_never_raises_and_keeps_the_message(line: str) -> None:
    line = line.replace("\n", " ")
    prefix = parse_prefix(line, year=2024)
    assert isinstance(prefix.envelope, Envelope)
    if prefix.envelope is Envelope.JOURNAL or line.lstrip().startswith("{"):
        return  # the message of a JSON record is a decoded field, not a slice of the line
    # the message is the end of the line, less the escapes of newlines a log tool put in
    # and markdown quoting / viewer line numbers, never invented text
    flat = _ENVELOPE_TEXT.sub("\n", line)
    assert prefix.text in flat or prefix.text.strip() in flat, (line, prefix)


@budget(60)
@given(line=_report_lines(), year=st.one_of(st.none(), st.integers(1, 9999)))
def test_parse_prefix_any_year(line: str, year: int | None) -> None:
    parse_prefix(line, year=year)


# --------------------------------------------------------------------------- splitter, grammar


@budget(100)
@given(text=report_mix())
def test_splitter_and_grammar_on_mixed_reports(text: str) -> None:
    analysis = analyze_text(text, "mix.log")
    check_analysis(analysis)
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    for event in analysis.events:
        assert 1 <= event.source.first_line <= event.source.last_line <= max(lines, 1)
    for diagnostic in analysis.diagnostics:
        assert 0 <= diagnostic.line <= max(lines, 1), diagnostic


@budget(60)
@given(lines=st.lists(damaged_line(), max_size=80))
def test_splitter_and_grammar_on_random_lines(lines: list[str]) -> None:
    check_analysis(analyze_text("\n".join(lines), "random.log"))


# --------------------------------------------------------------------------- conditions

_UNITS = {name: spec.unit for name, spec in FACTS.items()}
_TOKENS = [
    *sorted(_UNITS)[:40],
    "and",
    "or",
    "not",
    "is",
    "null",
    "true",
    "false",
    "(",
    ")",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "1",
    "-3.5",
    "95%",
    "4 GiB",
    "10 MiB",
    "2s",
    "5min",
    '"java"',
    '"a\\"b"',
    '"',
    "\\",
    "unknown_fact",
    "ÿ",
    "\n",
    "1e9",
    "%",
]


@budget(300)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(_TOKENS), max_size=14).map(" ".join),
    )
)
def test_condition_compiler_only_raises_rule_errors(text: str) -> None:
    try:
        condition = compile_condition(text, _UNITS)
    except RuleError as exc:
        assert isinstance(exc, ConditionError)
        assert exc.line >= 1 and exc.column >= 1
        return
    values = dict.fromkeys(condition.facts)
    assert condition.evaluate3(values) in (True, False, None)


# --------------------------------------------------------------------------- renderers

HOSTILE_PIECES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</details>",
    "{{7*7}}",
    "{% raw %}",
    "|",
    "`",
    "[x](javascript:alert(1))",
    "\x1b[31m",
    "\u202e",
    "&amp;",
    "*_~#",
    "\\",
]


@st.composite
def hostile_name(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(HOSTILE_PIECES),
                st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
            ),
            min_size=1,
            max_size=4,
        )
    )
    # the kernel prints comm as one token with at most 15 bytes; the reports get a longer
    # and looser name anyway, to see that nothing in it escapes
    return "".join(parts).replace("\n", " ").replace("\r", " ").strip() or "x"


def _scripts(html: str) -> int:
    return html.lower().count("<script")


@budget(50)
@given(name=hostile_name(), cgroup=hostile_name(), envelope=st.sampled_from(["syslog", "dmesg"]))
def test_renderers_escape_hostile_names(name: str, cgroup: str, envelope: str) -> None:
    rng = random.Random(7)
    report = random_report(rng, era="5.15", kind="oom_kill", n_tasks=5, hostile=False)
    tasks = tuple(
        t.__class__(**{**{f: getattr(t, f) for f in t.__dataclass_fields__}, "name": name})
        if t.pid == report.victim_pid
        else t
        for t in report.tasks
    )
    path = "/" + cgroup.replace(" ", "_")
    report = report.__class__(
        **{
            **{f: getattr(report, f) for f in report.__dataclass_fields__},
            "tasks": tasks,
            "trigger_comm": name,
            "memcg_limit_path": path,
            "memcg_victim_path": path,
        }
    )
    lines = render(
        report.records(),
        envelope,
        start_uptime=50.0,
        wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
        host="web1",
    )
    analysis = analyze_text("\n".join(lines) + "\n", "hostile.log")
    check_analysis(analysis)
    html = analysis_to_html(analysis)
    assert _scripts(html) == 0
    assert active_html(html) == []
    markdown = analysis_to_markdown(analysis)
    assert markdown_problems(markdown) == []
    assert source_table_rows(markdown) == []


@budget(40)
@given(text=report_mix())
def test_renderers_on_mixed_reports(text: str) -> None:
    analysis = analyze_text(text, "<b>mix</b>.log")
    html = analysis_to_html(analysis)
    assert "<b>mix</b>" not in html
    markdown = analysis_to_markdown(analysis, max_bytes=20_000)
    assert len(markdown.encode("utf-8")) <= 20_000


def test_documented_error_kinds_only() -> None:
    """The properties above allow these kinds and no other; keep the list honest."""
    assert issubclass(RuleError, OomlensError) and issubclass(InputError, OomlensError)
    assert issubclass(ConditionError, RuleError)

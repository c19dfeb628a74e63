"""The ``--format json`` document (schema ``oomlens/1``; keys documented in docs/json.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields, is_dataclass, replace
from typing import Any

from .gfp import flags_for
from .model import (
    Analysis,
    CallTrace,
    Diagnostic,
    ExplainedEvent,
    Finding,
    Incident,
    Kill,
    MemoryState,
    OomEvent,
    Replay,
    Task,
)

try:
    import orjson as _orjson
except ImportError:  # a platform with no orjson wheel
    _orjson = None  # type: ignore[assignment]

SCHEMA = "oomlens/1"


def analysis_to_json(analysis: Analysis) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "sources": [
            {
                "path": s.path,
                "format": s.format,
                "compression": s.compression,
                "lines": s.lines,
                "event_lines": s.event_lines,
                "diagnostic_lines": s.diagnostic_lines,
                "noise_lines": s.noise_lines,
            }
            for s in analysis.sources
        ],
        "events": [
            event_to_json(e, x) for e, x in zip(analysis.events, _explained(analysis), strict=True)
        ],
        "incidents": _incidents(analysis),
        "diagnostics": [
            {"path": d.path, "line": d.line, "message": d.message} for d in analysis.diagnostics
        ],
    }


def json_chunks(analysis: Analysis) -> Iterator[str]:
    """The text of ``analysis_to_json(analysis)``, one event at a time, so a large analysis is
    never held as one document in memory.

    The document is indented (one space a level) except that each event is one compact line:
    ``json.dumps`` with ``indent`` runs its pure-Python encoder, three times slower than the C
    one, and events make up nearly all of the document. One event per line also suits
    ``grep`` and ``jq -c``."""
    texts = (
        event_json_text(event, explained)
        for event, explained in zip(analysis.events, _explained(analysis), strict=True)
    )
    return document_chunks(analysis, texts, lambda: ())


def event_json_text(event: OomEvent, explained: ExplainedEvent | None) -> str:
    """One event's line of the document (no newline can occur inside: JSON escapes it, and
    U+2028 is a line break only to str.splitlines, not to JSON readers)."""
    return compact_json(event_to_json(event, explained))


def compact_json(value: Any) -> str:
    """``value`` as JSON on one line, without spaces. orjson writes an event's ~50 KB eight
    times faster than ``json``; ``json`` writes what orjson refuses (integers beyond 64
    bits, lone surrogates from undecodable input) and is used where orjson is missing."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value, option=_orjson.OPT_NON_STR_KEYS).decode()
        except _orjson.JSONEncodeError:
            pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def document_chunks(
    analysis: Analysis,
    event_texts: Iterable[str],
    later_diagnostics: Callable[[], Sequence[Diagnostic]],
) -> Iterator[str]:
    """The document around ``event_texts`` (one per event of ``analysis``, in order);
    ``later_diagnostics()``, known once every event text was made, end the diagnostics."""
    # the document with no events reads: ..., "events": [], "incidents": [], "diagnostics": ...
    empty = replace(analysis, events=(), explained=(), incidents=(), diagnostics=())
    head = json.dumps(analysis_to_json(empty), indent=1, ensure_ascii=False)
    before = head.split('\n "events": [],\n', 1)[0]
    yield before + '\n "events": ['
    count = 0
    for count, text in enumerate(event_texts, start=1):
        yield ("," if count > 1 else "") + "\n  " + text
    diagnostics = analysis.diagnostics + tuple(later_diagnostics())
    document = analysis_to_json(
        replace(analysis, events=(), explained=(), incidents=(), diagnostics=diagnostics)
    )
    after = json.dumps(document, indent=1, ensure_ascii=False).split('\n "events": [],\n', 1)[1]
    yield ("\n ],\n" if count else "],\n") + after.replace(
        '"incidents": []',
        '"incidents": ' + _nested(_incidents(analysis)),
        1,
    )


def _nested(value: Any) -> str:
    """``value`` as json.dumps(indent=1) prints it one level deep in the document."""
    return json.dumps(value, indent=1, ensure_ascii=False).replace("\n", "\n ")


def _explained(analysis: Analysis) -> Sequence[ExplainedEvent | None]:
    if analysis.explained:
        return analysis.explained
    return [None] * len(analysis.events)


def _task(task: Task) -> dict[str, Any]:
    return {
        "pid": task.pid,
        "uid": task.uid,
        "tgid": task.tgid,
        "total_vm_pages": task.total_vm_pages,
        "rss_pages": task.rss_pages,
        "pgtables_bytes": task.pgtables_bytes,
        "swapents": task.swapents,
        "oom_score_adj": task.oom_score_adj,
        "name": task.name,
        "nr_ptes": task.nr_ptes,
        "nr_pmds": task.nr_pmds,
        "rss_anon_pages": task.rss_anon_pages,
        "rss_file_pages": task.rss_file_pages,
        "rss_shmem_pages": task.rss_shmem_pages,
        "oom_adj": task.oom_adj,
        "line": task.line,
    }


def _victim(event: OomEvent, kill: Kill | None) -> dict[str, Any] | None:
    if kill is None:
        return None
    row = _victim_row(event, kill)
    score = None
    if event.selected is not None and event.selected.pid == kill.pid:
        score = event.selected.score
    uid = kill.uid
    if uid is None and event.summary is not None and event.summary.pid == kill.pid:
        uid = event.summary.uid
    return {
        "pid": kill.pid,
        "comm": kill.comm,
        "total_vm_kib": kill.total_vm_kib,
        "anon_rss_kib": kill.anon_rss_kib,
        "file_rss_kib": kill.file_rss_kib,
        "shmem_rss_kib": kill.shmem_rss_kib,
        "pgtables_kib": kill.pgtables_kib,
        "uid": uid,
        "oom_score_adj": kill.oom_score_adj,
        "score": score,
        "message": kill.message,
        "line": kill.line,
        "task_row_line": row.line if row else None,
    }


def _victim_row(event: OomEvent, kill: Kill) -> Task | None:
    for task in event.tasks or ():
        if task.pid == kill.pid:
            return task
    return None


def _gfp_flags(event: OomEvent) -> list[str]:
    """Printed flag names, else the mask decoded with the bit table of the kernel's era."""
    trigger = event.trigger
    if trigger.gfp_flags or trigger.gfp_mask is None:
        return list(trigger.gfp_flags)
    decoding = flags_for(trigger.gfp_mask, event.kernel_release)
    return list(decoding.names)


# fields holding (name, value) pairs: a JSON object keyed by name
_PAIRS = frozenset({"extra", "swap_cache_stats"})


_SCALARS = frozenset({int, str, float, bool, type(None)})
# annotations of fields whose values are JSON as they are, or lists of such
_SCALAR_TYPES = re.compile(r"(?:int|str|float|bool|None)(?: \| (?:int|str|float|bool|None))*")
_SCALAR_TUPLES = re.compile(r"tuple\[(?:int|str|float|bool), \.\.\.\]")
_CONVERTERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _plain(value: Any, name: str = "") -> Any:
    """A model value as JSON data: dataclasses become objects keyed by field name, tuples
    lists, (name, value) pair tuples objects."""
    kind = type(value)
    if kind in _SCALARS:  # most values: checked first, a memory state has thousands
        return value
    convert = _CONVERTERS.get(kind)
    if convert is None and is_dataclass(value) and not isinstance(value, type):
        convert = _CONVERTERS[kind] = _converter(kind)
    if convert is not None:
        return convert(value)
    if isinstance(value, tuple):
        if name in _PAIRS:
            return {key: _plain(item) for key, item in value}
        return [_plain(item) for item in value]
    return value


def _converter(cls: type) -> Callable[[Any], dict[str, Any]]:
    """``_plain`` for one dataclass, as one generated dict display: a field whose
    annotation says it holds a scalar (or a tuple of them) is taken as it is (a list), only
    the others go through ``_plain`` (a memory state has thousands of scalar fields)."""
    items = []
    for spec in fields(cls):
        annotation = str(spec.type)
        if spec.name in _PAIRS:
            value = f"plain(value.{spec.name}, {spec.name!r})"
        elif _SCALAR_TYPES.fullmatch(annotation):
            value = f"value.{spec.name}"
        elif _SCALAR_TUPLES.fullmatch(annotation):
            value = f"list(value.{spec.name})"
        else:
            value = f"plain(value.{spec.name}, {spec.name!r})"
        items.append(f"{spec.name!r}: {value}")
    source = "def convert(value):\n    return {" + ", ".join(items) + "}\n"
    scope: dict[str, Any] = {"plain": _plain}
    exec(source, scope)  # noqa: S102 - built from the class's own field names only
    convert: Callable[[Any], dict[str, Any]] = scope["convert"]
    return convert


def _memory(memory: MemoryState) -> dict[str, Any]:
    data: dict[str, Any] = _plain(memory)
    return data


def _call_trace(trace: CallTrace | None) -> dict[str, Any] | None:
    if trace is None:
        return None
    data: dict[str, Any] = _plain(trace)
    return data


def event_to_json(event: OomEvent, explained: ExplainedEvent | None = None) -> dict[str, Any]:
    memcg = event.memcg
    trigger = event.trigger
    return {
        "kind": event.kind.value,
        "source": {
            "path": event.source.path,
            "first_line": event.source.first_line,
            "last_line": event.source.last_line,
        },
        "time": {"uptime_s": event.time.uptime_s, "wallclock": event.time.wallclock},
        "host": event.host,
        "kernel_release": event.kernel_release,
        "trigger": {
            "comm": trigger.comm,
            "pid": trigger.pid,
            "gfp_mask": trigger.gfp_mask,
            "gfp_flags": _gfp_flags(event),
            "order": trigger.order,
            "oom_score_adj": trigger.oom_score_adj,
            "oom_adj": trigger.oom_adj,
            "nodemask": trigger.nodemask,
        },
        "constraint": event.constraint,
        "manual": event.manual,
        "cpuset": event.cpuset,
        "mems_allowed": event.mems_allowed,
        "memcg": None
        if memcg is None
        else {
            "limit_path": memcg.limit_path,
            "victim_path": memcg.victim_path,
            "usage_kib": memcg.usage_kib,
            "limit_kib": memcg.limit_kib,
            "failcnt": memcg.failcnt,
            "swap_usage_kib": memcg.swap_usage_kib,
            "swap_limit_kib": memcg.swap_limit_kib,
            "memsw_usage_kib": memcg.memsw_usage_kib,
            "memsw_limit_kib": memcg.memsw_limit_kib,
            "kmem_usage_kib": memcg.kmem_usage_kib,
            "kmem_limit_kib": memcg.kmem_limit_kib,
            "stats": [
                {"path": s.path, "unit": s.unit, "values": dict(s.values)} for s in memcg.stats
            ],
            "min_protection_kib": memcg.min_protection_kib,
            "low_protection_kib": memcg.low_protection_kib,
        },
        "swap": {"total_kib": event.swap_total_kib, "free_kib": event.swap_free_kib},
        "tasks": None if event.tasks is None else [_task(t) for t in event.tasks],
        "task_columns": None if event.task_columns is None else list(event.task_columns),
        "victim": _victim(event, event.victim),
        "kills": [_victim(event, k) for k in event.kills],
        "selected": None
        if event.selected is None
        else {
            "pid": event.selected.pid,
            "comm": event.selected.comm,
            "score": event.selected.score,
        },
        "summary": None
        if event.summary is None
        else {
            "constraint": event.summary.constraint,
            "nodemask": event.summary.nodemask,
            "oom_memcg": event.summary.oom_memcg,
            "global_oom": event.summary.global_oom,
            "task_memcg": event.summary.task_memcg,
            "task": event.summary.task,
            "pid": event.summary.pid,
            "uid": event.summary.uid,
        },
        "reaped": event.reaped,
        "reaps": [
            {
                "pid": r.pid,
                "comm": r.comm,
                "success": r.success,
                "anon_rss_kib": r.anon_rss_kib,
                "file_rss_kib": r.file_rss_kib,
                "shmem_rss_kib": r.shmem_rss_kib,
                "line": r.line,
                "uptime_s": r.uptime_s,
            }
            for r in event.reaps
        ],
        "panic": event.panic,
        "complete": event.complete,
        "replay": replay_to_json(explained.replay) if explained else [],
        "findings": findings_to_json(explained.findings) if explained else [],
        "memory": _memory(event.memory),
        "call_trace": _call_trace(event.call_trace),
        "tainted": event.tainted,
        "taint_printed": event.taint_printed,
        "hardware": event.hardware,
    }


# ------------------------------------------------------------------ findings, replay, incidents


def findings_to_json(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Findings as JSON (primary first): rule, cause, texts and the facts with their lines."""
    return [
        {
            "id": f.rule_id,
            "name": f.name,
            "cause": f.cause.value,
            "primary": f.primary,
            "severity": f.severity.value,
            "title": f.title,
            "explanation": f.explanation,
            "remedy": f.remedy,
            "references": list(f.references),
            "evidence": [
                {
                    "fact": v.name,
                    "value": v.value,
                    "unit": v.unit,
                    "lines": [{"path": e.path, "line": e.line, "text": e.text} for e in v.evidence],
                }
                for v in f.facts
            ],
        }
        for f in findings
    ]


def replay_to_json(replay: Replay) -> list[dict[str, Any]]:
    """The replay steps as the JSON ``replay`` list: ``step``, ``verdict``, ``summary``,
    ``evidence`` and each step's own keys (docs/replay.md), side by side."""
    out = []
    for step in replay.steps:
        item: dict[str, Any] = {
            "step": step.step.value,
            "verdict": step.verdict,
            "summary": step.summary,
            "evidence": [{"path": e.path, "line": e.line, "text": e.text} for e in step.evidence],
        }
        for key, value in step.data:
            item.setdefault(key, value)
        out.append(item)
    return out


def _incidents(analysis: Analysis) -> list[dict[str, Any]]:
    index = {id(event): i for i, event in enumerate(analysis.events)}
    return [incident_to_json(incident, index) for incident in analysis.incidents]


def incident_to_json(incident: Incident, index: Mapping[int, int]) -> dict[str, Any]:
    """One incident; events are referred to by their index in the document's ``events``
    (``index``: the ``id`` of each event there -> its position)."""
    return {
        "index": incident.index,
        "host": incident.host,
        "source": incident.source,
        "boot": incident.boot,
        "events": [index.get(id(event)) for event in incident.events],
        "first_uptime_s": incident.first_uptime_s,
        "last_uptime_s": incident.last_uptime_s,
        "first_wallclock": incident.first_wallclock,
        "last_wallclock": incident.last_wallclock,
        "duration_s": incident.duration_s,
        "kills": incident.kills,
        "victims": [
            {"comm": v.comm, "kills": v.kills, "pids": list(v.pids)} for v in incident.victims
        ],
        "pattern": incident.pattern.value,
        "kill_storm": incident.kill_storm,
        "restart_loop": incident.restart_loop,
        "repeat_of": incident.repeat_of,
        "repeats": incident.repeats,
    }

"""Incident reports: one typed view-model rendered by reports/incident.html.j2 and incident.md.j2.

The view-model (``ReportView``) is built from an :class:`~oomlens.model.Analysis` and holds
typed values only; units stay in field names and are formatted by the named filters
(``kib``, ``pages``, ``pct``, ``md_escape``, ``md_code`` ...). A value the kernel did not
print stays ``None`` and is shown as "not in the report"; a section whose stage has not run
(replay, findings) says "not analysed". Templates are dumb: they loop and call filters.

Every string from a log is hostile: HTML is autoescaped (charts escape their own text), and
Markdown passes every log string through ``md_escape`` / ``md_code`` / ``md_pre``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from .model import (
    Analysis,
    EventKind,
    Evidence,
    ExplainedEvent,
    Finding,
    Kill,
    Memcg,
    OomEvent,
    RankedTask,
    StepName,
    Task,
)
from .units import human_kib

UNLIMITED_KIB = 1 << 52  # "unlimited" counters print as LLONG_MAX >> 10 (or PAGE_COUNTER_MAX)
NOT_PRINTED = "not in the report"
NOT_ANALYSED = "not analysed"

STEP_TITLES: Mapping[StepName, str] = {
    StepName.REQUEST: "Allocation request",
    StepName.FREE_PAGES: "Free pages against the watermarks",
    StepName.RECLAIM: "Reclaim",
    StepName.ACCOUNTING: "Memory accounting",
    StepName.VICTIM_SELECTION: "Victim selection",
    StepName.OUTCOME: "Outcome",
}

KIND_TITLES: Mapping[EventKind, str] = {
    EventKind.OOM_KILL: "OOM kill",
    EventKind.OOM_NO_KILL: "OOM without a kill",
    EventKind.ALLOCATION_FAILURE: "Page allocation failure",
    EventKind.OOM_PANIC: "OOM panic",
    EventKind.REAPER_ONLY: "oom_reaper line only",
}


# --------------------------------------------------------------------------- view-model


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """How much of the long parts to show (``None``: everything)."""

    raw_lines: int | None = None
    table_rows: int | None = 25
    diagnostics: int | None = 200
    memcg_stats: int | None = None
    evidence: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Quantity:
    """A labelled value; ``unit`` says which filter formats it ("kib", "pages", "bytes")."""

    label: str
    value: int | float | str | bool | None
    unit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceView:
    path: str
    line: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingView:
    rule_id: str
    name: str
    cause: str
    primary: bool
    severity: str
    title: str
    explanation: str
    remedy: str
    references: tuple[str, ...]
    facts: tuple[Quantity, ...]
    evidence: tuple[EvidenceView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepView:
    step: str
    title: str
    verdict: str
    summary: str
    evidence: tuple[EvidenceView, ...]
    data: tuple[Quantity, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RankRow:
    rank: int | None  # position in the replay's ranking; None for the rss fallback table
    pid: int
    name: str
    points: int | None
    score: int | None
    rss_pages: int | None
    rss_kib: int | None  # only when the report shows its page size
    oom_score_adj: int | None
    is_victim: bool
    is_trigger: bool
    eligible: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RankingView:
    from_replay: bool  # False: no replay ranking, rows are the task table ordered by rss
    rows: tuple[RankRow, ...]
    total: int
    omitted: int
    victim_rank: int | None
    recomputed_score: int | None
    algorithm: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """One slice of a stacked bar."""

    key: str
    label: str
    kib: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RamView:
    """Where the memory went: the replay's accounting step, else the Mem-Info counters
    converted with the report's page size."""

    source: str  # "accounting step" or "Mem-Info counters"
    scope: str  # "RAM" or "the cgroup's charge"
    total_kib: int | None  # RAM ("pages RAM") or the cgroup's usage, when printed
    parts: tuple[Part, ...]
    whole_kib: int  # what shares are taken of: the total when printed, else the parts' sum


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneView:
    label: str
    free_kib: int | None
    min_kib: int | None
    low_kib: int | None
    high_kib: int | None
    managed_kib: int | None
    below: str | None  # "min" / "low" / "high" when free is below that watermark


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerView:
    """Who owns a cgroup, read from its path."""

    kind: str  # "Kubernetes pod", "Docker container", "systemd unit", ...
    facts: tuple[Quantity, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatsView:
    path: str
    unit: str
    values: tuple[Quantity, ...]
    omitted: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MemcgView:
    limit_path: str | None
    victim_path: str | None
    usage_kib: int | None
    limit_kib: int | None
    limited: bool  # a limit, its usage or the limited cgroup was printed (a cgroup OOM)
    counters: tuple[Quantity, ...]
    owner: OwnerView | None
    stats: tuple[StatsView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VictimView:
    pid: int | None
    comm: str | None
    rss_kib: int | None  # anon + file + shmem of the kill line, else the task table's rss
    rss_from_table: bool  # rss_kib is the task table's rss (pages x the report's page size)
    anon_rss_kib: int | None
    file_rss_kib: int | None
    shmem_rss_kib: int | None
    total_vm_kib: int | None
    pgtables_kib: int | None
    oom_score_adj: int | None
    uid: int | None
    reaped: bool
    others: tuple[str, ...]  # "comm (pid N)" of further kills in the same report


@dataclass(frozen=True, slots=True, kw_only=True)
class RawLine:
    number: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventView:
    index: int
    anchor: str
    kind: str
    title: str
    when: str | None
    uptime_s: float | None
    host: str | None
    kernel: str | None
    path: str
    first_line: int
    last_line: int
    complete: bool
    manual: bool
    panic: str | None
    answer: str
    cause: str | None  # the primary finding's title
    remedy: str | None
    explained: bool
    overview: tuple[Quantity, ...]
    victim: VictimView | None
    findings: tuple[FindingView, ...]
    steps: tuple[StepView, ...]
    ranking: RankingView | None
    accounting: tuple[Quantity, ...]
    ram: RamView | None
    zones: tuple[ZoneView, ...]
    slab: tuple[Quantity, ...]  # largest unreclaimable slab caches, by total size
    slab_omitted: int
    memcg: MemcgView | None
    raw_lines: tuple[RawLine, ...]
    raw_omitted: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineRow:
    index: int
    anchor: str
    when: str | None
    offset_s: float | None  # seconds after the first event, when the times are comparable
    kind: str
    victim: str | None
    cause: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentView:
    """Events of one host and boot that tell one story (oomlens/incidents.py)."""

    number: int
    host: str | None
    pattern: str  # "single", "repeated", "kill storm", "restart loop"
    events: tuple[int, ...]  # event numbers in this report
    kills: int
    duration_s: float | None
    victims: str  # "nginx ×2, java ×1"
    repeat_of: int | None  # number of an earlier incident of this boot with the same victim


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceView:
    path: str
    format: str
    compression: str | None
    lines: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnosticView:
    path: str
    line: int
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportView:
    title: str
    version: str
    sources: tuple[SourceView, ...]
    failed_inputs: tuple[str, ...]
    events: tuple[EventView, ...]
    timeline: tuple[TimelineRow, ...]  # empty for fewer than two events
    incidents: tuple[IncidentView, ...]  # empty for fewer than two events
    diagnostics: tuple[DiagnosticView, ...]
    diagnostics_total: int
    truncated: tuple[str, ...] = ()  # what was left out to fit a size cap


# --------------------------------------------------------------------------- building

PathNames = Callable[[str], str]


def _same(path: str) -> str:
    return path


def _evidence(
    items: tuple[Evidence, ...], name: PathNames, cap: int | None
) -> tuple[EvidenceView, ...]:
    chosen = items if cap is None else items[:cap]
    return tuple(EvidenceView(path=name(e.path), line=e.line, text=e.text) for e in chosen)


def _unit_of(key: str) -> str | None:
    for suffix, unit in (("_kib", "kib"), ("_pages", "pages"), ("_bytes", "bytes")):
        if key.endswith(suffix):
            return unit
    if key.endswith("_pct") or key.endswith("_percent"):
        return "percent"
    return None


def _label(key: str) -> str:
    for suffix in ("_kib", "_pages", "_bytes", "_pct", "_percent"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ")


def _scalar(value: Any) -> int | float | str | bool | None:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def _data_rows(
    data: tuple[tuple[str, Any], ...], skip: frozenset[str] = frozenset()
) -> tuple[Quantity, ...]:
    """A step's values as rows: a mapping becomes one row per entry ("parts: user anon"),
    a list of scalars one comma-separated row, a list of records a count (their content is
    in the report's own tables)."""
    rows: list[Quantity] = []
    for key, value in data:
        if key in skip:
            continue
        unit = _unit_of(key)
        if isinstance(value, dict):
            for sub, item in value.items():
                rows.append(
                    Quantity(
                        label=f"{_label(key)}: {_label(str(sub))}",
                        value=_scalar(item),
                        unit=unit or _unit_of(str(sub)),
                    )
                )
        elif isinstance(value, list | tuple):
            if all(v is None or isinstance(v, bool | int | float | str) for v in value):
                text = ", ".join("—" if v is None else str(v) for v in value)
                rows.append(Quantity(label=_label(key), value=text or "none"))
            else:
                rows.append(Quantity(label=_label(key), value=f"{len(value)} entries"))
        else:
            rows.append(Quantity(label=_label(key), value=_scalar(value), unit=unit))
    return tuple(rows)


def _finding(f: Finding, name: PathNames, limits: Limits) -> FindingView:
    evidence: list[Evidence] = []
    seen: set[tuple[str, int]] = set()
    for fact in f.facts:
        for item in fact.evidence:
            if (item.path, item.line) not in seen:
                seen.add((item.path, item.line))
                evidence.append(item)
    evidence.sort(key=lambda e: (e.path, e.line))
    return FindingView(
        rule_id=f.rule_id,
        name=f.name,
        cause=f.cause.value,
        primary=f.primary,
        severity=f.severity.value,
        title=f.title,
        explanation=f.explanation,
        remedy=f.remedy,
        references=f.references,
        facts=tuple(
            Quantity(
                label=_label(fact.name),
                value=_scalar(fact.value),
                unit=fact.unit or _unit_of(fact.name),
            )
            for fact in f.facts
        ),
        evidence=_evidence(tuple(evidence), name, limits.evidence),
    )


def _victim(event: OomEvent) -> VictimView | None:
    kill = event.victim
    if kill is None:
        return None
    rss = None
    if kill.anon_rss_kib is not None and kill.file_rss_kib is not None:
        # before 4.5 the kill line had no shmem-rss: shmem was counted in file-rss
        rss = kill.anon_rss_kib + kill.file_rss_kib + (kill.shmem_rss_kib or 0)
    from_table = False
    page_kib = event.memory.page_size_kib
    if rss is None and page_kib is not None and kill.pid is not None:
        # the oldest kill lines print no rss ("Out of Memory: Killed process 1234 (java).")
        row = next((t for t in event.tasks or () if t.pid == kill.pid), None)
        if row is not None and row.rss_pages is not None:
            rss, from_table = row.rss_pages * page_kib, True
    return VictimView(
        pid=kill.pid,
        comm=kill.comm,
        rss_kib=rss,
        rss_from_table=from_table,
        anon_rss_kib=kill.anon_rss_kib,
        file_rss_kib=kill.file_rss_kib,
        shmem_rss_kib=kill.shmem_rss_kib,
        total_vm_kib=kill.total_vm_kib,
        pgtables_kib=kill.pgtables_kib,
        oom_score_adj=kill.oom_score_adj,
        uid=kill.uid,
        reaped=event.reaped,
        # oom.group kills, once each: the victim's own kill line can be printed twice
        others=tuple(
            dict.fromkeys(
                _who(k) for k in event.kills[1:] if (k.pid, k.comm) != (kill.pid, kill.comm)
            )
        ),
    )


def _who(kill: Kill) -> str:
    pid = "pid not printed" if kill.pid is None else f"pid {kill.pid}"
    return f"{kill.comm if kill.comm is not None else 'name not printed'} ({pid})"


def _rank_row(
    task: RankedTask | None,
    row: Task | None,
    page_kib: int | None,
    victim_pid: int | None,
    trigger_pid: int | None,
    rank: int | None,
) -> RankRow:
    pid = task.pid if task is not None else row.pid if row is not None else 0
    rss = row.rss_pages if row is not None else None
    return RankRow(
        rank=rank,
        pid=pid,
        name=task.name if task is not None else row.name if row is not None else "",
        points=task.points if task is not None else None,
        score=task.score if task is not None else None,
        rss_pages=rss,
        rss_kib=rss * page_kib if rss is not None and page_kib is not None else None,
        oom_score_adj=row.oom_score_adj if row is not None else None,
        is_victim=task.is_victim if task is not None else pid == victim_pid,
        is_trigger=task.is_trigger if task is not None else pid == trigger_pid,
        eligible=task.eligible if task is not None else row is None or row.oom_score_adj != -1000,
    )


def _ranking(
    event: OomEvent, explained: ExplainedEvent | None, limits: Limits
) -> RankingView | None:
    by_pid = {t.pid: t for t in event.tasks or ()}
    page_kib = event.memory.page_size_kib
    victim_pid = event.victim.pid if event.victim is not None else None
    trigger_pid = event.trigger.pid
    cap = limits.table_rows
    if explained is not None and explained.replay.ranking:
        replay = explained.replay
        ranked = replay.ranking
        keep = [
            i for i, t in enumerate(ranked) if cap is None or i < cap or t.is_victim or t.is_trigger
        ]
        rows = tuple(
            _rank_row(
                ranked[i], by_pid.get(ranked[i].pid), page_kib, victim_pid, trigger_pid, i + 1
            )
            for i in keep
        )
        return RankingView(
            from_replay=True,
            rows=rows,
            total=len(ranked),
            omitted=len(ranked) - len(rows),
            victim_rank=replay.victim_rank,
            recomputed_score=replay.recomputed_score,
            algorithm=replay.algorithm,
        )
    if not event.tasks:
        return None
    # No replay: show the largest tasks of the table by rss, as printed (no badness claimed).
    order = sorted(event.tasks, key=lambda t: (-(t.rss_pages or 0), t.pid))
    keep_tasks = [
        t
        for i, t in enumerate(order)
        if cap is None or i < cap or t.pid == victim_pid or t.pid == trigger_pid
    ]
    return RankingView(
        from_replay=False,
        rows=tuple(_rank_row(None, t, page_kib, victim_pid, trigger_pid, None) for t in keep_tasks),
        total=len(order),
        omitted=len(order) - len(keep_tasks),
        victim_rank=None,
        recomputed_score=None,
        algorithm=None,
    )


_RAM_PARTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("anon", "anonymous", ("active_anon_pages", "inactive_anon_pages")),
    ("file", "page cache", ("active_file_pages", "inactive_file_pages")),
    ("unevictable", "unevictable", ("unevictable_pages",)),
    ("slab_r", "slab (reclaimable)", ("slab_reclaimable_pages",)),
    ("slab_u", "slab (unreclaimable)", ("slab_unreclaimable_pages",)),
    ("pagetables", "page tables", ("pagetables_pages",)),
    ("free", "free", ("free_pages",)),
)


def _ram(event: OomEvent) -> RamView | None:
    memory = event.memory
    info, page_kib = memory.meminfo, memory.page_size_kib
    if info is None or page_kib is None:
        return None
    parts: list[Part] = []
    for key, label, names in _RAM_PARTS:
        values = [getattr(info, n) for n in names]
        if all(v is None for v in values):
            continue
        pages = sum(v for v in values if v is not None)
        parts.append(Part(key=key, label=label, kib=pages * page_kib))
    # hugetlb pools sit outside every Mem-Info counter ("Node 0 hugepages_total=512 ...")
    huge_kib = sum(h.total * h.size_kib for h in memory.hugepages)
    if huge_kib:
        parts.append(Part(key="hugepages", label="hugepages pool", kib=huge_kib))
    ram_pages = memory.ram.ram_pages if memory.ram is not None else None
    total = ram_pages * page_kib if ram_pages is not None else None
    if total is not None:
        other = total - sum(p.kib for p in parts)
        if other > 0:
            parts.append(
                Part(key="other", label="other (kernel, reserved, not counted)", kib=other)
            )
    if not parts:
        return None
    return RamView(
        source="Mem-Info counters",
        scope="RAM",
        total_kib=total,
        parts=tuple(parts),
        whole_kib=total or sum(p.kib for p in parts),
    )


# accounting-step part names -> chart colour classes (style.css .seg-*)
_PART_CLASS: Mapping[str, str] = {
    "user_anon": "anon",
    "anon": "anon",
    "page_cache": "file",
    "file": "file",
    "shmem": "shmem",
    "unevictable_other": "unevictable",
    "unevictable": "unevictable",
    "slab_reclaimable": "slab_r",
    "slab_unreclaimable": "slab_u",
    "kernel": "slab_u",
    "pagetables": "pagetables",
    "kernel_stack": "pagetables",
    "free": "free",
    "hugepages": "hugepages",
}


def _accounted(explained: ExplainedEvent | None) -> RamView | None:
    """The accounting step's ``parts_kib`` (which already avoids counting overlaps twice)."""
    if explained is None:
        return None
    step = explained.replay.step(StepName.ACCOUNTING)
    if step is None:
        return None
    data = dict(step.data)
    parts_kib = data.get("parts_kib")
    if not isinstance(parts_kib, dict) or not parts_kib:
        return None
    parts = []
    for key, kib in parts_kib.items():
        if not isinstance(kib, int) or isinstance(kib, bool) or kib < 0:
            continue
        name = str(key).removesuffix("_kib")
        parts.append(Part(key=_PART_CLASS.get(name, "other"), label=_label(name), kib=kib))
    if not parts:
        return None
    memcg = data.get("scope") == "memcg"
    total = data.get("usage_kib") if memcg else data.get("ram_kib")
    total = total if isinstance(total, int) and not isinstance(total, bool) else None
    return RamView(
        source="accounting step",
        scope="the cgroup's charge" if memcg else "RAM",
        total_kib=total,
        parts=tuple(parts),
        whole_kib=total or sum(p.kib for p in parts),
    )


def _zones(event: OomEvent) -> tuple[ZoneView, ...]:
    out = []
    for zone in event.memory.zones:
        below = None
        if zone.free_kib is not None:
            for name, mark in (
                ("min", zone.min_kib),
                ("low", zone.low_kib),
                ("high", zone.high_kib),
            ):
                if mark is not None and zone.free_kib < mark:
                    below = name
                    break
        node = "" if zone.node is None else f"Node {zone.node} "
        out.append(
            ZoneView(
                label=f"{node}{zone.name}",
                free_kib=zone.free_kib,
                min_kib=zone.min_kib,
                low_kib=zone.low_kib,
                high_kib=zone.high_kib,
                managed_kib=zone.managed_kib,
                below=below,
            )
        )
    return tuple(out)


_K8S_QOS = re.compile(r"kubepods[./-](burstable|besteffort)\b")
_K8S_POD = re.compile(
    r"kubepods.*?pod(?P<uid>[0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_]"
    r"[0-9a-fA-F]{12})(?:\.slice)?(?:/(?P<container>[^/]+))?"
)
_CONTAINER_ID = re.compile(
    r"^(?:(?P<runtime>docker|cri-containerd|crio|containerd|libpod)-)?(?P<id>[0-9a-f]{12,64})"
    r"(?:\.scope)?$"
)
_UNIT = re.compile(r"^[^/]+\.(service|scope|slice|socket|mount|swap)$")


def cgroup_owner(path: str | None) -> OwnerView | None:
    """Who a cgroup belongs to, read from its path, e.g.
    ``/kubepods/burstable/podbc001ffa-68fc-11e9-92d7-5ef9efd9374c/a2ed67c6...`` (cgroup v1),
    ``/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/
    cri-containerd-<id>.scope`` (systemd driver), ``/docker/<id>``,
    ``/system.slice/nginx.service``."""
    if not path:
        return None
    pod = _K8S_POD.search(path)
    if pod is not None:
        qos = _K8S_QOS.search(path)
        facts = [
            Quantity(label="pod UID", value=pod["uid"].replace("_", "-")),
            Quantity(label="QoS class", value=qos[1] if qos is not None else "guaranteed"),
        ]
        container = pod["container"]
        if container:
            found = _CONTAINER_ID.match(container)
            if found is not None:
                facts.append(Quantity(label="container ID", value=found["id"]))
                if found["runtime"]:
                    facts.append(Quantity(label="runtime", value=found["runtime"]))
            else:
                facts.append(Quantity(label="container cgroup", value=container))
        return OwnerView(kind="Kubernetes pod", facts=tuple(facts))
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[-2] == "docker":
        found = _CONTAINER_ID.match(parts[-1])
        if found is not None:
            return OwnerView(
                kind="Docker container",
                facts=(Quantity(label="container ID", value=found["id"]),),
            )
    for part in reversed(parts):
        found = _CONTAINER_ID.match(part)
        if found is not None and found["runtime"]:
            runtime = "Docker" if found["runtime"] == "docker" else found["runtime"]
            return OwnerView(
                kind=f"{runtime} container",
                facts=(Quantity(label="container ID", value=found["id"]),),
            )
    for part in reversed(parts):
        if _UNIT.match(part):
            facts = [Quantity(label="unit", value=part)]
            user = re.fullmatch(r"user-(\d+)\.slice", parts[1]) if len(parts) > 1 else None
            if user is not None:
                facts.append(Quantity(label="user id", value=int(user[1])))
            return OwnerView(kind="systemd unit", facts=tuple(facts))
    return None


# memory.stat keys that count events, not bytes (cgroup v2: pgfault, workingset_refault_anon,
# thp_fault_alloc, zswpin, ...)
_STAT_EVENTS = re.compile(r"^(pg|workingset_|thp_|zswp|numa_|hugetlb_.*fault|oom|kill)")


def _memcg(memcg: Memcg | None, limits: Limits) -> MemcgView | None:
    if memcg is None:
        return None
    counters = [
        Quantity(label=label, value=value, unit=unit)
        for label, value, unit in (
            ("failcnt", memcg.failcnt, None),
            ("swap usage", memcg.swap_usage_kib, "kib"),
            ("swap limit", memcg.swap_limit_kib, "kib"),
            ("memory+swap usage", memcg.memsw_usage_kib, "kib"),
            ("memory+swap limit", memcg.memsw_limit_kib, "kib"),
            ("kernel memory usage", memcg.kmem_usage_kib, "kib"),
            ("kernel memory limit", memcg.kmem_limit_kib, "kib"),
            ("min protection", memcg.min_protection_kib, "kib"),
            ("low protection", memcg.low_protection_kib, "kib"),
        )
        if value is not None
    ]
    stats = []
    for s in memcg.stats:
        unit = "kib" if s.unit == "kB" else "bytes"
        nonzero = [(k, v) for k, v in s.values if v]
        cap = limits.memcg_stats
        shown = nonzero if cap is None else nonzero[:cap]
        stats.append(
            StatsView(
                path=s.path,
                unit=s.unit,
                values=tuple(
                    Quantity(label=k, value=v, unit=None if _STAT_EVENTS.match(k) else unit)
                    for k, v in shown
                ),
                omitted=len(s.values) - len(shown),
            )
        )
    return MemcgView(
        limit_path=memcg.limit_path,
        victim_path=memcg.victim_path,
        usage_kib=memcg.usage_kib,
        limit_kib=memcg.limit_kib,
        limited=any(v is not None for v in (memcg.limit_path, memcg.limit_kib, memcg.usage_kib)),
        counters=tuple(counters),
        owner=cgroup_owner(memcg.victim_path or memcg.limit_path),
        stats=tuple(stats),
    )


def _when(event: OomEvent) -> str | None:
    if event.time.wallclock:
        return event.time.wallclock.replace("T", " ")
    if event.time.uptime_s is not None:
        return f"{event.time.uptime_s:.3f} s after boot"
    return None


def _overview(event: OomEvent, victim: VictimView | None) -> tuple[Quantity, ...]:
    t = event.trigger
    rows: list[Quantity] = []
    if t.comm is not None or t.pid is not None:
        rows.append(Quantity(label="allocating task", value=_task_name(t.comm, t.pid)))
    rows.append(Quantity(label="order", value=t.order))
    if t.gfp_mask is not None:
        flags = "|".join(t.gfp_flags)
        rows.append(Quantity(label="gfp_mask", value=t.gfp_mask + (f" ({flags})" if flags else "")))
    rows.append(Quantity(label="constraint", value=event.constraint))
    if event.selected is not None:
        chosen = _task_name(event.selected.comm, event.selected.pid)
        if event.selected.score is not None:
            chosen += f", score {event.selected.score}"
        rows.append(Quantity(label="kernel's choice", value=chosen))
    if event.cpuset is not None:
        rows.append(Quantity(label="cpuset", value=event.cpuset))
    if event.manual:
        rows.append(Quantity(label="manual (sysrq-f)", value="yes"))
    rows.append(Quantity(label="swap total", value=event.swap_total_kib, unit="kib"))
    rows.append(Quantity(label="swap free", value=event.swap_free_kib, unit="kib"))
    rows.append(
        Quantity(label="task table rows", value=None if event.tasks is None else len(event.tasks))
    )
    if event.tainted is not None:
        rows.append(Quantity(label="tainted", value=event.tainted))
    if event.hardware is not None:
        rows.append(Quantity(label="hardware", value=event.hardware))
    if victim is not None:
        rows.append(Quantity(label="victim reaped", value="yes" if victim.reaped else "no"))
    return tuple(rows)


def _task_name(comm: str | None, pid: int | None) -> str:
    name = comm if comm is not None else "name not printed"
    return f"{name} (pid {pid})" if pid is not None else name


def format_kib(value: int | float | None) -> str:
    """``1572864`` -> ``"1.5 GiB"``; ``None`` -> "not in the report"."""
    if value is None:
        return NOT_PRINTED
    if value >= UNLIMITED_KIB:
        return "unlimited"
    return human_kib(value)


def _answer(
    event: OomEvent, victim: VictimView | None, primary: Finding | None, explained: bool
) -> str:
    parts: list[str] = []
    if primary is not None:
        parts.append(f"Cause: {primary.title.rstrip('.')}.")
    elif explained:
        parts.append("Cause: no rule matched this report.")
    else:
        parts.append(f"Cause: {NOT_ANALYSED}.")
    if victim is not None:
        who = _task_name(victim.comm, victim.pid)
        if victim.rss_kib is not None:
            source = " (from the task table)" if victim.rss_from_table else ""
            parts.append(
                f"The kernel killed {who}, which held {format_kib(victim.rss_kib)} RSS{source}."
            )
        else:
            parts.append(f"The kernel killed {who} (its RSS is {NOT_PRINTED}).")
        if victim.others:
            parts.append(f"It also killed {', '.join(victim.others)}.")
    elif event.kind is EventKind.ALLOCATION_FAILURE:
        parts.append("An allocation failed; no task was killed.")
    elif event.panic:
        parts.append("The kernel panicked instead of killing a task.")
    else:
        parts.append("No kill line is in the report.")
    memcg = event.memcg
    memory = event.memory
    if memcg is not None and memcg.limit_kib is not None and memcg.limit_kib < UNLIMITED_KIB:
        parts.append(
            f"The memory cgroup used {format_kib(memcg.usage_kib)} of its "
            f"{format_kib(memcg.limit_kib)} limit."
        )
    elif memory.ram is not None and memory.ram.ram_pages is not None and memory.page_size_kib:
        ram_kib = memory.ram.ram_pages * memory.page_size_kib
        parts.append(f"The machine has {format_kib(ram_kib)} of RAM.")
    if event.swap_total_kib == 0:
        parts.append("There was no swap.")
    if primary is not None and primary.remedy:
        parts.append(f"What to change: {primary.remedy.strip()}")
    return " ".join(parts)


def build_event(
    index: int,
    event: OomEvent,
    explained: ExplainedEvent | None,
    *,
    limits: Limits = Limits(),
    path_name: PathNames = _same,
) -> EventView:
    victim = _victim(event)
    primary = explained.primary if explained is not None else None
    findings = (
        tuple(
            _finding(f, path_name, limits)
            for f in sorted(explained.findings, key=lambda f: not f.primary)
        )
        if explained is not None
        else ()
    )
    steps: tuple[StepView, ...] = ()
    accounting: tuple[Quantity, ...] = ()
    if explained is not None:
        steps = tuple(
            StepView(
                step=s.step.value,
                title=STEP_TITLES.get(s.step, s.step.value),
                verdict=s.verdict,
                summary=s.summary,
                evidence=_evidence(s.evidence, path_name, limits.evidence),
                data=_data_rows(s.data, frozenset({"ranking"})),
            )
            for s in explained.replay.steps
        )
        step = explained.replay.step(StepName.ACCOUNTING)
        if step is not None:
            # the parts are drawn and tabled under "where the memory went"
            drawn = {"parts_kib", "parts_pct"} if _accounted(explained) else set()
            accounting = _data_rows(step.data, frozenset(drawn))
    slab = sorted(event.memory.slab or (), key=lambda c: (-c.total_kib, c.name))
    lines = event.lines
    cap = limits.raw_lines
    shown = lines if cap is None else lines[:cap]
    return EventView(
        index=index,
        anchor=f"event-{index}",
        kind=event.kind.value,
        title=KIND_TITLES.get(event.kind, event.kind.value),
        when=_when(event),
        uptime_s=event.time.uptime_s,
        host=event.host,
        kernel=event.kernel_release,
        path=path_name(event.source.path),
        first_line=event.source.first_line,
        last_line=event.source.last_line,
        complete=event.complete,
        manual=event.manual,
        panic=event.panic,
        answer=_answer(event, victim, primary, explained is not None),
        cause=primary.title if primary is not None else None,
        remedy=primary.remedy if primary is not None else None,
        explained=explained is not None,
        overview=_overview(event, victim),
        victim=victim,
        findings=findings,
        steps=steps,
        ranking=_ranking(event, explained, limits),
        accounting=accounting,
        ram=_accounted(explained) or _ram(event),
        zones=_zones(event),
        slab=tuple(
            Quantity(label=c.name, value=c.total_kib, unit="kib") for c in slab[: limits.table_rows]
        ),
        slab_omitted=max(0, len(slab) - (limits.table_rows or len(slab))),
        memcg=_memcg(event.memcg, limits),
        raw_lines=tuple(RawLine(number=line.number, text=line.text) for line in shown),
        raw_omitted=len(lines) - len(shown),
    )


def _offsets(events: tuple[OomEvent, ...]) -> list[float | None]:
    """Seconds since the first event: from uptimes when every event of one file has one and
    they never go backwards (a reboot restarts them), else from wall-clock times when every
    event has one and they compare (all with a zone or all without)."""
    uptimes = [e.time.uptime_s for e in events]
    if len({e.source.path for e in events}) == 1 and all(u is not None for u in uptimes):
        values = [u for u in uptimes if u is not None]
        if values == sorted(values):
            return [u - values[0] for u in values]
    stamps: list[datetime] = []
    for event in events:
        try:
            stamps.append(datetime.fromisoformat(event.time.wallclock or ""))
        except ValueError:
            return [None] * len(events)
    if len({s.tzinfo is None for s in stamps}) != 1:
        return [None] * len(events)
    return [(s - stamps[0]).total_seconds() for s in stamps]


def _timeline(
    events: tuple[EventView, ...], sources: tuple[OomEvent, ...]
) -> tuple[TimelineRow, ...]:
    if len(events) < 2:
        return ()
    offsets = _offsets(sources)
    rows = []
    for view, offset in zip(events, offsets, strict=True):
        victim = _task_name(view.victim.comm, view.victim.pid) if view.victim else None
        rows.append(
            TimelineRow(
                index=view.index,
                anchor=view.anchor,
                when=view.when,
                offset_s=offset,
                kind=view.title,
                victim=victim,
                cause=view.cause,
            )
        )
    return tuple(rows)


def _incidents(analysis: Analysis) -> tuple[IncidentView, ...]:
    if len(analysis.events) < 2:
        return ()
    number = {
        (e.source.path, e.source.first_line): i for i, e in enumerate(analysis.events, start=1)
    }
    out = []
    for incident in analysis.incidents:
        out.append(
            IncidentView(
                number=incident.index + 1,
                host=incident.host,
                pattern=incident.pattern.value.replace("_", " "),
                events=tuple(
                    n
                    for e in incident.events
                    if (n := number.get((e.source.path, e.source.first_line))) is not None
                ),
                kills=incident.kills,
                duration_s=incident.duration_s,
                victims=", ".join(f"{v.comm} ×{v.kills}" for v in incident.victims),
                repeat_of=None if incident.repeat_of is None else incident.repeat_of + 1,
            )
        )
    return tuple(out)


def build_report(
    analysis: Analysis,
    *,
    limits: Limits = Limits(),
    path_names: Mapping[str, str] | None = None,
) -> ReportView:
    """The view-model of one report over every event of ``analysis``.

    ``path_names`` maps input paths to the names shown (golden files use it for stable text).
    """
    names = dict(path_names or {})

    def path_name(path: str) -> str:
        return names.get(path, path)

    explained: tuple[ExplainedEvent | None, ...]
    if len(analysis.explained) == len(analysis.events):
        explained = analysis.explained
    else:
        explained = (None,) * len(analysis.events)
    events = tuple(
        build_event(i, e, x, limits=limits, path_name=path_name)
        for i, (e, x) in enumerate(zip(analysis.events, explained, strict=True), start=1)
    )
    diag_cap = limits.diagnostics
    diagnostics = analysis.diagnostics if diag_cap is None else analysis.diagnostics[:diag_cap]
    from . import __version__

    return ReportView(
        title="OOM incident report",
        version=__version__,
        sources=tuple(
            SourceView(
                path=path_name(s.path), format=s.format, compression=s.compression, lines=s.lines
            )
            for s in analysis.sources
        ),
        failed_inputs=tuple(path_name(p) for p in analysis.failed_inputs),
        events=events,
        timeline=_timeline(events, analysis.events),
        incidents=_incidents(analysis),
        diagnostics=tuple(
            DiagnosticView(path=path_name(d.path), line=d.line, message=d.message)
            for d in diagnostics
        ),
        diagnostics_total=len(analysis.diagnostics),
    )


# --------------------------------------------------------------------------- filters

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>~&])")


def md_escape(text: object) -> str:
    """Make log text inert in Markdown, table cells included: every punctuation character that
    CommonMark or GFM could read as markup is backslash-escaped, line breaks become spaces."""
    value = _MD_SPECIAL.sub(r"\\\1", str(text))
    return re.sub(r"[\r\n\t\v\f]+", " ", value)


_CODE_ENTITIES = str.maketrans({"[": "&#91;", "]": "&#93;", "~": "&#126;"})


def md_code(text: object) -> str:
    """Inline code that is safe in a table cell. Log text with characters a code span cannot
    hold safely (``<``, ``&``, ``|``, backticks) becomes ``<code>`` with HTML entities."""
    value = re.sub(r"[\r\n\t\v\f]+", " ", str(text))
    if re.search(r"[<>&|`\\]", value) is None:
        return f"`{value}`" if value.strip() else "` `"
    escaped = html.escape(value, quote=True).replace("|", "&#124;").replace("`", "&#96;")
    escaped = escaped.replace("\\", "&#92;").replace("*", "&#42;").replace("_", "&#95;")
    # Markdown is still read between inline HTML tags: brackets would form a live link
    # ("[x](javascript:...)"), a tilde strikethrough
    escaped = escaped.translate(_CODE_ENTITIES)
    return f"<code>{escaped}</code>"


def md_pre(text: object) -> str:
    """Text inside a ``<pre>`` HTML block: entities only (Markdown is not read there)."""
    return html.escape(str(text), quote=False)


def format_pages(value: int | None, page_kib: int | None = None) -> str:
    if value is None:
        return NOT_PRINTED
    text = f"{value:,} pages"
    return text if page_kib is None else f"{text} ({format_kib(value * page_kib)})"


def format_pct(part: float | None, whole: float | None = None) -> str:
    """``pct(part, whole)`` -> ``"97.3%"``; ``pct(value)`` formats a value already in percent."""
    if part is None:
        return NOT_PRINTED
    if whole is None:
        return f"{part:.1f}%"
    if whole == 0 or whole >= UNLIMITED_KIB:
        return "—"
    return f"{100.0 * part / whole:.1f}%"


def format_value(q: Quantity) -> str:
    """A ``Quantity`` as text by its unit."""
    value = q.value
    if value is None:
        return NOT_PRINTED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if q.unit == "kib" and isinstance(value, int | float):
        return format_kib(value)
    if q.unit == "bytes" and isinstance(value, int | float):
        return format_kib(value / 1024) if value >= 1024 else f"{value} bytes"
    if q.unit == "pages" and isinstance(value, int):
        return format_pages(value)
    if q.unit in ("percent", "%") and isinstance(value, int | float):
        return format_pct(value)
    if q.unit == "ratio" and isinstance(value, int | float):
        return format_pct(100.0 * value)
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int):
        return str(value)
    return value if q.unit is None or q.unit in ("bool", "str", "count") else f"{value} {q.unit}"


def format_number(value: int | float | None) -> str:
    if value is None:
        return NOT_PRINTED
    return f"{value:,}" if isinstance(value, int) else f"{value:.3f}"


# --------------------------------------------------------------------------- environment


def _bytecode_cache() -> Any:
    """Compiled templates kept in the user's cache directory (compiling both templates costs
    ~0.2 s per process); none when that directory cannot be written."""
    import jinja2

    from . import __version__
    from .resources import cache_dir

    # compiled code depends on the Environment's options (finalize) as well as the sources
    directory = cache_dir(f"jinja-{__version__}-{_CODEGEN}")
    return None if directory is None else jinja2.FileSystemBytecodeCache(str(directory))


_CODEGEN = "visible-controls"  # bump when Environment options that shape compiled code change
# Characters that would act rather than show: C0/C1 controls (a comm holding ESC [2J clears
# the terminal a Markdown report is printed on) and bidirectional overrides (U+202E makes
# "exe.txt" read "txt.exe"). Tab and line breaks stay: the filters handle them per format.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_controls(value: Any) -> Any:
    """Every ``{{ }}`` value of a report, with controls shown as ``\\x1b`` / ``\\u202e``."""
    if not isinstance(value, str) or _CONTROLS.search(value) is None:
        return value
    from markupsafe import Markup

    text = _CONTROLS.sub(_visible, value)
    return Markup(text) if isinstance(value, Markup) else text


@cache
def _environment(kind: str) -> Any:
    """One Jinja environment per output kind (HTML autoescapes everything), built on first use."""
    import jinja2

    from . import charts
    from .resources import data_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
        bytecode_cache=_bytecode_cache(),
        autoescape=kind == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=visible_controls,
    )
    env.filters.update(
        kib=format_kib,
        pages=format_pages,
        pct=format_pct,
        value=format_value,
        num=format_number,
        md_escape=md_escape,
        md_code=md_code,
        md_pre=md_pre,
    )
    if kind == "html":
        env.filters.update(
            ram_chart=charts.ram_chart,
            tasks_chart=charts.tasks_chart,
            zones_chart=charts.zones_chart,
            timeline_chart=charts.timeline_chart,
        )
    return env


@cache
def _stylesheet() -> str:
    from .resources import data_dir

    return (data_dir("reports") / "style.css").read_text(encoding="utf-8")


def render_html(view: ReportView) -> str:
    from markupsafe import Markup

    template = _environment("html").get_template("incident.html.j2")
    return str(template.render(report=view, css=Markup(_stylesheet())))


def render_markdown(view: ReportView) -> str:
    template = _environment("md").get_template("incident.md.j2")
    text = str(template.render(report=view))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


# Successively smaller limits tried to fit ``max_bytes``: raw lines go first, then tables.
_SHRINK: tuple[tuple[str, Limits], ...] = (
    ("raw report lines cut to 40 per event", Limits(raw_lines=40, table_rows=25)),
    ("raw report lines left out", Limits(raw_lines=0, table_rows=25)),
    (
        "raw lines left out; tables cut to 10 rows",
        Limits(raw_lines=0, table_rows=10, diagnostics=20, memcg_stats=12, evidence=5),
    ),
    (
        "raw lines left out; tables cut to 3 rows",
        Limits(raw_lines=0, table_rows=3, diagnostics=3, memcg_stats=4, evidence=2),
    ),
)


def analysis_to_html(analysis: Analysis, *, path_names: Mapping[str, str] | None = None) -> str:
    return render_html(build_report(analysis, path_names=path_names))


def analysis_to_markdown(
    analysis: Analysis,
    *,
    max_bytes: int | None = None,
    path_names: Mapping[str, str] | None = None,
) -> str:
    """The Markdown report; with ``max_bytes``, long parts are cut (and the output says so)."""
    view = build_report(analysis, path_names=path_names)
    text = render_markdown(view)
    if max_bytes is None or len(text.encode("utf-8")) <= max_bytes:
        return text
    for note, limits in _SHRINK:
        view = replace(
            build_report(analysis, limits=limits, path_names=path_names),
            truncated=(f"Shortened to fit {max_bytes:,} bytes: {note}.",),
        )
        text = render_markdown(view)
        if len(text.encode("utf-8")) <= max_bytes:
            return text
    return _cut(text, max_bytes)


def _cut(text: str, max_bytes: int) -> str:
    """Last resort: keep whole lines up to the cap, and say where the report stops."""
    note = f"\n\n*Report cut at {max_bytes:,} bytes; run oomlens without --max-bytes for all.*\n"
    closing = "</pre>\n\n</details>\n"
    budget = max(0, max_bytes - len(note.encode("utf-8")) - len(closing))
    kept: list[str] = []
    used = 0
    in_pre = False
    for line in text.splitlines(keepends=True):
        size = len(line.encode("utf-8"))
        if used + size > budget:
            break
        kept.append(line)
        used += size
        in_pre = (in_pre or "<pre>" in line) and "</pre>" not in line
    if in_pre:  # never leave an open HTML block that would swallow the note
        kept.append(closing)
    return "".join(kept).rstrip("\n") + note

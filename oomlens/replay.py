"""Replay one OOM report: how the kernel got from an allocation to the kill, step by step.

``replay(event)`` is a pure function of the parsed :class:`~oomlens.model.OomEvent`.  It walks
the path the kernel took (shared/docs/kernel-oom-format.md §5-7):

1. ``request``          what was asked for (``<comm> invoked oom-killer: gfp_mask=..., order=N``)
2. ``free_pages``       free memory against the watermarks of the zones the request may use
3. ``reclaim``          what reclaim still had, and why it was not enough
4. ``accounting``       where the RAM (or the cgroup's charge) went
5. ``victim_selection`` the badness ranking recomputed with the era's formula
6. ``outcome``          the kill, the reaper, a panic or an incomplete report

Every step has a verdict from a small documented set (docs/replay.md), ``"unknown"`` when
the report does not show enough, a plain-words summary, evidence lines and JSON-ready data.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

from .badness import (
    UNLIMITED_KIB,
    Algorithm,
    Ranking,
    Totalpages,
    algorithm_for,
    base_pages,
    implied_totalpages,
    page_kib_for,
    points_for,
    rank_tasks,
    score_for,
    totalpages_for,
)
from .gfp import GfpDecoding, flags_for
from .model import (
    Constraint,
    EventKind,
    Evidence,
    LogLine,
    MemcgStats,
    OomEvent,
    RankedTask,
    Replay,
    ReplayStep,
    StepName,
    Zone,
)
from .units import human_kib

__all__ = ["replay", "ZONE_ORDER", "COSTLY_ORDER"]

COSTLY_ORDER = 3  # PAGE_ALLOC_COSTLY_ORDER: above it the OOM killer is not invoked
ZONE_ORDER = ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")
RANKING_TOP = 10
# Reclaimable leftovers below this share of the memory in play count as "nothing left".
SMALL_SHARE = 0.05
# A zone this close above min + reserve counts as "near": the counters are printed after the
# allocation failed, so a few pages may have come back meanwhile.
NEAR_MIN_PCT = 10

Data = tuple[tuple[str, Any], ...]


# Marker texts the steps cite as evidence, located once per report.
_MARKERS = (
    "invoked oom-killer",
    "page allocation failure",
    "allocation stalls",
    "Manual OOM execution",
    "memory: usage",
    "memory+swap: usage",
    "swap: usage",
    "Free swap",
    "Total swap",
    "Memory cgroup stats for",
    "Tasks state",
    "[ pid ]",
    "[  pid  ]",
    "no killable processes",
    "Kernel panic",
    "memory.oom.group",
    "is already exiting",
)


class _Lines:
    """Line lookup for evidence (event.lines by physical line number, marker positions)."""

    def __init__(self, event: OomEvent) -> None:
        self.by_number: dict[int, LogLine] = {line.number: line for line in event.lines}
        self.markers: dict[str, list[int]] = {}
        # One regex pass over the joined text; offsets map matches back to their lines.
        starts: list[int] = []
        offset = 0
        for line in event.lines:
            starts.append(offset)
            offset += len(line.text) + 1
        joined = "\n".join(line.text for line in event.lines)
        for marker in _MARKERS:  # str.find is much faster here than one alternation regex
            pos = joined.find(marker)
            while pos >= 0:
                number = event.lines[bisect_right(starts, pos) - 1].number
                self.markers.setdefault(marker, []).append(number)
                pos = joined.find(marker, pos + 1)

    def evidence(self, numbers: Iterable[int | None]) -> tuple[Evidence, ...]:
        out: list[Evidence] = []
        seen: set[int] = set()
        for n in numbers:
            if n is None or n in seen:
                continue
            line = self.by_number.get(n)
            if line is not None:
                seen.add(n)
                out.append(Evidence(path=line.path, line=line.number, text=line.text))
        return tuple(out)

    def all(self, *markers: str) -> list[int]:
        """Line numbers holding any of ``markers`` (each one of ``_MARKERS``), in order.

        ``"swap: usage"`` also matches inside ``"memory+swap: usage"``; callers ask for both.
        """
        found: set[int] = set()
        for marker in markers:
            found.update(self.markers.get(marker, ()))
        return sorted(found)

    def first(self, *markers: str) -> int | None:
        numbers = self.all(*markers)
        return numbers[0] if numbers else None


def replay(event: OomEvent) -> Replay:
    """The six steps for ``event`` and the recomputed badness ranking."""
    lines = _Lines(event)
    decoding = (
        flags_for(event.trigger.gfp_mask, event.kernel_release)
        if event.trigger.gfp_mask is not None
        else None
    )
    zones_allowed = _zones_allowed(event, decoding)
    request = _request_step(event, lines, decoding, zones_allowed)
    free = _free_pages_step(event, lines, zones_allowed)
    reclaim = _reclaim_step(event, lines, decoding)
    accounting = _accounting_step(event, lines)
    selection, ranking, algorithm, total, victim_rank, recomputed = _victim_step(event, lines)
    outcome = _outcome_step(event, lines)
    return Replay(
        steps=(request, free, reclaim, accounting, selection, outcome),
        ranking=ranking,
        victim_rank=victim_rank,
        recomputed_score=recomputed,
        algorithm=algorithm.value if algorithm is not None else None,
        totalpages=total,
    )


def _step(
    name: StepName, verdict: str, summary: str, evidence: tuple[Evidence, ...], data: dict[str, Any]
) -> ReplayStep:
    return ReplayStep(
        step=name, verdict=verdict, summary=summary, evidence=evidence, data=tuple(data.items())
    )


def _kib(pages: int | None, page_kib: int) -> int | None:
    return None if pages is None else pages * page_kib


def _fmt_kib(kib: int | None) -> str:
    return human_kib(kib, missing="?")


# ------------------------------------------------------------------------------ 1. request


def _parse_node_list(text: str | None) -> tuple[int, ...] | None:
    """``"0-1,3"`` -> (0, 1, 3); None for ``(null)``, empty or unreadable lists."""
    if not text or text.strip() in ("(null)", ""):
        return None
    nodes: list[int] = []
    for part in text.strip().split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if m is None:
            return None
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        nodes.extend(range(first, last + 1))
    return tuple(nodes)


def _allowed_nodes(event: OomEvent) -> tuple[tuple[int, ...] | None, str | None]:
    """Nodes the allocation may use: the mempolicy nodemask, else the cpuset's mems_allowed."""
    summary = event.summary
    nodemask = event.trigger.nodemask or (summary.nodemask if summary else None)
    nodes = _parse_node_list(nodemask)
    if nodes is not None:
        return nodes, "nodemask"
    mems = event.mems_allowed or (summary.mems_allowed if summary else None)
    nodes = _parse_node_list(mems)
    if nodes is not None:
        return nodes, "mems_allowed"
    return None, None


def _configured_zones(event: OomEvent) -> tuple[str, ...]:
    """Zone names in kernel index order: DMA/DMA32/HighMem only when the report shows them."""
    seen = {z.name for z in event.memory.zones} | {a.zone for a in event.memory.free_areas}
    return tuple(z for z in ZONE_ORDER if z in seen or z in ("Normal", "Movable"))


def _zones_allowed(event: OomEvent, decoding: GfpDecoding | None) -> tuple[str, ...] | None:
    """Zones from DMA up to the highest zone the gfp mask allows (§7.2 zone selection)."""
    caps = decoding.capabilities if decoding is not None else None
    if caps is None:
        return None
    configured = _configured_zones(event)
    highest = caps.zone
    if highest == "HighMem" and "HighMem" not in configured:
        highest = "Normal"  # 64-bit: __GFP_HIGHMEM means Normal
    limit = ZONE_ORDER.index(highest)
    return tuple(z for z in ZONE_ORDER[: limit + 1] if z in configured or z == highest)


def _request_step(
    event: OomEvent,
    lines: _Lines,
    decoding: GfpDecoding | None,
    zones_allowed: tuple[str, ...] | None,
) -> ReplayStep:
    trigger = event.trigger
    page_kib, page_known = page_kib_for(event)
    header = lines.first("invoked oom-killer", "page allocation failure", "allocation stalls")
    manual_line = lines.first("Manual OOM execution")
    victim = event.victim
    caps = decoding.capabilities if decoding is not None else None
    order = trigger.order
    nodes, nodes_from = _allowed_nodes(event)
    data: dict[str, Any] = {
        "trigger_comm": trigger.comm,
        "trigger_pid": trigger.pid,
        "trigger_is_victim": None
        if victim is None or trigger.pid is None
        else victim.pid == trigger.pid,
        "gfp_mask": trigger.gfp_mask,
        "gfp_flags": list(decoding.names) if decoding is not None else list(trigger.gfp_flags),
        "gfp_era": decoding.era.value if decoding is not None and decoding.era else None,
        "order": order,
        "request_bytes": page_kib * 1024 << order if order is not None and order >= 0 else None,
        "page_size_kib": page_kib,
        "page_size_printed": page_known,
        "costly_order": order > COSTLY_ORDER if order is not None else None,
        "can_direct_reclaim": caps.can_direct_reclaim if caps else None,
        "can_io": caps.can_io if caps else None,
        "can_fs": caps.can_fs if caps else None,
        "atomic": caps.atomic if caps else None,
        "nofail": caps.nofail if caps else None,
        "noretry": caps.noretry if caps else None,
        "thisnode": caps.thisnode if caps else None,
        "highest_zone": zones_allowed[-1] if zones_allowed else None,
        "zones_allowed": list(zones_allowed) if zones_allowed is not None else None,
        "nodes_allowed": list(nodes) if nodes is not None else None,
        "nodes_from": nodes_from,
        "manual": event.manual or order == -1,
    }
    who = f"{trigger.comm or '?'} (pid {trigger.pid if trigger.pid is not None else '?'})"
    evidence = lines.evidence([manual_line, header])
    if event.manual or order == -1:
        return _step(
            StepName.REQUEST,
            "manual",
            f"The OOM killer was started by hand (sysrq-f) through {who}; no allocation failed.",
            evidence,
            data,
        )
    if trigger.gfp_mask is None and order is None:
        return _step(
            StepName.REQUEST, "unknown", "The report does not show the request.", evidence, data
        )
    size = _fmt_kib(page_kib << order) if order is not None and order >= 0 else "?"
    if decoding is not None and decoding.mask == 0 and order == 0:
        return _step(
            StepName.REQUEST,
            "pagefault",
            f"{who} hit VM_FAULT_OOM in a page fault: the kernel called the OOM killer with "
            "gfp_mask=0x0 (the pagefault OOM path), so no allocation mask is known.",
            evidence,
            data,
        )
    if order is not None and order > COSTLY_ORDER:
        return _step(
            StepName.REQUEST,
            "costly_order",
            f"{who} asked for an order-{order} block ({size}), above the costly order "
            f"{COSTLY_ORDER}: such requests fail rather than OOM-kill unless __GFP_NOFAIL.",
            evidence,
            data,
        )
    limits: list[str] = []
    if caps is not None:
        if not caps.can_direct_reclaim:
            limits.append("no direct reclaim (atomic)")
        if not caps.can_io:
            limits.append("no I/O (no swap-out)")
        elif not caps.can_fs:
            limits.append("no filesystem callbacks (NOFS)")
        if zones_allowed is not None and zones_allowed[-1] in ("DMA", "DMA32"):
            limits.append(f"only zones up to {zones_allowed[-1]}")
        if caps.thisnode:
            limits.append("this node only")
    flags = "|".join(data["gfp_flags"]) or (trigger.gfp_mask or "?")
    if limits:
        return _step(
            StepName.REQUEST,
            "restricted",
            f"{who} asked for {size} (order {order}, {flags}) with {', '.join(limits)}.",
            evidence,
            data,
        )
    if caps is None:
        return _step(
            StepName.REQUEST,
            "unknown",
            f"{who} asked for order {order}; the gfp mask could not be decoded.",
            evidence,
            data,
        )
    zones = "/".join(zones_allowed or ())
    return _step(
        StepName.REQUEST,
        "ordinary",
        f"{who} asked for {size} (order {order}, {flags}): an ordinary request that may reclaim, "
        f"do I/O and call filesystems, from zones {zones}.",
        evidence,
        data,
    )


# ------------------------------------------------------------------------------ 2. free pages


def _reserve_index(event: OomEvent, zones_allowed: Sequence[str]) -> int:
    """The lowmem_reserve[] index of the request's class zone (its highest allowed zone)."""
    configured = _configured_zones(event)
    highest = zones_allowed[-1] if zones_allowed else "Normal"
    if highest in configured:
        return configured.index(highest)
    return max(0, len(configured) - 1)


def _zone_label(zone: Zone) -> str:
    return f"Node {zone.node} {zone.name}" if zone.node is not None else zone.name


def _free_pages_step(
    event: OomEvent, lines: _Lines, zones_allowed: tuple[str, ...] | None
) -> ReplayStep:
    page_kib, _ = page_kib_for(event)
    zones = event.memory.zones
    if _is_memcg(event):
        return _step(
            StepName.FREE_PAGES,
            "not_applicable",
            "A memory cgroup hit its limit: the charge failed, whatever the zones' free pages.",
            lines.evidence([event.summary.line if event.summary else None]),
            {"zones": []},
        )
    if not zones:
        return _step(
            StepName.FREE_PAGES,
            "unknown",
            "The report has no per-zone lines, so free memory against the watermarks is unknown.",
            (),
            {"zones": []},
        )
    nodes, _ = _allowed_nodes(event)
    allowed = set(zones_allowed) if zones_allowed is not None else None
    reserve_index = _reserve_index(event, zones_allowed or ())
    order = event.trigger.order if event.trigger.order is not None else 0
    rows: list[dict[str, Any]] = []
    evidence_lines: list[int] = []
    node_free: dict[int | None, int] = {}
    for zone in zones:
        usable = (allowed is None or zone.name in allowed) and (
            nodes is None or zone.node is None or zone.node in nodes
        )
        reserve_pages = None
        if zone.lowmem_reserve_pages and zone.lowmem_reserve_complete:
            idx = min(reserve_index, len(zone.lowmem_reserve_pages) - 1)
            reserve_pages = zone.lowmem_reserve_pages[idx]
        reserve_kib = reserve_pages * page_kib if reserve_pages is not None else 0
        below_min = below_low = None
        if zone.free_kib is not None and zone.min_kib is not None:
            below_min = zone.free_kib <= zone.min_kib + reserve_kib
        if zone.free_kib is not None and zone.low_kib is not None:
            below_low = zone.free_kib <= zone.low_kib + reserve_kib
        largest = _largest_block_kib(event, zone)
        rows.append(
            {
                "node": zone.node,
                "zone": zone.name,
                "usable": usable,
                "free_kib": zone.free_kib,
                "min_kib": zone.min_kib,
                "low_kib": zone.low_kib,
                "high_kib": zone.high_kib,
                "reserve_kib": reserve_kib if reserve_pages is not None else None,
                "below_min": below_min,
                "below_low": below_low,
                "largest_free_block_kib": largest,
                "line": zone.line,
            }
        )
        if usable:
            evidence_lines.append(zone.line)
            if zone.free_kib is not None:
                node_free[zone.node] = node_free.get(zone.node, 0) + zone.free_kib
    usable_rows = [r for r in rows if r["usable"]]
    known = [r for r in usable_rows if r["below_min"] is not None]
    below = [r for r in known if r["below_min"]]
    near = [r for r in known if not r["below_min"] and _near_min(r)]
    above = [r for r in known if not r["below_min"] and not _near_min(r)]
    need_kib = page_kib << max(order, 0)
    fragmented = None
    # Zones above their minimum could still fail a high-order request with no block that big.
    open_rows = [r for r in usable_rows if r["below_min"] is False]
    if order > 0 and open_rows and all(r["largest_free_block_kib"] is not None for r in open_rows):
        fragmented = all(r["largest_free_block_kib"] < need_kib for r in open_rows)
    imbalance = None
    if len(node_free) > 1:
        nodes_below = {r["node"] for r in below}
        nodes_fine = {r["node"] for r in above} - nodes_below
        imbalance = bool(nodes_below) and bool(nodes_fine)
    data: dict[str, Any] = {
        "zones": rows,
        "reserve_index": reserve_index,
        "usable_zones": len(usable_rows),
        "zones_below_min": [_zone_key(r) for r in below],
        "zones_near_min": [_zone_key(r) for r in near],
        "free_usable_kib": sum(r["free_kib"] or 0 for r in usable_rows),
        "numa_imbalance": imbalance,
        "fragmented": fragmented,
    }
    evidence = lines.evidence(evidence_lines)
    names = ", ".join(_zone_text(r) for r in (below + near or usable_rows)[:4])
    if rows and not usable_rows:
        shown = ", ".join(_zone_key(r) for r in rows[:6])
        return _step(
            StepName.FREE_PAGES,
            "no_usable_zone",
            f"None of the zones printed for the allowed nodes ({shown}) may serve this request "
            f"(zones up to {zones_allowed[-1] if zones_allowed else '?'}): free memory there "
            "could not help.",
            lines.evidence(r["line"] for r in rows[:6]),
            data,
        )
    if not known:
        return _step(
            StepName.FREE_PAGES,
            "unknown",
            "No zone the request may use shows both free pages and a min watermark.",
            evidence,
            data,
        )
    if len(below) == len(known):
        verdict = "exhausted"
        text = f"Every zone the request may use was at or below its minimum: {names}."
    elif not above:
        verdict = "near_min"
        text = (
            f"Every usable zone was at or within {NEAR_MIN_PCT}% of its minimum: {names} "
            "(the counters are read after the failure, so a zone may have recovered a little)."
        )
    elif below:
        verdict, text = "partial", f"Some usable zones were at or below their minimum: {names}."
    else:
        verdict = "above_min"
        text = (
            "No usable zone was near its minimum ("
            + ", ".join(_zone_text(r) for r in usable_rows[:4])
            + ")"
        )
        text += "."
    if fragmented:
        text += (
            f" No zone above its minimum had a free block of {_fmt_kib(need_kib)} "
            f"(order {order}): fragmentation."
        )
    if imbalance:
        text += " Some allowed nodes were exhausted while others still had free memory."
    return _step(StepName.FREE_PAGES, verdict, text, evidence, data)


def _near_min(row: dict[str, Any]) -> bool:
    free, low = row["free_kib"], row["min_kib"]
    if free is None or low is None:
        return False
    return bool(free * 100 <= (low + (row["reserve_kib"] or 0)) * (100 + NEAR_MIN_PCT))


def _zone_key(row: dict[str, Any]) -> str:
    return f"{'' if row['node'] is None else row['node']}:{row['zone']}"


def _zone_text(row: dict[str, Any]) -> str:
    node = f"Node {row['node']} " if row["node"] is not None else ""
    text = f"{node}{row['zone']} {_fmt_kib(row['free_kib'])} free vs min {_fmt_kib(row['min_kib'])}"
    if row["reserve_kib"]:
        text += f" + reserve {_fmt_kib(row['reserve_kib'])}"
    return text


def _largest_block_kib(event: OomEvent, zone: Zone) -> int | None:
    for area in event.memory.free_areas:
        if area.zone == zone.name and area.node == zone.node:
            sizes = [b.block_kib for b in area.buckets if b.count > 0]
            return max(sizes) if sizes else 0
    return None


# ------------------------------------------------------------------------------ 3. reclaim


def _is_memcg(event: OomEvent) -> bool:
    if event.constraint == Constraint.MEMCG:
        return True
    kill = event.victim
    if kill is not None and (kill.message or "").startswith("Memory cgroup"):
        return True
    return event.memcg is not None and event.memcg.limit_kib is not None


def _stats_kib(stats: Sequence[MemcgStats]) -> dict[str, int]:
    """The OOM cgroup's memory.stat in kB.

    v1 one-liners (``Memory cgroup stats for /a: cache:0KB rss:980KB ...``, kB) hold each
    cgroup's own pages, one line per cgroup of the subtree, so they are summed; a
    memory.stat-style dump (bytes) is already hierarchical, so only the first one is read.
    """
    if not stats:
        return {}
    out: dict[str, int] = {}
    if stats[0].unit.lower() == "kb":
        for dump in stats:
            if dump.unit.lower() != "kb":
                continue
            for key, value in dump.values:
                out[key] = out.get(key, 0) + value
        return out
    for key, value in stats[0].values:
        out[key] = value // 1024
    return out


def _reclaim_step(event: OomEvent, lines: _Lines, decoding: GfpDecoding | None) -> ReplayStep:
    if _is_memcg(event):
        return _memcg_reclaim(event, lines)
    return _global_reclaim(event, lines, decoding)


def _memcg_reclaim(event: OomEvent, lines: _Lines) -> ReplayStep:
    memcg = event.memcg
    ev = lines.evidence(lines.all("memory: usage", "memory+swap: usage", "swap: usage"))
    if memcg is None or memcg.usage_kib is None or memcg.limit_kib is None:
        return _step(
            StepName.RECLAIM,
            "unknown",
            "The cgroup's usage and limit lines are not in the report.",
            ev,
            {"scope": "memcg"},
        )
    stats = _stats_kib(memcg.stats)
    file_kib = stats.get("file", stats.get("cache"))
    anon_kib = stats.get("anon", stats.get("rss"))
    shmem_kib = stats.get("shmem")
    inactive_file = stats.get("inactive_file", stats.get("total_inactive_file"))
    active_file = stats.get("active_file", stats.get("total_active_file"))
    unevictable = stats.get("unevictable")
    swap_room_kib: int | None = None
    swap_scope = None
    # An unlimited swap.max / memsw limit leaves the room to the system's swap, which a memcg
    # report does not print: the room is then unknown.
    if memcg.swap_limit_kib is not None and memcg.swap_usage_kib is not None:
        if memcg.swap_limit_kib < UNLIMITED_KIB:
            swap_room_kib = max(0, memcg.swap_limit_kib - memcg.swap_usage_kib)
            swap_scope = "swap.max"
    elif memcg.memsw_limit_kib is not None and memcg.memsw_usage_kib is not None:
        # memsw usage 0 means swap accounting is off (v1 swapaccount=0).
        if memcg.memsw_usage_kib > 0 and memcg.memsw_limit_kib < UNLIMITED_KIB:
            swap_room_kib = max(0, memcg.memsw_limit_kib - memcg.memsw_usage_kib)
            swap_scope = "memory+swap"
    reclaimable_file = None
    if inactive_file is not None and active_file is not None:
        reclaimable_file = inactive_file + active_file - (shmem_kib or 0 if "file" in stats else 0)
    elif file_kib is not None:
        reclaimable_file = file_kib - (shmem_kib or 0)
    reclaimable_file = max(0, reclaimable_file) if reclaimable_file is not None else None
    limit = memcg.limit_kib
    data: dict[str, Any] = {
        "scope": "memcg",
        "usage_kib": memcg.usage_kib,
        "limit_kib": limit,
        "usage_pct": round(100 * memcg.usage_kib / limit, 1) if limit else None,
        "failcnt": memcg.failcnt,
        "swap_usage_kib": memcg.swap_usage_kib,
        "swap_limit_kib": memcg.swap_limit_kib,
        "memsw_usage_kib": memcg.memsw_usage_kib,
        "memsw_limit_kib": memcg.memsw_limit_kib,
        "swap_room_kib": swap_room_kib,
        "swap_limit_source": swap_scope,
        "anon_kib": anon_kib,
        "file_kib": file_kib,
        "shmem_kib": shmem_kib,
        "unevictable_kib": unevictable,
        "reclaimable_file_kib": reclaimable_file,
        "kmem_usage_kib": memcg.kmem_usage_kib,
    }
    over = memcg.usage_kib > limit
    head = (
        f"The cgroup {memcg.limit_path or ''} used {_fmt_kib(memcg.usage_kib)} of its "
        f"{_fmt_kib(limit)} limit"
    ).replace("cgroup  ", "cgroup ")
    head += " (above it: the limit was lowered below the charge)" if over else ""
    parts = [head]
    if reclaimable_file is not None:
        parts.append(f"page cache left to reclaim: {_fmt_kib(reclaimable_file)}")
    if swap_room_kib is not None:
        parts.append(f"swap room within its {swap_scope} limit: {_fmt_kib(swap_room_kib)}")
    small = reclaimable_file is not None and reclaimable_file <= SMALL_SHARE * limit
    if swap_room_kib is not None and swap_room_kib > SMALL_SHARE * limit and small:
        verdict = "swap_available"
        parts.append("so anon pages could still have gone to swap")
    elif small and (swap_room_kib is None or swap_room_kib <= SMALL_SHARE * limit):
        verdict = "exhausted"
        parts.append("so reclaim had almost nothing it could free")
    elif unevictable is not None and unevictable > limit // 2:
        verdict = "blocked"
        parts.append(f"{_fmt_kib(unevictable)} of it is unevictable")
    elif reclaimable_file is None:
        verdict = "limit_reached"
    else:
        verdict = "cache_left"
        parts.append("a sizeable cache was left, so reclaim was likely thrashing or blocked")
    return _step(StepName.RECLAIM, verdict, "; ".join(parts) + ".", ev, data)


def _global_reclaim(event: OomEvent, lines: _Lines, decoding: GfpDecoding | None) -> ReplayStep:
    mem = event.memory
    info = mem.meminfo
    page_kib, _ = page_kib_for(event)
    swap_total = event.swap_total_kib
    swap_free = event.swap_free_kib
    ev_lines: list[int | None] = [info.first_line if info else None]
    ev_lines += lines.all("Free swap", "Total swap")
    ev = lines.evidence(ev_lines)
    if info is None:
        return _step(
            StepName.RECLAIM,
            "unknown",
            "The report has no Mem-Info counters, so what reclaim had left is unknown.",
            ev,
            {"scope": "global", "swap_total_kib": swap_total, "swap_free_kib": swap_free},
        )
    file_pages = _sum(info.active_file_pages, info.inactive_file_pages)
    anon_pages = _sum(info.active_anon_pages, info.inactive_anon_pages)
    unreclaimable_nodes = [n.node for n in mem.nodes if n.all_unreclaimable]
    unreclaimable_zones = [_zone_label(z) for z in mem.zones if z.all_unreclaimable]
    mlocked_kib = _sum(*(z.mlocked_kib for z in mem.zones)) if mem.zones else None
    huge_kib = sum(h.total * h.size_kib for h in mem.hugepages) if mem.hugepages else None
    huge_free_kib = sum(h.free * h.size_kib for h in mem.hugepages) if mem.hugepages else None
    ram_kib = _managed_kib(event)
    caps = decoding.capabilities if decoding is not None else None
    data: dict[str, Any] = {
        "scope": "global",
        "file_kib": _kib(file_pages, page_kib),
        "active_file_kib": _kib(info.active_file_pages, page_kib),
        "inactive_file_kib": _kib(info.inactive_file_pages, page_kib),
        "dirty_kib": _kib(info.dirty_pages, page_kib),
        "writeback_kib": _kib(info.writeback_pages, page_kib),
        "anon_kib": _kib(anon_pages, page_kib),
        "shmem_kib": _kib(info.shmem_pages, page_kib),
        "unevictable_kib": _kib(info.unevictable_pages, page_kib),
        "mlocked_kib": mlocked_kib,
        "slab_reclaimable_kib": _kib(info.slab_reclaimable_pages, page_kib),
        "swap_total_kib": swap_total,
        "swap_free_kib": swap_free,
        "swap_cache_kib": _kib(mem.swap_cache_pages, page_kib),
        "hugepages_kib": huge_kib,
        "hugepages_free_kib": huge_free_kib,
        "all_unreclaimable_nodes": unreclaimable_nodes,
        "all_unreclaimable_zones": unreclaimable_zones,
        "managed_kib": ram_kib,
    }
    file_kib = data["file_kib"]
    slab_kib = data["slab_reclaimable_kib"]
    leftover = (file_kib or 0) + (slab_kib or 0)
    base = ram_kib or ((anon_pages or 0) + (file_pages or 0) + (info.free_pages or 0)) * page_kib
    small = base > 0 and leftover <= SMALL_SHARE * base
    no_swap = swap_total == 0
    swap_full = swap_total is not None and swap_free is not None and swap_free <= swap_total // 100
    parts = [
        f"Page cache on the LRU {_fmt_kib(file_kib)} (dirty {_fmt_kib(data['dirty_kib'])}, "
        f"writeback {_fmt_kib(data['writeback_kib'])}), reclaimable slab {_fmt_kib(slab_kib)}, "
        f"anon {_fmt_kib(data['anon_kib'])} (shmem {_fmt_kib(data['shmem_kib'])} of it)"
    ]
    if swap_total is None:
        parts.append("swap size not printed")
    elif no_swap:
        parts.append("no swap, so anon and shmem pages could not be reclaimed")
    else:
        parts.append(f"swap {_fmt_kib(swap_free)} free of {_fmt_kib(swap_total)}")
    if unreclaimable_nodes or unreclaimable_zones:
        parts.append("kswapd had given up (all_unreclaimable)")
    if event.manual or event.trigger.order == -1:
        verdict = "not_applicable"
        parts.append("the OOM killer was started by hand (sysrq-f), not by failed reclaim")
    elif caps is not None and (not caps.can_io or not caps.can_fs):
        verdict = "blocked"
        parts.append(
            "the request could not do I/O or call filesystems, so it could not swap or write back"
        )
    elif small and (no_swap or swap_full):
        verdict = "exhausted"
        parts.append("so reclaim had almost nothing left to free")
    elif small and swap_total is not None and not (no_swap or swap_full):
        verdict = "swap_available"
        parts.append("swap still had room, yet reclaim made no progress")
    elif not small:
        verdict = "cache_left"
        parts.append(
            "a sizeable page cache or slab was left, so reclaim was failing rather than empty"
        )
    else:
        verdict = "unknown"
    return _step(StepName.RECLAIM, verdict, "; ".join(parts) + ".", ev, data)


def _sum(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _managed_kib(event: OomEvent) -> int | None:
    page_kib, _ = page_kib_for(event)
    ram = event.memory.ram
    if ram is not None and ram.ram_pages is not None:
        return (ram.ram_pages - (ram.reserved_pages or 0)) * page_kib
    return None


# ------------------------------------------------------------------------------ 4. accounting


def _accounting_step(event: OomEvent, lines: _Lines) -> ReplayStep:
    if _is_memcg(event):
        return _memcg_accounting(event, lines)
    return _global_accounting(event, lines)


def _global_accounting(event: OomEvent, lines: _Lines) -> ReplayStep:
    """RAM = reserved + free + user anon + shmem + page cache (file LRU) + other unevictable +
    slab + page tables + kernel stacks + hugetlb pool + misc kernel + unaccounted (docs/replay.md).
    """
    mem = event.memory
    info = mem.meminfo
    ram = mem.ram
    page_kib, _ = page_kib_for(event)
    ev = lines.evidence([info.first_line if info else None, ram.first_line if ram else None])
    if info is None or ram is None or ram.ram_pages is None:
        return _step(
            StepName.ACCOUNTING,
            "unknown",
            "The report lacks the Mem-Info counters or the RAM summary: RAM cannot be broken down.",
            ev,
            {"scope": "global"},
        )
    p = page_kib
    anon_lru = (
        _sum(info.active_anon_pages, info.inactive_anon_pages, info.isolated_anon_pages) or 0
    ) * p
    file_lru = (
        _sum(info.active_file_pages, info.inactive_file_pages, info.isolated_file_pages) or 0
    ) * p
    unevictable = (info.unevictable_pages or 0) * p
    shmem = (info.shmem_pages or 0) * p
    # shmem is swap-backed: it sits on the anon LRU, or on the unevictable list when locked.
    shmem_on_anon = min(shmem, anon_lru)
    shmem_unevictable = min(shmem - shmem_on_anon, unevictable)
    kernel_stack = _sum(*(n.kernel_stack_kib for n in mem.nodes)) or _sum(
        *(z.kernel_stack_kib for z in mem.zones)
    )
    pagetables = (_sum(info.pagetables_pages, info.sec_pagetables_pages) or 0) * p
    free = (_sum(info.free_pages, info.free_pcp_pages) or 0) * p
    huge = sum(h.total * h.size_kib for h in mem.hugepages)
    parts: dict[str, int] = {
        "free_kib": free,
        "user_anon_kib": anon_lru - shmem_on_anon,
        "shmem_kib": shmem_on_anon + shmem_unevictable,
        "page_cache_kib": file_lru,
        "unevictable_other_kib": unevictable - shmem_unevictable,
        "slab_reclaimable_kib": (info.slab_reclaimable_pages or 0) * p,
        "slab_unreclaimable_kib": (info.slab_unreclaimable_pages or 0) * p,
        "pagetables_kib": pagetables,
        "kernel_stack_kib": kernel_stack or 0,
        "hugepages_kib": huge,
        "kernel_misc_kib": ((info.kernel_misc_reclaimable_pages or 0) + (info.bounce_pages or 0))
        * p,
    }
    total_kib = ram.ram_pages * p
    reserved = (ram.reserved_pages or 0) * p
    managed = total_kib - reserved
    counted = sum(parts.values())
    parts["unaccounted_kib"] = managed - counted
    parts["reserved_kib"] = reserved
    biggest = max(
        (k for k in parts if k not in ("reserved_kib",)),
        key=lambda k: parts[k],
    )
    verdict = biggest.removesuffix("_kib")
    shares = {k: round(100 * v / total_kib, 1) if total_kib else None for k, v in parts.items()}
    data: dict[str, Any] = {
        "scope": "global",
        "ram_kib": total_kib,
        "managed_kib": managed,
        "parts_kib": parts,
        "parts_pct": shares,
        "overlaps_not_added": {
            "mapped_kib": _kib(info.mapped_pages, p),
            "dirty_kib": _kib(info.dirty_pages, p),
            "writeback_kib": _kib(info.writeback_pages, p),
            "swap_cache_kib": _kib(mem.swap_cache_pages, p),
            "pagecache_total_kib": _kib(mem.pagecache_pages, p),
        },
        "kernel_stack_printed": kernel_stack is not None,
    }
    top = sorted(
        ((k, v) for k, v in parts.items() if k != "reserved_kib" and v > 0), key=lambda kv: -kv[1]
    )[:3]
    text = (
        f"Of {_fmt_kib(total_kib)} RAM ({_fmt_kib(reserved)} reserved), the largest parts: "
        + ", ".join(
            f"{k.removesuffix('_kib').replace('_', ' ')} {_fmt_kib(v)} ({shares[k]}%)"
            for k, v in top
        )
    )
    return _step(StepName.ACCOUNTING, verdict, text + ".", ev, data)


def _memcg_accounting(event: OomEvent, lines: _Lines) -> ReplayStep:
    memcg = event.memcg
    stats = _stats_kib(memcg.stats) if memcg is not None else {}
    ev = lines.evidence(lines.all("Memory cgroup stats for"))
    if memcg is None or not stats:
        return _step(
            StepName.ACCOUNTING,
            "unknown",
            "The cgroup's memory.stat is not in the report, so its charge cannot be broken down.",
            ev,
            {"scope": "memcg"},
        )
    if "anon" in stats:  # cgroup v2 memory.stat (file includes shmem)
        shmem = stats.get("shmem", 0)
        kernel = stats.get("kernel")
        if kernel is None:
            kernel = sum(
                stats.get(k, 0)
                for k in ("kernel_stack", "pagetables", "percpu", "sock", "slab", "vmalloc")
            ) or sum(stats.get(k, 0) for k in ("slab_reclaimable", "slab_unreclaimable"))
        parts = {
            "user_anon_kib": stats["anon"],
            "shmem_kib": shmem,
            "page_cache_kib": max(0, stats.get("file", 0) - shmem),
            "kernel_kib": kernel,
        }
    else:  # cgroup v1: cache includes shmem; kmem is a separate counter
        shmem = stats.get("shmem", 0)
        parts = {
            "user_anon_kib": stats.get("rss", 0),
            "shmem_kib": shmem,
            "page_cache_kib": max(0, stats.get("cache", 0) - shmem),
            "kernel_kib": memcg.kmem_usage_kib or 0,
        }
    usage = memcg.usage_kib
    if usage is not None:
        parts["unaccounted_kib"] = usage - sum(parts.values())
    biggest = max(parts, key=lambda k: parts[k])
    base = usage or sum(v for v in parts.values() if v > 0)
    shares = {k: round(100 * v / base, 1) if base else None for k, v in parts.items()}
    text = f"The cgroup's {_fmt_kib(usage)} charge: " + ", ".join(
        f"{k.removesuffix('_kib').replace('_', ' ')} {_fmt_kib(v)}" for k, v in parts.items()
    )
    data: dict[str, Any] = {
        "scope": "memcg",
        "usage_kib": usage,
        "parts_kib": parts,
        "parts_pct": shares,
        "swap_kib": stats.get("swap"),
        "stats_path": memcg.stats[0].path if memcg.stats else None,
    }
    return _step(StepName.ACCOUNTING, biggest.removesuffix("_kib"), text + ".", ev, data)


# ------------------------------------------------------------------------------ 5. victim selection


def _chosen_pid(event: OomEvent) -> int | None:
    """The task the kernel selected: the score line's pid, else the summary's, else the kill's."""
    if event.selected is not None:
        return event.selected.pid
    if event.summary is not None and event.summary.pid is not None:
        return event.summary.pid
    victim = event.victim
    if victim is not None:
        return victim.pid
    # A reaper line can be the only trace of a kill whose "Killed process" line is missing.
    return event.reaps[0].pid if event.reaps else None


def _rank_of(ranking: Sequence[RankedTask], pid: int | None) -> int | None:
    for i, task in enumerate(ranking, 1):
        if task.pid == pid:
            return i if task.eligible else None
    return None


def _row(item: RankedTask, rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "pid": item.pid,
        "name": item.name,
        "points": item.points,
        "score": item.score,
        "eligible": item.eligible,
        "victim": item.is_victim,
        "trigger": item.is_trigger,
    }


def _victim_step(
    event: OomEvent, lines: _Lines
) -> tuple[
    ReplayStep, tuple[RankedTask, ...], Algorithm | None, int | None, int | None, int | None
]:
    algorithm, why = algorithm_for(event)
    total = totalpages_for(event, algorithm)
    selected = event.selected
    victim = event.victim
    chosen = _chosen_pid(event)
    printed = selected.score if selected is not None else None
    ev = lines.evidence(
        [
            lines.first("Tasks state", "[ pid ]", "[  pid  ]"),
            *[
                t.line
                for t in event.tasks or ()
                if t.pid in (chosen, victim.pid if victim else None)
            ],
            selected.line if selected else None,
            victim.line if victim else None,
        ]
    )
    data: dict[str, Any] = {
        "algorithm": algorithm.value,
        "algorithm_basis": why,
        "totalpages": total.pages,
        "totalpages_basis": total.basis,
        "totalpages_exact": total.exact,
        "totalpages_assumption": total.assumption,
        "selected_pid": chosen,
        "killed_pid": victim.pid if victim else None,
        "printed_score": printed,
        "recomputed_score": None,
        "victim_rank": None,
        "ranking": [],
        "reasons": [],
    }
    if event.tasks is None:
        return (
            _step(
                StepName.VICTIM_SELECTION,
                "unknown",
                "No task table was printed, so the choice cannot be re-checked.",
                ev,
                data,
            ),
            (),
            algorithm,
            total.pages,
            None,
            None,
        )
    if not algorithm.recomputable:
        return (
            _step(
                StepName.VICTIM_SELECTION,
                "not_recomputable",
                "This kernel's badness() uses CPU time, run time, nice and children, none of which "
                "the log shows: the choice cannot be recomputed.",
                ev,
                data,
            ),
            (),
            algorithm,
            total.pages,
            None,
            None,
        )
    eligible_rows = [t for t in event.tasks if t.oom_score_adj != -1000 and t.oom_adj != -17]
    if not eligible_rows:
        data["ranking"] = []
        text = "The task table has no killable task (all exempt or empty)"
        text += ": the kernel found nothing to kill." if victim is None else "."
        return (
            _step(StepName.VICTIM_SELECTION, "no_candidates", text, ev, data),
            (),
            algorithm,
            total.pages,
            None,
            None,
        )
    denominator = total.pages
    reasons: list[str] = []
    if denominator is None:
        # The adj term is adj * (totalpages / 1000): when every candidate has the same adj it
        # shifts all of them alike, so the order holds without knowing totalpages.
        adjs = {t.oom_score_adj or 0 for t in event.tasks if t.oom_score_adj != -1000}
        same_adj = len(adjs) <= 1
        dominant = _dominates(event, chosen)
        if not (same_adj or dominant) or algorithm in (
            Algorithm.PER_MILLE,
            Algorithm.PAGES_ROOT_ADJ,
        ):
            data["ranking"] = []
            return (
                _step(
                    StepName.VICTIM_SELECTION,
                    "unknown",
                    f"totalpages is unknown ({total.assumption}); the ranking depends on it.",
                    ev,
                    data,
                ),
                (),
                algorithm,
                None,
                None,
                None,
            )
        denominator = 1000
        why = (
            "every candidate has the same oom_score_adj"
            if same_adj
            else "the choice has both the most pages and the highest oom_score_adj, so it ranks "
            "first for any totalpages"
        )
        reasons.append(
            f"totalpages unknown: ranked by rss + page tables + swap ({why}); "
            "points shown without the adj term"
        )
        data["points_without_adj"] = True
    ranking = rank_tasks(event, algorithm, denominator, ignore_adj=total.pages is None)
    chosen_row = next((t for t in event.tasks if t.pid == chosen), None)
    page_kib, _ = page_kib_for(event)
    no_bonus: frozenset[int] = frozenset()
    recomputed: int | None = None
    if chosen_row is not None and total.pages is not None:
        bonus = algorithm.root_bonus and chosen_row.uid == 0
        pts = points_for(chosen_row, algorithm, total.pages, page_kib, bonus=bonus)
        recomputed = score_for(pts, algorithm, total.pages) if pts is not None else None
        if printed is not None and recomputed != printed and bonus:
            alt_pts = points_for(chosen_row, algorithm, total.pages, page_kib, bonus=False)
            alt = score_for(alt_pts, algorithm, total.pages) if alt_pts is not None else None
            if alt == printed:
                recomputed = alt
                no_bonus = frozenset({chosen_row.pid})
                reasons.append(
                    f"pid {chosen_row.pid} runs as uid 0 but its printed score shows no "
                    "CAP_SYS_ADMIN bonus (a container or a dropped capability)"
                )
                ranking = rank_tasks(event, algorithm, total.pages, no_bonus_pids=no_bonus)
    if printed is not None and recomputed is not None and recomputed != printed:
        base = base_pages(chosen_row, page_kib) if chosen_row is not None else None
        if algorithm is not Algorithm.PER_MILLE and base is not None and chosen_row is not None:
            adj_free = (chosen_row.oom_score_adj or 0) == 0
            implied = implied_totalpages(base, printed) if adj_free else None
            data["implied_totalpages"] = list(implied) if implied else None
        reasons.append(_score_difference_reason(recomputed, printed, total, ranking))
    rank = _rank_of(ranking.tasks, chosen)
    # Unprinted swap entries (RHEL6-style tables) can reorder everything when swap is in use
    # and the printed score shows the victim held more than its rss.
    swap_hidden = "swapents" in ranking.missing_columns and event.swap_total_kib != 0
    hidden = swap_hidden and printed is not None and recomputed is not None and recomputed < printed
    data["recomputed_score"] = recomputed
    data["complete_inputs"] = ranking.complete_inputs
    data["missing_columns"] = list(ranking.missing_columns)
    top = list(ranking.tasks[:RANKING_TOP])
    for i, item in enumerate(ranking.tasks, 1):
        if i > RANKING_TOP and (item.is_victim or item.is_trigger or item.pid == chosen):
            top.append(item)
    data["ranking"] = [_row(item, ranking.tasks.index(item) + 1) for item in top]
    if hidden:
        rank = None
        verdict = "not_recomputable"
        text = (
            "The task table does not print swap entries or page tables, and the printed score is "
            "higher than rss alone gives: the kernel counted memory the table does not show, so "
            "the ranking cannot be re-checked."
        )
    else:
        verdict, text = _selection_verdict(event, ranking, rank, chosen, algorithm, reasons)
    data["victim_rank"] = rank
    data["reasons"] = reasons
    if printed is not None:
        text += (
            f" Printed score {printed}, recomputed {recomputed if recomputed is not None else '?'}."
        )
    return (
        _step(StepName.VICTIM_SELECTION, verdict, text, ev, data),
        ranking.tasks,
        algorithm,
        total.pages,
        rank,
        recomputed,
    )


def _dominates(event: OomEvent, chosen: int | None) -> bool:
    """The chosen row has at least the pages and the oom_score_adj of every other candidate."""
    page_kib, _ = page_kib_for(event)
    rows = [t for t in event.tasks or () if t.oom_score_adj != -1000]
    mine = next((t for t in rows if t.pid == chosen), None)
    if mine is None:
        return False
    base = base_pages(mine, page_kib)
    if base is None:
        return False
    for other in rows:
        other_base = base_pages(other, page_kib)
        if other_base is None or other_base > base:
            return False
        if (other.oom_score_adj or 0) > (mine.oom_score_adj or 0):
            return False
    return True


def _score_difference_reason(
    recomputed: int, printed: int, total: Totalpages, ranking: Ranking
) -> str:
    """Which unprinted input explains a recomputed score that differs from the printed one."""
    # Missing columns can only add points, so they explain a recomputed score that is too low.
    if recomputed < printed and not ranking.complete_inputs:
        return (
            "the task table does not print "
            + ", ".join(ranking.missing_columns)
            + ", which the kernel counted"
        )
    if not total.exact and total.assumption:
        return f"totalpages is not exact: {total.assumption}"
    return "the RSS counters lag and the table is printed after selection"


def _selection_verdict(
    event: OomEvent,
    ranking: Ranking,
    rank: int | None,
    chosen: int | None,
    algorithm: Algorithm,
    reasons: list[str],
) -> tuple[str, str]:
    victim = event.victim
    top = ranking.tasks[0] if ranking.tasks else None
    message = (victim.message if victim else None) or (
        event.selected.message if event.selected else None
    )
    if message and "oom_kill_allocating_task" in message:
        reasons.append("vm.oom_kill_allocating_task: the allocating task is killed, no ranking")
        return (
            "explained",
            "vm.oom_kill_allocating_task is set: the allocating task was killed without ranking.",
        )
    if chosen is None:
        if top is None:
            return "unknown", "No task could be ranked."
        return (
            "no_victim",
            f"No task was killed; the recomputed top candidate is {top.name} ({top.pid}) "
            f"with {top.points} points.",
        )
    if victim is not None and event.selected is not None and victim.pid != event.selected.pid:
        reasons.append(
            f"child sacrifice: {event.selected.comm} ({event.selected.pid}) was selected and its "
            f"child {victim.comm} ({victim.pid}) was killed instead"
        )
    if rank is None:
        in_table = any(t.pid == chosen for t in event.tasks or ())
        if not in_table:
            reasons.append("the selected task is not in the task table (the table may be cut)")
            return "unknown", f"The selected task {chosen} is not in the printed task table."
        reasons.append("the selected task is listed as exempt (oom_score_adj -1000)")
        return (
            "mismatch",
            f"The selected task {chosen} is exempt in the table; the log cannot tell why.",
        )
    assert top is not None
    chosen_item = ranking.tasks[rank - 1]
    scope = ""
    if event.memcg is not None and event.memcg.limit_path and _is_memcg(event):
        scope = f" in the cgroup {event.memcg.limit_path} (the table lists only its members)"
    head = (
        f"{algorithm.value} badness of {sum(1 for t in ranking.tasks if t.eligible)} eligible "
        f"tasks{scope}: the kernel's choice {chosen_item.name} ({chosen}) ranks #{rank} "
        f"with {chosen_item.points} points"
    )
    if rank == 1:
        return "confirmed", head + ", as recomputed."
    head += f"; the top is {top.name} ({top.pid}) with {top.points}"
    if chosen_item.points == top.points:
        reasons.append("tie: equal points, the iteration order decided")
        return "tie", head + " (a tie; the kernel's task order decided)."
    if algorithm.root_bonus:
        above = ranking.tasks[: rank - 1]
        if all(t.eligible for t in above) and all(
            _uid(event, t.pid) != 0 and t.points - t.points * 3 // 100 <= chosen_item.points
            for t in above
        ):
            reasons.append(
                "CAP_SYS_ADMIN is not printed: the tasks ranked above would fall below the choice "
                "with the 3% bonus (uid 0 is only a proxy)"
            )
            return (
                "explained",
                head + "; an unprinted CAP_SYS_ADMIN bonus on them would explain it.",
            )
    gap = top.points - chosen_item.points
    if gap * 100 <= max(1, top.points):
        reasons.append("within 1%: RSS counters lag and the table is printed after selection")
        return "explained", head + "; within 1%, inside the counters' lag."
    if any(r.pid == top.pid for r in event.reaps) or top.pid in {k.pid for k in event.kills[1:]}:
        reasons.append("the top-ranked task was already being killed (MMF_OOM_SKIP)")
        return "explained", head + "; the top task was already an OOM victim."
    reasons.append(
        "the log cannot tell: possibly an exiting task, a vfork child, an already-reaped mm or "
        "a task outside the allowed nodes"
    )
    return "mismatch", head + "; the log does not show why."


def _uid(event: OomEvent, pid: int) -> int | None:
    for task in event.tasks or ():
        if task.pid == pid:
            return task.uid
    return None


# ------------------------------------------------------------------------------ 6. outcome


def _outcome_step(event: OomEvent, lines: _Lines) -> ReplayStep:
    victim = event.victim
    page_kib, _ = page_kib_for(event)
    no_killable = lines.first("no killable processes")
    panic_line = lines.first("Kernel panic")
    data: dict[str, Any] = {
        "killed_pid": victim.pid if victim else None,
        "killed_comm": victim.comm if victim else None,
        "kills": len(event.kills),
        "group_kill": lines.first("memory.oom.group") is not None,
        "rss_at_kill_kib": None,
        "reaped": event.reaped,
        "reap_success": None,
        "rss_after_reap_kib": None,
        "freed_kib": None,
        "reap_delay_s": None,
        "panic": event.panic,
        "no_killable": no_killable is not None,
        "complete": event.complete,
    }
    ev_lines: list[int | None] = [k.line for k in event.kills[:3]]
    ev_lines += [r.line for r in event.reaps[:3]]
    ev_lines += [no_killable, panic_line]
    ev = lines.evidence(ev_lines)
    if event.panic:
        reason = (
            "panic_on_oom"
            if "panic_on_oom" in event.panic
            else (
                "no_killable"
                if "no killable" in event.panic
                else ("deadlock" if "deadlocked" in event.panic else "other")
            )
        )
        data["panic_reason"] = reason
        text = f"The kernel panicked: {event.panic.strip()}"
        return _step(StepName.OUTCOME, "panic", text + ".", ev, data)
    if victim is None:
        if event.kind is EventKind.ALLOCATION_FAILURE:
            return _step(
                StepName.OUTCOME,
                "allocation_failed",
                "The allocation failed and was reported; the OOM killer was not invoked.",
                lines.evidence([lines.first("page allocation failure", "allocation stalls")]),
                data,
            )
        exiting = lines.first("is already exiting")
        if exiting is not None:
            return _step(
                StepName.OUTCOME,
                "no_victim",
                "The selected task was already exiting, so the kernel skipped the kill and let "
                "it free its memory.",
                lines.evidence([exiting]),
                data,
            )
        if no_killable is not None:
            return _step(
                StepName.OUTCOME,
                "no_victim",
                "The kernel found no killable process and killed nothing.",
                ev,
                data,
            )
        reap = event.reaps[0] if event.reaps else None
        if reap is not None:
            data["reap_success"] = reap.success
            return _step(
                StepName.OUTCOME,
                "reaped" if reap.success else "reap_failed",
                f"Only the reaper line survived: {reap.comm} ({reap.pid}) "
                + ("was reaped." if reap.success else "could not be reaped."),
                ev,
                data,
            )
        if not event.complete:
            return _step(
                StepName.OUTCOME, "incomplete", "The report ends before any kill line.", ev, data
            )
        return _step(StepName.OUTCOME, "unknown", "The report shows no kill.", ev, data)
    rss = _sum(victim.anon_rss_kib, victim.file_rss_kib, victim.shmem_rss_kib)
    data["rss_at_kill_kib"] = rss
    reap = next((r for r in event.reaps if r.pid == victim.pid), None)
    who = f"{victim.comm or '?'} ({victim.pid})"
    text = f"The kernel killed {who}"
    if rss is not None:
        text += f" holding {_fmt_kib(rss)} resident"
    if len(event.kills) > 1:
        text += f", and {len(event.kills) - 1} more task(s)"
    if reap is None:
        text += "; no oom_reaper line follows"
        verdict = "killed"
    elif not reap.success:
        data["reap_success"] = False
        text += "; the oom_reaper could not reap it"
        verdict = "reap_failed"
    else:
        data["reap_success"] = True
        after = _sum(reap.anon_rss_kib, reap.file_rss_kib, reap.shmem_rss_kib)
        data["rss_after_reap_kib"] = after
        if rss is not None and after is not None:
            data["freed_kib"] = rss - after
            text += f"; the oom_reaper freed {_fmt_kib(rss - after)}"
        else:
            text += "; the oom_reaper reaped it"
        kill_time = _uptime(lines, victim.line)
        if reap.uptime_s is not None and kill_time is not None:
            delay = round(reap.uptime_s - kill_time, 6)
            data["reap_delay_s"] = delay
            text += f" {delay:g} s after the kill"
        verdict = "reaped"
    if not event.complete:
        text += " (the report is incomplete)"
    return _step(StepName.OUTCOME, verdict, text + ".", ev, data)


def _uptime(lines: _Lines, number: int) -> float | None:
    line = lines.by_number.get(number)
    return line.uptime_s if line is not None else None

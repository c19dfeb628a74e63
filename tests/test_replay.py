"""Replay steps and badness recomputation, per era, on events built directly and on synth text."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from oomlens import synth
from oomlens.api import analyze_text
from oomlens.badness import (
    Algorithm,
    algorithm_for,
    implied_totalpages,
    points_for,
    rank_tasks,
    score_for,
    totalpages_for,
)
from oomlens.model import (
    BuddyBucket,
    Envelope,
    EventKind,
    EventTime,
    FreeArea,
    HugePool,
    Kill,
    LogLine,
    Memcg,
    MemcgStats,
    MemInfo,
    MemoryState,
    NodeMemory,
    OomEvent,
    RamSummary,
    Reap,
    Selection,
    SourceLocation,
    StepName,
    Task,
    Trigger,
    Zone,
)
from oomlens.replay import replay
from oomlens.serialize import replay_to_json

# --------------------------------------------------------------------------- builders


def line(number: int, text: str, uptime: float | None = None) -> LogLine:
    return LogLine(path="t.log", number=number, text=text, envelope=Envelope.DMESG, uptime_s=uptime)


def task(
    pid: int,
    rss: int,
    *,
    name: str | None = None,
    uid: int = 1000,
    ptes: int | None = None,
    pgtables_bytes: int | None = None,
    swap: int | None = 0,
    adj: int = 0,
    line_no: int = 0,
) -> Task:
    return Task(
        pid=pid,
        name=name or f"t{pid}",
        uid=uid,
        tgid=pid,
        rss_pages=rss,
        nr_ptes=ptes,
        pgtables_bytes=pgtables_bytes,
        swapents=swap,
        oom_score_adj=adj,
        line=line_no,
    )


def build(
    *,
    release: str | None = "5.10.0",
    constraint: str | None = "CONSTRAINT_NONE",
    tasks: tuple[Task, ...] | None = None,
    victim: int | None = None,
    selected: tuple[int, int | None] | None = None,
    kill_message: str = "Out of memory",
    memory: MemoryState | None = None,
    swap_total_kib: int | None = 0,
    swap_free_kib: int | None = 0,
    gfp_mask: str | None = "0xcc0(GFP_KERNEL)",
    order: int | None = 0,
    trigger_pid: int | None = 1,
    memcg: Memcg | None = None,
    lines: tuple[LogLine, ...] = (),
    reaps: tuple[Reap, ...] = (),
    panic: str | None = None,
    complete: bool = True,
    manual: bool = False,
    kills: tuple[Kill, ...] | None = None,
    uptime: float | None = 100.0,
    host: str | None = "h",
    path: str = "t.log",
    wallclock: str | None = None,
) -> OomEvent:
    names = {t.pid: t.name for t in tasks or ()}
    if kills is None:
        kills = (
            ()
            if victim is None
            else (Kill(pid=victim, comm=names.get(victim, "v"), message=kill_message, line=90),)
        )
    return OomEvent(
        kind=EventKind.OOM_KILL if kills else EventKind.OOM_NO_KILL,
        source=SourceLocation(path=path, first_line=1, last_line=100),
        time=EventTime(uptime_s=uptime, wallclock=wallclock),
        host=host,
        kernel_release=release,
        trigger=Trigger(comm="alloc", pid=trigger_pid, gfp_mask=gfp_mask, order=order),
        constraint=constraint,
        manual=manual,
        memcg=memcg,
        swap_total_kib=swap_total_kib,
        swap_free_kib=swap_free_kib,
        tasks=tasks,
        kills=kills,
        selected=None
        if selected is None
        else Selection(
            pid=selected[0], comm=names.get(selected[0], "s"), score=selected[1], line=89
        ),
        reaps=reaps,
        panic=panic,
        complete=complete,
        memory=memory or MemoryState(),
        lines=lines,
    )


def ram(ram_pages: int, reserved: int) -> MemoryState:
    return MemoryState(
        ram=RamSummary(ram_pages=ram_pages, reserved_pages=reserved, first_line=50),
        page_size_kib=4,
    )


def data(event: OomEvent, step: StepName) -> dict[str, Any]:
    s = replay(event).step(step)
    assert s is not None
    return dict(s.data)


def verdict(event: OomEvent, step: StepName) -> str:
    s = replay(event).step(step)
    assert s is not None
    return s.verdict


# --------------------------------------------------------------------------- algorithm per era


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("2.6.32-5-amd64", Algorithm.HEURISTIC),
        ("2.6.28-11-generic", Algorithm.HEURISTIC),
        ("2.6.32-279.19.1.el6.x86_64", Algorithm.PER_MILLE),
        ("3.2.21", Algorithm.PER_MILLE),
        ("3.13.0-27-generic", Algorithm.PAGES_ROOT_ADJ),
        ("3.10.0-1160.el7.x86_64", Algorithm.PAGES_ROOT_PCT),
        ("4.9.0-gentoo", Algorithm.PAGES_ROOT_PCT),
        ("4.15.0-46-generic", Algorithm.PAGES_ROOT_PCT),
        ("4.19.0-6-amd64", Algorithm.PAGES),
        ("4.18.0-477.13.1.el8_8.x86_64", Algorithm.PAGES_UNPRINTED),
        ("5.4.0-100-generic", Algorithm.PAGES_UNPRINTED),
        ("5.10.0-21-amd64", Algorithm.SIGNED),
        ("6.8.0-50-generic", Algorithm.SIGNED),
    ],
)
def test_algorithm_from_release(release: str, expected: Algorithm) -> None:
    assert algorithm_for(build(release=release))[0] is expected


def test_algorithm_from_features_without_release() -> None:
    rhel6 = build(release=None, tasks=(task(1, 10),))
    rhel6 = _with_columns(
        rhel6, ("uid", "tgid", "total_vm", "rss", "cpu", "oom_adj", "oom_score_adj")
    )
    assert algorithm_for(rhel6)[0] is Algorithm.PER_MILLE
    v3 = _with_columns(
        build(release=None), ("uid", "tgid", "total_vm", "rss", "nr_ptes", "swapents")
    )
    assert algorithm_for(v3)[0] is Algorithm.PAGES_ROOT_PCT
    scored = _with_columns(
        build(release=None, selected=(1, 5)), ("rss", "pgtables_bytes", "swapents")
    )
    assert algorithm_for(scored)[0] is Algorithm.PAGES
    unscored = _with_columns(build(release=None), ("rss", "pgtables_bytes", "swapents"))
    assert algorithm_for(unscored)[0] is Algorithm.SIGNED


def _with_columns(event: OomEvent, columns: tuple[str, ...]) -> OomEvent:
    return replace(event, task_columns=columns)


# --------------------------------------------------------------------------- badness formulas


def test_per_mille_clamps_and_root_discount() -> None:
    t = task(1, 500, uid=0, ptes=0, swap=0)
    # 500*1000/1000 = 500, -30 for root, +0
    assert points_for(t, Algorithm.PER_MILLE, 1000, 4, bonus=True) == 470
    big = task(2, 5000, ptes=0, adj=500)
    assert points_for(big, Algorithm.PER_MILLE, 1000, 4, bonus=False) == 1000
    tiny = task(3, 1, adj=-500)
    assert points_for(tiny, Algorithm.PER_MILLE, 1000, 4, bonus=False) == 1


def test_root_bonus_forms_differ_between_3_13_and_3_14() -> None:
    t = task(1, 10000, uid=0, ptes=100, swap=0)
    # 3.5-3.13: adj -= 30 then adj *= totalpages/1000 -> 10100 - 30*100
    assert points_for(t, Algorithm.PAGES_ROOT_ADJ, 100_000, 4, bonus=True) == 7100
    # 3.14-4.16: points -= points*3/100 -> 10100 - 303
    assert points_for(t, Algorithm.PAGES_ROOT_PCT, 100_000, 4, bonus=True) == 9797
    assert points_for(t, Algorithm.PAGES, 100_000, 4, bonus=True) == 10100


def test_floor_before_5_9_and_signed_after() -> None:
    t = task(1, 100, pgtables_bytes=8192, adj=-500)
    assert points_for(t, Algorithm.PAGES_UNPRINTED, 100_000, 4, bonus=False) == 1
    assert points_for(t, Algorithm.SIGNED, 100_000, 4, bonus=False) == 102 - 500 * 100


def test_heuristic_is_not_recomputed() -> None:
    assert points_for(task(1, 100), Algorithm.HEURISTIC, 1000, 4, bonus=False) is None


def test_ties_first_wins_until_5_0_later_wins_after() -> None:
    tasks = (task(1, 100, ptes=0), task(2, 100, ptes=0))
    old = rank_tasks(build(release="4.19.0", tasks=tasks), Algorithm.PAGES, 10_000)
    new = rank_tasks(build(release="5.10.0", tasks=tasks), Algorithm.SIGNED, 10_000)
    assert [t.pid for t in old.tasks] == [1, 2]
    assert [t.pid for t in new.tasks] == [2, 1]


def test_oom_score_adj_min_is_ineligible_and_last() -> None:
    tasks = (task(1, 9000, adj=-1000), task(2, 10, pgtables_bytes=0))
    ranked = rank_tasks(build(tasks=tasks), Algorithm.SIGNED, 10_000)
    assert [(t.pid, t.eligible) for t in ranked.tasks] == [(2, True), (1, False)]


def test_implied_totalpages_brackets_the_printed_score() -> None:
    low, high = implied_totalpages(1000, 8) or (0, 0)
    assert all(1000 * 1000 // t == 8 for t in (low, high))
    assert 1000 * 1000 // (low - 1) != 8 and 1000 * 1000 // (high + 1) != 8


# --------------------------------------------------------------------------- totalpages


def test_totalpages_global_is_ram_minus_reserved_plus_swap() -> None:
    event = build(memory=ram(1_048_446, 30_402), swap_total_kib=4096)
    total = totalpages_for(event, Algorithm.SIGNED)
    assert (total.pages, total.basis, total.exact) == (1_048_446 - 30_402 + 1024, "ram+swap", True)


def test_totalpages_memcg_v1_memsw_limit_and_plain_limit() -> None:
    memsw = Memcg(limit_kib=20480, usage_kib=20480, memsw_limit_kib=40960, memsw_usage_kib=40940)
    event = build(release="4.8.0", constraint="CONSTRAINT_MEMCG", memcg=memsw, swap_total_kib=None)
    total = totalpages_for(event, Algorithm.PAGES_ROOT_PCT)
    assert (total.pages, total.basis, total.exact) == (10240, "memcg-memsw-limit", False)
    plain = Memcg(limit_kib=3145728, usage_kib=3145728, memsw_limit_kib=18014398509481983)
    event = build(release="3.13.0", constraint="CONSTRAINT_MEMCG", memcg=plain, swap_total_kib=None)
    total = totalpages_for(event, Algorithm.PAGES_ROOT_ADJ)
    assert (total.pages, total.basis) == (786432, "memcg-limit")
    assert total.assumption is not None and "swap" in total.assumption


def test_totalpages_memcg_v2_adds_swap_max() -> None:
    v2 = Memcg(limit_kib=8192, usage_kib=8192, swap_limit_kib=8192, swap_usage_kib=8192)
    event = build(constraint="CONSTRAINT_MEMCG", memcg=v2, swap_total_kib=None)
    assert totalpages_for(event, Algorithm.SIGNED).pages == 4096


# --------------------------------------------------------------------------- step 1: request


def test_request_ordinary_decodes_reclaim_rights_and_zones() -> None:
    d = data(build(gfp_mask="0x100cca(GFP_HIGHUSER_MOVABLE)", order=0), StepName.REQUEST)
    assert d["can_direct_reclaim"] and d["can_io"] and d["can_fs"]
    assert d["zones_allowed"] == ["Normal", "Movable"]
    assert d["request_bytes"] == 4096 and d["costly_order"] is False
    assert verdict(build(gfp_mask="0x100cca(GFP_HIGHUSER_MOVABLE)"), StepName.REQUEST) == "ordinary"


def test_request_costly_restricted_manual_pagefault_unknown() -> None:
    assert verdict(build(order=4), StepName.REQUEST) == "costly_order"
    nofs = build(release="3.10.0-1160.el7.x86_64", gfp_mask="0x50", order=0)
    assert verdict(nofs, StepName.REQUEST) == "restricted"
    assert data(nofs, StepName.REQUEST)["can_fs"] is False
    assert verdict(build(order=-1, manual=True), StepName.REQUEST) == "manual"
    assert (
        verdict(build(release="4.14.0", gfp_mask="0x0()", order=0), StepName.REQUEST) == "pagefault"
    )
    assert verdict(build(gfp_mask=None, order=None), StepName.REQUEST) == "unknown"


def test_request_dma32_only_is_restricted() -> None:
    event = build(release="4.9.0", gfp_mask="0x24000c4(GFP_KERNEL|GFP_DMA32)")
    assert verdict(event, StepName.REQUEST) == "restricted"
    assert data(event, StepName.REQUEST)["highest_zone"] == "DMA32"


# --------------------------------------------------------------------------- step 2: free pages


def _zone(
    name: str, free: int, mn: int, reserve: tuple[int, ...], node: int | None = 0, line_no: int = 0
) -> Zone:
    return Zone(
        node=node,
        name=name,
        free_kib=free,
        min_kib=mn,
        low_kib=mn * 5 // 4,
        high_kib=mn * 3 // 2,
        present_kib=free * 10,
        lowmem_reserve_pages=reserve,
        line=line_no,
    )


def test_free_pages_counts_lowmem_reserve_for_the_class_zone() -> None:
    # i686-like: DMA 3976kB free vs min 788kB + reserve 808 pages for a Normal request.
    zones = (
        _zone("DMA", 3976, 788, (0, 808, 3000, 3000), line_no=10),
        _zone("Normal", 41008, 41100, (0, 0, 17000, 17000), line_no=12),
        _zone("HighMem", 265416, 512, (0, 0, 0, 0), line_no=14),
    )
    event = build(
        release="4.9.0",
        gfp_mask="0x24000c0(GFP_KERNEL)",
        memory=MemoryState(zones=zones, page_size_kib=4),
        lines=(line(10, "Node 0 DMA free:3976kB"), line(12, "Node 0 Normal free:41008kB")),
    )
    d = data(event, StepName.FREE_PAGES)
    rows = {r["zone"]: r for r in d["zones"]}
    assert rows["DMA"]["reserve_kib"] == 808 * 4 and rows["DMA"]["below_min"] is True
    assert rows["HighMem"]["usable"] is False
    assert verdict(event, StepName.FREE_PAGES) == "exhausted"
    step = replay(event).step(StepName.FREE_PAGES)
    assert step is not None and [e.line for e in step.evidence] == [10, 12]


def test_free_pages_partial_numa_and_above_min_fragmented() -> None:
    zones = (
        _zone("Normal", 100, 5000, (0, 0, 0, 0), node=0),
        _zone("Normal", 900000, 5000, (0, 0, 0, 0), node=1),
    )
    event = build(memory=MemoryState(zones=zones, page_size_kib=4), order=0)
    assert verdict(event, StepName.FREE_PAGES) == "partial"
    assert data(event, StepName.FREE_PAGES)["numa_imbalance"] is True
    frag_zone = (_zone("Normal", 90000, 5000, (0, 0, 0, 0), node=None),)
    area = FreeArea(
        node=None,
        zone="Normal",
        buckets=(BuddyBucket(block_kib=4, count=22500), BuddyBucket(block_kib=8, count=0)),
    )
    frag = build(memory=MemoryState(zones=frag_zone, free_areas=(area,), page_size_kib=4), order=2)
    assert verdict(frag, StepName.FREE_PAGES) == "above_min"
    assert data(frag, StepName.FREE_PAGES)["fragmented"] is True


def test_free_pages_near_min_and_no_usable_zone() -> None:
    near = (_zone("Normal", 36376, 34644, (0, 0, 0, 0), node=3),)
    event = build(memory=MemoryState(zones=near, page_size_kib=4))
    assert verdict(event, StepName.FREE_PAGES) == "near_min"
    assert data(event, StepName.FREE_PAGES)["zones_near_min"] == ["3:Normal"]
    # cpuset node 4 holds only a Movable zone; GFP_HIGHUSER may not use it.
    movable = (_zone("Movable", 130021408, 9140, (0, 0, 0, 0), node=4, line_no=20),)
    event = build(
        release="5.8.2",
        gfp_mask="0x500cc2(GFP_HIGHUSER|__GFP_ACCOUNT)",
        memory=MemoryState(zones=movable, page_size_kib=4),
        lines=(line(20, "Node 4 Movable free:130021408kB"),),
    )
    event = replace(event, mems_allowed="4")
    assert verdict(event, StepName.FREE_PAGES) == "no_usable_zone"
    step = replay(event).step(StepName.FREE_PAGES)
    assert step is not None and [e.line for e in step.evidence] == [20]


def test_free_pages_memcg_and_unknown() -> None:
    memcg = build(constraint="CONSTRAINT_MEMCG", memcg=Memcg(limit_kib=100, usage_kib=100))
    assert verdict(memcg, StepName.FREE_PAGES) == "not_applicable"
    assert verdict(build(), StepName.FREE_PAGES) == "unknown"


# --------------------------------------------------------------------------- step 3: reclaim


def _meminfo(**kw: int) -> MemInfo:
    return MemInfo(first_line=40, **kw)  # type: ignore[arg-type]


def _global_memory(
    info: MemInfo, ram_pages: int = 1_000_000, reserved: int = 20_000
) -> MemoryState:
    return MemoryState(
        meminfo=info,
        ram=RamSummary(ram_pages=ram_pages, reserved_pages=reserved, first_line=60),
        page_size_kib=4,
    )


def test_reclaim_exhausted_without_swap_and_cache_left() -> None:
    info = _meminfo(
        active_file_pages=100,
        inactive_file_pages=50,
        active_anon_pages=900_000,
        slab_reclaimable_pages=2000,
        free_pages=20_000,
    )
    event = build(memory=_global_memory(info), swap_total_kib=0, swap_free_kib=0)
    assert verdict(event, StepName.RECLAIM) == "exhausted"
    cache = _meminfo(
        active_file_pages=300_000,
        inactive_file_pages=200_000,
        active_anon_pages=400_000,
        free_pages=20_000,
    )
    assert verdict(build(memory=_global_memory(cache)), StepName.RECLAIM) == "cache_left"


def test_reclaim_swap_available_and_blocked_and_unknown() -> None:
    info = _meminfo(
        active_file_pages=100, inactive_file_pages=50, active_anon_pages=900_000, free_pages=20_000
    )
    swap = build(memory=_global_memory(info), swap_total_kib=4_000_000, swap_free_kib=3_000_000)
    assert verdict(swap, StepName.RECLAIM) == "swap_available"
    nofs = build(release="3.10.0-1160.el7.x86_64", gfp_mask="0x50", memory=_global_memory(info))
    assert verdict(nofs, StepName.RECLAIM) == "blocked"
    assert verdict(build(), StepName.RECLAIM) == "unknown"


def test_reclaim_memcg_v1_sums_the_subtree_and_reads_memsw_room() -> None:
    stats = (
        MemcgStats(path="/pod", unit="kB", values=(("cache", 0), ("rss", 0))),
        MemcgStats(path="/pod/c", unit="kB", values=(("cache", 8), ("rss", 20252))),
    )
    memcg = Memcg(
        limit_kib=20480, usage_kib=20480, memsw_limit_kib=40960, memsw_usage_kib=40940, stats=stats
    )
    event = build(release="4.8.0", constraint="CONSTRAINT_MEMCG", memcg=memcg)
    d = data(event, StepName.RECLAIM)
    assert d["anon_kib"] == 20252 and d["swap_room_kib"] == 20
    assert verdict(event, StepName.RECLAIM) == "exhausted"


def test_reclaim_memcg_swap_room_and_unknown() -> None:
    stats = (MemcgStats(path="/a", unit="bytes", values=(("anon", 100 << 20), ("file", 0))),)
    memcg = Memcg(
        limit_kib=102400, usage_kib=102400, swap_limit_kib=512000, swap_usage_kib=0, stats=stats
    )
    event = build(constraint="CONSTRAINT_MEMCG", memcg=memcg)
    assert verdict(event, StepName.RECLAIM) == "swap_available"
    assert (
        verdict(build(constraint="CONSTRAINT_MEMCG", memcg=Memcg()), StepName.RECLAIM) == "unknown"
    )


# --------------------------------------------------------------------------- step 4: accounting


def test_global_accounting_adds_only_disjoint_parts() -> None:
    info = _meminfo(
        active_anon_pages=500_000,
        inactive_anon_pages=100_000,
        active_file_pages=50_000,
        inactive_file_pages=50_000,
        shmem_pages=100_000,
        mapped_pages=80_000,
        dirty_pages=1000,
        slab_reclaimable_pages=10_000,
        slab_unreclaimable_pages=40_000,
        pagetables_pages=5000,
        free_pages=20_000,
    )
    memory = MemoryState(
        meminfo=info,
        nodes=(NodeMemory(node=0, kernel_stack_kib=8000),),
        hugepages=(HugePool(node=0, total=10, free=10, surplus=0, size_kib=2048),),
        ram=RamSummary(ram_pages=1_000_000, reserved_pages=20_000, first_line=60),
        page_size_kib=4,
    )
    event = build(memory=memory)
    d = data(event, StepName.ACCOUNTING)
    parts = d["parts_kib"]
    assert parts["user_anon_kib"] == 500_000 * 4  # anon LRU minus shmem
    assert parts["shmem_kib"] == 100_000 * 4
    assert parts["page_cache_kib"] == 100_000 * 4
    assert parts["hugepages_kib"] == 20480 and parts["kernel_stack_kib"] == 8000
    managed = (1_000_000 - 20_000) * 4
    assert sum(v for k, v in parts.items() if k != "reserved_kib") == managed
    assert d["overlaps_not_added"]["mapped_kib"] == 80_000 * 4
    assert verdict(event, StepName.ACCOUNTING) == "user_anon"


def test_shmem_beyond_the_anon_lru_is_taken_from_unevictable() -> None:
    info = _meminfo(
        active_anon_pages=1000, unevictable_pages=50_000, shmem_pages=40_000, free_pages=1000
    )
    d = data(build(memory=_global_memory(info)), StepName.ACCOUNTING)
    parts = d["parts_kib"]
    assert parts["shmem_kib"] == 40_000 * 4 and parts["user_anon_kib"] == 0
    assert parts["unevictable_other_kib"] == 11_000 * 4


def test_memcg_accounting_v2_and_unknown() -> None:
    stats = (
        MemcgStats(
            path="/a",
            unit="bytes",
            values=(("anon", 0), ("file", 610512896), ("kernel", 125124608), ("shmem", 610512896)),
        ),
    )
    memcg = Memcg(limit_kib=488280, usage_kib=718396, stats=stats)
    event = build(constraint="CONSTRAINT_MEMCG", memcg=memcg)
    assert verdict(event, StepName.ACCOUNTING) == "shmem"
    assert data(event, StepName.ACCOUNTING)["parts_kib"]["unaccounted_kib"] == 0
    assert (
        verdict(build(constraint="CONSTRAINT_MEMCG", memcg=Memcg()), StepName.ACCOUNTING)
        == "unknown"
    )
    assert verdict(build(), StepName.ACCOUNTING) == "unknown"


# --------------------------------------------------------------------------- step 5: victim


def _scored_event(
    release: str, tasks: tuple[Task, ...], victim: int, score: int, **kw: Any
) -> OomEvent:
    return build(
        release=release,
        tasks=tasks,
        victim=victim,
        selected=(victim, score),
        memory=ram(kw.pop("ram_pages", 100_000), kw.pop("reserved", 0)),
        **kw,
    )


def test_victim_confirmed_with_printed_score_3_10() -> None:
    tasks = (task(1, 60_000, ptes=100), task(2, 20_000, ptes=50, uid=0))
    event = _scored_event("3.10.0-1160.el7.x86_64", tasks, 1, 601)
    r = replay(event)
    assert (r.victim_rank, r.recomputed_score, r.totalpages) == (1, 601, 100_000)
    assert verdict(event, StepName.VICTIM_SELECTION) == "confirmed"
    d = data(event, StepName.VICTIM_SELECTION)
    assert d["ranking"][0] == {
        "rank": 1,
        "pid": 1,
        "name": "t1",
        "points": 60_100,
        "score": 601,
        "eligible": True,
        "victim": True,
        "trigger": True,
    }
    json.dumps(d)


def test_uid0_without_cap_sys_admin_is_detected_from_the_score() -> None:
    # 4.15: root bonus would give 24265 -> 242; the printed 250 shows no bonus.
    tasks = (task(1, 24953, pgtables_bytes=62 * 4096, uid=0),)
    event = _scored_event("4.15.0-46-generic", tasks, 1, 250)
    r = replay(event)
    assert r.recomputed_score == 250
    assert any("CAP_SYS_ADMIN" in x for x in data(event, StepName.VICTIM_SELECTION)["reasons"])


def test_victim_tie_child_sacrifice_and_allocating_task() -> None:
    tasks = (task(1, 500, ptes=0), task(2, 500, ptes=0))
    tie = _scored_event("4.19.0", tasks, 2, 5)
    assert verdict(tie, StepName.VICTIM_SELECTION) == "tie"
    assert replay(tie).victim_rank == 2
    child = build(
        release="4.19.0",
        tasks=(task(1, 900, ptes=0), task(2, 100, ptes=0)),
        kills=(Kill(pid=2, comm="t2", message="Out of memory", line=90),),
        selected=(1, 9),
        memory=ram(100_000, 0),
    )
    r = replay(child)
    assert r.victim_rank == 1 and r.recomputed_score == 9
    assert any("child sacrifice" in x for x in data(child, StepName.VICTIM_SELECTION)["reasons"])
    alloc = build(
        tasks=(task(1, 900, pgtables_bytes=0), task(5, 10, pgtables_bytes=0)),
        victim=5,
        trigger_pid=5,
        kill_message="Out of memory (oom_kill_allocating_task)",
        memory=ram(100_000, 0),
    )
    assert verdict(alloc, StepName.VICTIM_SELECTION) == "explained"


def test_victim_mismatch_unknown_and_not_recomputable() -> None:
    mismatch = build(
        tasks=(task(1, 90_000, pgtables_bytes=0), task(2, 100, pgtables_bytes=0)),
        victim=2,
        memory=ram(100_000, 0),
    )
    assert verdict(mismatch, StepName.VICTIM_SELECTION) == "mismatch"
    assert replay(mismatch).victim_rank == 2
    assert verdict(build(victim=1), StepName.VICTIM_SELECTION) == "unknown"
    old = build(release="2.6.32-5-amd64", tasks=(task(1, 10),), victim=1)
    assert verdict(old, StepName.VICTIM_SELECTION) == "not_recomputable"
    assert replay(old).victim_rank is None
    empty = build(tasks=(), memory=ram(1000, 0))
    assert verdict(empty, StepName.VICTIM_SELECTION) == "no_candidates"


def test_per_mille_rhel6_reports_missing_columns() -> None:
    tasks = (Task(pid=1, name="a", uid=500, rss_pages=3183, oom_score_adj=0, oom_adj=0),)
    event = _scored_event("2.6.32-279.el6.x86_64", tasks, 1, 133, swap_total_kib=0)
    d = data(event, StepName.VICTIM_SELECTION)
    assert d["recomputed_score"] == 31 and d["printed_score"] == 133
    assert d["missing_columns"] == ["page tables"]  # Total swap = 0: no swap entries
    assert any("does not print page tables" in x for x in d["reasons"])
    # With swap in use, the hidden swap entries may reorder the whole table: no rank.
    swapping = _scored_event("2.6.32-279.el6.x86_64", tasks, 1, 133, swap_total_kib=4096)
    assert verdict(swapping, StepName.VICTIM_SELECTION) == "not_recomputable"
    assert replay(swapping).victim_rank is None
    assert data(swapping, StepName.VICTIM_SELECTION)["missing_columns"] == [
        "page tables",
        "swapents",
    ]


# --------------------------------------------------------------------------- step 6: outcome


def test_outcome_reaped_with_delay_and_freed_memory() -> None:
    kill = Kill(pid=7, comm="x", anon_rss_kib=1000, file_rss_kib=20, shmem_rss_kib=0, line=90)
    reap = Reap(
        pid=7,
        comm="x",
        success=True,
        anon_rss_kib=0,
        file_rss_kib=20,
        shmem_rss_kib=0,
        line=91,
        uptime_s=101.5,
    )
    event = build(kills=(kill,), reaps=(reap,), lines=(line(90, "Killed process 7 (x)", 100.25),))
    d = data(event, StepName.OUTCOME)
    assert (d["freed_kib"], d["reap_delay_s"]) == (1000, 1.25)
    assert verdict(event, StepName.OUTCOME) == "reaped"
    failed = build(kills=(kill,), reaps=(Reap(pid=7, comm="x", success=False, line=91),))
    assert verdict(failed, StepName.OUTCOME) == "reap_failed"
    assert verdict(build(kills=(kill,)), StepName.OUTCOME) == "killed"


def test_outcome_panic_no_victim_incomplete() -> None:
    panic = build(
        panic="Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled"
    )
    assert verdict(panic, StepName.OUTCOME) == "panic"
    assert data(panic, StepName.OUTCOME)["panic_reason"] == "panic_on_oom"
    none = build(lines=(line(80, "Out of memory and no killable processes..."),))
    assert verdict(none, StepName.OUTCOME) == "no_victim"
    assert verdict(build(complete=False), StepName.OUTCOME) == "incomplete"
    exiting = build(
        lines=(
            line(80, "Out of memory: OOM victim 7 (x) is already exiting. Skip killing the task"),
        )
    )
    assert verdict(exiting, StepName.OUTCOME) == "no_victim"
    failure = replace(build(), kind=EventKind.ALLOCATION_FAILURE)
    assert verdict(failure, StepName.OUTCOME) == "allocation_failed"


# --------------------------------------------------------------------------- JSON


def test_replay_to_json_is_serialisable_and_ordered() -> None:
    out = replay_to_json(replay(build(tasks=(task(1, 10, pgtables_bytes=0),), victim=1)))
    assert [s["step"] for s in out] == [s.value for s in StepName]
    assert all(isinstance(s["verdict"], str) and s["summary"] for s in out)
    json.dumps(out)


# --------------------------------------------------------------------------- synthetic text


def _synth_event(era: str, kind: str, seed: int) -> tuple[synth.SynthReport, OomEvent]:
    report = synth.random_report(random.Random(f"replay/{era}/{kind}/{seed}"), era=era, kind=kind)
    text = "\n".join(
        synth.render(
            report.records(),
            "dmesg",
            start_uptime=100.0,
            wallclock=datetime(2024, 1, 1, tzinfo=UTC),
        )
    )
    events = analyze_text(text).events
    assert len(events) == 1
    return report, events[0]


@pytest.mark.parametrize("era", [e for e in synth.ERAS if e != "2.6.32-rhel6"])
@pytest.mark.parametrize("seed", range(3))
def test_synth_memcg_victim_is_top_and_score_matches(era: str, seed: int) -> None:
    report, event = _synth_event(era, "memcg", seed)
    r = replay(event)
    assert r.victim_rank == 1
    assert r.totalpages is not None
    printed = event.selected.score if event.selected is not None else None
    if printed is not None:
        d = data(event, StepName.VICTIM_SELECTION)
        if r.recomputed_score != printed:
            # The only unprinted input is the system's swap size (no Mem-Info in a memcg
            # report): with the generator's true totalpages the printed score comes back.
            assert d["totalpages_exact"] is False and "swap" in d["totalpages_assumption"]
            row = next(t for t in event.tasks or () if t.pid == event.selected.pid)  # type: ignore[union-attr]
            algorithm = Algorithm(r.algorithm or "")
            points = points_for(row, algorithm, report.totalpages, 4, bonus=row.uid == 0)
            assert points is not None
            assert score_for(points, algorithm, report.totalpages) == printed
    assert [s.step for s in r.steps] == list(StepName)


@pytest.mark.parametrize("era", synth.ERAS)
def test_synth_every_kind_replays_with_known_verdicts(era: str) -> None:
    allowed = {
        StepName.REQUEST: {
            "manual",
            "pagefault",
            "costly_order",
            "restricted",
            "ordinary",
            "unknown",
        },
        StepName.FREE_PAGES: {
            "exhausted",
            "near_min",
            "partial",
            "above_min",
            "no_usable_zone",
            "not_applicable",
            "unknown",
        },
        StepName.RECLAIM: {
            "exhausted",
            "swap_available",
            "blocked",
            "cache_left",
            "limit_reached",
            "not_applicable",
            "unknown",
        },
        StepName.VICTIM_SELECTION: {
            "confirmed",
            "tie",
            "explained",
            "mismatch",
            "not_recomputable",
            "no_candidates",
            "no_victim",
            "unknown",
        },
        StepName.OUTCOME: {
            "allocation_failed",
            "killed",
            "reaped",
            "reap_failed",
            "panic",
            "no_victim",
            "incomplete",
            "unknown",
        },
    }
    expected = {
        ("allocation_failure", StepName.OUTCOME): "allocation_failed",
        ("panic_no_killable", StepName.OUTCOME): "panic",
        ("manual", StepName.REQUEST): "manual",
        ("manual", StepName.RECLAIM): "not_applicable",
        ("memcg", StepName.FREE_PAGES): "not_applicable",
    }
    for kind in synth.KINDS:
        _, event = _synth_event(era, kind, 0)
        for step in replay(event).steps:
            if step.step in allowed:
                assert step.verdict in allowed[step.step], (kind, step)
            if (kind, step.step) in expected:
                assert step.verdict == expected[(kind, step.step)], (kind, step)


def test_unknown_totalpages_ranks_only_when_the_order_cannot_change() -> None:
    memcg = Memcg(limit_path="/pod")  # limit line not printed
    same = (task(1, 900, pgtables_bytes=0, adj=-997), task(2, 50, pgtables_bytes=0, adj=-997))
    event = build(constraint="CONSTRAINT_MEMCG", memcg=memcg, tasks=same, victim=1)
    assert replay(event).victim_rank == 1 and replay(event).totalpages is None
    dominated = (task(1, 900, pgtables_bytes=0, adj=-997), task(2, 50, pgtables_bytes=0, adj=-998))
    event = build(constraint="CONSTRAINT_MEMCG", memcg=memcg, tasks=dominated, victim=1)
    assert replay(event).victim_rank == 1
    assert data(event, StepName.VICTIM_SELECTION)["points_without_adj"] is True
    # a smaller task with a higher adj could win for a large enough totalpages
    open_case = (task(1, 900, pgtables_bytes=0, adj=0), task(2, 50, pgtables_bytes=0, adj=500))
    event = build(constraint="CONSTRAINT_MEMCG", memcg=memcg, tasks=open_case, victim=1)
    assert verdict(event, StepName.VICTIM_SELECTION) == "unknown"
    assert replay(event).victim_rank is None


@pytest.mark.parametrize("era", [e for e in synth.ERAS if e != "2.6.32-rhel6"])
@pytest.mark.parametrize("kind", ["oom_kill", "manual"])
@pytest.mark.parametrize("seed", range(4))
def test_synth_global_victim_and_score_are_recomputed_exactly(
    era: str, kind: str, seed: int
) -> None:
    report, event = _synth_event(era, kind, seed)
    r = replay(event)
    assert r.totalpages == report.totalpages  # pages RAM - reserved + Total swap
    assert r.victim_rank == 1
    printed = event.selected.score if event.selected is not None else None
    assert r.recomputed_score == printed
    if printed is not None:
        assert printed == report.score(report.victim)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(4))
def test_synth_rhel6_scores_differ_only_by_unprinted_columns(seed: int) -> None:
    # RHEL6's table prints neither nr_ptes nor swapents; the kernel counted both.
    _, event = _synth_event("2.6.32-rhel6", "oom_kill", seed)
    r = replay(event)
    printed = event.selected.score if event.selected is not None else None
    assert printed is not None and r.recomputed_score is not None
    assert r.recomputed_score <= printed
    if r.recomputed_score < printed:
        reasons = data(event, StepName.VICTIM_SELECTION)["reasons"]
        assert any("does not print page tables" in x for x in reasons)

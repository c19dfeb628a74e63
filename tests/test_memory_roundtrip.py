"""Mem-Info written in each era's format (oomlens.synth) with random values parses back to them:
global counters, the node line, zone lines with watermarks and lowmem_reserve, buddy buckets and
totals, hugepages, page and swap cache, swap totals and the RAM summary."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomlens import synth
from oomlens.api import analyze_text
from oomlens.model import MemoryState, OomEvent

ENVELOPES = ("bare", "dmesg", "syslog", "journal", "kmsg")
KINDS = ("oom_kill", "allocation_failure", "manual", "panic_no_killable", "memcg")


@st.composite
def reports(draw: st.DrawFn) -> tuple[synth.SynthReport, str]:
    era = draw(st.sampled_from(synth.ERAS))
    kind = draw(st.sampled_from(KINDS))
    report = synth.random_report(random.Random(draw(st.integers(0, 2**32))), era=era, kind=kind)
    dma = report.zones[0]
    dma32_present = draw(st.integers(200_000, 1_000_000))
    normal_present = draw(st.integers(50_000, 40_000_000))
    zones = (
        dma,
        synth.SynthZone(
            name="DMA32",
            present_pages=dma32_present,
            managed_pages=dma32_present - draw(st.integers(0, dma32_present // 10)),
        ),
        synth.SynthZone(
            name="Normal",
            present_pages=normal_present,
            managed_pages=normal_present - draw(st.integers(0, normal_present // 20)),
        ),
    )
    swap_total = draw(st.sampled_from((0, 2 << 20, 8 << 20)))
    report = dataclasses.replace(
        report,
        zones=zones,
        swap_total_kib=swap_total,
        swap_free_kib=draw(st.integers(0, swap_total)),
        detail_seed=draw(st.integers(0, 2**32)),
    )
    return report, draw(st.sampled_from(ENVELOPES))


def _render(report: synth.SynthReport, envelope: str) -> str:
    lines = synth.render(
        report.records(),
        envelope,
        start_uptime=100.0,
        wallclock=datetime(2024, 5, 1, 12, 0, 0),
        host="node1",
    )
    return "\n".join(lines) + "\n"


def _fields_match(expected: dict[str, Any], parsed: object, what: str) -> None:
    for key, value in expected.items():
        assert getattr(parsed, key) == value, f"{what}.{key}"


def _check_memory(want: dict[str, Any], event: OomEvent) -> None:
    memory: MemoryState = event.memory
    meminfo = memory.meminfo
    assert meminfo is not None
    named = {f.name for f in dataclasses.fields(meminfo)}
    for key, value in want["meminfo"].items():
        if f"{key}_pages" in named:
            assert getattr(meminfo, f"{key}_pages") == value, key
        else:
            assert dict(meminfo.extra)[key] == value, key
    if "node" in want:
        (node,) = memory.nodes
        _fields_match(want["node"], node, "node")
    else:
        assert memory.nodes == ()
    assert len(memory.zones) == len(want["zones"])
    for expected_zone, zone in zip(want["zones"], memory.zones, strict=True):
        reserve = tuple(expected_zone.pop("lowmem_reserve_pages"))
        _fields_match(expected_zone, zone, f"zone {zone.name}")
        assert zone.lowmem_reserve_pages == reserve
        assert zone.lowmem_reserve_complete
    assert len(memory.free_areas) == len(want["free_areas"])
    for expected_area, area in zip(want["free_areas"], memory.free_areas, strict=True):
        assert area.zone == expected_area["zone"]
        assert area.total_kib == expected_area["total_kib"]
        assert [(b.block_kib, b.count) for b in area.buckets] == expected_area["buckets"]
        assert sum(b.block_kib * b.count for b in area.buckets) == area.total_kib
    assert [(h.node, h.total, h.free, h.size_kib) for h in memory.hugepages] == [
        (h["node"], h["total"], h["free"], h["size_kib"]) for h in want.get("hugepages", ())
    ]
    assert memory.pagecache_pages == want["pagecache_pages"]
    assert memory.swap_cache_pages == want["swap_cache_pages"]
    assert dict(memory.swap_cache_stats) == want["swap_cache_stats"]
    assert memory.ram is not None
    _fields_match(want["ram"], memory.ram, "ram")
    assert memory.page_size_kib == want["page_size_kib"]
    assert event.swap_total_kib == want["swap_total_kib"]
    assert event.swap_free_kib == want["swap_free_kib"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports())
def test_memory_state_round_trips(case: tuple[synth.SynthReport, str]) -> None:
    report, envelope = case
    analysis = analyze_text(_render(report, envelope))
    assert len(analysis.events) == 1
    (event,) = analysis.events
    assert event.unparsed == ()
    want = report.expected_memory()
    if want is None:  # memcg OOMs after RHEL6 print no Mem-Info
        assert event.memory == MemoryState()
        return
    _check_memory(want, event)


def test_every_era_prints_memory_that_round_trips() -> None:
    for era in synth.ERAS:
        report = synth.random_report(random.Random(era), era=era, kind="oom_kill")
        want = report.expected_memory()
        assert want is not None
        (event,) = analyze_text(_render(report, "dmesg")).events
        _check_memory(want, event)

"""Explained analyses for report tests: real events (parsed from logs) with a replay, findings
and memory state built here, so every report section can be rendered before the replay and
rules stages exist. Values are derived from the event's own task table and kill line where
one exists; the memory numbers are fixed test values."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from pathlib import Path

from oomlens.api import analyze_paths
from oomlens.model import (
    Analysis,
    Cause,
    Evidence,
    ExplainedEvent,
    FactValue,
    Finding,
    MemInfo,
    MemoryState,
    OomEvent,
    RamSummary,
    RankedTask,
    Replay,
    ReplayStep,
    Severity,
    StepName,
    Zone,
)
from oomlens.synth import random_report, render

PAGE_KIB = 4


def memory_state() -> MemoryState:
    """A 16 GiB machine with Normal below its min watermark."""
    return MemoryState(
        meminfo=MemInfo(
            active_anon_pages=2_900_000,
            inactive_anon_pages=700_000,
            active_file_pages=12_000,
            inactive_file_pages=9_000,
            unevictable_pages=0,
            slab_reclaimable_pages=30_000,
            slab_unreclaimable_pages=60_000,
            shmem_pages=4_000,
            pagetables_pages=18_000,
            free_pages=40_000,
        ),
        zones=(
            Zone(node=0, name="DMA", free_kib=15_360, min_kib=132, low_kib=164, high_kib=196),
            Zone(
                node=0,
                name="DMA32",
                free_kib=60_000,
                min_kib=12_000,
                low_kib=15_000,
                high_kib=18_000,
                managed_kib=3_000_000,
            ),
            Zone(
                node=0,
                name="Normal",
                free_kib=40_000,
                min_kib=45_000,
                low_kib=56_000,
                high_kib=67_000,
                managed_kib=13_000_000,
            ),
        ),
        ram=RamSummary(ram_pages=4_194_304, reserved_pages=98_000),
        page_size_kib=PAGE_KIB,
    )


def _evidence(event: OomEvent, number: int | None) -> tuple[Evidence, ...]:
    line = next((x for x in event.lines if x.number == number), None)
    if line is None:
        return ()
    return (Evidence(path=line.path, line=line.number, text=line.text),)


def explain(event: OomEvent) -> ExplainedEvent:
    """A replay with one step per stage, a ranking from the task table and one primary finding."""
    victim = event.victim
    victim_pid = victim.pid if victim is not None else None
    ranking: tuple[RankedTask, ...] = ()
    if event.tasks:
        rows = sorted(
            event.tasks,
            key=lambda t: (-((t.rss_pages or 0) + (t.pgtables_bytes or 0) // 4096), t.pid),
        )
        ranking = tuple(
            RankedTask(
                pid=t.pid,
                name=t.name,
                points=(t.rss_pages or 0) + (t.pgtables_bytes or 0) // 4096 + (t.swapents or 0),
                score=None,
                is_victim=t.pid == victim_pid,
                is_trigger=t.pid == event.trigger.pid,
                eligible=t.oom_score_adj != -1000,
                line=t.line,
            )
            for t in rows
        )
    victim_rank = next((i + 1 for i, t in enumerate(ranking) if t.is_victim), None)
    header = _evidence(event, event.source.first_line)
    kill_line = _evidence(event, victim.line if victim is not None else None)
    rss_kib = None
    if victim is not None and victim.anon_rss_kib is not None:
        rss_kib = victim.anon_rss_kib + (victim.file_rss_kib or 0) + (victim.shmem_rss_kib or 0)
    comm = victim.comm if victim is not None and victim.comm is not None else "the victim"
    steps = (
        ReplayStep(
            step=StepName.REQUEST,
            verdict="ordinary",
            summary=f"{event.trigger.comm} asked for an order-{event.trigger.order} page.",
            evidence=header,
            data=(("order", event.trigger.order), ("gfp_mask", event.trigger.gfp_mask)),
        ),
        ReplayStep(
            step=StepName.FREE_PAGES,
            verdict="below_min",
            summary="Normal was below its min watermark.",
            data=(("free_kib", 40_000), ("min_kib", 45_000)),
        ),
        ReplayStep(step=StepName.RECLAIM, verdict="unknown", summary="Reclaim is not shown."),
        ReplayStep(
            step=StepName.ACCOUNTING,
            verdict="anon",
            summary="Anonymous memory filled RAM.",
            data=(
                ("anon_kib", 14_400_000),
                ("file_kib", 84_000),
                ("victim_rss_kib", rss_kib),
                ("anon_share_pct", 85.8),
            ),
        ),
        ReplayStep(
            step=StepName.VICTIM_SELECTION,
            verdict="top_ranked" if victim_rank == 1 else "unknown",
            summary=f"{comm} had the most badness points.",
            evidence=kill_line,
            data=(("ranking", [t.pid for t in ranking]), ("victim_rank", victim_rank)),
        ),
        ReplayStep(
            step=StepName.OUTCOME,
            verdict="reaped" if event.reaped else "killed",
            summary=f"{comm} was killed.",
            evidence=kill_line,
        ),
    )
    findings = (
        Finding(
            rule_id="TEST001",
            name="test.single_process",
            cause=Cause.SINGLE_PROCESS,
            primary=True,
            severity=Severity.HIGH,
            title=f"One process, {comm}, used most of the memory",
            explanation=f"{comm} held the largest resident set.",
            remedy=f"Cap {comm} with a memory limit or fix its leak.",
            references=("https://www.kernel.org/doc/Documentation/filesystems/proc.txt",),
            facts=(
                FactValue(name="victim_rss_kib", value=rss_kib, unit="kib", evidence=kill_line),
                FactValue(name="swap_total_kib", value=event.swap_total_kib, unit="kib"),
            ),
        ),
        Finding(
            rule_id="TEST002",
            name="test.swap_absent",
            cause=Cause.SWAP_ABSENT,
            primary=False,
            severity=Severity.MEDIUM,
            title="No swap",
            explanation="Nothing could be swapped out.",
            remedy="Add swap or zram.",
            facts=(FactValue(name="swap_total_kib", value=0, unit="kib", evidence=header),),
        ),
    )
    return ExplainedEvent(
        event=event,
        replay=Replay(
            steps=steps,
            ranking=ranking,
            victim_rank=victim_rank,
            recomputed_score=None,
            algorithm="test",
        ),
        findings=findings,
    )


def explained_analysis(analysis: Analysis) -> Analysis:
    """``analysis`` with memory state, replay and findings on every event."""
    events = tuple(dataclasses.replace(e, memory=memory_state()) for e in analysis.events)
    return dataclasses.replace(analysis, events=events, explained=tuple(explain(e) for e in events))


def synth_log(
    directory: Path,
    *,
    n_tasks: int = 20,
    victim_name: str | None = None,
    seed: int = 3,
    era: str = "5.15",
    kind: str = "oom_kill",
) -> Path:
    """A kernel-format report written by oomlens.synth; ``victim_name`` renames the victim
    (and the allocating task) to test hostile names."""
    report = random_report(random.Random(seed), era=era, kind=kind, n_tasks=n_tasks, hostile=False)
    if victim_name is not None:
        assert report.victim_pid is not None
        tasks = tuple(
            dataclasses.replace(t, name=victim_name) if t.pid == report.victim_pid else t
            for t in report.tasks
        )
        report = dataclasses.replace(report, tasks=tasks, trigger_comm=victim_name)
    lines = render(
        report.records(),
        "syslog",
        start_uptime=1234.5,
        wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
        host="web1",
    )
    path = directory / f"synth-{era}-{kind}-{n_tasks}.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def analyse(path: Path) -> Analysis:
    return analyze_paths([str(path)], jobs=1)

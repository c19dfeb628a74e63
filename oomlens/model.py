"""Typed values that cross module boundaries.

Conventions: frozen, slotted, keyword-only dataclasses; tuples, not lists; units in field
names (``_kib``, ``_pages``, ``_bytes``); ``None`` means the kernel did not print the value,
``0`` means it printed 0.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from operator import attrgetter
from typing import Any

from .fastinit import fast_init, positional


class Envelope(StrEnum):
    """How a log line was wrapped before the kernel text starts."""

    BARE = "bare"  # no prefix at all (kernel text only)
    DMESG = "dmesg"  # [  123.456789] text
    DMESG_T = "dmesg-T"  # [Sat Nov 25 12:00:00 2023] text (any locale)
    DMESG_X = "dmesg-x"  # kern  :warn  : [  1.0] text
    DMESG_ISO = "dmesg-iso"  # 2023-11-25T12:00:00,123456+01:00 text
    KMSG = "kmsg"  # 6,1234,5678,-;text  (/dev/kmsg records)
    SYSLOG = "syslog"  # Nov 25 12:00:00 host kernel: text   (RFC 3164, journalctl short*)
    RFC3339 = "rfc3339"  # 2023-11-25T12:00:00.123+00:00 host kernel: text (rsyslog, short-iso)
    RFC5424 = "rfc5424"  # <4>1 2023-11-25T12:00:00Z host kernel - - - text
    JOURNAL = "journal"  # lines synthesised from a binary journal / journal json or export
    MONOTONIC = "journal-monotonic"  # [  123.456789] host kernel: text (journalctl short-monotonic)
    MIXED = "mixed"  # used for a source whose lines carry different envelopes


class Constraint(StrEnum):
    NONE = "CONSTRAINT_NONE"
    MEMCG = "CONSTRAINT_MEMCG"
    CPUSET = "CONSTRAINT_CPUSET"
    MEMORY_POLICY = "CONSTRAINT_MEMORY_POLICY"


class EventKind(StrEnum):
    OOM_KILL = "oom_kill"  # the OOM killer killed a task
    OOM_NO_KILL = "oom_no_kill"  # a report with no kill (no killable task, header only, ...)
    ALLOCATION_FAILURE = "allocation_failure"  # page allocation failure / stall warning
    OOM_PANIC = "oom_panic"  # the OOM path panicked the machine
    REAPER_ONLY = "reaper_only"  # only an oom_reaper line survived


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLocation:
    """Where something came from: 1-based line numbers in the decompressed input."""

    path: str
    first_line: int
    last_line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Prefix:
    """What the envelope of one physical line told us (see ``prefixes.parse_prefix``)."""

    envelope: Envelope
    text: str  # the kernel message, envelope removed (may still hold '\n' from #012 / \x0a)
    uptime_s: float | None = None
    wallclock: str | None = None  # ISO 8601, in the time zone shown (no conversion)
    host: str | None = None
    caller: str | None = None  # printk caller id, e.g. "T1234" or "C3"
    level: int | None = None  # printk level 0..7 when printed
    program: str | None = None  # syslog tag without pid ("kernel", "CRON", ...) when printed


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    """One logical kernel line, envelope stripped."""

    path: str
    number: int  # 1-based physical line number in the decompressed input
    text: str
    envelope: Envelope
    uptime_s: float | None = None
    wallclock: str | None = None
    host: str | None = None
    caller: str | None = None
    program: str | None = None
    continued: int = 0  # physical lines after ``number`` joined into this one (unwrapped)

    @property
    def last_number(self) -> int:
        return self.number + self.continued


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    path: str
    line: int
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInfo:
    path: str
    format: str  # envelope seen ("syslog", "dmesg", ..., "mixed", "bare", "journal")
    compression: str | None = None  # "gzip", "bzip2", "xz", "zstd", "journal" or None
    lines: int = 0
    # line accounting: every physical line read is in exactly one of these
    event_lines: int = 0  # part of an event and parsed
    diagnostic_lines: int = 0  # named by a diagnostic (unparsed inside a report, too long, ...)
    noise_lines: int = 0  # unrelated to any OOM report


# --------------------------------------------------------------------------- report parts


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """The allocating task and its request (``<comm> invoked oom-killer: ...``)."""

    comm: str | None = None
    pid: int | None = None
    gfp_mask: str | None = None
    gfp_flags: tuple[str, ...] = ()
    order: int | None = None
    oom_score_adj: int | None = None
    oom_adj: int | None = None
    nodemask: str | None = None
    uid: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Memcg:
    limit_path: str | None = None
    victim_path: str | None = None
    usage_kib: int | None = None
    limit_kib: int | None = None
    failcnt: int | None = None
    swap_usage_kib: int | None = None
    swap_limit_kib: int | None = None
    swap_failcnt: int | None = None
    memsw_usage_kib: int | None = None
    memsw_limit_kib: int | None = None
    memsw_failcnt: int | None = None
    kmem_usage_kib: int | None = None
    kmem_limit_kib: int | None = None
    kmem_failcnt: int | None = None
    stats: tuple[MemcgStats, ...] = ()
    min_protection_kib: int | None = None  # 6.19: "Memory cgroup min protection NkB -- low ..."
    low_protection_kib: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemcgStats:
    """One ``Memory cgroup stats for <path>`` dump; v1 one-liners are kB, v2 are bytes."""

    path: str
    unit: str  # "kB" (v1 one-liner, KB suffix) or "bytes" (memory.stat style)
    values: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One row of the task dump table; memory values in pages as printed."""

    pid: int
    name: str
    uid: int | None = None
    tgid: int | None = None
    total_vm_pages: int | None = None
    rss_pages: int | None = None
    rss_anon_pages: int | None = None
    rss_file_pages: int | None = None
    rss_shmem_pages: int | None = None
    nr_ptes: int | None = None
    nr_pmds: int | None = None
    pgtables_bytes: int | None = None
    swapents: int | None = None
    oom_adj: int | None = None
    oom_score_adj: int | None = None
    cpu: int | None = None
    line: int = 0
    extra: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Kill:
    """A ``Killed process`` line (the task that actually received SIGKILL)."""

    pid: int | None  # None only for the 2.6 "VM: killing process <comm>" line
    comm: str | None  # None when the line was cut before the name
    message: str | None = None  # "Out of memory", "Memory cgroup out of memory", ...
    total_vm_kib: int | None = None
    anon_rss_kib: int | None = None
    file_rss_kib: int | None = None
    shmem_rss_kib: int | None = None
    pgtables_kib: int | None = None
    uid: int | None = None
    oom_score_adj: int | None = None
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """A ``Kill process N (comm) score S or sacrifice child`` line (the kernel's choice)."""

    pid: int
    comm: str
    score: int | None = None
    message: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """The ``oom-kill:constraint=...`` one-line summary (5.0+)."""

    constraint: str | None = None
    nodemask: str | None = None
    cpuset: str | None = None
    mems_allowed: str | None = None
    oom_memcg: str | None = None
    global_oom: bool = False
    task_memcg: str | None = None
    task: str | None = None
    pid: int | None = None
    uid: int | None = None
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Reap:
    """``oom_reaper: reaped process N (comm), now anon-rss:...`` or ``unable to reap``."""

    pid: int
    comm: str
    success: bool
    anon_rss_kib: int | None = None
    file_rss_kib: int | None = None
    shmem_rss_kib: int | None = None
    line: int = 0
    uptime_s: float | None = None


# --------------------------------------------------------------------------- memory state
# (Mem-Info / show_free_areas, RAM summary, slab table, hugepages, call trace). Every object
# keeps the line number it came from; fields the kernel did not print are None; counters
# the model does not name yet are kept in ``extra`` with the unit the field name implies.


@dataclass(frozen=True, slots=True, kw_only=True)
class MemInfo:
    """The global counters after ``Mem-Info:`` (pages), e.g.
    ``active_anon:480000 inactive_anon:12000 isolated_anon:0``."""

    active_anon_pages: int | None = None
    inactive_anon_pages: int | None = None
    isolated_anon_pages: int | None = None
    active_file_pages: int | None = None
    inactive_file_pages: int | None = None
    isolated_file_pages: int | None = None
    unevictable_pages: int | None = None
    dirty_pages: int | None = None
    writeback_pages: int | None = None
    unstable_pages: int | None = None
    slab_reclaimable_pages: int | None = None
    slab_unreclaimable_pages: int | None = None
    mapped_pages: int | None = None
    shmem_pages: int | None = None
    pagetables_pages: int | None = None
    sec_pagetables_pages: int | None = None
    bounce_pages: int | None = None
    kernel_misc_reclaimable_pages: int | None = None
    free_pages: int | None = None
    free_pcp_pages: int | None = None
    free_cma_pages: int | None = None
    extra: tuple[tuple[str, int], ...] = ()  # other counters, pages
    first_line: int = 0
    last_line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PerCpuPages:
    """≤3.x per-cpu list row ``CPU    0: hi:  186, btch:  31 usd:  69`` under the heading
    ``[Node 0 ]DMA32 per-cpu:`` (pages); 2.6.2x ``cpu 0 hot: high 186, batch 31 used:77``."""

    node: int | None
    zone: str | None
    cpu: int
    high_pages: int | None = None
    batch_pages: int | None = None
    count_pages: int | None = None
    list: str | None = None  # 2.6.2x "hot" / "cold"; None for the single-list form
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeMemory:
    """The 4.8+ per-node line ``Node 0 active_anon:48kB ... all_unreclaimable? no`` (kB)."""

    node: int
    active_anon_kib: int | None = None
    inactive_anon_kib: int | None = None
    active_file_kib: int | None = None
    inactive_file_kib: int | None = None
    unevictable_kib: int | None = None
    isolated_anon_kib: int | None = None
    isolated_file_kib: int | None = None
    mapped_kib: int | None = None
    dirty_kib: int | None = None
    writeback_kib: int | None = None
    shmem_kib: int | None = None
    shmem_thp_kib: int | None = None
    shmem_pmdmapped_kib: int | None = None
    anon_thp_kib: int | None = None
    writeback_tmp_kib: int | None = None
    unstable_kib: int | None = None
    kernel_stack_kib: int | None = None
    shadow_call_stack_kib: int | None = None
    pagetables_kib: int | None = None
    sec_pagetables_kib: int | None = None
    balloon_kib: int | None = None
    pages_scanned: int | None = None  # 4.9: printed as a bare number of pages
    all_unreclaimable: bool | None = None
    extra: tuple[tuple[str, int], ...] = ()  # other fields, kB
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """A per-zone line ``[Node 0 ]Normal free:12345kB boost:0kB min:...`` (kB) and the
    ``lowmem_reserve[]:`` line that follows it (pages, one per zone index)."""

    node: int | None  # None on non-NUMA kernels, which print no "Node N "
    name: str  # DMA, DMA32, Normal, HighMem, Movable, Device
    free_kib: int | None = None
    boost_kib: int | None = None
    min_kib: int | None = None
    low_kib: int | None = None
    high_kib: int | None = None
    reserved_highatomic_kib: int | None = None
    free_highatomic_kib: int | None = None
    active_anon_kib: int | None = None
    inactive_anon_kib: int | None = None
    active_file_kib: int | None = None
    inactive_file_kib: int | None = None
    unevictable_kib: int | None = None
    writepending_kib: int | None = None
    isolated_anon_kib: int | None = None
    isolated_file_kib: int | None = None
    present_kib: int | None = None
    managed_kib: int | None = None
    mlocked_kib: int | None = None
    dirty_kib: int | None = None
    writeback_kib: int | None = None
    mapped_kib: int | None = None
    shmem_kib: int | None = None
    slab_reclaimable_kib: int | None = None
    slab_unreclaimable_kib: int | None = None
    kernel_stack_kib: int | None = None
    pagetables_kib: int | None = None
    unstable_kib: int | None = None
    bounce_kib: int | None = None
    zspages_kib: int | None = None
    free_pcp_kib: int | None = None
    local_pcp_kib: int | None = None
    free_cma_kib: int | None = None
    writeback_tmp_kib: int | None = None
    pages_scanned: int | None = None  # as printed (pages; kB on 4.4)
    all_unreclaimable: bool | None = None
    lowmem_reserve_pages: tuple[int, ...] | None = None  # None: line not printed
    lowmem_reserve_complete: bool = True  # False when the line was cut (KERN_CONT split)
    extra: tuple[tuple[str, int], ...] = ()  # other fields, kB
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class BuddyBucket:
    """``12*4kB (UME)``: 12 free blocks of 4 kB; migrate types when printed (3.x+)."""

    block_kib: int
    count: int
    migrate_types: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FreeArea:
    """A buddy line ``[Node 0 ]Normal: 1*4kB (U) 2*8kB ... = 15700kB``."""

    node: int | None
    zone: str
    buckets: tuple[BuddyBucket, ...]
    total_kib: int | None = None  # None when the line was cut before "= NkB"
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HugePool:
    """``Node 0 hugepages_total=512 hugepages_free=512 hugepages_surp=0 hugepages_size=2048kB``."""

    node: int
    total: int
    free: int
    surplus: int
    size_kib: int
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RamSummary:
    """The RAM summary lines (pages): ``4194174 pages RAM``, ``0 pages HighMem/MovableOnly``,
    ``98437 pages reserved``, ... and the arch variants (``pages of RAM``, ``free pages``)."""

    ram_pages: int | None = None
    highmem_pages: int | None = None
    reserved_pages: int | None = None
    cma_reserved_pages: int | None = None
    hwpoisoned_pages: int | None = None
    shared_pages: int | None = None
    non_shared_pages: int | None = None
    pagetable_cache_pages: int | None = None
    free_pages: int | None = None  # arch variant "%d free pages"
    slab_pages: int | None = None  # arch variant "%d slab pages"
    swap_cached_pages: int | None = None  # arch variant "%d pages swap cached"
    first_line: int = 0
    last_line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SlabUsage:
    """A row of ``Unreclaimable slab info:`` (``kmalloc-2k  5916KB  5952KB``)."""

    name: str
    used_kib: int
    total_kib: int
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationSite:
    """6.10+ allocation profiling row ``1.21 GiB  237476 mm/readahead.c:189 func:ractl_...``."""

    size_bytes: int  # converted from the human-readable size (rounded as printed)
    calls: int
    location: str  # file:line
    function: str
    module: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One call-trace frame: `` ? out_of_memory+0x1a1/0x4e0 [kernel]`` or old
    `` [<ffffffff81234567>] func+0x12/0x40``; raw text kept."""

    function: str | None
    offset: int | None = None
    size: int | None = None
    module: str | None = None
    address: str | None = None
    reliable: bool = True  # False for "? " frames
    raw: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTrace:
    frames: tuple[Frame, ...]
    markers: tuple[str, ...] = ()  # "<TASK>", "</TASK>", "<IRQ>" ... in order seen
    registers: tuple[str, ...] = ()  # register lines, raw
    first_line: int = 0
    last_line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryState:
    """What show_mem / show_free_areas printed for one report."""

    meminfo: MemInfo | None = None
    nodes: tuple[NodeMemory, ...] = ()
    zones: tuple[Zone, ...] = ()
    free_areas: tuple[FreeArea, ...] = ()
    hugepages: tuple[HugePool, ...] = ()
    pagecache_pages: int | None = None
    swap_cache_pages: int | None = None
    swap_cache_stats: tuple[tuple[str, int], ...] = ()  # add, delete, find, find_total
    ram: RamSummary | None = None
    slab: tuple[SlabUsage, ...] | None = None  # None: the table was not printed
    slab_excessive: bool = False  # "excessive unreclaimable slab but cannot dump stats"
    allocation_profile: tuple[AllocationSite, ...] = ()
    page_size_kib: int | None = None  # from the smallest buddy block; None when no buddy line
    per_cpu: tuple[PerCpuPages, ...] = ()  # ≤3.x per-cpu page lists


@dataclass(frozen=True, slots=True, kw_only=True)
class EventTime:
    uptime_s: float | None = None
    wallclock: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OomEvent:
    """Everything parsed from one OOM-related report."""

    kind: EventKind
    source: SourceLocation
    time: EventTime
    host: str | None = None
    kernel_release: str | None = None
    trigger: Trigger = field(default_factory=Trigger)
    constraint: str | None = None
    manual: bool = False
    memcg: Memcg | None = None
    cpuset: str | None = None
    mems_allowed: str | None = None
    swap_total_kib: int | None = None
    swap_free_kib: int | None = None
    tasks: tuple[Task, ...] | None = None  # None: no task table printed
    task_columns: tuple[str, ...] | None = None
    kills: tuple[Kill, ...] = ()
    selected: Selection | None = None
    summary: Summary | None = None
    reaps: tuple[Reap, ...] = ()
    panic: str | None = None
    complete: bool = True
    memory: MemoryState = field(default_factory=MemoryState)
    call_trace: CallTrace | None = None
    tainted: str | None = None  # flags of "Tainted: P  O" on the CPU:/Pid: line; None if not
    taint_printed: bool = False  # a CPU:/Pid: line said "Not tainted" or "Tainted: ..."
    hardware: str | None = None  # "Hardware name: ..."
    lines: tuple[LogLine, ...] = ()
    unparsed: tuple[int, ...] = ()  # line numbers inside the report that no rule covers
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def victim(self) -> Kill | None:
        return self.kills[0] if self.kills else None

    @property
    def reaped(self) -> bool:
        """An oom_reaper line reaped the victim (or, with no kill line left, any task)."""
        victim = self.victim
        if victim is None:
            return any(r.success for r in self.reaps)
        return any(r.success and r.pid == victim.pid for r in self.reaps)


# --------------------------------------------------------------------------- explanation
# Replay (oomlens/replay.py), findings (oomlens/engine.py) and incidents (oomlens/incidents.py).


class StepName(StrEnum):
    REQUEST = "request"
    FREE_PAGES = "free_pages"
    RECLAIM = "reclaim"
    ACCOUNTING = "accounting"
    VICTIM_SELECTION = "victim_selection"
    OUTCOME = "outcome"


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """A source line that supports a statement."""

    path: str
    line: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayStep:
    """One step of the reclaim-to-kill sequence.

    ``verdict`` is a short word from the step's documented set (docs/replay.md), ``"unknown"``
    when the report does not show enough; ``summary`` says it in plain words; ``data`` holds the
    step's JSON-ready values (documented per step).
    """

    step: StepName
    verdict: str
    summary: str
    evidence: tuple[Evidence, ...] = ()
    data: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RankedTask:
    """A task of the dump table with its recomputed badness (best first in ``Replay.ranking``)."""

    pid: int
    name: str
    points: int  # the kernel's oom_badness() value (pages, adj-scaled)
    score: int | None  # on the scale the kernel printed (per-mille / per-thousand), else None
    is_victim: bool = False
    is_trigger: bool = False
    eligible: bool = True  # False: oom_score_adj -1000 or otherwise unkillable
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    """The replayed sequence for one event (steps in StepName order) and the recomputed ranking."""

    steps: tuple[ReplayStep, ...]
    ranking: tuple[RankedTask, ...] = ()  # best first; empty when no task table was printed
    victim_rank: int | None = None  # 1 = the kernel's victim was top-ranked; None = cannot tell
    recomputed_score: int | None = None  # the victim's score on the scale the kernel printed
    algorithm: str | None = None  # which oom_badness() era was used (docs/replay.md)
    totalpages: int | None = None  # the denominator the kernel used, when it can be derived

    def step(self, name: StepName) -> ReplayStep | None:
        return next((s for s in self.steps if s.step is name), None)


class IncidentPattern(StrEnum):
    """What a run of OOM events looks like (oomlens/incidents.py, docs/replay.md)."""

    SINGLE = "single"  # one event
    REPEATED = "repeated"  # several events, no storm or loop
    KILL_STORM = "kill_storm"  # many kills in a short window
    RESTART_LOOP = "restart_loop"  # the same command killed again and again under new pids


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    """One event on an incident's timeline; ``offset_s`` is seconds since the incident began."""

    event_index: int  # index into the sequence given to group_incidents()
    kind: EventKind
    uptime_s: float | None
    wallclock: str | None
    offset_s: float | None  # None when neither clock is comparable with the first event's
    victim_pid: int | None = None
    victim_comm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VictimCount:
    """How often one command was the victim of an incident's events (group kills aside)."""

    comm: str
    kills: int
    pids: tuple[int, ...]  # distinct pids, in order of the kills


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """Events of one host and boot that belong to one story (close in time)."""

    index: int  # 0-based, in timeline order over all hosts
    host: str | None
    source: str  # path of the first event's source
    boot: int  # 0-based boot number on this host (uptime going backwards starts a new boot)
    events: tuple[OomEvent, ...]
    timeline: tuple[TimelineEntry, ...]
    first_uptime_s: float | None = None
    last_uptime_s: float | None = None
    first_wallclock: str | None = None
    last_wallclock: str | None = None
    duration_s: float | None = None
    kills: int = 0  # kill lines over all events (memory.oom.group kills included)
    victims: tuple[VictimCount, ...] = ()
    pattern: IncidentPattern = IncidentPattern.SINGLE
    kill_storm: bool = False
    restart_loop: bool = False
    repeat_of: int | None = None  # index of an earlier incident of this boot with the same victim
    repeats: int = 0  # earlier incidents of this host and boot that killed the same command


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Cause(StrEnum):
    # primary causes
    MANUAL_TRIGGER = "manual_trigger"
    CGROUP_LIMIT = "cgroup_limit"
    CPUSET_OR_MEMPOLICY = "cpuset_or_mempolicy"
    KERNEL_MEMORY = "kernel_memory"
    SHMEM_TMPFS = "shmem_tmpfs"
    HUGEPAGES_RESERVED = "hugepages_reserved"
    FRAGMENTATION = "fragmentation"
    LOWMEM_EXHAUSTED = "lowmem_exhausted"
    SINGLE_PROCESS = "single_process"
    MANY_PROCESSES = "many_processes"
    UNKNOWN = "unknown"
    # contributing factors
    SWAP_ABSENT = "swap_absent"
    SWAP_EXHAUSTED = "swap_exhausted"
    PAGE_CACHE_EXHAUSTED = "page_cache_exhausted"
    DIRTY_WRITEBACK = "dirty_writeback"
    UNEVICTABLE_MLOCKED = "unevictable_mlocked"
    OOM_SCORE_ADJ_PROTECTED = "oom_score_adj_protected"
    KILL_LOOP = "kill_loop"
    REAPER_FAILED = "reaper_failed"
    PANIC_ON_OOM = "panic_on_oom"
    NO_KILLABLE_TASKS = "no_killable_tasks"
    ATOMIC_OR_NOFS_ALLOCATION = "atomic_or_nofs_allocation"
    PAGETABLES_LARGE = "pagetables_large"


PRIMARY_CAUSES = frozenset(
    {
        Cause.MANUAL_TRIGGER,
        Cause.CGROUP_LIMIT,
        Cause.CPUSET_OR_MEMPOLICY,
        Cause.KERNEL_MEMORY,
        Cause.SHMEM_TMPFS,
        Cause.HUGEPAGES_RESERVED,
        Cause.FRAGMENTATION,
        Cause.LOWMEM_EXHAUSTED,
        Cause.SINGLE_PROCESS,
        Cause.MANY_PROCESSES,
        Cause.UNKNOWN,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FactValue:
    """A fact a finding relied on: its value, unit and the lines it came from."""

    name: str
    value: Any  # int | float | bool | str | None
    unit: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    rule_id: str
    name: str
    cause: Cause
    primary: bool
    severity: Severity
    title: str
    explanation: str
    remedy: str
    references: tuple[str, ...] = ()
    facts: tuple[FactValue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainedEvent:
    """An event with its replay and findings (exactly one finding is primary)."""

    event: OomEvent
    replay: Replay
    findings: tuple[Finding, ...] = ()

    @property
    def primary(self) -> Finding | None:
        return next((f for f in self.findings if f.primary), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """The result of analysing one or more inputs."""

    sources: tuple[SourceInfo, ...]
    events: tuple[OomEvent, ...]
    diagnostics: tuple[Diagnostic, ...]
    failed_inputs: tuple[str, ...] = ()
    explained: tuple[ExplainedEvent, ...] = ()  # aligned with events once explained
    incidents: tuple[Incident, ...] = ()


# -- pickling: values cross processes (parallel scans, explanations, batch workers)


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    return _MAKERS[cls](*values)


class _Rows:
    """A tuple of model objects of one class, pickled as one list of their field values: an
    event's hundreds of lines, tasks and buckets then cost the pickler no call each."""

    __slots__ = ("element", "rows")

    def __init__(self, element: type, rows: list[tuple[Any, ...]]) -> None:
        self.element, self.rows = element, rows

    def __reduce__(self) -> tuple[Any, ...]:
        return _unpack_rows, (self.element, self.rows)


def _unpack_rows(element: type, rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(itertools.starmap(_MAKERS[element], rows))


_TUPLE_OF = re.compile(r"tuple\[(\w+), \.\.\.\](?: \| None)?")


def _built_fast(cls: type) -> None:
    """Pickle ``cls`` as (class, field values), rebuilt by a positional constructor, and
    give it an ``__init__`` that sets its slots directly (``fastinit.fast_init``).

    The default for a frozen slotted dataclass sets each field with ``object.__setattr__``
    in Python and looks the fields up anew for every object; an event of a few hundred
    tasks and lines took milliseconds to unpickle, which made a second process slower than
    none. A field holding a tuple of model objects goes as ``_Rows``."""
    specs = fields(cls)
    names = tuple(f.name for f in specs)
    get = attrgetter(*names)
    single = len(names) == 1
    packed: list[tuple[int, type, Any]] = []  # (field index, element class, its field getter)
    for index, spec in enumerate(specs):
        match = _TUPLE_OF.fullmatch(str(spec.type))
        element = globals().get(match.group(1)) if match else None
        if isinstance(element, type) and is_dataclass(element) and len(fields(element)) > 1:
            packed.append((index, element, attrgetter(*(f.name for f in fields(element)))))

    def __reduce__(self: Any) -> tuple[Any, ...]:  # noqa: N807 - the pickle protocol's name
        values = get(self)
        if single:
            return _rebuild, (type(self), (values,))
        if not packed:
            return _rebuild, (type(self), values)
        mixed = list(values)
        for index, element, row in packed:
            items = mixed[index]
            if type(items) is tuple and items and all(type(i) is element for i in items):
                mixed[index] = _Rows(element, [row(item) for item in items])
        return _rebuild, (type(self), tuple(mixed))

    _MAKERS[cls] = positional(cls, names)
    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    fast_init(cls)


_MAKERS: dict[type, Any] = {}
for _value in list(globals().values()):
    if isinstance(_value, type) and is_dataclass(_value) and _value.__module__ == __name__:
        _built_fast(_value)

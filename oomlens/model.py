"""Typed values that cross module boundaries.

Conventions: frozen, slotted, keyword-only dataclasses; tuples, not lists; units in field
names (``_kib``, ``_pages``, ``_bytes``); ``None`` means the kernel did not print the value,
``0`` means it printed 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """The result of analysing one or more inputs."""

    sources: tuple[SourceInfo, ...]
    events: tuple[OomEvent, ...]
    diagnostics: tuple[Diagnostic, ...]
    failed_inputs: tuple[str, ...] = ()

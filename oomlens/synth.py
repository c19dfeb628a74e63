"""Synthetic kernel OOM reports, written line by line from the kernel's own formats.

Every format here follows ``shared/docs/kernel-oom-format.md`` (section numbers below refer to
it): the printing order per era (§2), the line families (§3), the per-version templates (§4),
the badness formulas (§6), the GFP values (§7) and the envelopes (§8).

Eras covered (``ERAS``)::

    2.6.32-rhel6  3.10-rhel7  4.9  4.19  5.10  5.15  6.1  6.8

Kinds (``KINDS``): ``oom_kill`` (global OOM), ``memcg`` (cgroup v1 one-line stats up to
4.19, cgroup v2 ``swap:`` line and memory.stat dump from 5.10), ``allocation_failure``
(page allocation failure warning), ``manual`` (sysrq-f; ``order=-1`` from 4.9) and
``panic_no_killable`` (no eligible task: panic).  Kills from 4.9 on may be followed by an
``oom_reaper:`` line.

Typical use::

    rng = random.Random(7)
    report = random_report(rng, era="5.10", kind="memcg")
    text = render(report.records(), "syslog", start_uptime=1234.5,
                  wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC), host="web1")
    report.expected()   # the values oomlens must extract (JSON contract keys)

    write_log("big.log", size_bytes=1 << 30, reports=400, envelope="syslog", seed=1)

``records()`` keeps the kernel's multi-line records (Mem-Info counters; the 5.3-6.1
memory.stat block; pre-5.4 panic messages) as one :class:`Record` whose text holds ``\\n``;
``render`` shows them the way each reader does (§8.4).  ``lines()`` is the flat list of
kernel text lines without any envelope.

Nothing here is imported by the analysis pipeline; it exists for tests, examples and
benchmarks.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

__all__ = [
    "ENVELOPES",
    "ERAS",
    "KINDS",
    "Record",
    "SynthReport",
    "SynthTask",
    "SynthZone",
    "badness",
    "noise_lines",
    "random_report",
    "render",
    "write_log",
]

ERAS: Final[tuple[str, ...]] = (
    "2.6.32-rhel6",
    "3.10-rhel7",
    "4.9",
    "4.19",
    "5.10",
    "5.15",
    "6.1",
    "6.8",
)
KINDS: Final[tuple[str, ...]] = (
    "oom_kill",
    "memcg",
    "allocation_failure",
    "manual",
    "panic_no_killable",
)
ENVELOPES: Final[tuple[str, ...]] = (
    "bare",
    "dmesg",
    "dmesg-T",
    "syslog",
    "journal",
    "rfc3339",
    "kmsg",
)
COMPRESSIONS: Final[tuple[str, ...]] = ("gzip", "bz2", "xz", "zstd")

# era ranks, in release order
R_RHEL6, R_RHEL7, R_49, R_419, R_510, R_515, R_61, R_68 = range(8)
_RANK: Final[dict[str, int]] = {era: i for i, era in enumerate(ERAS)}

PAGE_KIB: Final = 4
# "unlimited" memcg limits as printed (§3.5.1, §3.5.2)
UNLIMITED_RES_COUNTER_KIB: Final = 9007199254740991  # LLONG_MAX >> 10 (2.6.32, RHEL6)
UNLIMITED_PAGE_COUNTER_KIB: Final = 9007199254740988  # RHEL7, 4.x and later

# printk levels (§8.1)
LVL_EMERG, LVL_ERR, LVL_WARN, LVL_INFO = 0, 3, 4, 6
LVL_DEFAULT = LVL_WARN

_KERNEL_ONLY_ENVELOPES: Final = frozenset({"bare", "dmesg", "dmesg-T", "kmsg"})
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Record:
    """One printk record: ``text`` may hold ``\\n`` (a multi-line record, §8.4).

    ``program`` is the syslog tag (``kernel`` for kernel messages); ``delay_us`` is extra
    time before this record (the asynchronous oom_reaper line, for instance).
    """

    text: str
    level: int = LVL_DEFAULT
    program: str = "kernel"
    delay_us: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthTask:
    """One process as the task dump shows it; memory values in pages (pgtables in bytes)."""

    pid: int
    uid: int
    tgid: int
    total_vm_pages: int
    rss_anon_pages: int
    rss_file_pages: int
    rss_shmem_pages: int
    pgtables_bytes: int
    swapents: int
    oom_score_adj: int
    name: str
    cpu: int = 0  # the RHEL6 ``cpu`` column

    @property
    def rss_pages(self) -> int:
        """``rss`` as printed: anon + file + shmem (shmem is inside file on RHEL6)."""
        return self.rss_anon_pages + self.rss_file_pages + self.rss_shmem_pages

    @property
    def pgtable_pages(self) -> int:
        return self.pgtables_bytes // (PAGE_KIB * 1024)

    @property
    def nr_pmds(self) -> int:
        """4.9 ``nr_pmds`` column; ``nr_ptes`` is the rest of the page-table pages."""
        return 2 if self.pgtable_pages < 40 else 3 + self.pgtable_pages // 400

    @property
    def oom_adj(self) -> int:
        """The legacy oom_adj derived from oom_score_adj (RHEL6 header and table)."""
        if self.oom_score_adj == -1000:
            return -17
        return int(self.oom_score_adj * 15 / 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthZone:
    name: str
    present_pages: int
    managed_pages: int


def _oom_adj(oom_score_adj: int) -> int:
    return -17 if oom_score_adj == -1000 else int(oom_score_adj * 15 / 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthReport:
    """One OOM-related report with every value that its text shows.

    Values that appear in :meth:`expected` are explicit fields; purely cosmetic details
    (stack offsets, zone counters, memory.stat values) come from ``detail_seed`` so that
    :meth:`lines` is a pure function of the report.
    """

    era: str
    kind: str
    kernel_release: str
    kernel_version: str = "#1"
    trigger_comm: str
    trigger_pid: int
    gfp_mask: int
    gfp_names: str  # the %pGg text, e.g. "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"
    order: int
    oom_score_adj: int  # the allocating task's
    cpu: int = 0
    ncpus: int = 4
    taint: str = "Not tainted"
    hardware: str | None = None
    kdump: bool = False
    cpuset: str = "/"
    mems_allowed: str = "0"
    tasks: tuple[SynthTask, ...] = ()
    victim_pid: int | None = None
    zones: tuple[SynthZone, ...] = ()
    swap_total_kib: int = 0
    swap_free_kib: int = 0
    memcg_limit_path: str | None = None
    memcg_victim_path: str | None = None  # also task_memcg= of a global 5.x+ summary
    memcg_usage_kib: int | None = None
    memcg_limit_kib: int | None = None
    memcg_failcnt: int | None = None
    memcg_swap_usage_kib: int | None = None  # cgroup v2 ``swap:`` line
    memcg_swap_limit_kib: int | None = None
    memcg_swap_failcnt: int | None = None
    memsw_usage_kib: int | None = None  # cgroup v1 ``memory+swap:`` line
    memsw_limit_kib: int | None = None
    reaped: bool = False
    reap_file_rss_kib: int = 0
    user_fault: bool = True
    detail_seed: int = 0

    def __post_init__(self) -> None:
        if self.era not in _RANK:
            raise ValueError(f"unknown era {self.era!r}; expected one of {ERAS}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {KINDS}")
        if self.victim_pid is not None and all(t.pid != self.victim_pid for t in self.tasks):
            raise ValueError(f"victim pid {self.victim_pid} is not in the task table")

    # ----------------------------------------------------------------- derived values

    @property
    def rank(self) -> int:
        return _RANK[self.era]

    @property
    def is_memcg(self) -> bool:
        return self.kind == "memcg"

    @property
    def victim(self) -> SynthTask | None:
        for task in self.tasks:
            if task.pid == self.victim_pid:
                return task
        return None

    @property
    def totalram_pages(self) -> int:
        return sum(z.managed_pages for z in self.zones)

    @property
    def ram_pages(self) -> int:
        return sum(z.present_pages for z in self.zones)

    @property
    def reserved_pages(self) -> int:
        return self.ram_pages - self.totalram_pages

    @property
    def totalpages(self) -> int:
        """The badness denominator (§5)."""
        swap_pages = self.swap_total_kib // PAGE_KIB
        if not self.is_memcg:
            return max(1, self.totalram_pages + swap_pages)
        limit = (self.memcg_limit_kib or 0) // PAGE_KIB
        if self.rank >= R_510:  # cgroup v2: memory.max + min(swap.max, total_swap)
            swap_max = (self.memcg_swap_limit_kib or 0) // PAGE_KIB
            return max(1, limit + min(swap_max, swap_pages))
        memsw = (self.memsw_limit_kib or 0) // PAGE_KIB
        return max(1, min(limit + swap_pages, memsw))

    @property
    def prints_mem_info(self) -> bool:
        return not self.is_memcg or self.rank == R_RHEL6

    @property
    def prints_tasks(self) -> bool:
        return self.kind != "allocation_failure"

    @property
    def kills(self) -> bool:
        return self.kind in ("oom_kill", "memcg", "manual") and self.victim is not None

    @property
    def has_reaper_line(self) -> bool:
        return self.reaped and self.kills and self.rank >= R_49

    @property
    def kill_message(self) -> str:
        return "Memory cgroup out of memory" if self.is_memcg else "Out of memory"

    @property
    def panic_message(self) -> str | None:
        if self.kind != "panic_no_killable":
            return None
        if self.rank >= R_419:
            return "Kernel panic - not syncing: System is deadlocked on memory"
        return "Kernel panic - not syncing: Out of memory and no killable processes..."

    def badness(self, task: SynthTask) -> int | None:
        return badness(self.era, task, self.totalpages)

    def score(self, task: SynthTask) -> int | None:
        """The score printed in ``Kill process ... score N`` (up to 4.19), else None."""
        if self.rank > R_419:
            return None
        points = self.badness(task)
        if points is None:
            return None
        if self.rank == R_RHEL6:
            return points
        return points * 1000 // self.totalpages

    # ----------------------------------------------------------------- output

    def records(self) -> list[Record]:
        """The report as printk records, in the era's printing order (§2)."""
        return _Renderer(self).render()

    def expected_memory(self) -> dict[str, Any] | None:
        """The Mem-Info values the report prints, keyed like the parsed ``MemoryState``
        (``meminfo``: pages per printed counter; ``node``/``zones``: kB fields; ``free_areas``:
        buckets and totals; ``hugepages``; ``pagecache_pages``; ``swap_cache_pages``;
        ``swap_cache_stats``; ``ram``; ``page_size_kib``), or None when no Mem-Info is printed."""
        renderer = _Renderer(self)
        renderer.render()
        return renderer.memory

    def lines(self) -> list[str]:
        """Kernel text lines, no envelope (multi-line records split into lines)."""
        out: list[str] = []
        for rec in self.records():
            out.extend(rec.text.split("\n"))
        return out

    @property
    def header_index(self) -> int:
        """Index in :meth:`records` of the header (``invoked oom-killer`` / allocation failure)."""
        return 1 if self.kind == "manual" else 0

    def expected(self) -> dict[str, Any]:
        """What oomlens should extract, keyed like the JSON contract (json-contract.md).

        Values the kernel does not print in this era are None.  Extra keys: ``era``,
        ``synth_kind``; task rows also carry ``rss_anon_pages``/``rss_file_pages``/
        ``rss_shmem_pages`` (printed from 6.8); memcg carries ``memsw_*`` (cgroup v1).
        ``source``/``time``/``host`` are added by :func:`write_log`.
        """
        k = self.rank
        alloc = self.kind == "allocation_failure"
        kind = {
            "oom_kill": "oom_kill",
            "memcg": "oom_kill",
            "manual": "oom_kill",
            "allocation_failure": "allocation_failure",
            "panic_no_killable": "oom_panic",
        }[self.kind]
        victim = self.victim if self.kills else None
        return {
            "kind": kind,
            "era": self.era,
            "synth_kind": self.kind,
            "kernel_release": self.kernel_release,
            "trigger": {
                "comm": self.trigger_comm,
                "pid": self.trigger_pid,
                "gfp_mask": f"{self.gfp_mask:#x}",
                "gfp_flags": self.gfp_names.split("|") if self.gfp_names else [],
                "order": self.order,
                "oom_score_adj": None if alloc else self.oom_score_adj,
            },
            "constraint": None
            if alloc
            else ("CONSTRAINT_MEMCG" if self.is_memcg else "CONSTRAINT_NONE"),
            "manual": self.kind == "manual",
            "memcg": self._expected_memcg(),
            "swap": {
                "total_kib": self.swap_total_kib if self.prints_mem_info else None,
                "free_kib": self.swap_free_kib if self.prints_mem_info else None,
            },
            "tasks": [self._expected_row(t) for t in self.tasks] if self.prints_tasks else None,
            "victim": None if victim is None else self._expected_victim(victim),
            "selected": None
            if victim is None or k > R_419
            else {"pid": victim.pid, "comm": victim.name, "score": self.score(victim)},
            "reaped": self.has_reaper_line,
            "panic": self.panic_message,
            "complete": True,
        }

    def _expected_memcg(self) -> dict[str, Any] | None:
        v2 = self.rank >= R_510
        if self.is_memcg:
            return {
                "limit_path": self.memcg_limit_path,
                "victim_path": self.memcg_victim_path,
                "usage_kib": self.memcg_usage_kib,
                "limit_kib": self.memcg_limit_kib,
                "failcnt": self.memcg_failcnt,
                "swap_usage_kib": self.memcg_swap_usage_kib if v2 else None,
                "swap_limit_kib": self.memcg_swap_limit_kib if v2 else None,
                "memsw_usage_kib": None if v2 else self.memsw_usage_kib,
                "memsw_limit_kib": None if v2 else self.memsw_limit_kib,
            }
        if v2 and self.kills and self.memcg_victim_path is not None:  # task_memcg= (global)
            return {
                "limit_path": None,
                "victim_path": self.memcg_victim_path,
                "usage_kib": None,
                "limit_kib": None,
                "failcnt": None,
                "swap_usage_kib": None,
                "swap_limit_kib": None,
                "memsw_usage_kib": None,
                "memsw_limit_kib": None,
            }
        return None

    def _expected_row(self, t: SynthTask) -> dict[str, Any]:
        k = self.rank
        return {
            "pid": t.pid,
            "uid": t.uid,
            "tgid": t.tgid,
            "total_vm_pages": t.total_vm_pages,
            "rss_pages": t.rss_pages,
            "pgtables_bytes": t.pgtables_bytes if k >= R_419 else None,
            "swapents": t.swapents if k >= R_RHEL7 else None,
            "oom_score_adj": t.oom_score_adj,
            "name": t.name,
            "rss_anon_pages": t.rss_anon_pages if k >= R_68 else None,
            "rss_file_pages": t.rss_file_pages if k >= R_68 else None,
            "rss_shmem_pages": t.rss_shmem_pages if k >= R_68 else None,
        }

    def _expected_victim(self, v: SynthTask) -> dict[str, Any]:
        k = self.rank
        if k == R_RHEL6:
            file_kib = (v.rss_file_pages + v.rss_shmem_pages) * PAGE_KIB
        else:
            file_kib = v.rss_file_pages * PAGE_KIB
        uid_printed = k == R_RHEL6 or k >= R_510 or (k == R_RHEL7 and _rhel7_kill_uid(self))
        return {
            "pid": v.pid,
            "comm": v.name,
            "total_vm_kib": v.total_vm_pages * PAGE_KIB,
            "anon_rss_kib": v.rss_anon_pages * PAGE_KIB,
            "file_rss_kib": file_kib,
            "shmem_rss_kib": None if k == R_RHEL6 else v.rss_shmem_pages * PAGE_KIB,
            "pgtables_kib": v.pgtables_bytes >> 10 if k >= R_510 else None,
            "uid": v.uid if uid_printed else None,
            "oom_score_adj": v.oom_score_adj if k >= R_510 else None,
            "score": self.score(v),
        }


def _rhel7_kill_uid(report: SynthReport) -> bool:
    """RHEL 7.9 sources print ``, UID %d,`` in the kill line; 7.3-7.5 kernels do not (§3.10)."""
    return report.kernel_release.startswith("3.10.0-1160")


# --------------------------------------------------------------------------- badness (§6)


def badness(era: str, task: SynthTask, totalpages: int) -> int | None:
    """The kernel's points for ``task`` in ``era``; None when the task is not eligible.

    CAP_SYS_ADMIN (the 3% bonus up to 4.16, -30 on RHEL6) is assumed for uid 0.
    """
    k = _RANK[era]
    if task.oom_score_adj == -1000:
        return None
    if k == R_RHEL6:  # §6.2 per-mille
        points = (task.rss_pages + task.pgtable_pages + task.swapents) * 1000 // totalpages
        if task.uid == 0:
            points -= 30
        points += task.oom_score_adj
        if points <= 0:
            return 1
        return min(points, 1000)
    points = task.rss_pages + task.pgtable_pages + task.swapents
    if k <= R_49 and task.uid == 0:  # §6.3 root bonus (removed in 4.17)
        points -= points * 3 // 100
    points += task.oom_score_adj * (totalpages // 1000)
    if k <= R_419:  # floor at 1 up to 5.8 (§6.3-6.5)
        return max(points, 1)
    return points  # §6.6 signed


def select_victim(era: str, tasks: Sequence[SynthTask], totalpages: int) -> SynthTask | None:
    """The argmax with the era's tie rule: first wins up to 5.0, the later one from 5.1."""
    best: SynthTask | None = None
    best_points = 0
    later_wins = _RANK[era] >= R_510
    for task in tasks:
        points = badness(era, task, totalpages)
        if points is None:
            continue
        if best is None or points > best_points or (later_wins and points == best_points):
            best, best_points = task, points
    return best


# --------------------------------------------------------------------------- tables

_GfpChoice = tuple[int, str]

_GFP: Final[dict[str, dict[str, tuple[_GfpChoice, ...]]]] = {
    "2.6.32-rhel6": {
        "fault": (
            (0x201DA, "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
            (0x280DA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
            (0x200DA, "GFP_HIGHUSER_MOVABLE"),
        ),
        "kernel": ((0xD0, "GFP_KERNEL"),),
        "atomic": ((0x20, "GFP_ATOMIC"), (0x4020, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0xD0, "GFP_KERNEL"),),
    },
    "3.10-rhel7": {
        "fault": (
            (0x201DA, "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
            (0x280DA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
            (0x200DA, "GFP_HIGHUSER_MOVABLE"),
        ),
        "kernel": ((0xD0, "GFP_KERNEL"),),
        "atomic": ((0x20, "GFP_ATOMIC"), (0x4020, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0xD0, "GFP_KERNEL"),),
    },
    "4.9": {
        "fault": (
            (0x24201CA, "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
            (0x24280CA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
            (0x24200CA, "GFP_HIGHUSER_MOVABLE"),
        ),
        "kernel": ((0x24000C0, "GFP_KERNEL"), (0x25000C0, "GFP_KERNEL_ACCOUNT")),
        "atomic": ((0x2080020, "GFP_ATOMIC"), (0x2084020, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0x24000C0, "GFP_KERNEL"),),
    },
    "4.19": {
        "fault": (
            (0x6200CA, "GFP_HIGHUSER_MOVABLE"),
            (0x6280CA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
        ),
        "kernel": ((0x6000C0, "GFP_KERNEL"), (0x7000C0, "GFP_KERNEL_ACCOUNT")),
        "atomic": ((0x480020, "GFP_ATOMIC"), (0x484020, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0x6000C0, "GFP_KERNEL"),),
    },
    "5.10": {
        "fault": (
            (0x100CCA, "GFP_HIGHUSER_MOVABLE"),
            (0x100DCA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
        ),
        "kernel": ((0xCC0, "GFP_KERNEL"), (0x400CC0, "GFP_KERNEL_ACCOUNT")),
        "atomic": ((0xA20, "GFP_ATOMIC"), (0x40A20, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0xCC0, "GFP_KERNEL"),),
    },
    "5.15": {
        "fault": (
            (0x1100CCA, "GFP_HIGHUSER_MOVABLE"),
            (0x1100DCA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
        ),
        "kernel": ((0xCC0, "GFP_KERNEL"), (0x400CC0, "GFP_KERNEL_ACCOUNT")),
        "atomic": ((0xA20, "GFP_ATOMIC"), (0x40A20, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0xCC0, "GFP_KERNEL"),),
    },
    "6.1": {
        "fault": (
            (0x140CCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
            (0x140DCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO"),
            (0x100CCA, "GFP_HIGHUSER_MOVABLE"),
            (0x100DCA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
        ),
        "kernel": ((0xCC0, "GFP_KERNEL"), (0x400CC0, "GFP_KERNEL_ACCOUNT")),
        "atomic": ((0xA20, "GFP_ATOMIC"), (0x40A20, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0xCC0, "GFP_KERNEL"),),
    },
    "6.8": {
        "fault": (
            (0x140CCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
            (0x140DCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO"),
            (0x100CCA, "GFP_HIGHUSER_MOVABLE"),
            (0x100DCA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
        ),
        "kernel": ((0xCC0, "GFP_KERNEL"), (0x400CC0, "GFP_KERNEL_ACCOUNT")),
        "atomic": ((0x820, "GFP_ATOMIC"), (0x40820, "GFP_ATOMIC|__GFP_COMP")),
        "manual": ((0xCC0, "GFP_KERNEL"),),
    },
}

_RELEASES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "2.6.32-rhel6": (
        ("2.6.32-754.35.1.el6.x86_64", "#1"),
        ("2.6.32-696.30.1.el6.x86_64", "#1"),
        ("2.6.32-642.6.2.el6.x86_64", "#1"),
    ),
    "3.10-rhel7": (
        ("3.10.0-1160.119.1.el7.x86_64", "#1"),
        ("3.10.0-1160.el7.x86_64", "#1"),
        ("3.10.0-862.14.4.el7.x86_64", "#1"),
        ("3.10.0-693.21.1.el7.x86_64", "#1"),
    ),
    "4.9": (
        ("4.9.0-13-amd64", "#1 Debian 4.9.228-1"),
        ("4.9.0-19-amd64", "#1 Debian 4.9.320-2"),
        ("4.9.337", "#1"),
    ),
    "4.19": (
        ("4.19.0-21-amd64", "#1 Debian 4.19.249-2"),
        ("4.19.0-26-amd64", "#1 Debian 4.19.304-1"),
        ("4.19.91-27.an8.x86_64", "#1"),
    ),
    "5.10": (
        ("5.10.0-28-amd64", "#1 Debian 5.10.209-2"),
        ("5.10.0-30-cloud-amd64", "#1 Debian 5.10.218-1"),
        ("5.10.205-195.807.amzn2.x86_64", "#1"),
    ),
    "5.15": (
        ("5.15.0-91-generic", "#101-Ubuntu"),
        ("5.15.0-125-generic", "#135-Ubuntu"),
        ("5.15.158-1-pve", "#1"),
    ),
    "6.1": (
        ("6.1.0-18-amd64", "#1 Debian 6.1.76-1"),
        ("6.1.0-25-cloud-amd64", "#1 Debian 6.1.106-3"),
        ("6.1.112", "#1"),
    ),
    "6.8": (
        ("6.8.0-45-generic", "#45-Ubuntu"),
        ("6.8.0-51-generic", "#52-Ubuntu"),
        ("6.8.12-4-pve", "#1"),
    ),
}

_HARDWARE: Final = (
    "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
    "QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-debian-1.16.3-2 04/01/2014",
    "Dell Inc. PowerEdge R640/0W23H8, BIOS 2.12.2 07/09/2021",
    "HP ProLiant DL380 Gen9/ProLiant DL380 Gen9, BIOS P89 10/21/2019",
    "Amazon EC2 m5.xlarge/, BIOS 1.0 10/16/2017",
    "Google Google Compute Engine/Google Compute Engine, BIOS Google 01/01/2011",
    "VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform, BIOS 6.00 11/12/2020",
    "Supermicro SYS-2029P-C1R/X11DPi-N, BIOS 3.4 11/24/2020",
    "Microsoft Corporation Virtual Machine/Virtual Machine, BIOS 090008 12/07/2018",
)

# (name, uid, oom_score_adj) of ordinary system processes; listed roughly in start order
_SYSTEM_TASKS: Final[tuple[tuple[str, int, int], ...]] = (
    ("systemd-journal", 0, -250),
    ("lvmetad", 0, 0),
    ("systemd-udevd", 0, -1000),
    ("multipathd", 0, -1000),
    ("auditd", 0, -1000),
    ("systemd-timesyn", 102, 0),
    ("systemd-network", 100, 0),
    ("systemd-resolve", 101, 0),
    ("dbus-daemon", 81, -900),
    ("irqbalance", 0, 0),
    ("rsyslogd", 0, 0),
    ("systemd-logind", 0, 0),
    ("polkitd", 998, 0),
    ("chronyd", 998, 0),
    ("NetworkManager", 0, 0),
    ("crond", 0, 0),
    ("atd", 0, 0),
    ("sshd", 0, -1000),
    ("agetty", 0, 0),
    ("containerd", 0, -999),
    ("dockerd", 0, -500),
    ("kubelet", 0, -999),
    ("master", 0, 0),
    ("qmgr", 89, 0),
    ("pickup", 89, 0),
    ("snapd", 0, 0),
    ("unattended-upgr", 0, 0),
    ("node_exporter", 65534, 0),
    ("zabbix_agentd", 997, 0),
    ("sshd", 0, 0),
    ("systemd", 1000, 100),
    ("(sd-pam)", 1000, 100),
    ("bash", 1000, 0),
    ("sudo", 0, 0),
    ("tmux: server", 1000, 0),
    ("containerd-shim", 0, -998),
)

# (name, uid, oom_score_adj) of memory-hungry applications
_APP_TASKS: Final[tuple[tuple[str, int, int], ...]] = (
    ("java", 1000, 0),
    ("python3", 1000, 0),
    ("node", 1000, 0),
    ("postgres", 999, 0),
    ("mysqld", 27, 0),
    ("redis-server", 999, 0),
    ("nginx", 33, 0),
    ("php-fpm", 33, 0),
    ("httpd", 48, 0),
    ("mongod", 999, 0),
    ("ruby", 1000, 0),
    ("gunicorn", 1000, 0),
    ("celery", 1000, 0),
    ("chrome", 1000, 300),
    ("Web Content", 1000, 167),
    ("Isolated Web Co", 1000, 233),
    ("firefox", 1000, 0),
    ("stress", 1000, 0),
    ("stress-ng-vm", 0, 0),
    ("memhog", 1000, 0),
    ("qemu-system-x86", 107, 0),
    ("beam.smp", 999, 0),
    ("dotnet", 1000, 0),
    ("prometheus", 65534, 0),
    ("clickhouse-serv", 101, 0),
    ("ffmpeg", 1000, 0),
    ("clang++", 1000, 0),
    ("cc1plus", 1000, 0),
    ("rustc", 1000, 0),
    ("elasticsearch", 1000, 0),
)

# task names that break naive parsers (comm is at most 15 bytes, §1)
HOSTILE_NAMES: Final[tuple[str, ...]] = (
    "runc:[2:INIT]",
    "Web Content",
    "tmux: client",
    "(sd-pam)",
    ".thunderbird-wr",
    "<script>",
    "a|b|c",
    "my app (v2)",
    "x) (y",
    "foo bar baz",
    "[fake]",
    "$(reboot)",
    "%s%s%n",
    "Größe-worker",
    "kworker?:1",
    "score 1000 (x)",
)

_SYSRQ_OOM_OLD: Final = "SysRq : Manual OOM execution"
_SYSRQ_OOM_NEW: Final = "sysrq: Manual OOM execution"


# --------------------------------------------------------------------------- rendering


_STACK_WORD_BASES: Final = (0xFFFF880000000000, 0xFFFFFFFF81000000, 0)


def _fn(rng: random.Random, name: str) -> str:
    size = rng.randint(0x20, 0x5FF)
    return f"{name}+0x{rng.randint(1, size - 1):x}/0x{size:x}"


# stack frames per family ("?" marks an unreliable frame)
_FRAMES: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("old", "global"): (
        "dump_header",
        "? oom_unkillable_task",
        "oom_kill_process",
        "? has_capability_noaudit",
        "out_of_memory",
        "__alloc_pages_nodemask",
        "alloc_pages_current",
        "__page_cache_alloc",
        "filemap_fault",
        "__do_fault",
        "handle_mm_fault",
        "__do_page_fault",
        "do_page_fault",
        "page_fault",
    ),
    ("rhel6", "memcg"): (
        "dump_header",
        "oom_kill_process",
        "mem_cgroup_out_of_memory",
        "__mem_cgroup_try_charge",
        "mem_cgroup_charge_common",
        "mem_cgroup_newpage_charge",
        "handle_pte_fault",
        "handle_mm_fault",
        "__do_page_fault",
        "do_page_fault",
        "page_fault",
    ),
    ("rhel6", "manual"): (
        "dump_header",
        "oom_kill_process",
        "out_of_memory",
        "moom_callback",
        "worker_thread",
        "autoremove_wake_function",
        "kthread",
        "child_rip",
    ),
    ("old", "memcg"): (
        "dump_header",
        "oom_kill_process",
        "? has_capability_noaudit",
        "mem_cgroup_oom_synchronize",
        "? mem_cgroup_charge_common",
        "pagefault_out_of_memory",
        "mm_fault_error",
        "__do_page_fault",
        "do_page_fault",
        "page_fault",
    ),
    ("old", "manual"): (
        "dump_header",
        "oom_kill_process",
        "out_of_memory",
        "moom_callback",
        "process_one_work",
        "worker_thread",
        "? rescuer_thread",
        "kthread",
        "? kthread_create_on_node",
        "ret_from_fork",
    ),
    ("old", "alloc"): (
        "__alloc_pages_slowpath",
        "__alloc_pages_nodemask",
        "alloc_pages_current",
        "kmalloc_order",
        "kmalloc_order_trace",
        "__kmalloc",
        "__alloc_skb",
        "sk_stream_alloc_skb",
        "tcp_sendmsg",
        "inet_sendmsg",
        "sock_sendmsg",
        "SYSC_sendto",
        "SyS_sendto",
        "system_call_fastpath",
    ),
    ("old", "panic"): (
        "panic",
        "out_of_memory",
        "__alloc_pages_nodemask",
        "alloc_pages_current",
        "__page_cache_alloc",
        "filemap_fault",
        "__do_fault",
        "handle_mm_fault",
        "__do_page_fault",
        "do_page_fault",
        "page_fault",
    ),
    ("new", "global"): (
        "dump_header",
        "oom_kill_process.cold",
        "out_of_memory",
        "__alloc_pages_slowpath.constprop.0",
        "__alloc_pages",
        "vma_alloc_folio",
        "do_anonymous_page",
        "__handle_mm_fault",
        "handle_mm_fault",
        "do_user_addr_fault",
        "exc_page_fault",
        "asm_exc_page_fault",
    ),
    ("new", "memcg"): (
        "dump_header",
        "oom_kill_process.cold",
        "out_of_memory",
        "mem_cgroup_out_of_memory",
        "try_charge_memcg",
        "charge_memcg",
        "__mem_cgroup_charge",
        "do_anonymous_page",
        "__handle_mm_fault",
        "handle_mm_fault",
        "do_user_addr_fault",
        "exc_page_fault",
        "asm_exc_page_fault",
    ),
    ("new", "manual"): (
        "dump_header",
        "oom_kill_process.cold",
        "out_of_memory",
        "moom_callback",
        "process_one_work",
        "worker_thread",
        "? process_one_work",
        "kthread",
        "? kthread_complete_and_exit",
        "ret_from_fork",
    ),
    ("new", "alloc"): (
        "warn_alloc",
        "__alloc_pages_slowpath.constprop.0",
        "__alloc_pages",
        "__kmalloc_large_node",
        "__kmalloc_node_track_caller",
        "kmalloc_reserve",
        "__alloc_skb",
        "alloc_skb_with_frags",
        "sock_alloc_send_pskb",
        "unix_stream_sendmsg",
        "sock_sendmsg",
        "____sys_sendmsg",
        "___sys_sendmsg",
        "__sys_sendmsg",
        "do_syscall_64",
        "entry_SYSCALL_64_after_hwframe",
    ),
    ("new", "panic"): (
        "panic",
        "out_of_memory.cold",
        "__alloc_pages_slowpath.constprop.0",
        "__alloc_pages",
        "vma_alloc_folio",
        "do_anonymous_page",
        "__handle_mm_fault",
        "handle_mm_fault",
        "do_user_addr_fault",
        "exc_page_fault",
        "asm_exc_page_fault",
    ),
}

# version-specific renames of the "new" family
_FRAME_RENAMES: Final[dict[int, dict[str, str]]] = {
    R_419: {
        "oom_kill_process.cold": "oom_kill_process.cold.30",
        "__alloc_pages_slowpath.constprop.0": "__alloc_pages_slowpath",
        "__alloc_pages": "__alloc_pages_nodemask",
        "vma_alloc_folio": "alloc_pages_vma",
        "do_anonymous_page": "__handle_mm_fault",
        "__handle_mm_fault": "handle_mm_fault",
        "handle_mm_fault": "__do_page_fault",
        "do_user_addr_fault": "do_page_fault",
        "exc_page_fault": "page_fault",
        "asm_exc_page_fault": "",
        "try_charge_memcg": "try_charge",
        "charge_memcg": "mem_cgroup_try_charge",
        "__mem_cgroup_charge": "mem_cgroup_try_charge_delay",
        "? kthread_complete_and_exit": "? kthread_park",
        "__kmalloc_large_node": "kmalloc_large_node",
        "kmalloc_reserve": "__kmalloc_reserve.isra.52",
    },
    R_510: {
        "__alloc_pages": "__alloc_pages_nodemask",
        "vma_alloc_folio": "alloc_pages_vma",
        "do_anonymous_page": "handle_mm_fault",
        "__handle_mm_fault": "",
        "try_charge_memcg": "try_charge",
        "charge_memcg": "mem_cgroup_charge",
        "__mem_cgroup_charge": "",
        "? kthread_complete_and_exit": "? kthread_park",
        "__kmalloc_large_node": "kmalloc_large_node",
    },
    R_515: {
        "vma_alloc_folio": "alloc_pages_vma",
        "? kthread_complete_and_exit": "? set_kthread_struct",
        "__kmalloc_large_node": "kmalloc_large_node",
    },
    R_61: {"__kmalloc_large_node": "kmalloc_large_node"},
    R_68: {
        "oom_kill_process.cold": "oom_kill_process",
        "__alloc_pages": "alloc_pages_mpol",
        "charge_memcg": "",
        "? kthread_complete_and_exit": "? __pfx_kthread",
        "ret_from_fork": "ret_from_fork",
    },
}


class _Renderer:
    """Builds the records of one report; all cosmetic randomness comes from detail_seed."""

    def __init__(self, report: SynthReport) -> None:
        self.r = report
        self.k = report.rank
        self.rng = random.Random(report.detail_seed)
        self.out: list[Record] = []
        self.memory: dict[str, Any] | None = None  # what mem_info printed (expected_memory)

    # --------------------------------------------------------------- helpers

    def emit(self, text: str, level: int = LVL_DEFAULT, delay_us: int = 0) -> None:
        self.out.append(Record(text, level, "kernel", delay_us))

    def render(self) -> list[Record]:
        r = self.r
        kind = r.kind
        if kind == "allocation_failure":
            self.alloc_header()
            self.dump_stack("alloc")
            self.mem_info(pressure=False)
            return self.out
        if kind == "manual":
            sysrq = _SYSRQ_OOM_OLD if self.k <= R_RHEL7 else _SYSRQ_OOM_NEW
            self.emit(sysrq, LVL_INFO)
        self.oom_header()
        if self.k <= R_419:
            self.emit(f"{r.trigger_comm} cpuset={r.cpuset} mems_allowed={r.mems_allowed}", LVL_INFO)
        self.dump_stack("memcg" if r.is_memcg else ("manual" if kind == "manual" else "global"))
        if r.is_memcg:
            self.memcg_block()
            if self.k == R_RHEL6:
                self.mem_info(pressure=False)
        else:
            self.mem_info(pressure=True)
        self.task_table()
        if kind == "panic_no_killable":
            self.panic_tail()
            return self.out
        victim = r.victim
        if victim is None:  # no eligible task in a memcg/sysrq OOM (4.19+ just returns)
            self.emit("Out of memory and no killable processes...", LVL_WARN)
            return self.out
        if self.k >= R_510:
            self.summary(victim)
        self.kill_lines(victim)
        if r.has_reaper_line:
            self.emit(  # what is left after unmapping: normally no anon at all
                f"oom_reaper: reaped process {victim.pid} ({victim.name}), now "
                f"anon-rss:0kB, file-rss:{r.reap_file_rss_kib}kB, shmem-rss:0kB",
                LVL_INFO,
                delay_us=self.rng.randint(2_000, 250_000),
            )
        return self.out

    # --------------------------------------------------------------- header lines

    def oom_header(self) -> None:
        r, k = self.r, self.k
        comm = r.trigger_comm
        if k == R_RHEL6:
            text = (
                f"{comm} invoked oom-killer: gfp_mask={r.gfp_mask:#x}, order={r.order}, "
                f"oom_adj={_oom_adj(r.oom_score_adj)}, oom_score_adj={r.oom_score_adj}"
            )
        elif k == R_RHEL7:
            text = (
                f"{comm} invoked oom-killer: gfp_mask={r.gfp_mask:#x}, order={r.order}, "
                f"oom_score_adj={r.oom_score_adj}"
            )
        elif k == R_49:  # a NULL nodemask prints the cpuset's mems_allowed (§3.1 quirk)
            text = (
                f"{comm} invoked oom-killer: gfp_mask={r.gfp_mask:#x}({r.gfp_names}), "
                f"nodemask={r.mems_allowed}, order={r.order}, oom_score_adj={r.oom_score_adj}"
            )
        elif k == R_419:
            text = (
                f"{comm} invoked oom-killer: gfp_mask={r.gfp_mask:#x}({r.gfp_names}), "
                f"nodemask=(null), order={r.order}, oom_score_adj={r.oom_score_adj}"
            )
        else:
            text = (
                f"{comm} invoked oom-killer: gfp_mask={r.gfp_mask:#x}({r.gfp_names}), "
                f"order={r.order}, oom_score_adj={r.oom_score_adj}"
            )
        self.emit(text, LVL_WARN)

    def alloc_header(self) -> None:
        r, k = self.r, self.k
        comm = r.trigger_comm
        if k == R_RHEL6:
            text = f"{comm}: page allocation failure. order:{r.order}, mode:{r.gfp_mask:#x}"
        elif k == R_RHEL7:
            text = f"{comm}: page allocation failure: order:{r.order}, mode:{r.gfp_mask:#x}"
        elif k == R_49:
            text = (
                f"{comm}: page allocation failure: order:{r.order}, "
                f"mode:{r.gfp_mask:#x}({r.gfp_names})"
            )
        elif k == R_419:
            text = (
                f"{comm}: page allocation failure: order:{r.order}, "
                f"mode:{r.gfp_mask:#x}({r.gfp_names}), nodemask=(null)"
            )
        else:
            text = (
                f"{comm}: page allocation failure: order:{r.order}, "
                f"mode:{r.gfp_mask:#x}({r.gfp_names}), nodemask=(null),"
                f"cpuset={r.cpuset},mems_allowed={r.mems_allowed}"
            )
        self.emit(text, LVL_WARN)
        if k == R_419:
            self.emit(f"{comm} cpuset={r.cpuset} mems_allowed={r.mems_allowed}", LVL_INFO)

    # --------------------------------------------------------------- dump_stack (§3.4)

    def task_line(self) -> str:
        r, k = self.r, self.k
        if k == R_RHEL6:
            return (
                f"Pid: {r.trigger_pid}, comm: {r.trigger_comm} {r.taint} "
                f"{r.kernel_release} {r.kernel_version}"
            )
        kdump = "Kdump: loaded " if r.kdump and k != R_49 else ""
        return (
            f"CPU: {r.cpu} PID: {r.trigger_pid} Comm: {r.trigger_comm} {kdump}{r.taint} "
            f"{r.kernel_release} {r.kernel_version}"
        )

    def frames(self, family: str) -> list[str]:
        rng, k = self.rng, self.k
        family_key = ("old" if k <= R_49 else "new", family)
        if k == R_RHEL6 and ("rhel6", family) in _FRAMES:
            family_key = ("rhel6", family)
        names = list(_FRAMES[family_key])
        if k <= R_49:
            if k == R_RHEL6:
                names = [n if n.startswith("? ") else "? " + n for n in names]
                if family in ("global", "memcg", "manual"):
                    names.insert(0, "? cpuset_print_task_mems_allowed")
            else:
                names.insert(0, "dump_stack")
                if family == "alloc":
                    names.insert(1, "warn_alloc_failed" if k == R_RHEL7 else "warn_alloc")
                if family == "memcg" and k == R_49:
                    names[names.index("mem_cgroup_oom_synchronize")] = "mem_cgroup_out_of_memory"
                    names.insert(
                        names.index("pagefault_out_of_memory"), "mem_cgroup_oom_synchronize"
                    )
            out = []
            for name in names:
                mark = ""
                if name.startswith("? "):
                    mark, name = "? ", name[2:]
                addr = 0xFFFFFFFF81000000 + rng.randrange(0x7FFFFF)
                out.append(f" [<{addr:016x}>] {mark}{_fn(rng, name)}")
            return out
        renames: dict[str, str] = {}
        for rank in sorted(_FRAME_RENAMES):
            if rank == k:
                renames = _FRAME_RENAMES[rank]
        lead = ["dump_stack"] if k <= R_510 else ["dump_stack_lvl"]
        if k in (R_515, R_68):
            lead.append("dump_stack")
        if family == "alloc" or family == "panic":
            lead = lead[:1]
        out = []
        seen: set[str] = set()
        for name in [*lead, *names]:
            name = renames.get(name, name)
            if not name or (name in seen and not name.startswith("? ")):
                continue
            seen.add(name)
            mark = ""
            if name.startswith("? "):
                mark, name = "? ", name[2:]
            out.append(f" {mark}{_fn(rng, name)}")
        if k == R_68 and family == "manual":
            out.append(f" {_fn(rng, 'ret_from_fork_asm')}")
        return out

    def registers(self, syscall: bool) -> list[str]:
        rng, k = self.rng, self.k
        rip = 0x7F0000000000 + rng.randrange(0xFFFFFFFFFF)
        lines = [f"RIP: 0033:0x{rip:x}"]
        if k == R_419:
            lines.append("Code: Bad RIP value.")
        elif k <= R_515:
            lines.append(f"Code: Unable to access opcode bytes at RIP 0x{rip - 0x2A:x}.")
        else:
            raw = [f"{rng.randrange(256):02x}" for _ in range(64)]
            raw[42] = f"<{raw[42]}>"
            lines.append("Code: " + " ".join(raw))
        rsp = 0x7FFC00000000 + rng.randrange(0xFFFFFFFF)
        if syscall:
            lines.append(f"RSP: 002b:{rsp:016x} EFLAGS: 00000246 ORIG_RAX: 000000000000002e")
        else:
            lines.append(
                f"RSP: 002b:{rsp:016x} EFLAGS: {rng.choice((0x10206, 0x10202, 0x10246)):08x}"
            )

        def reg() -> str:
            choice = rng.random()
            if choice < 0.4:
                return f"{0:016x}"
            if choice < 0.7:
                return f"{0x7F0000000000 + rng.randrange(0xFFFFFFFFFF):016x}"
            return f"{rng.randrange(0x100000000):016x}"

        for names in (
            ("RAX", "RBX", "RCX"),
            ("RDX", "RSI", "RDI"),
            ("RBP", "R08", "R09"),
            ("R10", "R11", "R12"),
            ("R13", "R14", "R15"),
        ):
            lines.append(" ".join(f"{n}: {reg()}" for n in names))
        return lines

    def dump_stack(self, family: str) -> None:
        r, k, rng = self.r, self.k, self.rng
        self.emit(self.task_line())
        if k >= R_RHEL7 and r.hardware:
            self.emit(f"Hardware name: {r.hardware}")
        if family == "manual" and k >= R_RHEL7:
            self.emit("Workqueue: events moom_callback")
        if k in (R_RHEL7, R_49):  # raw stack words (x86 up to 4.9)
            for _ in range(3):
                words = [
                    f"{rng.choice(_STACK_WORD_BASES) + rng.randrange(1 << 30):016x}"
                    for _ in range(4)
                ]
                self.emit(" " + " ".join(words))
        self.emit("Call Trace:")
        task_markers = k >= R_515
        if task_markers:
            self.emit(" <TASK>")
        for frame in self.frames(family):
            self.emit(frame)
        user = family in ("global", "memcg", "panic") and r.user_fault
        if k >= R_419 and (user or family == "alloc"):
            for line in self.registers(syscall=family == "alloc"):
                self.emit(line)
        if task_markers:
            self.emit(" </TASK>")

    # --------------------------------------------------------------- memcg (§3.5)

    def memcg_block(self) -> None:
        r, k, rng = self.r, self.k, self.rng
        limit = r.memcg_limit_path or "/"
        victim_path = r.memcg_victim_path or limit
        if k <= R_419:
            self.emit(f"Task in {victim_path} killed as a result of limit of {limit}", LVL_INFO)
        self.emit(
            f"memory: usage {r.memcg_usage_kib}kB, limit {r.memcg_limit_kib}kB, "
            f"failcnt {r.memcg_failcnt}",
            LVL_INFO,
        )
        if k >= R_510:
            self.emit(
                f"swap: usage {r.memcg_swap_usage_kib}kB, limit {r.memcg_swap_limit_kib}kB, "
                f"failcnt {r.memcg_swap_failcnt}",
                LVL_INFO,
            )
            self.emit(f"Memory cgroup stats for {limit}:", LVL_INFO)
            stats = self.v2_stats()
            if k >= R_68:  # one record per line from ~6.5 (§3.5.5)
                for key, value in stats:
                    self.emit(f"{key} {value}", LVL_INFO)
            else:
                self.emit("\n".join(f"{key} {value}" for key, value in stats), LVL_INFO)
            return
        self.emit(
            f"memory+swap: usage {r.memsw_usage_kib}kB, limit {r.memsw_limit_kib}kB, "
            f"failcnt {r.memcg_swap_failcnt or 0}",
            LVL_INFO,
        )
        if k == R_RHEL6:
            return
        kmem = sum(16 + t.pgtables_bytes // 1024 for t in r.tasks) + rng.randint(0, 4096)
        self.emit(
            f"kmem: usage {kmem if rng.random() < 0.5 else 0}kB, "
            f"limit {UNLIMITED_PAGE_COUNTER_KIB}kB, failcnt 0",
            LVL_INFO,
        )
        paths = [limit] if victim_path == limit else [limit, victim_path]
        for path in paths:
            own = path == victim_path
            self.emit(f"Memory cgroup stats for {path}: {self.v1_stats(own)}", LVL_INFO)

    def v1_stats(self, own: bool) -> str:
        r, k, rng = self.r, self.k, self.rng
        tasks = r.tasks if own else ()
        anon = sum(t.rss_anon_pages for t in tasks) * PAGE_KIB
        shmem = sum(t.rss_shmem_pages for t in tasks) * PAGE_KIB
        file_kib = sum(t.rss_file_pages for t in tasks) * PAGE_KIB + (
            rng.randint(0, 2048) * PAGE_KIB if own else 0
        )
        cache = file_kib + shmem
        inactive_anon = (anon + shmem) * rng.randint(0, 30) // 100 if own else 0
        inactive_file = file_kib * rng.randint(20, 80) // 100 if own else 0
        values: list[tuple[str, int]] = [("cache", cache), ("rss", anon), ("rss_huge", 0)]
        if k >= R_419:
            values.append(("shmem", shmem))
        values.append(("mapped_file", file_kib * rng.randint(10, 90) // 100 if own else 0))
        if k >= R_49:
            values += [("dirty", 0), ("writeback", 0)]
        values.append(("swap", sum(t.swapents for t in tasks) * PAGE_KIB))
        values += [
            ("inactive_anon", inactive_anon),
            ("active_anon", anon + shmem - inactive_anon),
            ("inactive_file", inactive_file),
            ("active_file", file_kib - inactive_file),
            ("unevictable", 0),
        ]
        return " ".join(f"{key}:{value}KB" for key, value in values)

    def v2_stats(self) -> list[tuple[str, int]]:
        r, k, rng = self.r, self.k, self.rng
        page = PAGE_KIB * 1024
        anon = sum(t.rss_anon_pages for t in r.tasks) * page
        file_b = (sum(t.rss_file_pages for t in r.tasks) + rng.randint(0, 512)) * page
        shmem = sum(t.rss_shmem_pages for t in r.tasks) * page
        pagetables = sum(t.pgtables_bytes for t in r.tasks)
        kstack = 16384 * max(1, len(r.tasks)) * rng.randint(1, 8)
        slab_r = rng.randint(20, 2000) * 1024
        slab_u = rng.randint(50, 4000) * 1024
        percpu = rng.randint(1, 200) * 144
        inactive_anon = (anon + shmem) // page * rng.randint(40, 99) // 100 * page
        inactive_file = file_b // page * rng.randint(10, 90) // 100 * page
        stats: dict[str, int] = {
            "anon": anon,
            "file": file_b,
            "kernel": kstack + pagetables + slab_r + slab_u + percpu,
            "kernel_stack": kstack,
            "pagetables": pagetables,
            "sec_pagetables": 0,
            "percpu": percpu,
            "sock": 0,
            "vmalloc": 0,
            "shmem": shmem,
            "zswap": 0,
            "zswapped": 0,
            "file_mapped": file_b // page * rng.randint(20, 90) // 100 * page,
            "file_dirty": 0,
            "file_writeback": 0,
            "swapcached": rng.randint(0, 64) * page,
            "anon_thp": rng.choice((0, 0, 2097152, 4194304)) if anon > 8 << 20 else 0,
            "file_thp": 0,
            "shmem_thp": 0,
            "inactive_anon": inactive_anon,
            "active_anon": anon + shmem - inactive_anon,
            "inactive_file": inactive_file,
            "active_file": file_b - inactive_file,
            "unevictable": 0,
            "slab_reclaimable": slab_r,
            "slab_unreclaimable": slab_u,
            "slab": slab_r + slab_u,
        }
        for name in ("refault_anon", "refault_file", "activate_anon", "activate_file"):
            stats["workingset_" + name] = rng.randint(0, 90000)
        stats["workingset_restore_anon"] = rng.randint(0, 2000)
        stats["workingset_restore_file"] = rng.randint(0, 2000)
        stats["workingset_nodereclaim"] = 0
        scan = rng.randint(1000, 5_000_000)
        events = {
            "pgscan": scan,
            "pgsteal": scan * rng.randint(2, 60) // 100,
            "pgscan_kswapd": 0,
            "pgscan_direct": scan,
            "pgsteal_kswapd": 0,
            "pgsteal_direct": scan * rng.randint(2, 60) // 100,
            "pgfault": rng.randint(10_000, 90_000_000),
            "pgmajfault": rng.randint(0, 20_000),
            "pgrefill": rng.randint(0, 500_000),
            "pgactivate": rng.randint(0, 500_000),
            "pgdeactivate": rng.randint(0, 500_000),
            "pglazyfree": 0,
            "pglazyfreed": 0,
            "zswpin": 0,
            "zswpout": 0,
            "thp_fault_alloc": rng.randint(0, 50),
            "thp_collapse_alloc": 0,
            "thp_swpout": 0,
            "thp_swpout_fallback": 0,
        }
        stats.update(events)
        if k == R_510:
            keys = (
                "anon file kernel_stack percpu sock shmem file_mapped file_dirty file_writeback "
                "anon_thp file_thp shmem_thp inactive_anon active_anon inactive_file active_file "
                "unevictable slab_reclaimable slab_unreclaimable slab workingset_refault_anon "
                "workingset_refault_file workingset_activate_anon workingset_activate_file "
                "workingset_restore_anon workingset_restore_file workingset_nodereclaim pgfault "
                "pgmajfault pgrefill pgscan pgsteal pgactivate pgdeactivate pglazyfree "
                "pglazyfreed thp_fault_alloc thp_collapse_alloc"
            )
        elif k == R_515:
            keys = (
                "anon file kernel_stack pagetables percpu sock shmem file_mapped file_dirty "
                "file_writeback swapcached anon_thp file_thp shmem_thp inactive_anon active_anon "
                "inactive_file active_file unevictable slab_reclaimable slab_unreclaimable slab "
                "workingset_refault_anon workingset_refault_file workingset_activate_anon "
                "workingset_activate_file workingset_restore_anon workingset_restore_file "
                "workingset_nodereclaim pgfault pgmajfault pgrefill pgscan pgsteal pgactivate "
                "pgdeactivate pglazyfree pglazyfreed thp_fault_alloc thp_collapse_alloc"
            )
        else:
            keys = (
                "anon file kernel kernel_stack pagetables sec_pagetables percpu sock vmalloc "
                "shmem zswap zswapped file_mapped file_dirty file_writeback swapcached anon_thp "
                "file_thp shmem_thp inactive_anon active_anon inactive_file active_file "
                "unevictable slab_reclaimable slab_unreclaimable slab workingset_refault_anon "
                "workingset_refault_file workingset_activate_anon workingset_activate_file "
                "workingset_restore_anon workingset_restore_file workingset_nodereclaim pgscan "
                "pgsteal pgscan_kswapd pgscan_direct pgsteal_kswapd pgsteal_direct pgfault "
                "pgmajfault pgrefill pgactivate pgdeactivate pglazyfree pglazyfreed zswpin "
                "zswpout thp_fault_alloc thp_collapse_alloc"
            )
            if k >= R_68:
                keys += " thp_swpout thp_swpout_fallback"
        return [(key, stats[key]) for key in keys.split()]

    # --------------------------------------------------------------- Mem-Info (§3.6)

    def mem_info(self, pressure: bool) -> None:
        self.memory = {}
        for rec in _mem_info_records(self.r, self.rng, pressure, self.memory):
            self.out.append(rec)

    # --------------------------------------------------------------- tasks (§3.8)

    def task_table(self) -> None:
        r, k = self.r, self.k
        if k >= R_419:
            self.emit("Tasks state (memory values in pages):", LVL_INFO)
        if k == R_RHEL6:
            header = "[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name"
        elif k == R_RHEL7:
            header = "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"
        elif k == R_49:
            header = (
                "[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name"
            )
        elif k < R_68:
            header = (
                "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
            )
        else:
            header = (
                "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem "
                "pgtables_bytes swapents oom_score_adj name"
            )
        self.emit(header, LVL_INFO)
        for t in r.tasks:
            self.emit(task_row(r.era, t), LVL_INFO)

    # --------------------------------------------------------------- kill lines (§3.9-3.10)

    def summary(self, v: SynthTask) -> None:
        r = self.r
        where = (
            f"oom_memcg={r.memcg_limit_path},task_memcg={r.memcg_victim_path}"
            if r.is_memcg
            else f"global_oom,task_memcg={r.memcg_victim_path or '/'}"
        )
        constraint = "CONSTRAINT_MEMCG" if r.is_memcg else "CONSTRAINT_NONE"
        self.emit(
            f"oom-kill:constraint={constraint},nodemask=(null),cpuset={r.cpuset},"
            f"mems_allowed={r.mems_allowed},{where},task={v.name},pid={v.pid},uid={v.uid}",
            LVL_INFO,
        )

    def kill_lines(self, v: SynthTask) -> None:
        r, k = self.r, self.k
        msg = r.kill_message
        vm = v.total_vm_pages * PAGE_KIB
        anon = v.rss_anon_pages * PAGE_KIB
        file_kib = v.rss_file_pages * PAGE_KIB
        shmem = v.rss_shmem_pages * PAGE_KIB
        if k <= R_419:
            score = r.score(v)
            self.emit(
                f"{msg}: Kill process {v.pid} ({v.name}) score {score} or sacrifice child",
                LVL_ERR,
            )
        if k == R_RHEL6:
            text = (
                f"Killed process {v.pid}, UID {v.uid}, ({v.name}) total-vm:{vm}kB, "
                f"anon-rss:{anon}kB, file-rss:{file_kib + shmem}kB"
            )
        elif k == R_RHEL7 and _rhel7_kill_uid(r):
            text = (
                f"Killed process {v.pid} ({v.name}), UID {v.uid}, total-vm:{vm}kB, "
                f"anon-rss:{anon}kB, file-rss:{file_kib}kB, shmem-rss:{shmem}kB"
            )
        elif k <= R_419:
            text = (
                f"Killed process {v.pid} ({v.name}) total-vm:{vm}kB, anon-rss:{anon}kB, "
                f"file-rss:{file_kib}kB, shmem-rss:{shmem}kB"
            )
        else:
            text = (
                f"{msg}: Killed process {v.pid} ({v.name}) total-vm:{vm}kB, anon-rss:{anon}kB, "
                f"file-rss:{file_kib}kB, shmem-rss:{shmem}kB, UID:{v.uid} "
                f"pgtables:{v.pgtables_bytes >> 10}kB oom_score_adj:{v.oom_score_adj}"
            )
        self.emit(text, LVL_ERR)

    # --------------------------------------------------------------- panic (§3.12)

    def panic_tail(self) -> None:
        k, rng = self.k, self.rng
        if k >= R_419:
            self.emit("Out of memory and no killable processes...", LVL_WARN)
            message = "System is deadlocked on memory"
        else:
            message = "Out of memory and no killable processes..."
        # up to ~5.3 the panic() message keeps its "\n": an empty line follows
        keeps_newline = k <= R_419
        text = f"Kernel panic - not syncing: {message}"
        self.emit(text + ("\n" if keeps_newline else ""), LVL_EMERG)
        self.emit(self.task_line())
        if k >= R_RHEL7 and self.r.hardware:
            self.emit(f"Hardware name: {self.r.hardware}")
        self.emit("Call Trace:")
        if k >= R_515:
            self.emit(" <TASK>")
        for frame in self.frames("panic"):
            self.emit(frame)
        if k >= R_515:
            self.emit(" </TASK>")
        if k >= R_49:
            offset = rng.randrange(1, 500) * 0x200000
            self.emit(
                f"Kernel Offset: {offset:#x} from 0xffffffff81000000 "
                "(relocation range: 0xffffffff80000000-0xffffffffbfffffff)",
                LVL_EMERG,
            )
        if k == R_49:
            self.emit(f"---[ end Kernel panic - not syncing: {message}\n", LVL_EMERG)
        elif k == R_419:
            self.emit(f"---[ end Kernel panic - not syncing: {message}\n ]---", LVL_EMERG)
        elif k >= R_510:
            self.emit(f"---[ end Kernel panic - not syncing: {message} ]---", LVL_EMERG)


def task_row(era: str, t: SynthTask) -> str:
    """One task-table row in the era's printf format (§3.8)."""
    k = _RANK[era]
    tail = f"         {t.oom_score_adj:5d} {t.name}"
    if k == R_RHEL6:
        return (
            f"[{t.pid:5d}] {t.uid:5d} {t.tgid:5d} {t.total_vm_pages:8d} {t.rss_pages:8d} "
            f"{t.cpu:3d}     {t.oom_adj:3d}{tail}"
        )
    if k == R_RHEL7:
        return (
            f"[{t.pid:5d}] {t.uid:5d} {t.tgid:5d} {t.total_vm_pages:8d} {t.rss_pages:8d} "
            f"{t.pgtable_pages:7d} {t.swapents:8d}{tail}"
        )
    if k == R_49:
        return (
            f"[{t.pid:5d}] {t.uid:5d} {t.tgid:5d} {t.total_vm_pages:8d} {t.rss_pages:8d} "
            f"{t.pgtable_pages - t.nr_pmds:7d} {t.nr_pmds:7d} {t.swapents:8d}{tail}"
        )
    if k < R_68:
        return (
            f"[{t.pid:7d}] {t.uid:5d} {t.tgid:5d} {t.total_vm_pages:8d} {t.rss_pages:8d} "
            f"{t.pgtables_bytes:8d} {t.swapents:8d}{tail}"
        )
    return (
        f"[{t.pid:7d}] {t.uid:5d} {t.tgid:5d} {t.total_vm_pages:8d} {t.rss_pages:8d} "
        f"{t.rss_anon_pages:8d} {t.rss_file_pages:8d} {t.rss_shmem_pages:9d} "
        f"{t.pgtables_bytes:8d} {t.swapents:8d}{tail}"
    )


_LETTER_ODDS: Final = {"U": 0.75, "E": 0.45, "M": 0.8, "R": 0.15, "H": 0.08, "C": 0.03, "I": 0.02}


def _buddy(
    rng: random.Random,
    target_kib: int,
    decay: float,
    max_order: int,
    letters: str,
    buckets: list[tuple[int, int]] | None = None,
) -> tuple[str, int]:
    """``<n>*4kB (UME) ... = <total>kB`` for about ``target_kib`` free (§3.6.7); ``buckets``
    receives (block kB, count) per order."""
    weights = [decay**o for o in range(max_order)]
    total_w = sum(weights)
    pages = max(0, target_kib // PAGE_KIB)
    parts: list[str] = []
    total = 0
    for order in range(11):
        size = 1 << order
        count = int(pages * weights[order] / total_w) // size if order < max_order else 0
        total += count * size * PAGE_KIB
        part = f"{count}*{size * PAGE_KIB}kB"
        if buckets is not None:
            buckets.append((size * PAGE_KIB, count))
        if count and letters:
            pick = [c for c in letters if rng.random() < _LETTER_ODDS[c]] or [letters[0]]
            part += f" ({''.join(pick)})"
        parts.append(part)
    return " ".join(parts) + f" = {total}kB", total


def _mem_info_records(
    report: SynthReport,
    rng: random.Random,
    pressure: bool,
    sink: dict[str, Any] | None = None,
) -> list[Record]:
    """The Mem-Info block of ``report``'s era, consistent with its zones, swap and tasks.

    ``sink`` receives the printed values (see ``SynthReport.expected_memory``)."""
    r = report
    got: dict[str, Any] = sink if sink is not None else {}
    k = r.rank
    out: list[Record] = []

    def emit(text: str, level: int = LVL_DEFAULT) -> None:
        out.append(Record(text, level))

    emit("Mem-Info:", LVL_INFO if k == R_RHEL6 else LVL_DEFAULT)
    zones = r.zones
    totalram = max(1, r.totalram_pages)
    total_kib = totalram * PAGE_KIB
    min_free_kib = min(65536 if k <= R_49 else 262144, max(128, int((total_kib * 16) ** 0.5)))
    letters = "" if k == R_RHEL6 else ("UEMRCI" if k == R_RHEL7 else "UMEHCI")
    zinfo: list[dict[str, int]] = []
    buddy_lines: list[str] = []
    got["free_areas"] = []
    for z in zones:
        managed_kib = z.managed_pages * PAGE_KIB
        zmin = max(4, min_free_kib * z.managed_pages // totalram)
        zlow = zmin + max(zmin // 4, managed_kib // 1000 if k >= R_49 else 0)
        zhigh = zlow + (zlow - zmin)
        if z.name == "DMA":
            target = managed_kib * rng.randint(90, 99) // 100
            decay = 1.6
        elif pressure:
            target = zmin * rng.randint(80, 101) // 100
            decay = 0.55
        else:
            target = managed_kib * rng.randint(3, 30) // 100
            decay = 0.8
        max_order = 11
        if r.kind == "allocation_failure" and z.name != "DMA":
            max_order = max(1, r.order)  # nothing free at or above the failing order
        buckets: list[tuple[int, int]] = []
        line, free = _buddy(rng, target, decay, max_order, letters, buckets)
        got["free_areas"].append({"zone": z.name, "buckets": buckets, "total_kib": free})
        zinfo.append({"min": zmin, "low": zlow, "high": zhigh, "free": free})
        buddy_lines.append(line)

    tasks = r.tasks
    free_pages = sum(zi["free"] for zi in zinfo) // PAGE_KIB
    slab_r = totalram * rng.randint(5, 30) // 1000
    slab_u = totalram * rng.randint(3, 20) // 1000
    kstack_kib = (len(tasks) + 150) * 16 * rng.randint(1, 4)
    pagetables = sum(t.pgtable_pages for t in tasks) + rng.randint(100, 2000)
    shmem = sum(t.rss_shmem_pages for t in tasks) + rng.randint(0, 5000)
    if pressure:
        file_lru = totalram * rng.randint(1, 8) // 1000
    else:
        file_lru = totalram * rng.randint(50, 300) // 1000
    used = free_pages + slab_r + slab_u + kstack_kib // 4 + pagetables + file_lru
    task_anon = sum(t.rss_anon_pages for t in tasks) + shmem
    if pressure:
        anon = max(task_anon, totalram - used - totalram * rng.randint(5, 25) // 1000)
    else:
        anon = max(task_anon, totalram * rng.randint(5, 40) // 100)
    active_anon = anon * rng.randint(5, 95) // 100
    inactive_anon = anon - active_anon
    active_file = file_lru * rng.randint(20, 80) // 100
    inactive_file = file_lru - active_file
    unevictable = rng.choice((0, 0, 0, rng.randint(1, 5000)))
    dirty = rng.randint(0, 200)
    mapped = file_lru * rng.randint(10, 60) // 100 + shmem
    free_pcp = rng.randint(0, 4000) if not pressure else rng.randint(0, 600)
    iso_anon = 0
    iso_file = rng.choice((0, 0, 0, 32, 64))
    c: dict[str, int] = {
        "active_anon": active_anon,
        "inactive_anon": inactive_anon,
        "isolated_anon": iso_anon,
        "active_file": active_file,
        "inactive_file": inactive_file,
        "isolated_file": iso_file,
        "unevictable": unevictable,
        "dirty": dirty,
        "writeback": 0,
        "unstable": 0,
        "slab_reclaimable": slab_r,
        "slab_unreclaimable": slab_u,
        "mapped": mapped,
        "shmem": shmem,
        "pagetables": pagetables,
        "sec_pagetables": 0,
        "bounce": 0,
        "kernel_misc_reclaimable": 0,
        "free": free_pages,
        "free_pcp": free_pcp,
        "free_cma": 0,
    }

    def kv(*keys: str) -> str:
        return " ".join(f"{key}:{c[key]}" for key in keys)

    if k == R_RHEL6:  # per-cpu lists (§3.6.2)
        for z in zones:
            emit(f"Node 0 {z.name} per-cpu:")
            for cpu in range(r.ncpus):
                if z.name == "DMA":
                    hi, batch = 0, 1
                else:
                    hi, batch = 186, 31
                used_pcp = rng.randint(0, hi) if hi else 0
                emit(f"CPU {cpu:4d}: hi:{hi:5d}, btch:{batch:4d} usd:{used_pcp:4d}")
        rows = [
            kv("active_anon", "inactive_anon", "isolated_anon"),
            kv("active_file", "inactive_file", "isolated_file"),
            kv("unevictable", "dirty", "writeback", "unstable"),
            kv("free", "slab_reclaimable", "slab_unreclaimable"),
            kv("mapped", "shmem", "pagetables", "bounce"),
        ]
    elif k <= R_419:
        rows = [
            kv("active_anon", "inactive_anon", "isolated_anon"),
            kv("active_file", "inactive_file", "isolated_file"),
            kv("unevictable", "dirty", "writeback", "unstable"),
            kv("slab_reclaimable", "slab_unreclaimable"),
            kv("mapped", "shmem", "pagetables", "bounce"),
            kv("free", "free_pcp", "free_cma"),
        ]
    elif k <= R_515:
        rows = [
            kv("active_anon", "inactive_anon", "isolated_anon"),
            kv("active_file", "inactive_file", "isolated_file"),
            kv("unevictable", "dirty", "writeback"),
            kv("slab_reclaimable", "slab_unreclaimable"),
            kv("mapped", "shmem", "pagetables", "bounce"),
        ]
        if k == R_515:
            rows.append(kv("kernel_misc_reclaimable"))
        rows.append(kv("free", "free_pcp", "free_cma"))
    else:
        rows = [
            kv("active_anon", "inactive_anon", "isolated_anon"),
            kv("active_file", "inactive_file", "isolated_file"),
            kv("unevictable", "dirty", "writeback"),
            kv("slab_reclaimable", "slab_unreclaimable"),
            kv("mapped", "shmem", "pagetables"),
            kv("sec_pagetables", "bounce"),
            kv("kernel_misc_reclaimable"),
            kv("free", "free_pcp", "free_cma"),
        ]
    # one printk record with embedded newlines; lines 2+ start with a space (§3.6.3)
    emit("\n ".join(rows))
    got["meminfo"] = {
        key: int(value) for row in rows for key, value in (kv.split(":") for kv in row.split())
    }
    got["page_size_kib"] = PAGE_KIB

    unreclaimable = "yes" if pressure and rng.random() < 0.6 else "no"
    if k >= R_49:  # per-node line (§3.6.4)
        parts = [
            f"Node 0 active_anon:{active_anon * 4}kB",
            f"inactive_anon:{inactive_anon * 4}kB",
            f"active_file:{active_file * 4}kB",
            f"inactive_file:{inactive_file * 4}kB",
            f"unevictable:{unevictable * 4}kB",
            f"isolated(anon):{iso_anon * 4}kB",
            f"isolated(file):{iso_file * 4}kB",
            f"mapped:{mapped * 4}kB",
            f"dirty:{dirty * 4}kB",
            "writeback:0kB",
            f"shmem:{shmem * 4}kB",
        ]
        anon_thp = rng.choice((0, 0, 2048, 4096, 10240)) * 1024 if anon > 1 << 20 else 0
        sp = "" if k >= R_68 else " "
        parts += [f"shmem_thp:{sp}0kB", f"shmem_pmdmapped:{sp}0kB", f"anon_thp:{sp}{anon_thp}kB"]
        parts.append("writeback_tmp:0kB")
        if k <= R_419:
            parts.append("unstable:0kB")
        if k == R_49:
            parts.append(f"pages_scanned:{rng.randint(0, 20_000_000) if pressure else 0}")
        if k >= R_510:
            parts.append(f"kernel_stack:{kstack_kib}kB")
        if k >= R_515:
            parts.append(f"pagetables:{pagetables * 4}kB")
        if k >= R_61:
            parts.append("sec_pagetables:0kB")
        parts.append(f"all_unreclaimable? {unreclaimable}")
        emit(" ".join(parts))
        first = parts[0].removeprefix("Node 0 ")
        got["node"] = _printed_fields([first, *parts[1:]], node=0)

    lru_zones = [z for z in zones if z.name != "DMA"]
    lru_total = max(1, sum(z.managed_pages for z in lru_zones))
    nzones = 4 if k <= R_419 else 5
    managed_list = [z.managed_pages for z in zones]
    for idx, (z, zi) in enumerate(zip(zones, zinfo, strict=True)):
        share = 0.0 if z.name == "DMA" else z.managed_pages / lru_total

        def part(value: int, share: float = share) -> int:
            return int(value * share) * PAGE_KIB

        zone_slab_r, zone_slab_u = part(slab_r), part(slab_u)
        zone_pcp = part(free_pcp)
        fields = [f"free:{zi['free']}kB"]
        if k >= R_61:
            fields.append("boost:0kB")
        fields += [f"min:{zi['min']}kB", f"low:{zi['low']}kB", f"high:{zi['high']}kB"]
        if k >= R_510:
            fields.append("reserved_highatomic:0KB")
        fields += [
            f"active_anon:{part(active_anon)}kB",
            f"inactive_anon:{part(inactive_anon)}kB",
            f"active_file:{part(active_file)}kB",
            f"inactive_file:{part(inactive_file)}kB",
            f"unevictable:{part(unevictable)}kB",
        ]
        if k <= R_RHEL7:
            fields += [
                f"isolated(anon):{part(iso_anon)}kB",
                f"isolated(file):{part(iso_file)}kB",
                f"present:{z.present_pages * 4}kB",
            ]
            if k == R_RHEL7:
                fields.append(f"managed:{z.managed_pages * 4}kB")
            fields += [
                "mlocked:0kB",
                f"dirty:{part(dirty)}kB",
                "writeback:0kB",
                f"mapped:{part(mapped)}kB",
                f"shmem:{part(shmem)}kB",
                f"slab_reclaimable:{zone_slab_r}kB",
                f"slab_unreclaimable:{zone_slab_u}kB",
                f"kernel_stack:{int(kstack_kib * share)}kB",
                f"pagetables:{part(pagetables)}kB",
                "unstable:0kB",
                "bounce:0kB",
            ]
            if k == R_RHEL7:
                fields += [
                    f"free_pcp:{zone_pcp}kB",
                    f"local_pcp:{zone_pcp // max(1, r.ncpus)}kB",
                    "free_cma:0kB",
                ]
            scanned = rng.randint(0, 200_000) if pressure and z.name != "DMA" else 0
            zone_unrec = "yes" if z.name == "DMA" else unreclaimable
            fields += [
                "writeback_tmp:0kB",
                f"pages_scanned:{scanned}",
                f"all_unreclaimable? {zone_unrec}",
            ]
        else:
            fields += [
                f"writepending:{part(dirty)}kB",
                f"present:{z.present_pages * 4}kB",
                f"managed:{z.managed_pages * 4}kB",
                "mlocked:0kB",
            ]
            if k == R_49:
                fields += [
                    f"slab_reclaimable:{zone_slab_r}kB",
                    f"slab_unreclaimable:{zone_slab_u}kB",
                ]
            if k <= R_419:
                fields.append(f"kernel_stack:{int(kstack_kib * share)}kB")
            if k <= R_510:
                fields.append(f"pagetables:{part(pagetables)}kB")
            fields += [
                "bounce:0kB",
                f"free_pcp:{zone_pcp}kB",
                f"local_pcp:{zone_pcp // max(1, r.ncpus)}kB",
                "free_cma:0kB",
            ]
        emit(f"Node 0 {z.name} " + " ".join(fields))
        got.setdefault("zones", []).append(_printed_fields(fields, node=0, name=z.name))
        reserve = [0] * nzones
        for j in range(idx + 1, nzones):
            reserve[j] = sum(managed_list[idx + 1 : j + 1]) // 256 if j < len(zones) else 0
        for j in range(len(zones), nzones):
            reserve[j] = reserve[len(zones) - 1] if len(zones) - 1 > idx else 0
        emit("lowmem_reserve[]: " + " ".join(str(x) for x in reserve))
        got["zones"][-1]["lowmem_reserve_pages"] = reserve
    for z, line in zip(zones, buddy_lines, strict=True):
        emit(f"Node 0 {z.name}: {line}")
    if k >= R_RHEL7:  # hugepages (§3.6.8)
        hp_level = LVL_INFO if k <= R_515 else LVL_DEFAULT
        sizes = (1048576, 2048) if rng.random() < 0.6 else (2048,)
        got["hugepages"] = [{"node": 0, "total": 0, "free": 0, "size_kib": s} for s in sizes]
        for size in sizes:
            emit(
                "Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 "
                f"hugepages_size={size}kB",
                hp_level,
            )
    swapcache = 0 if r.swap_total_kib == 0 else rng.randint(0, 20000)
    emit(f"{file_lru + shmem + swapcache} total pagecache pages")
    emit(f"{swapcache} pages in swap cache")
    got["pagecache_pages"] = file_lru + shmem + swapcache
    got["swap_cache_pages"] = swapcache
    got["swap_cache_stats"] = {}
    if k <= R_515:
        if r.swap_total_kib:
            added = rng.randint(swapcache, swapcache + 50_000_000)
            found = rng.randint(0, added)
            looked = found + rng.randint(0, added)
            emit(
                f"Swap cache stats: add {added}, delete {added - swapcache}, find {found}/{looked}"
            )
            got["swap_cache_stats"] = {
                "add": added,
                "delete": added - swapcache,
                "find": found,
                "find_total": looked,
            }
        else:
            emit("Swap cache stats: add 0, delete 0, find 0/0")
            got["swap_cache_stats"] = {"add": 0, "delete": 0, "find": 0, "find_total": 0}
    emit(f"Free swap  = {r.swap_free_kib}kB")
    emit(f"Total swap = {r.swap_total_kib}kB")
    ram_level = LVL_INFO if k == R_RHEL6 else LVL_DEFAULT
    ram: dict[str, int] = {"ram_pages": r.ram_pages, "reserved_pages": r.reserved_pages}
    emit(f"{r.ram_pages} pages RAM", ram_level)
    if k >= R_RHEL7:
        emit("0 pages HighMem/MovableOnly")
        ram["highmem_pages"] = 0
    emit(f"{r.reserved_pages} pages reserved", ram_level)
    if k == R_RHEL6:
        shared = r.ram_pages * rng.randint(1, 8) // 100
        non_shared = r.ram_pages - r.reserved_pages - free_pages - shared
        emit(f"{shared} pages shared", ram_level)
        emit(f"{non_shared} pages non-shared", ram_level)
        ram |= {"shared_pages": shared, "non_shared_pages": non_shared}
    if k >= R_49:
        emit("0 pages cma reserved")
        ram["cma_reserved_pages"] = 0
        if rng.random() < 0.5:
            emit("0 pages hwpoisoned")
            ram["hwpoisoned_pages"] = 0
    got["ram"] = ram
    got["swap_free_kib"] = r.swap_free_kib
    got["swap_total_kib"] = r.swap_total_kib
    return out


def _printed_fields(parts: Sequence[str], **known: Any) -> dict[str, Any]:
    """``key:NkB`` / ``pages_scanned:N`` / ``all_unreclaimable? yes`` as model field values."""
    values: dict[str, Any] = dict(known)
    for part in parts:
        if part.startswith("all_unreclaimable? "):
            values["all_unreclaimable"] = part.endswith("yes")
            continue
        key, value = part.split(":", 1)
        key = key.replace("(", "_").replace(")", "")
        value = value.strip()
        if value.endswith(("kB", "KB")):
            values[f"{key}_kib"] = int(value[:-2])
        else:
            values[key] = int(value)
    return values


# --------------------------------------------------------------------------- random reports

_KIND_WEIGHTS: Final = (
    ("oom_kill", 40),
    ("memcg", 32),
    ("allocation_failure", 14),
    ("manual", 7),
    ("panic_no_killable", 7),
)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: random.Random, sep: str = "-") -> str:
    return sep.join(_hex(rng, n) for n in (8, 4, 4, 4, 12))


def _zones(rng: random.Random, k: int) -> tuple[SynthZone, ...]:
    ram_gb = rng.choice((4, 8, 8, 16, 16, 32, 64, 128))
    total_present = ram_gb * 262144 - rng.randint(40_000, 120_000)
    dma = SynthZone(
        name="DMA",
        present_pages=3999 if k >= R_510 else 3998,
        managed_pages=3840 if k >= R_510 else 3977,
    )
    dma32_present = rng.randint(740_000, 900_000)
    dma32 = SynthZone(
        name="DMA32",
        present_pages=dma32_present,
        managed_pages=dma32_present - rng.randint(8_000, 70_000),
    )
    normal_present = max(50_000, total_present - dma.present_pages - dma32_present)
    normal = SynthZone(
        name="Normal",
        present_pages=normal_present,
        managed_pages=normal_present - rng.randint(normal_present // 90, normal_present // 35),
    )
    return (dma, dma32, normal)


def _name(rng: random.Random, base: str, hostile: bool) -> str:
    if hostile and rng.random() < 0.08:
        return rng.choice(HOSTILE_NAMES)
    return base


def _make_task(
    rng: random.Random,
    *,
    pid: int,
    uid: int,
    name: str,
    adj: int,
    rss: int,
    swap_ok: bool,
    ncpus: int,
    shmem_share: float = 0.0,
) -> SynthTask:
    rss = max(1, rss)
    file_pages = min(rss - 1, int(rss * rng.uniform(0.0, 0.15))) if rss > 1 else 0
    shmem = int((rss - file_pages) * shmem_share)
    anon = rss - file_pages - shmem
    total_vm = rss + int(rss * rng.uniform(0.1, 6.0)) + rng.randint(200, 60_000)
    pt_pages = max(3, total_vm // 2500 + rss // 600 + rng.randint(0, 4))
    swapents = rng.randint(0, max(0, rss // 4)) if swap_ok and rng.random() < 0.4 else 0
    tgid = pid if rng.random() > 0.02 else pid - rng.randint(1, 5)
    return SynthTask(
        pid=pid,
        uid=uid,
        tgid=tgid,
        total_vm_pages=total_vm,
        rss_anon_pages=anon,
        rss_file_pages=file_pages,
        rss_shmem_pages=shmem,
        pgtables_bytes=pt_pages * 4096,
        swapents=swapents,
        oom_score_adj=adj,
        name=name,
        cpu=rng.randrange(ncpus),
    )


def _pids(rng: random.Random, n: int, k: int) -> list[int]:
    if k >= R_510 and rng.random() < 0.35:
        pid = rng.randint(100_000, 900_000)
    elif k <= R_RHEL7:
        pid = rng.randint(300, 1500)
    else:
        pid = rng.randint(300, 3000)
    limit = 32767 if k <= R_RHEL7 else (99_999 if k <= R_49 else 4_194_303)
    out = []
    for _ in range(n):
        out.append(pid)
        pid += rng.randint(1, max(2, min(400, (limit - pid) // max(1, n))))
        if pid > limit:
            pid = rng.randint(300, 1000)
    return out


def _global_tasks(
    rng: random.Random,
    k: int,
    n: int,
    totalram: int,
    swap_ok: bool,
    ncpus: int,
    hostile: bool,
    unkillable: bool,
) -> list[SynthTask]:
    pids = _pids(rng, n, k)
    tasks: list[SynthTask] = []
    if unkillable:  # only OOM_SCORE_ADJ_MIN tasks are left
        for pid in pids:
            name = rng.choice(("systemd-udevd", "sshd", "auditd", "multipathd", "dmeventd"))
            rss = rng.randint(100, 3000)
            tasks.append(
                _make_task(
                    rng, pid=pid, uid=0, name=name, adj=-1000, rss=rss, swap_ok=False, ncpus=ncpus
                )
            )
        return tasks
    n_hogs = 1 if n < 3 else rng.choice((1, 1, 1, 2, 3))
    hog_slots = sorted(rng.sample(range(max(1, n // 2), n), min(n_hogs, n - max(1, n // 2))))
    if not hog_slots:
        hog_slots = [n - 1]
    hog_total = int(totalram * rng.uniform(0.55, 0.88))
    hog_shares = [rng.uniform(0.3, 1.0) for _ in hog_slots]
    hog_shares[rng.randrange(len(hog_shares))] += 1.5  # one clear leader
    share_sum = sum(hog_shares)
    small_budget = max(n * 50, int(totalram * rng.uniform(0.03, 0.12)))
    small_each = max(60, min(small_budget // max(1, n), 60_000))
    hog_i = 0
    system = list(_SYSTEM_TASKS)
    for slot, pid in enumerate(pids):
        if slot in hog_slots:
            name, uid, adj = rng.choice(_APP_TASKS)
            rss = int(hog_total * hog_shares[hog_i] / share_sum)
            hog_i += 1
            shmem_share = rng.choice((0.0, 0.0, 0.0, 0.05, 0.3))
        elif slot < len(system) and rng.random() < 0.85:
            name, uid, adj = system[slot]
            rss = int(20 * (small_each / 10) ** rng.random())
            shmem_share = 0.0
        else:
            name, uid, adj = rng.choice(_APP_TASKS + _SYSTEM_TASKS)
            rss = int(20 * (small_each / 5) ** rng.random())
            shmem_share = 0.0
        tasks.append(
            _make_task(
                rng,
                pid=pid,
                uid=uid,
                name=_name(rng, name, hostile),
                adj=adj,
                rss=rss,
                swap_ok=swap_ok,
                ncpus=ncpus,
                shmem_share=shmem_share,
            )
        )
    return tasks


def _cgroup(rng: random.Random, k: int) -> tuple[str, str, str, str]:
    """(limit_path, victim_path, cpuset leaf of the allocating task, style)."""
    style = rng.choice(
        ("docker", "kubepods", "kubepods", "systemd", "lxc" if k <= R_419 else "user")
    )
    c_id = _hex(rng, 64)
    if k == R_RHEL6:
        path = rng.choice(("/mygroup", "/batch/job42", "/lxc/web1", "/libvirt/qemu/vm01"))
        return path, path, "/", "libcgroup"
    if k <= R_419:
        if style == "docker":
            p = f"/docker/{c_id}"
            return p, p, c_id, style
        if style == "kubepods":
            pod = f"/kubepods/burstable/pod{_uuid(rng)}"
            victim = f"{pod}/{c_id}"
            return (pod if rng.random() < 0.5 else victim), victim, c_id, style
        if style == "lxc":
            p = f"/lxc/{rng.randint(100, 999)}"
            return p, p, p.rsplit("/", 1)[1], style
        p = f"/system.slice/{rng.choice(_SERVICES)}.service"
        return p, p, "/", style
    if style == "docker":
        p = f"/system.slice/docker-{c_id}.scope"
        return p, p, f"docker-{c_id}.scope", style
    if style == "kubepods":
        qos = rng.choice(("burstable", "besteffort"))
        pod = f"/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{_uuid(rng, '_')}.slice"
        victim = f"{pod}/cri-containerd-{c_id}.scope"
        return (
            (pod if rng.random() < 0.4 else victim),
            victim,
            f"cri-containerd-{c_id}.scope",
            style,
        )
    if style == "user":
        unit = f"run-u{rng.randint(10, 999)}.service"
        p = f"/user.slice/user-1000.slice/user@1000.service/app.slice/{unit}"
        return p, p, "user.slice", style
    p = f"/system.slice/{rng.choice(_SERVICES)}.service"
    return p, p, "/", style


_SERVICES: Final = ("nginx", "postgresql", "mysqld", "app", "worker", "jenkins", "redis-server")


def _task_memcg(rng: random.Random, task: SynthTask) -> str:
    if task.uid >= 1000 and rng.random() < 0.6:
        return f"/user.slice/user-{task.uid}.slice/session-{rng.randint(1, 400)}.scope"
    return rng.choice(
        (
            "/",
            f"/system.slice/{rng.choice(_SERVICES)}.service",
            "/system.slice/docker.service",
            f"/system.slice/docker-{_hex(rng, 64)}.scope",
        )
    )


def random_report(
    rng: random.Random,
    era: str | None = None,
    kind: str | None = None,
    *,
    n_tasks: int | None = None,
    reaped: bool | None = None,
    hostile: bool = True,
) -> SynthReport:
    """A plausible random report: 1-400 tasks, the victim is the era's argmax (§6).

    ``hostile`` lets a few task names be awkward (spaces, parentheses, ``runc:[2:INIT]``,
    ``<script>``, ``|``).  ``n_tasks`` fixes the table size; ``reaped`` forces the
    oom_reaper line (4.9+) on or off.
    """
    era = era if era is not None else rng.choice(ERAS)
    if era not in _RANK:
        raise ValueError(f"unknown era {era!r}")
    if kind is None:
        kind = rng.choices([kn for kn, _ in _KIND_WEIGHTS], [w for _, w in _KIND_WEIGHTS])[0]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    k = _RANK[era]
    release, version = rng.choice(_RELEASES[era])
    ncpus = rng.choice((2, 4, 4, 8, 8, 16, 32))
    zones = _zones(rng, k)
    totalram = sum(z.managed_pages for z in zones)
    swap_total = rng.choice((0, 0, 0, 1048572, 2097148, 4194300, 8388604))
    taint = rng.choice(_TAINTS[k])
    hardware = None if k == R_RHEL6 else rng.choice(_HARDWARE)
    gfp = _GFP[era]
    detail_seed = rng.getrandbits(32)
    cpu = rng.randrange(ncpus)
    fields: dict[str, Any] = {
        "era": era,
        "kind": kind,
        "kernel_release": release,
        "kernel_version": version,
        "ncpus": ncpus,
        "cpu": cpu,
        "taint": taint,
        "hardware": hardware,
        "kdump": k in (R_RHEL7, R_419, R_510, R_515, R_61, R_68) and rng.random() < 0.3,
        "zones": zones,
        "detail_seed": detail_seed,
        "user_fault": rng.random() < 0.85,
    }

    if kind == "allocation_failure":
        mask, names = rng.choice(gfp["atomic"])
        comm = rng.choice(("nginx", "haproxy", "java", "redis-server", "chrome", "sshd", "envoy"))
        swap_free = swap_total * rng.randint(30, 100) // 100
        return SynthReport(
            **fields,
            trigger_comm=_name(rng, comm, hostile),
            trigger_pid=rng.randint(300, 60000),
            gfp_mask=mask,
            gfp_names=names,
            order=rng.choice((2, 3, 3, 4)),
            oom_score_adj=0,
            swap_total_kib=swap_total,
            swap_free_kib=_page_kib(swap_free),
        )

    memcg = kind == "memcg"
    if memcg:
        limit_path, victim_path, cpuset, style = _cgroup(rng, k)
        limits = (65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 3145728, 786432)
        limit_kib = rng.choice([x for x in limits if x <= totalram * PAGE_KIB // 2])
        swap_limit: int | None = None
        memsw_limit: int | None = None
        if k >= R_510:
            swap_limit = rng.choice((0, 0, UNLIMITED_PAGE_COUNTER_KIB, limit_kib // 2))
            if swap_total == 0 and swap_limit:
                swap_limit = UNLIMITED_PAGE_COUNTER_KIB
        else:
            unlimited = UNLIMITED_RES_COUNTER_KIB if k == R_RHEL6 else UNLIMITED_PAGE_COUNTER_KIB
            memsw_limit = rng.choice((unlimited, unlimited, limit_kib, 2 * limit_kib))
        # swap the cgroup may hold
        if swap_total == 0:
            cg_swap_room = 0
        elif k >= R_510:
            cg_swap_room = min(swap_limit or 0, swap_total)
        else:
            cg_swap_room = min(swap_total, (memsw_limit or 0) - limit_kib)
        n = n_tasks if n_tasks is not None else rng.choice((1, 1, 2, 2, 3, 4, 6, 9, 14, 20))
        n = max(1, n)
        pids = _pids(rng, n, k)
        target_pages = limit_kib // PAGE_KIB * rng.randint(85, 98) // 100
        shares = [rng.uniform(0.02, 0.3) for _ in range(n)]
        shares[rng.randrange(n)] += 2.0
        total_share = sum(shares)
        app_name, app_uid, _adj = rng.choice(_APP_TASKS)
        tasks = []
        for i, pid in enumerate(pids):
            if style == "kubepods" and i == 0 and n > 1:
                name, uid, adj = "pause", 65535, -998
            elif i == 0 and n > 2 and rng.random() < 0.5:
                name, uid, adj = rng.choice((("sh", 0, 0), ("tini", 0, 0), ("dumb-init", 0, 0)))
            else:
                name, uid = app_name, app_uid
                adj = rng.choice((0, 0, 0, 900, 999, 1000)) if style == "kubepods" else 0
                if rng.random() < 0.25:
                    name = _name(rng, rng.choice(_APP_TASKS)[0], hostile)
            rss = int(target_pages * shares[i] / total_share)
            if name == "pause":
                rss = rng.randint(1, 260)
            task = _make_task(
                rng,
                pid=pid,
                uid=uid,
                name=_name(rng, name, hostile),
                adj=adj,
                rss=rss,
                swap_ok=cg_swap_room > 0,
                ncpus=ncpus,
            )
            tasks.append(task)
        # keep the swap entries within what the cgroup may hold; a full swap.max is held
        # by the tasks, mostly by the big ones
        swap_used = sum(t.swapents for t in tasks) * PAGE_KIB
        if swap_used > cg_swap_room:
            tasks = [replace(t, swapents=0) for t in tasks]
            swap_used = 0
        if k >= R_510 and swap_limit and swap_limit < UNLIMITED_PAGE_COUNTER_KIB and swap_total:
            room = min(swap_limit, swap_total) // PAGE_KIB
            total_rss = sum(t.rss_pages for t in tasks) or 1
            tasks = [replace(t, swapents=room * t.rss_pages // total_rss) for t in tasks]
            tasks[-1] = replace(
                tasks[-1], swapents=tasks[-1].swapents + room - sum(t.swapents for t in tasks)
            )
            swap_used = room * PAGE_KIB
        usage = limit_kib - rng.choice((0, 0, 0, 4, 8, 12, 16, 32, 64))
        if k >= R_510:
            if swap_limit == 0:
                swap_usage = 0
            elif swap_limit == UNLIMITED_PAGE_COUNTER_KIB:
                swap_usage = swap_used
            else:
                swap_usage = swap_used
            swap_fail = rng.randint(1, 5000) if swap_limit and swap_usage == swap_limit else 0
            memcg_fields: dict[str, Any] = {
                "memcg_swap_usage_kib": swap_usage,
                "memcg_swap_limit_kib": swap_limit,
                "memcg_swap_failcnt": swap_fail,
            }
        else:
            memsw_usage = usage + swap_used
            memcg_fields = {
                "memsw_usage_kib": memsw_usage,
                "memsw_limit_kib": memsw_limit,
                "memcg_swap_failcnt": rng.randint(1, 900)
                if memsw_usage >= (memsw_limit or 0)
                else 0,
            }
        swap_free = swap_total - min(swap_total, swap_used + rng.randint(0, 200_000))
        provisional = SynthReport(
            **fields,
            trigger_comm="x",
            trigger_pid=0,
            gfp_mask=0,
            gfp_names="",
            order=0,
            oom_score_adj=0,
            cpuset=cpuset,
            tasks=tuple(tasks),
            swap_total_kib=swap_total,
            swap_free_kib=_page_kib(swap_free),
            memcg_limit_path=limit_path,
            memcg_victim_path=victim_path,
            memcg_usage_kib=usage,
            memcg_limit_kib=limit_kib,
            memcg_failcnt=rng.randint(1, 500_000),
            **memcg_fields,
        )
        victim = select_victim(era, tasks, provisional.totalpages)
        trigger = rng.choice([t for t in tasks if t.name != "pause"] or tasks)
        mask, names = rng.choice(gfp["kernel"] + gfp["fault"][:1])
        return replace(
            provisional,
            trigger_comm=trigger.name,
            trigger_pid=trigger.pid,
            gfp_mask=mask,
            gfp_names=names,
            oom_score_adj=trigger.oom_score_adj,
            victim_pid=None if victim is None else victim.pid,
            reaped=_reaped(rng, k, reaped),
            reap_file_rss_kib=_reap_file(rng, victim),
        )

    # global OOM, sysrq OOM, no-killable panic
    unkillable = kind == "panic_no_killable"
    if n_tasks is not None:
        n = n_tasks
    elif unkillable:
        n = rng.randint(0, 6)
    else:
        n = rng.choice(
            (rng.randint(1, 30), rng.randint(20, 150), rng.randint(20, 150), rng.randint(100, 400))
        )
    tasks = _global_tasks(rng, k, n, totalram, swap_total > 0, ncpus, hostile, unkillable)
    swap_used = sum(t.swapents for t in tasks) * PAGE_KIB
    if swap_used > swap_total:
        tasks = [replace(t, swapents=0) for t in tasks]
        swap_used = 0
    swap_free = max(0, swap_total - swap_used - rng.randint(0, swap_total // 2 + 1))
    if swap_total and rng.random() < 0.6:
        swap_free = 0 if swap_used >= swap_total else rng.randint(0, 8192)
    base = SynthReport(
        **fields,
        trigger_comm="x",
        trigger_pid=0,
        gfp_mask=0,
        gfp_names="",
        order=0,
        oom_score_adj=0,
        tasks=tuple(tasks),
        swap_total_kib=swap_total,
        swap_free_kib=_page_kib(min(swap_free, swap_total)),
    )
    victim = select_victim(era, tasks, base.totalpages)
    if kind == "manual":
        mask, names = gfp["manual"][0]
        if k == R_RHEL6:
            comm = f"events/{cpu}"
        else:
            comm = f"kworker/{cpu}:{rng.randint(0, 3)}"
        trig_pid, trig_adj = rng.randint(50, 30000), 0
        order = -1 if k >= R_49 else 0
    else:
        eligible = [t for t in tasks if t.oom_score_adj != -1000] or tasks
        if not eligible:
            comm, trig_pid, trig_adj = "kthreadd", 2, 0
        elif victim is not None and rng.random() < 0.5:
            comm, trig_pid, trig_adj = victim.name, victim.pid, victim.oom_score_adj
        else:
            t = rng.choice(eligible)
            comm, trig_pid, trig_adj = t.name, t.pid, t.oom_score_adj
        mask, names = rng.choice(gfp["fault"] + gfp["kernel"][:1])
        order = 0 if rng.random() < 0.9 else 1
    task_memcg = _task_memcg(rng, victim) if victim is not None and k >= R_510 else None
    return replace(
        base,
        trigger_comm=comm,
        trigger_pid=trig_pid,
        gfp_mask=mask,
        gfp_names=names,
        order=order,
        oom_score_adj=trig_adj,
        victim_pid=None if victim is None else victim.pid,
        memcg_victim_path=task_memcg,
        reaped=_reaped(rng, k, reaped) if kind != "panic_no_killable" else False,
        reap_file_rss_kib=_reap_file(rng, victim),
    )


def _page_kib(kib: int) -> int:
    """kB values that count whole pages are multiples of the page size."""
    return kib - kib % PAGE_KIB


def _reaped(rng: random.Random, k: int, forced: bool | None) -> bool:
    if k < R_49:
        return False
    if forced is not None:
        return forced
    return rng.random() < 0.7


def _reap_file(rng: random.Random, victim: SynthTask | None) -> int:
    if victim is None or rng.random() < 0.7:
        return 0
    return rng.randint(0, victim.rss_file_pages) * PAGE_KIB


_TAINTS: Final[dict[int, tuple[str, ...]]] = {
    R_RHEL6: ("Not tainted", "Not tainted", "Tainted: P           ---------------"),
    R_RHEL7: ("Not tainted", "Not tainted", "Tainted: G           OE  ------------"),
    R_49: ("Not tainted", "Not tainted", "Tainted: G           O   ", "Tainted: P           OE  "),
    R_419: ("Not tainted", "Not tainted", "Tainted: G           OE    "),
    R_510: ("Not tainted", "Not tainted", "Tainted: G           OE    "),
    R_515: ("Not tainted", "Not tainted", "Tainted: P           O     "),
    R_61: ("Not tainted", "Not tainted", "Tainted: P           O      "),
    R_68: ("Not tainted", "Not tainted", "Tainted: G           OE     "),
}


# --------------------------------------------------------------------------- envelopes (§8)


def _syslog_time(dt: datetime) -> str:
    return f"{_MONTHS[dt.month - 1]} {dt.day:2d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"


def _dmesg_t_time(dt: datetime) -> str:
    return (
        f"{_DAYS[dt.weekday()]} {_MONTHS[dt.month - 1]} {dt.day:2d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} {dt.year}"
    )


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.isoformat(timespec="microseconds")


def _kmsg_escape(text: str) -> str:
    """/dev/kmsg escapes control bytes, bytes >= 127 and backslash as ``\\xNN`` (§8.2)."""
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text
    out = []
    for byte in text.encode("utf-8"):
        if byte < 32 or byte >= 127 or byte == 0x5C:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _as_record(item: str | Record) -> Record:
    if isinstance(item, Record):
        return item
    return Record(item)


def _step_us(i: int) -> int:
    """Deterministic small gaps between the records of one report."""
    return 2 + (i * 2654435761 >> 9) % 47


def _render_one(
    rec: Record, envelope: str, t_us: int, dt: datetime, host: str, seq: int
) -> list[str]:
    lines = rec.text.split("\n")
    kernel = rec.program == "kernel"
    first, rest = lines[0], lines[1:]
    if not kernel and envelope in _KERNEL_ONLY_ENVELOPES:
        first = f"{rec.program}: {first}"
    if envelope == "bare":
        return [first, *rest]
    if envelope == "kmsg":
        prio = rec.level if kernel else 24 + rec.level
        text = _kmsg_escape("\n".join([first, *rest]))
        return [f"{prio},{seq},{t_us},-;{text}"]
    secs, usec = divmod(t_us, 1_000_000)
    stamp = f"[{secs:5d}.{usec:06d}] "
    if envelope == "dmesg":
        prefix = stamp
        indent = True
    elif envelope == "dmesg-T":
        prefix = f"[{_dmesg_t_time(dt)}] "
        indent = True
    elif envelope == "syslog":
        prefix = f"{_syslog_time(dt)} {host} {rec.program}: " + (stamp if kernel else "")
        indent = False
    elif envelope == "journal":
        prefix = f"{_syslog_time(dt)} {host} {rec.program}: "
        indent = True
    elif envelope == "rfc3339":
        prefix = f"{_iso(dt)} {host} {rec.program}: "
        indent = False
    else:
        raise ValueError(f"unknown envelope {envelope!r}; expected one of {ENVELOPES}")
    out = [prefix + first]
    pad = " " * len(prefix)
    for line in rest:
        if not line:
            out.append("" if indent else prefix.rstrip())
        else:
            out.append((pad if indent else prefix) + line)
    return out


def _render_records(
    records: Iterable[str | Record],
    envelope: str,
    start_us: int,
    wallclock: datetime,
    host: str,
    seq: int,
) -> tuple[list[list[str]], list[int]]:
    """Per record: its physical lines, and its timestamp in microseconds."""
    if envelope not in ENVELOPES:
        raise ValueError(f"unknown envelope {envelope!r}; expected one of {ENVELOPES}")
    out: list[list[str]] = []
    times: list[int] = []
    t_us = start_us
    for i, item in enumerate(records):
        rec = _as_record(item)
        if i:
            t_us += _step_us(i) + rec.delay_us
        dt = wallclock + timedelta(microseconds=t_us - start_us)
        out.append(_render_one(rec, envelope, t_us, dt, host, seq + i))
        times.append(t_us)
    return out, times


def render(
    lines: Iterable[str | Record],
    envelope: str,
    *,
    start_uptime: float,
    wallclock: datetime,
    host: str = "localhost",
    seq: int = 0,
) -> list[str]:
    """Wrap kernel records in a reader's envelope (§8.2, §8.5).

    ``lines`` are records (a plain ``str`` is a kernel record at level 4; a ``\\n`` inside
    makes it a multi-line record).  The first record is stamped ``start_uptime`` /
    ``wallclock``; later ones follow a few microseconds apart.

    * ``bare``: kernel text only.
    * ``dmesg``: ``[%5lu.%06lu] text``; continuation lines indented, no stamp.
    * ``dmesg-T``: ``[Sat Nov 25 12:00:00 2023] text``; continuation lines indented.
    * ``syslog``: ``Nov 25 12:00:00 host kernel: [  123.456789] text``; every line prefixed.
    * ``journal``: ``Nov 25 12:00:00 host kernel: text`` (journalctl short); continuation
      lines indented.
    * ``rfc3339``: ``2023-11-25T12:00:00.123456+00:00 host kernel: text``; every line prefixed.
    * ``kmsg``: ``<level>,<seq>,<usec>,-;text`` with ``\\x0a`` for embedded newlines.
    """
    per_record, _ = _render_records(
        lines, envelope, round(start_uptime * 1_000_000), wallclock, host, seq
    )
    return [line for group in per_record for line in group]


# --------------------------------------------------------------------------- noise

_USERS: Final = ("alice", "bob", "deploy", "ubuntu", "ec2-user", "root", "jenkins", "git")
_HOSTS: Final = ("web-01", "db2", "node-7", "build-host", "k8s-worker-3", "app1", "nas")


def _n(rng: random.Random, lo: int, hi: int) -> int:
    return rng.randint(lo, hi)


def _kernel_noise(rng: random.Random) -> str:
    pid = _n(rng, 300, 60000)
    veth = "veth" + _hex(rng, 7)
    choices: tuple[Callable[[], str], ...] = (
        lambda: "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
        lambda: "e1000e: eth0 NIC Link is Down",
        lambda: f"e1000e 0000:00:{_n(rng, 16, 31):02x}.0 eth0: Reset adapter unexpectedly",
        lambda: (
            f"usb 2-1.{_n(rng, 1, 4)}: new high-speed USB device number {_n(rng, 2, 60)} "
            "using ehci-pci"
        ),
        lambda: f"usb 1-{_n(rng, 1, 9)}: USB disconnect, device number {_n(rng, 2, 60)}",
        lambda: (
            f"usb 3-{_n(rng, 1, 4)}: new SuperSpeed USB device number {_n(rng, 2, 9)} "
            "using xhci_hcd"
        ),
        lambda: (
            f"audit: type=1400 audit({_n(rng, 1_600_000_000, 1_800_000_000)}."
            f'{_n(rng, 100, 999)}:{_n(rng, 10, 9999)}): apparmor="DENIED" operation="open" '
            f'profile="/usr/sbin/cupsd" name="/etc/ssl/openssl.cnf" pid={pid} comm="cupsd" '
            'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'
        ),
        lambda: (
            f"audit: type=1130 audit({_n(rng, 1_600_000_000, 1_800_000_000)}.{_n(rng, 100, 999)}"
            f":{_n(rng, 10, 9999)}): pid=1 uid=0 auid=4294967295 ses=4294967295 "
            'msg=\'unit=systemd-tmpfiles-clean comm="systemd" exe="/usr/lib/systemd/systemd" '
            "hostname=? addr=? terminal=? res=success'"
        ),
        lambda: (
            f"EXT4-fs (sda{_n(rng, 1, 4)}): mounted filesystem with ordered data mode. Opts: (null)"
        ),
        lambda: "EXT4-fs (dm-0): re-mounted. Opts: errors=remount-ro",
        lambda: f"EXT4-fs (nvme0n1p{_n(rng, 1, 3)}): 1 orphan inode deleted",
        lambda: "nf_conntrack: nf_conntrack: table full, dropping packet",
        lambda: (
            "nf_conntrack: default automatic helper assignment has been turned off for "
            "security reasons and CT-based  firewall rule not found. Use the iptables CT target "
            "to attach helpers instead."
        ),
        lambda: (
            f"[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:{_hex(rng, 2)}:{_hex(rng, 2)}:"
            f"{_hex(rng, 2)} SRC=203.0.113.{_n(rng, 1, 254)} DST=192.0.2.{_n(rng, 1, 254)} "
            f"LEN=40 TOS=0x00 PREC=0x00 TTL={_n(rng, 30, 250)} ID={_n(rng, 1, 65535)} PROTO=TCP "
            f"SPT={_n(rng, 1024, 65535)} DPT={rng.choice((22, 23, 445, 3389, 8080))} "
            "WINDOW=1024 RES=0x00 SYN URGP=0"
        ),
        lambda: (
            f"TCP: request_sock_TCP: Possible SYN flooding on port {rng.choice((80, 443))}. "
            "Sending cookies.  Check SNMP counters."
        ),
        lambda: (
            f"perf: interrupt took too long ({_n(rng, 2501, 9000)} > 2500), lowering "
            f"kernel.perf_event_max_sample_rate to {_n(rng, 20000, 79000)}"
        ),
        lambda: f"device {veth} entered promiscuous mode",
        lambda: f"docker0: port {_n(rng, 1, 30)}({veth}) entered forwarding state",
        lambda: f"docker0: port {_n(rng, 1, 30)}({veth}) entered disabled state",
        lambda: f"IPv6: ADDRCONF(NETDEV_CHANGE): {veth}: link becomes ready",
        lambda: (
            f"snd_hda_intel 0000:00:1f.3: azx_get_response timeout, switching to polling "
            f"mode: last cmd=0x{_hex(rng, 8)}"
        ),
        lambda: (
            f"xhci_hcd 0000:00:14.0: Port change event, port {_n(rng, 1, 9)}, "
            f"link mode:0x{_hex(rng, 2)}"
        ),
        lambda: f"i915 0000:00:02.0: [drm] Zooming disabled, panel fitter mode:0x{_hex(rng, 3)}",
        lambda: (
            "hid-generic 0003:046D:C52B.0003: input,hidraw2: USB HID v1.11 Device "
            "[Logitech Conference Room Hub] on usb-0000:00:14.0-1/input2"
        ),
        lambda: f"processing deferred probe for 0000:0{_n(rng, 1, 9)}:00.0",
        lambda: f"md: data-check of RAID array md{_n(rng, 0, 3)}",
        lambda: f"md: md{_n(rng, 0, 3)}: data-check done.",
        lambda: f"BTRFS info (device sda{_n(rng, 1, 3)}): balance: ended with status: 0",
        lambda: f"ata{_n(rng, 1, 6)}.00: configured for UDMA/133",
        lambda: (
            f"nvme nvme0: I/O {_n(rng, 1, 1023)} QID {_n(rng, 1, 8)} timeout, completion polled"
        ),
        lambda: (
            f"bond0: link status definitely up for interface eth{_n(rng, 0, 3)}, "
            "10000 Mbps full duplex"
        ),
        lambda: (
            f"igb 0000:0{_n(rng, 1, 9)}:00.0 eno1: igb: eno1 NIC Link is Up 1000 Mbps "
            "Full Duplex, Flow Control: RX"
        ),
        lambda: f"kauditd_printk_skb: {_n(rng, 2, 40)} callbacks suppressed",
        lambda: (
            f"traps: {rng.choice(('node', 'python3', 'php'))}[{pid}] general protection "
            f"fault ip:{_hex(rng, 12)} sp:7ffd{_hex(rng, 8)} error:0 in libc.so.6[7f{_hex(rng, 10)}"
            f"+{_hex(rng, 6)}]"
        ),
        lambda: (
            f"{rng.choice(('python3', 'node', 'ruby'))}[{pid}]: segfault at 0 ip "
            f"0000{_hex(rng, 12)} sp 00007ffd{_hex(rng, 8)} error 4 in "
            f"libfoo.so[7f{_hex(rng, 10)}+{_hex(rng, 5)}]"
        ),
        lambda: f"systemd-journald[{_n(rng, 200, 600)}]: Received SIGTERM from PID 1 (systemd).",
        lambda: (
            f"xfs filesystem being remounted at /var/lib/docker/overlay2/{_hex(rng, 64)}"
            "/merged supports timestamps until 2038 (0x7fffffff)"
        ),
        lambda: (
            "overlayfs: upperdir is in-use as upperdir/workdir of another mount, "
            "accessing files from both mounts will result in undefined behavior."
        ),
        lambda: (
            f"cgroup: fork rejected by pids controller in /system.slice/"
            f"{rng.choice(('app', 'worker', 'cron'))}.service"
        ),
        lambda: f"usb 1-{_n(rng, 1, 9)}: Product: Zoom H6 Audio Interface",
    )
    if rng.random() < 0.04:  # rarer messages, several of them near-misses
        rare = (
            f"init: failsafe main process ({_n(rng, 300, 900)}) killed by TERM signal",
            "OOM killer disabled.",
            "OOM killer enabled.",
            "PM: suspend entry (deep)",
            "Restarting tasks ... done.",
            "process `syslogd' is using obsolete setsockopt SO_BSDCOMPAT",
            "sd 0:0:0:0: [sda] Synchronizing SCSI cache",
        )
        return "kernel: " + rng.choice(rare)
    return "kernel: " + rng.choice(choices)()


def _user_noise(rng: random.Random) -> str:
    pid = _n(rng, 300, 60000)
    user = rng.choice(_USERS)
    port = _n(rng, 1024, 65535)
    choices: tuple[Callable[[], str], ...] = (
        lambda: f"systemd[1]: Started Session {_n(rng, 1, 9000)} of user {user}.",
        lambda: "systemd[1]: Starting Daily apt download activities...",
        lambda: "systemd[1]: Started Daily apt download activities.",
        lambda: "systemd[1]: Starting Cleanup of Temporary Directories...",
        lambda: (
            f"systemd[1]: session-{_n(rng, 1, 9000)}.scope: Killing process {pid} (bash) "
            "with signal SIGKILL."
        ),
        lambda: (
            f"systemd[1]: {rng.choice(('nginx', 'app', 'worker'))}.service: Main process "
            "exited, code=killed, status=9/KILL"
        ),
        lambda: (
            f"systemd[1]: {rng.choice(('nginx', 'app', 'worker'))}.service: Scheduled "
            f"restart job, restart counter is at {_n(rng, 1, 40)}."
        ),
        lambda: (
            f"systemd-logind[{_n(rng, 500, 900)}]: New session {_n(rng, 1, 9000)} of user {user}."
        ),
        lambda: f"systemd-logind[{_n(rng, 500, 900)}]: Removed session {_n(rng, 1, 9000)}.",
        lambda: f"CRON[{pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
        lambda: f"CRON[{pid}]: pam_unix(cron:session): session opened for user root by (uid=0)",
        lambda: f"CRON[{pid}]: pam_unix(cron:session): session closed for user root",
        lambda: (
            f"sshd[{pid}]: Accepted publickey for {user} from 198.51.100.{_n(rng, 1, 254)} "
            f"port {port} ssh2: RSA SHA256:{_hex(rng, 43)}"
        ),
        lambda: (
            f"sshd[{pid}]: Disconnected from user {user} 198.51.100.{_n(rng, 1, 254)} port {port}"
        ),
        lambda: f"sshd[{pid}]: Invalid user admin from 203.0.113.{_n(rng, 1, 254)} port {port}",
        lambda: (
            f"sshd[{pid}]: Connection closed by authenticating user root "
            f"203.0.113.{_n(rng, 1, 254)} port {port} [preauth]"
        ),
        lambda: (
            f"dhclient[{pid}]: DHCPACK of 10.0.{_n(rng, 0, 9)}.{_n(rng, 2, 254)} from "
            f"10.0.{_n(rng, 0, 9)}.1"
        ),
        lambda: f"postfix/smtpd[{pid}]: connect from unknown[203.0.113.{_n(rng, 1, 254)}]",
        lambda: (
            f'dockerd[{pid}]: time="2024-01-0{_n(rng, 1, 9)}T12:00:00.000000000Z" '
            f'level=info msg="ignoring event" container={_hex(rng, 64)} module=libcontainerd '
            'namespace=moby topic=/tasks/delete type="*events.TaskDelete"'
        ),
        lambda: (
            f"kubelet[{pid}]: I0105 12:00:00.{_n(rng, 100000, 999999)}    {pid} "
            f'kubelet.go:2145] "SyncLoop (PLEG): event for pod" pod="default/web-{_hex(rng, 5)}"'
        ),
        lambda: (
            f'java[{pid}]: Exception in thread "main" java.lang.OutOfMemoryError: Java heap space'
        ),
        lambda: (
            f"{rng.choice(('imgproc', 'renderd', 'api-server'))}[{pid}]: Out of memory "
            f"while processing request id={_n(rng, 1, 10**6)} (zoom level {_n(rng, 1, 19)})"
        ),
        lambda: f"postgres[{pid}]: [{_n(rng, 1, 9)}-1] ERROR:  out of memory",
        lambda: (
            f"postgres[{pid}]: [{_n(rng, 1, 9)}-2] DETAIL:  Failed on request of size "
            f'{_n(rng, 1024, 10**8)} in memory context "ExecutorState".'
        ),
        lambda: (
            f"webapp[{pid}]: processing booking: room={_n(rng, 100, 999)} zoom=2 "
            f"mode:0x{_hex(rng, 2)} user={user}"
        ),
        lambda: (
            'rsyslogd: [origin software="rsyslogd" swVersion="8.2001.0" '
            f'x-pid="{pid}" x-info="https://www.rsyslog.com"] rsyslogd was HUPed'
        ),
        lambda: f"anacron[{pid}]: Job `cron.daily' terminated",
        lambda: (
            f"NetworkManager[{pid}]: <info>  [{_n(rng, 1_600_000_000, 1_800_000_000)}."
            f"{_n(rng, 1000, 9999)}] dhcp4 (eth0): state changed new lease, address="
            f"10.0.{_n(rng, 0, 9)}.{_n(rng, 2, 254)}"
        ),
        lambda: (
            f"sudo[{pid}]:   {user} : TTY=pts/{_n(rng, 0, 9)} ; PWD=/home/{user} ; "
            "USER=root ; COMMAND=/usr/bin/systemctl restart nginx"
        ),
        lambda: (
            f'containerd[{pid}]: time="2024-01-05T12:00:00Z" level=info msg="shim '
            f'disconnected" id={_hex(rng, 64)}'
        ),
        lambda: (
            f"earlyoom[{pid}]: mem avail: {_n(rng, 100, 9000)} of {_n(rng, 9000, 64000)} MiB"
            f" ({_n(rng, 10, 90)}.{_n(rng, 0, 99):02d}%), swap free: 0 of 0 MiB"
        ),
    )
    return rng.choice(choices)()


def _systemd_noise(rng: random.Random) -> str:
    return rng.choice(
        (
            f"systemd[1]: Started Session {_n(rng, 1, 9000)} of user {rng.choice(_USERS)}.",
            "systemd[1]: Starting Cleanup of Temporary Directories...",
            "systemd[1]: Finished Cleanup of Temporary Directories.",
        )
    )


def _noise_item(rng: random.Random, kernel_only: bool) -> str:
    x = rng.random()
    if kernel_only:
        return _kernel_noise(rng) if x < 0.93 else _systemd_noise(rng)
    return _kernel_noise(rng) if x < 0.45 else _user_noise(rng)


def _show_memory_records(rng: random.Random) -> list[Record]:
    """``sysrq: Show Memory`` followed by a Mem-Info dump: OOM-looking, but not an OOM."""
    report = random_report(rng, kind="allocation_failure", hostile=False)
    sysrq = "SysRq : Show Memory" if report.rank <= R_RHEL7 else "sysrq: Show Memory"
    return [Record(sysrq, LVL_INFO), *_mem_info_records(report, rng, pressure=False)]


def noise_lines(rng: random.Random, n: int, *, kernel_only: bool = False) -> Iterator[str]:
    """``n`` realistic non-OOM log entries as ``"<program>: <message>"``.

    ``program`` is ``kernel`` for kernel messages (a ``\\n`` inside marks a multi-line
    kernel record).  Near-misses are included on purpose: ``init: failsafe main process
    (491) killed by TERM signal``, ``OOM killer disabled.``, ``sysrq: Show Memory`` followed
    by a Mem-Info dump, ``Out of memory`` from a non-kernel program, systemd ``Killing
    process``, and words like room, zoom, process, processing and ``mode:0x`` in unrelated
    text.  ``kernel_only`` limits it to what dmesg would show.
    """
    emitted = 0
    while emitted < n:
        if rng.random() < 0.002 and n - emitted > 40:
            for rec in _show_memory_records(rng):
                if emitted >= n:
                    return
                yield f"{rec.program}: {rec.text}"
                emitted += 1
            continue
        yield _noise_item(rng, kernel_only)
        emitted += 1


def _noise_record(item: str) -> Record:
    program, _, text = item.partition(": ")
    return Record(text, LVL_INFO, program)


# --------------------------------------------------------------------------- log files


class _Group:
    """A block of single-line noise records sharing one second, as a %-format template."""

    __slots__ = ("template", "nlines", "per_line_seq")

    def __init__(self, template: str, nlines: int, per_line_seq: bool) -> None:
        self.template = template
        self.nlines = nlines
        self.per_line_seq = per_line_seq


def _esc(text: str) -> str:
    return text.replace("%", "%%")


def _group_template(
    records: Sequence[Record], fracs: Sequence[int], envelope: str, host: str, zone: str
) -> _Group:
    parts: list[str] = []
    for i, (rec, frac) in enumerate(zip(records, fracs, strict=True)):
        kernel = rec.program == "kernel"
        text = _esc(rec.text)
        prog = _esc(rec.program)
        if not kernel and envelope in _KERNEL_ONLY_ENVELOPES:
            text = f"{prog}: {text}"
        f6 = f"{frac:06d}"
        if envelope == "bare":
            line = text
        elif envelope == "dmesg":
            line = f"[%(S)s.{f6}] {text}"
        elif envelope == "dmesg-T":
            line = f"[%(T)s] {text}"
        elif envelope == "syslog":
            stamp = f"[%(S)s.{f6}] " if kernel else ""
            line = f"%(W)s {_esc(host)} {prog}: {stamp}{text}"
        elif envelope == "journal":
            line = f"%(W)s {_esc(host)} {prog}: {text}"
        elif envelope == "rfc3339":
            line = f"%(I)s.{f6}{zone} {_esc(host)} {prog}: {text}"
        elif envelope == "kmsg":
            prio = rec.level if kernel else 24 + rec.level
            body = rec.text if kernel else f"{rec.program}: {rec.text}"
            line = f"{prio},%(q{i})d,%(U)s{f6},-;{_esc(_kmsg_escape(body))}"
        else:
            raise ValueError(f"unknown envelope {envelope!r}")
        parts.append(line + "\n")
    return _Group("".join(parts), len(records), envelope == "kmsg")


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


def _open_out(path: Path, compress: str | None) -> _Sink:
    if compress is None:
        return open(path, "wb")  # noqa: SIM115 - closed by the caller
    if compress == "gzip":
        raw = open(path, "wb")  # noqa: SIM115
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
    if compress == "bz2":
        return bz2.open(path, "wb")
    if compress == "xz":
        return lzma.open(path, "wb")
    if compress == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3).stream_writer(open(path, "wb"))  # noqa: SIM115
    raise ValueError(f"unknown compression {compress!r}; expected one of {COMPRESSIONS}")


class _Writer:
    def __init__(self, raw: _Sink) -> None:
        self.raw = raw
        self.buf: list[str] = []
        self.pending = 0
        self.written = 0  # bytes of text (uncompressed)
        self.lines = 0

    def add(self, text: str, nlines: int, nbytes: int) -> None:
        self.buf.append(text)
        self.pending += nbytes
        self.written += nbytes
        self.lines += nlines
        if self.pending >= 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.raw.write("".join(self.buf).encode("utf-8"))
            self.buf.clear()
            self.pending = 0


def _boot_records(rng: random.Random, report: SynthReport) -> list[Record]:
    return [
        Record(
            f"Linux version {report.kernel_release} (builder@buildhost) (gcc version "
            f"{rng.choice(('4.8.5', '8.3.0', '10.2.1', '12.2.0', '13.2.0'))}) "
            f"{report.kernel_version} SMP",
            5,
        ),
        Record(
            f"Command line: BOOT_IMAGE=/boot/vmlinuz-{report.kernel_release} "
            f"root=UUID={_uuid(rng)} ro quiet",
            6,
        ),
        Record("x86/fpu: x87 FPU will use FXSAVE", 6),
        Record(
            f"Memory: {report.totalram_pages * 4}K/{report.ram_pages * 4}K available "
            f"({rng.randint(8000, 16000)}K kernel code, {report.reserved_pages * 4}K reserved)",
            6,
        ),
    ]


def write_log(
    path: str | Path,
    *,
    size_bytes: int,
    reports: int,
    envelope: str,
    seed: int,
    compress: str | None = None,
    eras: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    synth_reports: Sequence[SynthReport] | None = None,
    kernel_only: bool | None = None,
    interleave: float = 0.0,
    start: datetime | None = None,
) -> list[dict[str, Any]]:
    """Stream a log of about ``size_bytes`` (uncompressed) of noise with ``reports`` reports.

    Reports are spread evenly (with jitter) through the file; returns one
    :meth:`SynthReport.expected` dict per report, in file order, plus ``source``
    (``path``, 1-based ``first_line`` = the header, ``last_line``), ``time`` (``uptime_s``
    and ``wallclock`` of the header as the envelope shows them, None where it does not)
    and ``host``.  A no-killable panic is followed by a reboot (uptime restarts).
    ``wallclock`` carries the year the generator used; syslog and journal lines do not show
    it, so compare ``wallclock[5:]`` there (a reader infers the year).

    Noise is precomputed as a few hundred one-second blocks that are repeated with fresh
    timestamps, so writing 1 GB takes seconds and memory stays at a few MB.
    ``synth_reports`` replaces the random reports (its length must equal ``reports``);
    ``interleave`` is the chance that foreign lines land inside a report (§2.6).
    """
    if envelope not in ENVELOPES:
        raise ValueError(f"unknown envelope {envelope!r}; expected one of {ENVELOPES}")
    path = Path(path)
    rng = random.Random(seed)
    host = rng.choice(_HOSTS)
    if kernel_only is None:
        kernel_only = envelope in _KERNEL_ONLY_ENVELOPES
    if synth_reports is not None:
        if len(synth_reports) != reports:
            raise ValueError("reports must equal len(synth_reports)")
        report_list = list(synth_reports)
    else:
        report_list = [
            random_report(
                rng,
                era=rng.choice(list(eras)) if eras else None,
                kind=rng.choice(list(kinds)) if kinds else None,
            )
            for _ in range(reports)
        ]
    wall0 = start or datetime(
        rng.choice((2022, 2023, 2024)),
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        rng.randint(0, 59),
        tzinfo=UTC,
    )
    wall0 = wall0.replace(microsecond=0)
    zone = _iso(wall0)[-6:]

    # precomputed noise blocks
    pool = [_noise_record(_noise_item(rng, kernel_only)) for _ in range(3000)]
    groups: list[_Group] = []
    for _ in range(512):
        n = rng.choice((1, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 30, 40))
        fracs = sorted(rng.sample(range(1, 900_000), n))
        groups.append(_group_template(rng.sample(pool, n), fracs, envelope, host, zone))
    gaps = [rng.choice((0, 0, 0, 0, 1, 1, 2, 3, 7, 30)) for _ in range(997)]

    # where reports (and sysrq show-memory near-misses) go, in bytes of output
    spacing = size_bytes / max(1, len(report_list))
    targets = [int(spacing * (i + 0.5 + rng.uniform(-0.3, 0.3))) for i in range(len(report_list))]
    n_showmem = 0 if size_bytes < 1 << 20 else 1 + size_bytes // (256 << 20)
    showmem_targets = sorted(rng.randrange(size_bytes) for _ in range(n_showmem))

    results: list[dict[str, Any]] = []
    boot_wall = wall0 - timedelta(seconds=rng.randint(60, 5_000_000))
    boot_sod = boot_wall.hour * 3600 + boot_wall.minute * 60 + boot_wall.second
    t = int((wall0 - boot_wall).total_seconds())
    seq = rng.randint(1000, 100_000)
    gi = rng.randrange(len(groups))
    ri = 0
    si = 0

    hh_mm = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
    ss = [f"{x:02d}" for x in range(60)]
    day_cache: dict[int, tuple[str, str]] = {}

    def day_parts(day_start: datetime) -> tuple[str, str]:
        """The text before and after HH:MM:SS for one calendar day of this envelope."""
        if envelope in ("syslog", "journal"):
            return f"{_MONTHS[day_start.month - 1]} {day_start.day:2d} ", ""
        if envelope == "dmesg-T":
            wday = _DAYS[day_start.weekday()]
            month = _MONTHS[day_start.month - 1]
            return f"{wday} {month} {day_start.day:2d} ", f" {day_start.year}"
        return day_start.strftime("%Y-%m-%dT"), ""

    def stamps(sec: int) -> dict[str, Any]:
        """Per-second placeholder values (fast path: one dict, cached day text)."""
        if envelope == "dmesg":
            return {"S": f"{sec:5d}"}
        if envelope == "kmsg":
            return {"U": str(sec)}
        if envelope == "bare":
            return {}
        day, second = divmod(boot_sod + sec, 86400)
        parts = day_cache.get(day)
        if parts is None:
            day_cache.clear()
            day_start = boot_wall + timedelta(seconds=day * 86400 - boot_sod)
            parts = day_cache[day] = day_parts(day_start)
        minute, second = divmod(second, 60)
        text = parts[0] + hh_mm[minute] + ss[second] + parts[1]
        if envelope == "syslog":
            return {"W": text, "S": f"{sec:5d}"}
        if envelope == "journal":
            return {"W": text}
        if envelope == "dmesg-T":
            return {"T": text}
        return {"I": text}

    def emit_records(
        recs: Sequence[Record], header: int | None, report: SynthReport | None, boot: bool = False
    ) -> None:
        nonlocal t, seq
        start_us = 0 if boot else t * 1_000_000 + rng.randint(0, 200_000)
        wall = boot_wall + timedelta(microseconds=start_us)
        per_record, times = _render_records(recs, envelope, start_us, wall, host, seq)
        seq += len(recs)
        first = writer.lines + 1
        text_lines = [line for group in per_record for line in group]
        text = "\n".join(text_lines) + "\n"
        nbytes = len(text.encode("utf-8"))
        if report is not None and header is not None:
            head_line = first + sum(len(g) for g in per_record[:header])
            head_us = times[header]
            head_dt = boot_wall + timedelta(microseconds=head_us)
            exp = report.expected()
            exp["source"] = {
                "path": str(path),
                "first_line": head_line,
                "last_line": first + len(text_lines) - 1,
            }
            exp["time"] = {
                "uptime_s": head_us / 1_000_000
                if envelope in ("dmesg", "syslog", "kmsg")
                else None,
                "wallclock": _wallclock_shown(envelope, head_dt),
            }
            exp["host"] = host if envelope in ("syslog", "journal", "rfc3339") else None
            results.append(exp)
        writer.add(text, len(text_lines), nbytes)
        t = times[-1] // 1_000_000 + 1

    raw = _open_out(path, compress)
    writer = _Writer(raw)
    buf = writer.buf
    last_was_report = False  # the log never ends on a report: one noise block follows
    try:
        while True:
            if ri < len(report_list) and (
                writer.written >= targets[ri] or writer.written >= size_bytes
            ):
                report = report_list[ri]
                recs = report.records()
                header = report.header_index
                if interleave and rng.random() < interleave:
                    recs = _interleave(rng, recs, header, kernel_only)
                emit_records(recs, header, report)
                ri += 1
                last_was_report = True
                if report.kind == "panic_no_killable":  # the machine reboots
                    boot_wall = boot_wall + timedelta(seconds=t + rng.randint(60, 900))
                    boot_sod = boot_wall.hour * 3600 + boot_wall.minute * 60 + boot_wall.second
                    day_cache.clear()
                    t = 0
                    seq = 0
                    emit_records(_boot_records(rng, report), None, None, boot=True)
                    t = rng.randint(5, 40)
                continue
            if si < len(showmem_targets) and writer.written >= showmem_targets[si]:
                emit_records(_show_memory_records(rng), None, None)
                si += 1
                continue
            if writer.written >= size_bytes and not last_was_report:
                break
            last_was_report = False
            group = groups[gi]
            gi = (gi + 1) % len(groups)
            values = stamps(t)
            if group.per_line_seq:
                for i in range(group.nlines):
                    values[f"q{i}"] = seq + i
                seq += group.nlines
            text = group.template % values
            size = len(text)
            buf.append(text)
            writer.pending += size
            writer.written += size
            writer.lines += group.nlines
            if writer.pending >= 1 << 20:
                writer.flush()
            t += 1 + gaps[gi % len(gaps)]
        writer.flush()
    finally:
        raw.close()
    return results


def _wallclock_shown(envelope: str, dt: datetime) -> str | None:
    if envelope in ("dmesg-T", "syslog", "journal"):
        return dt.strftime("%Y-%m-%dT%H:%M:%S")
    if envelope == "rfc3339":
        return _iso(dt)
    return None


def _interleave(
    rng: random.Random, recs: list[Record], header: int, kernel_only: bool
) -> list[Record]:
    """Foreign lines from other CPUs/programs inside a report (never before the header)."""
    out = list(recs)
    for _ in range(rng.randint(1, 2)):
        pos = rng.randint(header + 1, len(out))
        out.insert(pos, _noise_record(_noise_item(rng, kernel_only)))
    return out


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m oomlens.synth OUT --size-mb N --reports N`` writes a synthetic log."""
    parser = argparse.ArgumentParser(prog="python -m oomlens.synth", description=main.__doc__)
    parser.add_argument("out")
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--reports", type=int, default=10)
    parser.add_argument("--envelope", choices=ENVELOPES, default="syslog")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compress", choices=COMPRESSIONS, default=None)
    parser.add_argument("--era", action="append", choices=ERAS)
    parser.add_argument("--kind", action="append", choices=KINDS)
    parser.add_argument("--truth", help="also write the expected events as JSON here")
    args = parser.parse_args(argv)
    events = write_log(
        args.out,
        size_bytes=int(args.size_mb * 1024 * 1024),
        reports=args.reports,
        envelope=args.envelope,
        seed=args.seed,
        compress=args.compress,
        eras=args.era,
        kinds=args.kind,
    )
    if args.truth:
        import json

        Path(args.truth).write_text(json.dumps({"events": events}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

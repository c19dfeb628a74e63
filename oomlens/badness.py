"""The OOM killer's badness arithmetic per kernel era, recomputed from a report's task table.

The kernel ranks every eligible task with ``oom_badness()`` and kills the highest.  The formula
changed several times (shared/docs/kernel-oom-format.md §6); :class:`Algorithm` names each
form, :func:`algorithm_for` picks one from the kernel release (or, when the release was not
printed, from the shape of the report), :func:`totalpages_for` recovers the denominator (§5)
and :func:`rank_tasks` orders the task dump the way the kernel would have.

Inputs the log never shows (CAP_SYS_ADMIN, a memcg's swappiness, cpuset node sizes, tasks
already being reaped) are named in the results instead of being guessed silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from .fastinit import positional
from .model import Constraint, OomEvent, RankedTask, Task

__all__ = [
    "UNLIMITED_KIB",
    "Algorithm",
    "KernelVersion",
    "Ranking",
    "Totalpages",
    "algorithm_for",
    "implied_totalpages",
    "page_kib_for",
    "parse_release",
    "rank_tasks",
    "totalpages_for",
]

OOM_SCORE_ADJ_MIN = -1000
OOM_DISABLE = -17  # legacy oom_adj value meaning "never kill"
# A memcg limit at or above this many kB is "unlimited" (PAGE_COUNTER_MAX / RES_COUNTER_MAX).
UNLIMITED_KIB = 1 << 50


class Algorithm(StrEnum):
    """Which ``oom_badness()`` the kernel ran (§6)."""

    HEURISTIC = "2.6.32-heuristic"  # total_vm, cpu time, nice, children: not recomputable
    PER_MILLE = "per-mille"  # RHEL6, 2.6.36-3.4: (rss+ptes+swap)*1000/total, -30 root, clamp
    PAGES_ROOT_ADJ = "pages-root-adj"  # 3.5-3.13: pages; root bonus as oom_score_adj -30
    PAGES_ROOT_PCT = "pages-root-3pct"  # 3.14-4.16, RHEL7: pages; root bonus 3% of points
    PAGES = "pages"  # 4.17-5.0: pages, no root bonus, score printed
    PAGES_UNPRINTED = "pages-unprinted"  # 5.1-5.8, RHEL8: floor 1, no score, later wins ties
    SIGNED = "signed"  # 5.9+: no floor, no score, later wins ties

    @property
    def recomputable(self) -> bool:
        return self is not Algorithm.HEURISTIC

    @property
    def prints_score(self) -> bool:
        """Whether the ``Kill process ... score N`` line exists in this era."""
        return self in (
            Algorithm.HEURISTIC,
            Algorithm.PER_MILLE,
            Algorithm.PAGES_ROOT_ADJ,
            Algorithm.PAGES_ROOT_PCT,
            Algorithm.PAGES,
        )

    @property
    def later_wins_ties(self) -> bool:
        """5.1+ replace the chosen task on equal points; earlier kernels keep the first."""
        return self in (Algorithm.PAGES_UNPRINTED, Algorithm.SIGNED)

    @property
    def root_bonus(self) -> bool:
        return self in (Algorithm.PER_MILLE, Algorithm.PAGES_ROOT_ADJ, Algorithm.PAGES_ROOT_PCT)


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelVersion:
    major: int
    minor: int
    patch: int | None
    distro: str | None  # "el6", "el7", "el8", "el9" or None

    @property
    def triple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch or 0)


_RELEASE_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_EL_RE = re.compile(r"\.el(\d+)")


def parse_release(release: str | None) -> KernelVersion | None:
    """``"3.10.0-1160.el7.x86_64"`` -> 3.10.0 el7; ``None`` when no version is recognised."""
    if not release:
        return None
    m = _RELEASE_RE.search(release)
    if m is None:
        return None
    el = _EL_RE.search(release)
    return KernelVersion(
        major=int(m.group(1)),
        minor=int(m.group(2)),
        patch=int(m.group(3)) if m.group(3) is not None else None,
        distro=f"el{el.group(1)}" if el else None,
    )


def algorithm_for(event: OomEvent) -> tuple[Algorithm, str]:
    """The badness era of ``event`` and how it was decided (for the replay's data)."""
    version = parse_release(event.kernel_release)
    if version is not None:
        return _algorithm_for_version(version), f"kernel release {event.kernel_release}"
    return _algorithm_from_features(event)


def _algorithm_for_version(v: KernelVersion) -> Algorithm:
    t = v.triple
    if v.distro == "el6":
        return Algorithm.PER_MILLE
    if v.distro == "el7":
        # RHEL7 carries the 3.14 "base root bonus on current usage" change.
        return Algorithm.PAGES_ROOT_PCT
    if v.distro == "el8":
        # RHEL8 backported the 5.1 removal of the score line and of child sacrifice.
        return Algorithm.PAGES_UNPRINTED
    if t < (2, 6, 36):
        return Algorithm.HEURISTIC
    if t < (3, 5, 0):
        return Algorithm.PER_MILLE
    if t < (3, 14, 0):
        return Algorithm.PAGES_ROOT_ADJ
    if t < (4, 17, 0):
        return Algorithm.PAGES_ROOT_PCT
    if t < (5, 1, 0):
        return Algorithm.PAGES
    if t < (5, 9, 0):
        return Algorithm.PAGES_UNPRINTED
    return Algorithm.SIGNED


def _algorithm_from_features(event: OomEvent) -> tuple[Algorithm, str]:
    """No release printed: the task table's columns and the score line narrow the era."""
    cols = set(event.task_columns or ())
    scored = event.selected is not None and event.selected.score is not None
    tasks_state = any(line.text.startswith("Tasks state") for line in event.lines)
    if "cpu" in cols:
        if "oom_score_adj" in cols:
            return Algorithm.PER_MILLE, "task table with cpu and oom_score_adj columns (2.6.36-3.x)"
        return Algorithm.HEURISTIC, "task table with cpu and oom_adj columns (2.6.32)"
    if "nr_ptes" in cols:
        # 3.5-3.13 (root bonus as adj) and 3.14+/RHEL7 (3%) print the same table.
        return Algorithm.PAGES_ROOT_PCT, "task table with nr_ptes (3.14-4.14 or RHEL7 assumed)"
    if "pgtables_bytes" in cols and scored:
        if tasks_state:
            return Algorithm.PAGES, "pgtables_bytes, 'Tasks state' line and a score (4.19-5.0)"
        return Algorithm.PAGES, "pgtables_bytes and a score (4.15-5.0; 4.15-4.16 had a root bonus)"
    if "pgtables_bytes" in cols:
        return Algorithm.SIGNED, "pgtables_bytes and no score (5.1+; 5.1-5.8 floor points at 1)"
    if scored:
        return Algorithm.PAGES, "a score line but no task table (before 5.1)"
    if event.summary is not None:
        return Algorithm.SIGNED, "an oom-kill summary and no score (5.1+ assumed)"
    return Algorithm.SIGNED, "nothing era-specific printed (latest kernels assumed)"


def page_kib_for(event: OomEvent) -> tuple[int, bool]:
    """The page size in kB and whether it was shown (buddy lines); else 4 kB, flagged."""
    size = event.memory.page_size_kib
    if size:
        return size, True
    return 4, False


# --------------------------------------------------------------------------------- totalpages


@dataclass(frozen=True, slots=True, kw_only=True)
class Totalpages:
    """The badness denominator (§5) and how it was obtained.

    ``exact`` is False when an unprinted input had to be assumed (named in ``assumption``).
    """

    pages: int | None
    basis: str  # "ram+swap", "memcg-limit", "memcg-memsw-limit", "memcg-limit+swap", "nodes+swap"
    exact: bool
    assumption: str | None = None


def totalpages_for(event: OomEvent, algorithm: Algorithm) -> Totalpages:
    page_kib, _ = page_kib_for(event)
    swap_pages = event.swap_total_kib // page_kib if event.swap_total_kib is not None else None
    if _is_memcg(event):
        return _memcg_totalpages(event, algorithm, page_kib, swap_pages)
    constraint = event.constraint
    if constraint in (Constraint.CPUSET, Constraint.MEMORY_POLICY):
        zones = event.memory.zones
        present = [z.present_kib for z in zones]
        if zones and all(p is not None for p in present) and swap_pages is not None:
            nodes_pages = sum(p for p in present if p is not None) // page_kib
            return Totalpages(
                pages=max(1, nodes_pages + swap_pages),
                basis="nodes+swap",
                exact=False,
                assumption="node size approximated by the present pages of the zones printed",
            )
        return Totalpages(pages=None, basis="nodes+swap", exact=False, assumption="no zone lines")
    ram = event.memory.ram
    if ram is None or ram.ram_pages is None or ram.reserved_pages is None:
        return Totalpages(pages=None, basis="ram+swap", exact=False, assumption="no RAM summary")
    if swap_pages is None:
        return Totalpages(pages=None, basis="ram+swap", exact=False, assumption="no Total swap")
    totalram = ram.ram_pages - ram.reserved_pages
    version = parse_release(event.kernel_release)
    old_walk = version is not None and version.triple < (3, 12, 0) and version.distro != "el7"
    return Totalpages(
        pages=max(1, totalram + swap_pages),
        basis="ram+swap",
        exact=not old_walk and ram.shared_pages is None,
        assumption=(
            "pages RAM - pages reserved approximates totalram_pages before 3.12"
            if old_walk or ram.shared_pages is not None
            else None
        ),
    )


def _is_memcg(event: OomEvent) -> bool:
    if event.constraint == Constraint.MEMCG:
        return True
    kill = event.victim
    return kill is not None and (kill.message or "").startswith("Memory cgroup")


def _finite(kib: int | None) -> bool:
    return kib is not None and kib < UNLIMITED_KIB


def _memcg_totalpages(
    event: OomEvent, algorithm: Algorithm, page_kib: int, swap_pages: int | None
) -> Totalpages:
    """Memcg limit plus the swap the memcg may use (§5 "Memcg swap allowance")."""
    memcg = event.memcg
    if memcg is None or not _finite(memcg.limit_kib) or memcg.limit_kib is None:
        return Totalpages(pages=None, basis="memcg-limit", exact=False, assumption="no limit line")
    limit = memcg.limit_kib // page_kib
    swappiness = "the memcg's swappiness (not printed) is assumed > 0"
    if _finite(memcg.swap_limit_kib) and memcg.swap_limit_kib is not None:  # cgroup v2 swap.max
        swap_max = memcg.swap_limit_kib // page_kib
        if swap_pages is None:
            return Totalpages(
                pages=max(1, limit + swap_max),
                basis="memcg-limit+swap",
                exact=False,
                assumption=f"system swap (not printed) assumed >= swap.max; {swappiness}",
            )
        return Totalpages(
            pages=max(1, limit + min(swap_max, swap_pages)),
            basis="memcg-limit+swap",
            exact=False,
            assumption=swappiness,
        )
    if _finite(memcg.memsw_limit_kib) and memcg.memsw_limit_kib is not None:  # v1 memory+swap
        memsw = memcg.memsw_limit_kib // page_kib
        if swap_pages is None:
            return Totalpages(
                pages=max(1, memsw),
                basis="memcg-memsw-limit",
                exact=False,
                assumption=f"system swap (not printed) assumed >= the memsw headroom; {swappiness}",
            )
        return Totalpages(
            pages=max(1, min(limit + swap_pages, memsw)),
            basis="memcg-memsw-limit",
            exact=False,
            assumption=swappiness,
        )
    if swap_pages is not None:
        return Totalpages(
            pages=max(1, limit + swap_pages),
            basis="memcg-limit+swap",
            exact=swap_pages == 0,
            assumption=None if swap_pages == 0 else swappiness,
        )
    return Totalpages(
        pages=max(1, limit),
        basis="memcg-limit",
        exact=False,
        assumption="system swap is not printed in a memcg report: assumed none (or swappiness 0)",
    )


def implied_totalpages(points: int, score: int) -> tuple[int, int] | None:
    """The totalpages range that makes ``points * 1000 // totalpages == score`` (inclusive)."""
    if score <= 0 or points <= 0:
        return None
    low = points * 1000 // (score + 1) + 1
    high = points * 1000 // score
    return (low, high) if low <= high else None


# --------------------------------------------------------------------------------- ranking


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranking:
    """The recomputed ranking (best first) and what it rests on."""

    tasks: tuple[RankedTask, ...]
    complete_inputs: bool  # every row printed rss, page tables and swap entries
    missing_columns: tuple[str, ...]
    no_bonus_pids: tuple[int, ...] = ()  # uid-0 tasks treated as lacking CAP_SYS_ADMIN


def pagetable_pages(task: Task, page_kib: int) -> int | None:
    """Page-table pages as the era counted them: pgtables_bytes/PAGE_SIZE, else nr_ptes (+pmds)."""
    if task.pgtables_bytes is not None:
        return task.pgtables_bytes // (page_kib * 1024)
    if task.nr_ptes is not None:
        return task.nr_ptes + (task.nr_pmds or 0)
    return None


def base_pages(task: Task, page_kib: int) -> int | None:
    """rss + page tables + swap entries (unprinted parts count 0); None without rss."""
    if task.rss_pages is None:
        return None
    return task.rss_pages + (pagetable_pages(task, page_kib) or 0) + (task.swapents or 0)


def eligible(task: Task) -> bool:
    if task.oom_score_adj is not None:
        return task.oom_score_adj != OOM_SCORE_ADJ_MIN
    return task.oom_adj != OOM_DISABLE


def points_for(
    task: Task, algorithm: Algorithm, totalpages: int, page_kib: int, *, bonus: bool
) -> int | None:
    """``oom_badness()`` of one row; ``bonus``: apply the CAP_SYS_ADMIN discount."""
    base = base_pages(task, page_kib)
    if base is None or not algorithm.recomputable:
        return None
    adj = task.oom_score_adj if task.oom_score_adj is not None else 0
    total = max(1, totalpages)
    if algorithm is Algorithm.PER_MILLE:
        points = base * 1000 // total
        if bonus:
            points -= 30
        points += adj
        return 1 if points <= 0 else min(points, 1000)
    points = base
    if algorithm is Algorithm.PAGES_ROOT_ADJ and bonus:
        adj -= 30
    if algorithm is Algorithm.PAGES_ROOT_PCT and bonus:
        points -= points * 3 // 100
    points += adj * (total // 1000)
    if algorithm is Algorithm.SIGNED:
        return points
    return points if points > 0 else 1


def score_for(points: int, algorithm: Algorithm, totalpages: int) -> int | None:
    """The value ``Kill process ... score N`` prints for ``points`` (None after 5.0)."""
    if algorithm is Algorithm.PER_MILLE:
        return points
    if algorithm in (Algorithm.PAGES_ROOT_ADJ, Algorithm.PAGES_ROOT_PCT, Algorithm.PAGES):
        return points * 1000 // max(1, totalpages)
    return None


# one per row of every task table explained: positional, as fast as the model's makers go
_ranked = positional(
    RankedTask,
    ("pid", "name", "points", "score", "is_victim", "is_trigger", "eligible", "line"),
)


def rank_tasks(
    event: OomEvent,
    algorithm: Algorithm,
    totalpages: int,
    *,
    no_bonus_pids: frozenset[int] = frozenset(),
    ignore_adj: bool = False,
) -> Ranking:
    """Every row of the task dump with its points, best first, in the era's tie order.

    Ineligible rows (oom_score_adj -1000 / oom_adj -17) come last with points 0.  The root
    bonus uses uid 0 as the proxy for CAP_SYS_ADMIN, except for ``no_bonus_pids``.
    ``ignore_adj`` (totalpages unknown, every candidate with the same adj) ranks by the
    adj-free points and prints no score.
    """
    page_kib, _ = page_kib_for(event)
    victim = event.victim
    victim_pid = victim.pid if victim is not None else None
    trigger_pid = event.trigger.pid
    root_bonus = algorithm.root_bonus
    later_wins = algorithm.later_wins_ties
    recomputable = algorithm.recomputable
    swap_known_zero = event.swap_total_kib == 0
    # (sort key, ranked task); the key orders eligible rows by points, then by the era's
    # tie rule, and puts ineligible rows last in table order.
    rows: list[tuple[tuple[int, int, int], RankedTask]] = []
    missing: set[str] = set()
    for index, task in enumerate(event.tasks or ()):
        if task.rss_pages is None:
            missing.add("rss")
        if task.pgtables_bytes is None and task.nr_ptes is None:
            missing.add("page tables")
        if task.swapents is None and not swap_known_zero:
            missing.add("swapents")
        ok = eligible(task) and recomputable and task.rss_pages is not None
        points: int | None = None
        score: int | None = None
        if ok:
            bonus = root_bonus and task.uid == 0 and task.pid not in no_bonus_pids
            row = replace(task, oom_score_adj=0) if ignore_adj else task
            points = points_for(row, algorithm, totalpages, page_kib, bonus=bonus)
            if points is not None and not ignore_adj:
                score = score_for(points, algorithm, totalpages)
        ranked = _ranked(
            task.pid,
            task.name,
            points if points is not None else 0,
            score,
            task.pid == victim_pid,
            task.pid == trigger_pid,
            points is not None,
            task.line,
        )
        if points is None:
            key = (1, 0, index)
        else:
            key = (0, -points, -index if later_wins else index)
        rows.append((key, ranked))
    rows.sort(key=lambda r: r[0])
    return Ranking(
        tasks=tuple(r[1] for r in rows),
        complete_inputs=not missing,
        missing_columns=tuple(sorted(missing)),
        no_bonus_pids=tuple(sorted(no_bonus_pids)),
    )

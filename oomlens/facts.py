"""Facts: the named, unit-carrying values rules may test (the vocabulary of ``when``).

Each fact is a small pure function ``(ctx: FactContext) -> value | None`` registered with
``@fact(unit=...)``; its docstring is what ``oomlens rules facts`` prints. ``None`` means the
report does not show what the fact needs (a comparison with it is never true, see
oomlens/conditions.py). Units: ``kib`` (memory, KiB), ``ratio`` (0..1, written ``80%`` in
rules), ``s`` (seconds), ``count`` (a plain number), ``bool``, ``str``.

``lines`` names the report lines a fact rests on (a regex over the report's text, or a function
returning line numbers); they become the evidence of a finding.

The kernel knowledge lives here, so rules stay one line. Page counts are converted with the
page size the report implies (the smallest buddy block, else the victim's kill line against its
task row); when neither is printed, facts in KiB that need it are None.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from .gfp import GfpCapabilities, flags_for
from .literals import required_literals
from .model import (
    Constraint,
    EventKind,
    Evidence,
    Kill,
    LogLine,
    MemInfo,
    OomEvent,
    Replay,
    Task,
    Zone,
)

__all__ = ["FACTS", "FactContext", "FactSpec", "LogEvents", "fact", "fact_evidence"]

COSTLY_ORDER = 3  # PAGE_ALLOC_COSTLY_ORDER: above it the page allocator does not OOM-kill
KILL_LOOP_WINDOW_S = 600.0  # OOM events this close together count as one storm
UNLIMITED_KIB = 1 << 50  # memcg limits at or above this are "max" (PAGE_COUNTER_MAX etc.)
LOWMEM_ZONES = frozenset({"DMA", "DMA32", "Normal"})


_STORM_KINDS = frozenset({EventKind.OOM_KILL, EventKind.OOM_NO_KILL, EventKind.OOM_PANIC})


@dataclass(frozen=True, slots=True)
class _Timeline:
    """Events in time order on one clock, for counting those near a moment by bisection."""

    seconds: list[float]
    events: list[OomEvent]
    ids: frozenset[int]  # of those events (held here, so no id is reused)

    @classmethod
    def of(cls, stamped: Iterable[tuple[float, OomEvent]]) -> _Timeline:
        ordered = sorted(stamped, key=lambda pair: pair[0])
        events = [event for _, event in ordered]
        return cls([second for second, _ in ordered], events, frozenset(map(id, events)))

    def count_near(self, event: OomEvent, at: float, window_s: float) -> int:
        """Events other than ``event`` with ``_seconds_apart(event, other) <= window_s``,
        given that it compares them on this clock, where ``event`` is ``at``. Bisection
        counts the middle of the window (``event`` itself lies there, if here); the few near
        its edges are tested by ``_seconds_apart`` itself, which may round differently."""
        margin = min(1.0, window_s / 2)
        seconds = self.seconds
        outer_low = bisect.bisect_left(seconds, at - window_s - margin)
        inner_low = bisect.bisect_left(seconds, at - window_s + margin)
        inner_high = bisect.bisect_right(seconds, at + window_s - margin)
        outer_high = bisect.bisect_right(seconds, at + window_s + margin)
        count = inner_high - inner_low - (id(event) in self.ids)
        for other in itertools.chain(
            self.events[outer_low:inner_low], self.events[inner_high:outer_high]
        ):
            apart = _seconds_apart(event, other)
            count += other is not event and apart is not None and apart <= window_s
        return count


def _clock(event: OomEvent) -> tuple[bool, float] | None:
    """(time zone given?, seconds) of the event's wall clock; naive and aware times never
    compare (``_seconds_apart``), so each kind is a clock of its own."""
    if not event.time.wallclock:
        return None
    try:
        moment = datetime.fromisoformat(event.time.wallclock)
    except (ValueError, TypeError):
        return None
    if moment.tzinfo is not None:
        return True, moment.timestamp()
    return False, (moment - datetime(1970, 1, 1)).total_seconds()


@dataclass(frozen=True, slots=True)
class _LogIndex:
    """What the cross-event facts need of one log's events, built once per log: asking each
    event's question of every other event made explaining quadratic in a log's events."""

    victims: Counter[str]  # victim comm -> kills of it
    # kill/no-kill/panic events: by uptime; by wall clock, all of them and those with no uptime
    by_uptime: _Timeline
    by_clock: dict[bool, _Timeline]
    unstamped_by_clock: dict[bool, _Timeline]


@dataclass(frozen=True, slots=True)
class LogEvents:
    """The OOM events of the logs an analysis read, indexed by log (``source.path``) for the
    facts that look across a log's events."""

    events: tuple[OomEvent, ...] = ()
    _index: dict[str, _LogIndex] = field(default_factory=dict, compare=False, repr=False)
    _ids: frozenset[int] = field(default=frozenset(), compare=False, repr=False)

    @classmethod
    def of(cls, events: Iterable[OomEvent]) -> LogEvents:
        events = tuple(events)
        by_path: dict[str, list[OomEvent]] = {}
        for event in events:
            by_path.setdefault(event.source.path, []).append(event)
        index = {}
        for path, members in by_path.items():
            storms = [e for e in members if e.kind in _STORM_KINDS]
            clocks = [(clock, e) for e in storms if (clock := _clock(e)) is not None]
            index[path] = _LogIndex(
                victims=Counter(v.comm for e in members if (v := e.victim) and v.comm is not None),
                by_uptime=_Timeline.of(
                    (e.time.uptime_s, e) for e in storms if e.time.uptime_s is not None
                ),
                by_clock={
                    aware: _Timeline.of((s, e) for (a, s), e in clocks if a is aware)
                    for aware in (False, True)
                },
                unstamped_by_clock={
                    aware: _Timeline.of(
                        (s, e) for (a, s), e in clocks if a is aware and e.time.uptime_s is None
                    )
                    for aware in (False, True)
                },
            )
        return cls(events, index, frozenset(map(id, events)))

    def kills_of(self, event: OomEvent, comm: str) -> int:
        """Events of ``event``'s log, other than ``event``, whose victim is named ``comm``."""
        index = self._index.get(event.source.path)
        count = index.victims[comm] if index is not None else 0
        own = event.victim is not None and event.victim.comm == comm and event in self
        return count - own

    def storms_near(self, event: OomEvent, window_s: float) -> int:
        """Kill, no-kill and panic events of ``event``'s log, other than ``event``, at most
        ``window_s`` apart from it (``_seconds_apart``: by uptime when both have one, else
        by wall clock)."""
        index = self._index.get(event.source.path)
        if index is None:
            return 0
        clock = _clock(event)
        uptime = event.time.uptime_s
        count = 0
        if uptime is not None:
            count += index.by_uptime.count_near(event, uptime, window_s)
        if clock is not None:
            timelines = index.by_clock if uptime is None else index.unstamped_by_clock
            aware, at = clock
            count += timelines[aware].count_near(event, at, window_s)
        return count

    def __contains__(self, event: object) -> bool:
        """Identity, not equality: two reports can print the same lines. (The ids are those
        of events held here, so none is reused while this lives.)"""
        return id(event) in self._ids

    def __reduce__(self) -> tuple[Any, ...]:
        # identities do not survive a copy: each process builds its own (forks inherit one)
        raise TypeError("LogEvents is built in each process with LogEvents.of(events)")


@dataclass(frozen=True, slots=True, kw_only=True)
class FactContext:
    """What facts see: one event, its replay, and the events of the logs it came from
    (``event`` among them or not)."""

    event: OomEvent
    replay: Replay
    log: LogEvents = field(default_factory=LogEvents)
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


LineSelector = str | Callable[[FactContext], Iterable[int]] | None


@dataclass(frozen=True, slots=True)
class FactSpec:
    name: str
    unit: str
    doc: str
    func: Callable[[FactContext], Any]
    lines: LineSelector


FACTS: dict[str, FactSpec] = {}
UNITS = frozenset({"kib", "ratio", "s", "count", "bool", "str"})

F = TypeVar("F", bound=Callable[[FactContext], Any])
_R = TypeVar("_R")


def fact(*, unit: str, lines: LineSelector = None) -> Callable[[F], F]:
    """Register a fact under its function's name."""
    if unit not in UNITS:
        raise ValueError(f"unknown fact unit {unit!r}")

    def register(func: F) -> F:
        name = func.__name__
        if name in FACTS:
            raise ValueError(f"fact {name!r} registered twice")
        doc = " ".join((func.__doc__ or "").split())
        FACTS[name] = FactSpec(name=name, unit=unit, doc=doc, func=func, lines=lines)
        return func

    return register


def value_of(ctx: FactContext, name: str) -> Any:
    """A fact's value, computed once per context."""
    if name not in ctx._cache:
        ctx._cache[name] = FACTS[name].func(ctx)
    return ctx._cache[name]


def fact_evidence(ctx: FactContext, name: str, limit: int = 6) -> tuple[Evidence, ...]:
    """The report lines fact ``name`` rests on (the first ``limit``; computed once per
    context, since several findings cite the same facts)."""
    selector = FACTS[name].lines
    if selector is None:
        return ()
    # facts share a few line patterns: one scan of the report per pattern
    key = f"evidence:{selector if isinstance(selector, str) else name}:{limit}"
    if key in ctx._cache:
        cached: tuple[Evidence, ...] = ctx._cache[key]
        return cached
    event = ctx.event
    picked: Iterable[LogLine]
    if isinstance(selector, str):
        picked = _lines_matching(ctx, selector)
    else:
        wanted = set(selector(ctx))
        picked = (line for line in event.lines if line.number in wanted)
    evidence = tuple(
        Evidence(path=line.path, line=line.number, text=line.text)
        for line in itertools.islice(picked, limit)
    )
    ctx._cache[key] = evidence
    return evidence


def _lines_matching(ctx: FactContext, selector: str) -> Iterator[LogLine]:
    """The event's lines in which ``selector`` matches (``re.search``), in order.

    Every match holds one of the selector's literals (``literals.py``): the lines that do
    are found by ``str.find`` in the report's text, and only those are searched by the
    regex (which would take ~100 µs to pass over a whole report that lacks it)."""
    lines = ctx.event.lines
    search = _compiled(selector).search
    literals = required_literals(selector)
    if literals is None:
        yield from (line for line in lines if search(line.text))
        return
    holding: set[int] = set()
    for literal in literals:
        holding.update(_lines_holding(ctx, literal))
    yield from (lines[i] for i in sorted(holding) if search(lines[i].text))


def _lines_holding(ctx: FactContext, literal: str) -> list[int]:
    """Indexes of the event's lines holding ``literal`` (selectors share literals: found
    once per event)."""
    key = "holding:" + literal
    found: list[int] | None = ctx._cache.get(key)
    if found is None:
        text, starts = _report_text(ctx)
        found = ctx._cache[key] = []
        position = text.find(literal)
        while position >= 0:
            index = bisect.bisect_right(starts, position) - 1
            found.append(index)
            position = text.find(literal, starts[index + 1])
    return found


def _report_text(ctx: FactContext) -> tuple[str, list[int]]:
    """The event's line texts joined by newlines, and the offset of each line there (and
    of the end)."""
    cached: tuple[str, list[int]] | None = ctx._cache.get("report text")
    if cached is None:
        texts = [line.text for line in ctx.event.lines]
        starts = list(itertools.accumulate((len(t) + 1 for t in texts), initial=0))
        cached = ctx._cache["report text"] = ("\n".join(texts), starts)
    return cached


@functools.cache
def _compiled(selector: str) -> re.Pattern[str]:
    return re.compile(selector)


# --------------------------------------------------------------------------- helpers


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def _footprint(task: Task) -> int | None:
    """rss + swap entries in pages, what oom_badness() weighs (page tables aside)."""
    rss = _rss_pages(task)
    if rss is None:
        return None
    return rss + (task.swapents or 0)


def _rss_pages(task: Task) -> int | None:
    if task.rss_pages is not None:
        return task.rss_pages
    parts = (task.rss_anon_pages, task.rss_file_pages, task.rss_shmem_pages)
    if all(p is None for p in parts):
        return None
    return sum(p or 0 for p in parts)


def _tasks(ctx: FactContext) -> tuple[Task, ...] | None:
    return ctx.event.tasks


def _once_per_event(func: Callable[[FactContext], _R]) -> Callable[[FactContext], _R]:
    """Cache a helper's answer in the context: several facts ask for the same scan of a
    task table of hundreds of rows."""
    key = f"helper:{func.__name__}"

    @functools.wraps(func)
    def cached(ctx: FactContext) -> _R:
        if key not in ctx._cache:
            ctx._cache[key] = func(ctx)
        answer: _R = ctx._cache[key]
        return answer

    return cached


@_once_per_event
def _victim_row(ctx: FactContext) -> Task | None:
    victim = ctx.event.victim
    tasks = ctx.event.tasks
    if victim is None or victim.pid is None or not tasks:
        return None
    return next((t for t in tasks if t.pid == victim.pid), None)


@_once_per_event
def _top_task(ctx: FactContext) -> Task | None:
    tasks = ctx.event.tasks
    if not tasks:
        return None
    best: Task | None = None
    best_pages = -1
    for task in tasks:
        pages = _footprint(task)
        if pages is not None and pages > best_pages:
            best, best_pages = task, pages
    return best


def _kill_rss_kib(kill: Kill) -> int | None:
    parts = (kill.anon_rss_kib, kill.file_rss_kib, kill.shmem_rss_kib)
    if all(p is None for p in parts):
        return None
    return sum(p or 0 for p in parts)


def _page_kib(ctx: FactContext) -> int | None:
    """The page size in KiB: the smallest buddy block, else the victim's kill line (KiB)
    divided by its task row (pages), rounded to a power of two."""
    size = ctx.event.memory.page_size_kib
    if size:
        return size
    victim, row = ctx.event.victim, _victim_row(ctx)
    if victim is None or row is None:
        return None
    kib, pages = _kill_rss_kib(victim), _rss_pages(row)
    if kib is None or not pages or pages < 64:  # too few pages to tell rounding from size
        return None
    estimate = kib / pages
    for candidate in (4, 8, 16, 64):
        if 0.9 * candidate <= estimate <= 1.1 * candidate:
            return candidate
    return None


def _pages(ctx: FactContext, pages: int | None) -> int | None:
    page = _page_kib(ctx)
    if pages is None or page is None:
        return None
    return pages * page


def _meminfo(ctx: FactContext) -> MemInfo | None:
    return ctx.event.memory.meminfo


def _meminfo_kib(ctx: FactContext, *names: str) -> int | None:
    info = _meminfo(ctx)
    if info is None:
        return None
    values = [getattr(info, name) for name in names]
    if any(v is None for v in values):
        return None
    return _pages(ctx, sum(values))


def _meminfo_lines(ctx: FactContext) -> Iterable[int]:
    info = _meminfo(ctx)
    if info is None:
        return ()
    return range(info.first_line, info.last_line + 1)


def _zone_lines(ctx: FactContext) -> Iterable[int]:
    return [zone.line for zone in ctx.event.memory.zones]


def _buddy_lines(ctx: FactContext) -> Iterable[int]:
    return [area.line for area in ctx.event.memory.free_areas]


def _hugepage_lines(ctx: FactContext) -> Iterable[int]:
    return [pool.line for pool in ctx.event.memory.hugepages]


def _victim_lines(ctx: FactContext) -> Iterable[int]:
    numbers = [kill.line for kill in ctx.event.kills[:1]]
    row = _victim_row(ctx)
    if row is not None:
        numbers.append(row.line)
    return numbers


def _top_lines(ctx: FactContext) -> Iterable[int]:
    top = _top_task(ctx)
    numbers = [top.line] if top is not None else []
    return numbers + list(_victim_lines(ctx))


def _task_lines(ctx: FactContext) -> Iterable[int]:
    return [task.line for task in ctx.event.tasks or ()]


def _ram_lines(ctx: FactContext) -> Iterable[int]:
    ram = ctx.event.memory.ram
    return range(ram.first_line, ram.last_line + 1) if ram is not None else ()


def _reap_lines(ctx: FactContext) -> Iterable[int]:
    return [reap.line for reap in ctx.event.reaps]


_HEADER = r"invoked oom-killer|page allocation failure|page allocation stalls"
_CONSTRAINT = r"oom-kill:|Memory cgroup out of memory|killed as a result of limit|constraint"
_MEMCG = (
    r"^memory: usage|^memory\+swap: usage|^swap: usage|killed as a result of limit|"
    r"oom_memcg=|Memory cgroup out of memory"
)
_MEMCG_STATS = r"^Memory cgroup stats for|^(anon|file|shmem|unevictable|file_dirty) \d+$"
_SWAP = r"Total swap|Free swap"
_KILL = r"Killed process|[Kk]ill process|killing process"
_PANIC = r"Kernel panic - not syncing|no killable processes|panic_on_oom"


# --------------------------------------------------------------------------- the request


@fact(unit="str", lines=_CONSTRAINT)
def constraint(ctx: FactContext) -> str | None:
    """The kernel's OOM constraint: "none" (global), "memcg", "cpuset" or "memory_policy"
    (``oom-kill:constraint=CONSTRAINT_MEMCG,...``; implied by a memcg limit line on older
    kernels)."""
    event = ctx.event
    raw = event.constraint or (event.summary.constraint if event.summary else None)
    names = {
        Constraint.NONE.value: "none",
        Constraint.MEMCG.value: "memcg",
        Constraint.CPUSET.value: "cpuset",
        Constraint.MEMORY_POLICY.value: "memory_policy",
    }
    if raw in names:
        return names[raw]
    if is_memcg(ctx):
        return "memcg"
    return None


@fact(unit="bool", lines=_MEMCG)
def is_memcg(ctx: FactContext) -> bool | None:
    """The OOM was a memory cgroup's: CONSTRAINT_MEMCG, a ``memory: usage`` limit line,
    ``Task in X killed as a result of limit of Y`` or ``Memory cgroup out of memory``."""
    event = ctx.event
    raw = event.constraint or (event.summary.constraint if event.summary else None)
    if raw == Constraint.MEMCG.value:
        return True
    memcg = event.memcg
    if memcg is not None and (memcg.limit_path is not None or memcg.limit_kib is not None):
        return True
    if any(k.message and "cgroup" in k.message for k in event.kills):
        return True
    if event.summary is not None and event.summary.oom_memcg:
        return True
    if raw is not None:
        return False
    if event.kind is EventKind.ALLOCATION_FAILURE:
        return False
    # a global OOM prints show_mem (Mem-Info) and "Out of memory: Kill(ed) process"; a memcg
    # OOM prints neither, and says "Memory cgroup out of memory" on every kernel that has one
    messages = [k.message for k in event.kills if k.message]
    if event.selected is not None and event.selected.message:
        messages.append(event.selected.message)
    if event.memory.meminfo is not None or (messages and not any("cgroup" in m for m in messages)):
        return False
    return None


@fact(unit="bool", lines=_HEADER)
def manual(ctx: FactContext) -> bool:
    """The OOM killer was invoked by hand (sysrq-f: ``order=-1``, or the "Manual OOM
    execution" / ``sysrq: Manual OOM execution`` lines)."""
    return ctx.event.manual


@fact(unit="str", lines=_HEADER)
def event_kind(ctx: FactContext) -> str:
    """What the report is: oom_kill, oom_no_kill, allocation_failure, oom_panic, reaper_only."""
    return ctx.event.kind.value


@fact(unit="bool")
def complete(ctx: FactContext) -> bool:
    """The report was printed whole (False: cut, elided or only its tail survived)."""
    return ctx.event.complete


@fact(unit="bool", lines=r"Mem-Info:|Tasks state|\[ pid \]")
def has_details(ctx: FactContext) -> bool:
    """The report shows at least one of: Mem-Info, the task table, a memcg usage line."""
    event = ctx.event
    memcg_usage = event.memcg is not None and event.memcg.usage_kib is not None
    return event.memory.meminfo is not None or bool(event.tasks) or memcg_usage


@fact(unit="str", lines=_HEADER)
def trigger_comm(ctx: FactContext) -> str | None:
    """The allocating task's name (``<comm> invoked oom-killer``)."""
    return ctx.event.trigger.comm


@fact(unit="count", lines=_HEADER)
def trigger_pid(ctx: FactContext) -> int | None:
    """The allocating task's pid (the ``CPU: N PID: P Comm:`` line or the caller id)."""
    return ctx.event.trigger.pid


@fact(unit="str", lines=_KILL)
def victim_comm(ctx: FactContext) -> str | None:
    """The killed task's name (``Killed process N (comm)``)."""
    victim = ctx.event.victim
    return victim.comm if victim else None


@fact(unit="count", lines=_KILL)
def victim_pid(ctx: FactContext) -> int | None:
    """The killed task's pid."""
    victim = ctx.event.victim
    return victim.pid if victim else None


@fact(unit="bool", lines=_HEADER + "|" + _KILL)
def trigger_is_victim(ctx: FactContext) -> bool | None:
    """The task that asked for memory is the one killed (None when either pid is missing)."""
    victim = ctx.event.victim
    pid = ctx.event.trigger.pid
    if victim is None or victim.pid is None or pid is None:
        return None
    return victim.pid == pid


@fact(unit="count", lines=_HEADER)
def order(ctx: FactContext) -> int | None:
    """The allocation order requested (2^order pages; -1 for sysrq-f on 4.9+)."""
    return ctx.event.trigger.order


@fact(unit="kib", lines=_HEADER)
def request_kib(ctx: FactContext) -> int | None:
    """The size of the contiguous block requested: 2^order pages, in KiB."""
    return _order_block_kib(ctx)


@fact(unit="bool", lines=_HEADER)
def costly_order(ctx: FactContext) -> bool | None:
    """order > PAGE_ALLOC_COSTLY_ORDER (3): the allocator gives up rather than OOM-kill."""
    value = ctx.event.trigger.order
    return None if value is None else value > COSTLY_ORDER


def _gfp(ctx: FactContext) -> GfpCapabilities | None:
    trigger = ctx.event.trigger
    if trigger.gfp_mask is None and not trigger.gfp_flags:
        return None
    text = trigger.gfp_mask or ""
    if trigger.gfp_flags:
        text += "(" + "|".join(trigger.gfp_flags) + ")"
    return flags_for(text, ctx.event.kernel_release).capabilities


@fact(unit="bool", lines=_HEADER)
def gfp_can_reclaim(ctx: FactContext) -> bool | None:
    """The request may sleep and reclaim (__GFP_DIRECT_RECLAIM, __GFP_WAIT before 4.4)."""
    caps = _gfp(ctx)
    return caps.can_direct_reclaim if caps else None


@fact(unit="bool", lines=_HEADER)
def gfp_can_io(ctx: FactContext) -> bool | None:
    """Reclaim for this request may start I/O such as swap-out (__GFP_IO)."""
    caps = _gfp(ctx)
    return caps.can_io if caps else None


@fact(unit="bool", lines=_HEADER)
def gfp_can_fs(ctx: FactContext) -> bool | None:
    """Reclaim for this request may call into filesystems (__GFP_FS); GFP_NOFS/NOIO cannot."""
    caps = _gfp(ctx)
    return caps.can_fs if caps else None


@fact(unit="bool", lines=_HEADER)
def gfp_atomic(ctx: FactContext) -> bool | None:
    """The request may not sleep and dips into reserves (__GFP_HIGH / __GFP_ATOMIC without
    direct reclaim)."""
    caps = _gfp(ctx)
    if caps is None:
        return None
    return caps.atomic and not caps.can_direct_reclaim


@fact(unit="bool", lines=_HEADER)
def gfp_nofail(ctx: FactContext) -> bool | None:
    """The request may not fail (__GFP_NOFAIL): the allocator loops and kills instead."""
    caps = _gfp(ctx)
    return caps.nofail if caps else None


@fact(unit="str", lines=_HEADER)
def gfp_zone(ctx: FactContext) -> str | None:
    """The highest zone the request may use: DMA, DMA32, Normal, HighMem or Movable."""
    caps = _gfp(ctx)
    return caps.zone if caps else None


# --------------------------------------------------------------------------- the victim


@fact(unit="kib", lines=_victim_lines)
def victim_rss_kib(ctx: FactContext) -> int | None:
    """The victim's resident memory: anon-rss + file-rss + shmem-rss of the kill line, else
    its task row's rss in pages times the page size."""
    victim = ctx.event.victim
    if victim is not None:
        kib = _kill_rss_kib(victim)
        if kib is not None:
            return kib
    row = _victim_row(ctx)
    return _pages(ctx, _rss_pages(row)) if row is not None else None


@fact(unit="kib", lines=_KILL)
def victim_anon_rss_kib(ctx: FactContext) -> int | None:
    """anon-rss of the kill line."""
    victim = ctx.event.victim
    return victim.anon_rss_kib if victim else None


@fact(unit="kib", lines=_KILL)
def victim_file_rss_kib(ctx: FactContext) -> int | None:
    """file-rss of the kill line."""
    victim = ctx.event.victim
    return victim.file_rss_kib if victim else None


@fact(unit="kib", lines=_KILL)
def victim_shmem_rss_kib(ctx: FactContext) -> int | None:
    """shmem-rss of the kill line (4.9+)."""
    victim = ctx.event.victim
    return victim.shmem_rss_kib if victim else None


@fact(unit="kib", lines=_victim_lines)
def victim_swap_kib(ctx: FactContext) -> int | None:
    """The victim's swap entries (task row ``swapents``) in KiB."""
    row = _victim_row(ctx)
    return _pages(ctx, row.swapents) if row is not None else None


@fact(unit="count", lines=_victim_lines)
def victim_oom_score_adj(ctx: FactContext) -> int | None:
    """The victim's oom_score_adj (kill line on 5.x+, else its task row)."""
    victim = ctx.event.victim
    if victim is not None and victim.oom_score_adj is not None:
        return victim.oom_score_adj
    row = _victim_row(ctx)
    return row.oom_score_adj if row is not None else None


@fact(unit="ratio", lines=_victim_lines)
def victim_share_of_tasks(ctx: FactContext) -> float | None:
    """The victim's rss+swap as a share of all tasks' rss+swap in the task table."""
    row = _victim_row(ctx)
    total = _tasks_footprint(ctx)
    return _ratio(_footprint(row), total) if row is not None else None


@fact(unit="ratio", lines=_victim_lines)
def victim_share_of_memcg(ctx: FactContext) -> float | None:
    """The victim's rss as a share of the memcg usage (``memory: usage NkB``)."""
    memcg = ctx.event.memcg
    if memcg is None:
        return None
    return _ratio(victim_rss_kib(ctx), memcg.usage_kib)


@fact(unit="ratio", lines=_victim_lines)
def victim_share_of_ram(ctx: FactContext) -> float | None:
    """The victim's rss as a share of RAM (``N pages RAM``)."""
    return _ratio(victim_rss_kib(ctx), ram_kib(ctx))


@fact(unit="bool", lines=_top_lines)
def victim_is_largest(ctx: FactContext) -> bool | None:
    """The victim is the task with the most rss+swap in the table."""
    top, row = _top_task(ctx), _victim_row(ctx)
    if top is None or row is None:
        return None
    return _footprint(row) == _footprint(top)


@fact(unit="count")
def victim_rank(ctx: FactContext) -> int | None:
    """The victim's place in the recomputed badness ranking (1 = top; from the replay)."""
    return ctx.replay.victim_rank


# --------------------------------------------------------------------------- the task table


@_once_per_event
def _tasks_footprint(ctx: FactContext) -> int | None:
    tasks = ctx.event.tasks
    if not tasks:
        return None
    values = [_footprint(t) for t in tasks]
    known = [v for v in values if v is not None]
    return sum(known) if known else None


@fact(unit="count", lines=r"Tasks state|\[ pid \]")
def task_count(ctx: FactContext) -> int | None:
    """Rows of the task table (None when no table was printed; 0 for an empty table)."""
    tasks = ctx.event.tasks
    return None if tasks is None else len(tasks)


@fact(unit="kib", lines=_task_lines)
def tasks_rss_kib(ctx: FactContext) -> int | None:
    """The sum of rss over the task table, in KiB."""
    tasks = ctx.event.tasks
    if tasks is None:
        return None
    values = [_rss_pages(t) for t in tasks]
    return _pages(ctx, sum(v for v in values if v is not None))


@fact(unit="ratio", lines=_task_lines)
def tasks_rss_share_of_ram(ctx: FactContext) -> float | None:
    """All tasks' rss as a share of RAM: low means the memory is not in processes."""
    return _ratio(tasks_rss_kib(ctx), ram_kib(ctx))


@fact(unit="ratio", lines=_top_lines)
def top_task_share(ctx: FactContext) -> float | None:
    """The largest task's rss+swap as a share of the whole table's rss+swap."""
    top = _top_task(ctx)
    return _ratio(_footprint(top), _tasks_footprint(ctx)) if top is not None else None


@fact(unit="str", lines=_top_lines)
def top_task_comm(ctx: FactContext) -> str | None:
    """The name of the task with the most rss+swap."""
    top = _top_task(ctx)
    return top.name if top is not None else None


@fact(unit="count", lines=_top_lines)
def top_task_oom_score_adj(ctx: FactContext) -> int | None:
    """oom_score_adj of the task with the most rss+swap."""
    top = _top_task(ctx)
    return top.oom_score_adj if top is not None else None


@fact(unit="ratio", lines=_HEADER)
def trigger_share_of_tasks(ctx: FactContext) -> float | None:
    """The allocating task's rss+swap as a share of the table's rss+swap."""
    tasks, pid = ctx.event.tasks, ctx.event.trigger.pid
    if not tasks or pid is None:
        return None
    row = next((t for t in tasks if t.pid == pid), None)
    return _ratio(_footprint(row), _tasks_footprint(ctx)) if row is not None else None


@fact(unit="ratio", lines=_task_lines)
def protected_share_of_tasks(ctx: FactContext) -> float | None:
    """The share of the table's rss+swap held by tasks the killer may not pick
    (oom_score_adj -1000)."""
    tasks = ctx.event.tasks
    total = _tasks_footprint(ctx)
    if not tasks or total is None:
        return None
    protected = sum(_footprint(t) or 0 for t in tasks if t.oom_score_adj == -1000)
    return _ratio(protected, total)


# --------------------------------------------------------------------------- swap


@fact(unit="kib", lines=_SWAP)
def swap_total_kib(ctx: FactContext) -> int | None:
    """``Total swap = NkB``."""
    return ctx.event.swap_total_kib


@fact(unit="kib", lines=_SWAP)
def swap_free_kib(ctx: FactContext) -> int | None:
    """``Free swap  = NkB``."""
    return ctx.event.swap_free_kib


@fact(unit="ratio", lines=_SWAP)
def swap_used_ratio(ctx: FactContext) -> float | None:
    """Used swap as a share of total swap (None when there is no swap)."""
    total, free = ctx.event.swap_total_kib, ctx.event.swap_free_kib
    if total is None or free is None or total == 0:
        return None
    return (total - free) / total


# --------------------------------------------------------------------------- memory cgroup


def _limited(kib: int | None) -> int | None:
    return kib if kib is not None and kib < UNLIMITED_KIB else None


@fact(unit="kib", lines=_MEMCG)
def memcg_usage_kib(ctx: FactContext) -> int | None:
    """``memory: usage NkB`` of the cgroup whose limit was hit."""
    return ctx.event.memcg.usage_kib if ctx.event.memcg else None


@fact(unit="kib", lines=_MEMCG)
def memcg_limit_kib(ctx: FactContext) -> int | None:
    """``memory: ... limit NkB`` (None when unlimited or not printed)."""
    return _limited(ctx.event.memcg.limit_kib) if ctx.event.memcg else None


@fact(unit="ratio", lines=_MEMCG)
def memcg_usage_ratio(ctx: FactContext) -> float | None:
    """memcg usage / limit."""
    return _ratio(memcg_usage_kib(ctx), memcg_limit_kib(ctx))


@fact(unit="count", lines=_MEMCG)
def memcg_failcnt(ctx: FactContext) -> int | None:
    """``failcnt`` of the memory counter: how often a charge hit the limit."""
    return ctx.event.memcg.failcnt if ctx.event.memcg else None


@fact(unit="kib", lines=_MEMCG)
def memcg_swap_limit_kib(ctx: FactContext) -> int | None:
    """How much the cgroup may swap: ``swap: ... limit`` (v2), or memory+swap limit minus
    memory limit (v1); None when unlimited (then system swap bounds it) or not printed."""
    memcg = ctx.event.memcg
    if memcg is None:
        return None
    if memcg.swap_limit_kib is not None:
        return _limited(memcg.swap_limit_kib)
    memsw, mem = _limited(memcg.memsw_limit_kib), _limited(memcg.limit_kib)
    if memsw is None or mem is None:
        return None
    return max(0, memsw - mem)


@fact(unit="kib", lines=_MEMCG)
def memcg_swap_usage_kib(ctx: FactContext) -> int | None:
    """The cgroup's swap use: ``swap: usage`` (v2) or memory+swap usage minus memory usage
    (v1, only when swap accounting is on: memsw usage >= usage)."""
    memcg = ctx.event.memcg
    if memcg is None:
        return None
    if memcg.swap_usage_kib is not None:
        return memcg.swap_usage_kib
    if memcg.memsw_usage_kib is None or memcg.usage_kib is None:
        return None
    if memcg.memsw_usage_kib < memcg.usage_kib:  # accounting off: memsw prints 0
        return None
    return memcg.memsw_usage_kib - memcg.usage_kib


def _score_confirms_totalpages(ctx: FactContext) -> bool:
    """The replay's totalpages reproduces the score the kernel printed for its choice
    (``Kill process N (comm) score S``), so it is evidence, not an assumption."""
    selected, recomputed = ctx.event.selected, ctx.replay.recomputed_score
    if selected is None or selected.score is None or recomputed is None:
        return False
    return abs(selected.score - recomputed) <= 1


@fact(unit="kib", lines=_MEMCG + "|score")
def memcg_swap_allowance_kib(ctx: FactContext) -> int | None:
    """Swap the memcg could use when it OOMed: its swap limit when set, else what the
    badness denominator implies when it reproduces the printed score (the kernel adds
    min(swap limit, total swap) to the memory limit, so totalpages equal to the limit means
    no swap headroom)."""
    limit = memcg_swap_limit_kib(ctx)
    if limit is not None:
        return limit
    if not _score_confirms_totalpages(ctx):
        return None
    kib, mem = _pages(ctx, ctx.replay.totalpages), memcg_limit_kib(ctx)
    if kib is None or mem is None:
        return None
    return max(0, kib - mem)


@fact(unit="kib", lines=_task_lines)
def tasks_swap_kib(ctx: FactContext) -> int | None:
    """Swap entries of all tasks in the table (``swapents``), in KiB."""
    tasks = ctx.event.tasks
    if not tasks or all(t.swapents is None for t in tasks):
        return None
    return _pages(ctx, sum(t.swapents or 0 for t in tasks))


@fact(unit="ratio", lines=_MEMCG)
def memcg_swap_used_ratio(ctx: FactContext) -> float | None:
    """The cgroup's swap use as a share of its swap limit."""
    return _ratio(memcg_swap_usage_kib(ctx), memcg_swap_limit_kib(ctx))


def _memcg_stat_kib(ctx: FactContext, v1: str, v2: str) -> int | None:
    """Sum a memcg stat: v1 one-liners are per-cgroup (summed over the dumped hierarchy),
    v2 memory.stat is hierarchical (the first dump, the OOM cgroup's, is used)."""
    memcg = ctx.event.memcg
    if memcg is None or not memcg.stats:
        return None
    first = memcg.stats[0]
    if first.unit == "bytes":
        value = dict(first.values).get(v2)
        return None if value is None else value // 1024
    total, seen = 0, False
    for stats in memcg.stats:
        value = dict(stats.values).get(v1)
        if value is not None:
            total += value
            seen = True
    return total if seen else None


@fact(unit="kib", lines=_MEMCG_STATS)
def memcg_anon_kib(ctx: FactContext) -> int | None:
    """Anonymous memory charged to the cgroup (stats ``rss`` v1, ``anon`` v2)."""
    return _memcg_stat_kib(ctx, "rss", "anon")


@fact(unit="kib", lines=_MEMCG_STATS)
def memcg_shmem_kib(ctx: FactContext) -> int | None:
    """tmpfs/shmem charged to the cgroup (stats ``shmem``)."""
    return _memcg_stat_kib(ctx, "shmem", "shmem")


@fact(unit="kib", lines=_MEMCG_STATS)
def memcg_page_cache_kib(ctx: FactContext) -> int | None:
    """Reclaimable page cache charged to the cgroup: ``cache`` (v1) or ``file`` (v2) minus
    ``shmem`` (tmpfs pages sit in the file counter but cannot be dropped)."""
    file = _memcg_stat_kib(ctx, "cache", "file")
    if file is None:
        return None
    return max(0, file - (memcg_shmem_kib(ctx) or 0))


@fact(unit="ratio", lines=_MEMCG_STATS)
def memcg_page_cache_ratio(ctx: FactContext) -> float | None:
    """Page cache as a share of the cgroup's anon + page cache + shmem."""
    cache, anon = memcg_page_cache_kib(ctx), memcg_anon_kib(ctx)
    if cache is None or anon is None:
        return None
    return _ratio(cache, cache + anon + (memcg_shmem_kib(ctx) or 0))


@fact(unit="ratio", lines=_MEMCG_STATS)
def memcg_shmem_ratio(ctx: FactContext) -> float | None:
    """tmpfs/shmem as a share of the cgroup's usage."""
    return _ratio(memcg_shmem_kib(ctx), memcg_usage_kib(ctx))


@fact(unit="ratio", lines=_MEMCG_STATS)
def memcg_unevictable_ratio(ctx: FactContext) -> float | None:
    """Unevictable (mlocked, ramfs) memory as a share of the cgroup's usage."""
    return _ratio(_memcg_stat_kib(ctx, "unevictable", "unevictable"), memcg_usage_kib(ctx))


@fact(unit="str", lines=_MEMCG)
def memcg_limit_path(ctx: FactContext) -> str | None:
    """The cgroup whose limit was hit (``oom_memcg=`` / ``as a result of limit of``)."""
    event = ctx.event
    if event.memcg is not None and event.memcg.limit_path is not None:
        return event.memcg.limit_path
    return event.summary.oom_memcg if event.summary else None


def _victim_cgroup(ctx: FactContext) -> str | None:
    event = ctx.event
    if event.memcg is not None and event.memcg.victim_path is not None:
        return event.memcg.victim_path
    if event.summary is not None and event.summary.task_memcg:
        return event.summary.task_memcg
    return None


@fact(unit="str", lines=_MEMCG)
def victim_cgroup(ctx: FactContext) -> str | None:
    """The victim's cgroup (``task_memcg=`` / ``Task in X killed``)."""
    return _victim_cgroup(ctx)


@fact(unit="bool", lines=_MEMCG)
def limit_is_ancestor(ctx: FactContext) -> bool | None:
    """The limit hit belongs to a parent of the victim's cgroup (a pod-level or slice-level
    limit), not to the victim's own cgroup."""
    limit, own = memcg_limit_path(ctx), _victim_cgroup(ctx)
    if limit is None or own is None:
        return None
    if limit == own:
        return False
    prefix = limit.rstrip("/") + "/"
    return own.startswith(prefix)


_POD = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")
_CONTAINER = re.compile(r"^(?:docker-|cri-containerd-|crio-|libpod-)?([0-9a-f]{64})(?:\.scope)?$")
_QOS = re.compile(r"kubepods[./-](?:slice/kubepods-)?(burstable|besteffort)", re.IGNORECASE)


def _cgroup_paths(ctx: FactContext) -> list[str]:
    return [p for p in (_victim_cgroup(ctx), memcg_limit_path(ctx)) if p]


@fact(unit="str", lines=_MEMCG)
def k8s_pod_uid(ctx: FactContext) -> str | None:
    """The Kubernetes pod UID in the cgroup path (``kubepods/burstable/pod<uid>`` or the
    systemd driver's ``kubepods-burstable-pod<uid_with_underscores>.slice``)."""
    for path in _cgroup_paths(ctx):
        match = _POD.search(path)
        if match:
            return match.group(1).replace("_", "-")
    return None


@fact(unit="str", lines=_MEMCG)
def k8s_qos_class(ctx: FactContext) -> str | None:
    """The pod's QoS class from the cgroup path: burstable, besteffort or guaranteed
    (a pod directly under kubepods)."""
    for path in _cgroup_paths(ctx):
        if _POD.search(path) is None or "kubepods" not in path:
            continue
        match = _QOS.search(path)
        return match.group(1).lower() if match else "guaranteed"
    return None


@fact(unit="str", lines=_MEMCG)
def container_id(ctx: FactContext) -> str | None:
    """The container id (64 hex digits, first 12 shown by docker/crictl) from the victim's
    cgroup: ``/docker/<id>``, ``docker-<id>.scope``, ``cri-containerd-<id>.scope``, ..."""
    path = _victim_cgroup(ctx) or memcg_limit_path(ctx)
    if path is None:
        return None
    for segment in reversed(path.split("/")):
        match = _CONTAINER.match(segment)
        if match:
            return match.group(1)
    return None


@fact(unit="str", lines=_MEMCG)
def systemd_unit(ctx: FactContext) -> str | None:
    """The innermost systemd service or scope in the victim's cgroup path
    (``/system.slice/nginx.service`` -> ``nginx.service``)."""
    path = _victim_cgroup(ctx) or memcg_limit_path(ctx)
    if path is None:
        return None
    for segment in reversed(path.split("/")):
        if segment.endswith((".service", ".scope")):
            return segment
    return None


# --------------------------------------------------------------------------- outcome, log


@fact(unit="bool", lines=_PANIC)
def panicked(ctx: FactContext) -> bool:
    """The OOM path panicked the machine (``Kernel panic - not syncing: ...``)."""
    return ctx.event.panic is not None or ctx.event.kind is EventKind.OOM_PANIC


@fact(unit="str", lines=_PANIC)
def panic_text(ctx: FactContext) -> str | None:
    """What the panic said after ``Kernel panic - not syncing:``."""
    text = ctx.event.panic
    if text is None:
        return None
    return text.split("not syncing:", 1)[-1].strip()


@fact(unit="bool", lines=_PANIC)
def panic_on_oom(ctx: FactContext) -> bool | None:
    """The panic came from vm.panic_on_oom (``Out of memory: system-wide panic_on_oom is
    enabled`` / ``compulsory panic_on_oom is enabled``)."""
    if ctx.event.panic is None:
        return False
    return "panic_on_oom" in ctx.event.panic


@fact(unit="bool", lines=_PANIC)
def no_killable(ctx: FactContext) -> bool:
    """No task was eligible: ``Out of memory and no killable processes...``, ``System is
    deadlocked on memory``, or an empty task table with no kill."""
    event = ctx.event
    if event.panic and ("no killable" in event.panic or "deadlocked on memory" in event.panic):
        return True
    if any("no killable processes" in line.text for line in event.lines):
        return True
    return not event.kills and event.tasks is not None and len(event.tasks) == 0


@fact(unit="bool", lines=_reap_lines)
def reaper_failed(ctx: FactContext) -> bool:
    """``oom_reaper: unable to reap pid:N (comm)``: the victim's memory was not freed
    quickly (mmap_sem held, mlocked or shared pages)."""
    return any(not reap.success for reap in ctx.event.reaps)


@fact(unit="bool", lines=_reap_lines)
def reaper_succeeded(ctx: FactContext) -> bool:
    """``oom_reaper: reaped process N (comm), now anon-rss:0kB ...``."""
    return ctx.event.reaped


@fact(unit="count", lines=_reap_lines)
def extra_reaped_processes(ctx: FactContext) -> int:
    """Processes the reaper reaped in this report that its kill lines do not name: kills
    whose report was not printed or not captured."""
    killed = {kill.pid for kill in ctx.event.kills}
    return len({reap.pid for reap in ctx.event.reaps if reap.pid not in killed})


@fact(unit="count", lines=_KILL)
def kills_in_event(ctx: FactContext) -> int:
    """Distinct processes killed by this one report (memory.oom.group kills them all)."""
    return len({kill.pid for kill in ctx.event.kills})


@fact(unit="count", lines=_KILL)
def same_comm_kills(ctx: FactContext) -> int | None:
    """Kills of a task with the victim's name in the whole log (this one included)."""
    comm = victim_comm(ctx)
    if comm is None:
        return None
    return 1 + ctx.log.kills_of(ctx.event, comm)


def _seconds_apart(a: OomEvent, b: OomEvent) -> float | None:
    """Time between two reports of one log: uptime stamps when both have them, else the
    wall clock."""
    if a.time.uptime_s is not None and b.time.uptime_s is not None:
        return abs(a.time.uptime_s - b.time.uptime_s)
    if a.time.wallclock and b.time.wallclock:
        try:
            first = datetime.fromisoformat(a.time.wallclock)
            second = datetime.fromisoformat(b.time.wallclock)
            return abs((first - second).total_seconds())
        except (ValueError, TypeError):  # unparsable, or naive against aware
            return None
    return None


@fact(unit="count", lines=_HEADER)
def oom_events_nearby(ctx: FactContext) -> int | None:
    """OOM reports (kills, no-kill reports, panics) in the same log within 10 minutes of
    this one, this one included (None when the log has no time stamps)."""
    own = ctx.event.time
    if own.uptime_s is None and not own.wallclock:
        return None
    return 1 + ctx.log.storms_near(ctx.event, KILL_LOOP_WINDOW_S)


# --------------------------------------------------------------------------- memory state


def _ram_kib(ctx: FactContext) -> int | None:
    ram = ctx.event.memory.ram
    if ram is not None and ram.ram_pages:
        return _pages(ctx, ram.ram_pages)
    zones = ctx.event.memory.zones
    present = [z.present_kib for z in zones]
    if zones and all(p is not None for p in present):
        return sum(p or 0 for p in present)
    return None


@fact(unit="kib", lines=_ram_lines)
def ram_kib(ctx: FactContext) -> int | None:
    """Physical memory: ``N pages RAM`` times the page size (else the zones' present)."""
    return _ram_kib(ctx)


def _managed_kib(ctx: FactContext) -> int | None:
    zones = ctx.event.memory.zones
    managed = [z.managed_kib for z in zones]
    if zones and all(m is not None for m in managed):
        return sum(m or 0 for m in managed)
    ram = ctx.event.memory.ram
    if ram is not None and ram.ram_pages:
        return _pages(ctx, ram.ram_pages - (ram.reserved_pages or 0))
    return None


@fact(unit="kib", lines=_zone_lines)
def free_kib(ctx: FactContext) -> int | None:
    """Free memory: the zones' ``free:`` summed (else Mem-Info ``free:`` pages)."""
    zones = ctx.event.memory.zones
    if zones and all(z.free_kib is not None for z in zones):
        return sum(z.free_kib or 0 for z in zones)
    return _meminfo_kib(ctx, "free_pages")


@fact(unit="kib", lines=_zone_lines)
def free_above_min_kib(ctx: FactContext) -> int | None:
    """Free memory above each zone's min watermark, summed over zones: what an ordinary
    request could still take."""
    zones = [z for z in ctx.event.memory.zones if z.free_kib is not None and z.min_kib]
    if not zones:
        return None
    return sum(max(0, (z.free_kib or 0) - (z.min_kib or 0)) for z in zones)


@fact(unit="bool", lines=_zone_lines)
def zones_below_min(ctx: FactContext) -> bool | None:
    """Some zone with memory has ``free:`` at or below its ``min:`` watermark."""
    zones = [z for z in ctx.event.memory.zones if z.free_kib is not None and z.min_kib]
    if not zones:
        return None
    return any((z.free_kib or 0) <= (z.min_kib or 0) for z in zones)


def _order_block_kib(ctx: FactContext) -> int | None:
    page = _page_kib(ctx)
    value = ctx.event.trigger.order
    if page is None or value is None or value < 0:
        return None
    return page << value


@fact(unit="count", lines=_buddy_lines)
def free_blocks_at_order(ctx: FactContext) -> int | None:
    """Free buddy blocks at or above the requested order, outside the DMA zone (which
    lowmem_reserve keeps from ordinary requests): 0 with plenty free is fragmentation."""
    block = _order_block_kib(ctx)
    areas = [a for a in ctx.event.memory.free_areas if a.zone != "DMA"]
    if block is None or not areas:
        return None
    return sum(b.count for a in areas for b in a.buckets if b.block_kib >= block)


@fact(unit="kib", lines=_buddy_lines)
def free_at_order_kib(ctx: FactContext) -> int | None:
    """Free memory held in buddy blocks at or above the requested order (outside DMA)."""
    block = _order_block_kib(ctx)
    areas = [a for a in ctx.event.memory.free_areas if a.zone != "DMA"]
    if block is None or not areas:
        return None
    return sum(b.count * b.block_kib for a in areas for b in a.buckets if b.block_kib >= block)


@fact(unit="kib", lines=_buddy_lines)
def buddy_free_kib(ctx: FactContext) -> int | None:
    """Free memory in the buddy lists outside DMA (``= NkB`` totals, else the buckets)."""
    areas = [a for a in ctx.event.memory.free_areas if a.zone != "DMA"]
    if not areas:
        return None
    return sum(
        a.total_kib if a.total_kib is not None else sum(b.count * b.block_kib for b in a.buckets)
        for a in areas
    )


@fact(unit="kib", lines=_meminfo_lines)
def file_lru_kib(ctx: FactContext) -> int | None:
    """Page cache on the LRU lists: Mem-Info active_file + inactive_file."""
    return _meminfo_kib(ctx, "active_file_pages", "inactive_file_pages")


@fact(unit="ratio", lines=_meminfo_lines)
def file_lru_ratio(ctx: FactContext) -> float | None:
    """Page cache (file LRU) as a share of RAM: near 0 means nothing left to reclaim."""
    return _ratio(file_lru_kib(ctx), ram_kib(ctx))


@fact(unit="kib", lines=_meminfo_lines)
def anon_kib(ctx: FactContext) -> int | None:
    """Anonymous memory on the LRU lists: active_anon + inactive_anon (includes shmem)."""
    return _meminfo_kib(ctx, "active_anon_pages", "inactive_anon_pages")


@fact(unit="kib", lines=_meminfo_lines)
def dirty_writeback_kib(ctx: FactContext) -> int | None:
    """Mem-Info dirty + writeback: page cache that must be written before it can be freed."""
    return _meminfo_kib(ctx, "dirty_pages", "writeback_pages")


@fact(unit="ratio", lines=_meminfo_lines)
def dirty_writeback_ratio(ctx: FactContext) -> float | None:
    """dirty + writeback as a share of the file LRU."""
    return _ratio(dirty_writeback_kib(ctx), file_lru_kib(ctx))


@fact(unit="kib", lines=_meminfo_lines)
def slab_unreclaimable_kib(ctx: FactContext) -> int | None:
    """Mem-Info ``slab_unreclaimable:`` in KiB: kernel objects reclaim cannot free."""
    return _meminfo_kib(ctx, "slab_unreclaimable_pages")


@fact(unit="ratio", lines=_meminfo_lines)
def slab_unreclaimable_ratio(ctx: FactContext) -> float | None:
    """Unreclaimable slab as a share of RAM."""
    return _ratio(slab_unreclaimable_kib(ctx), ram_kib(ctx))


@fact(unit="kib", lines=_meminfo_lines)
def user_memory_kib(ctx: FactContext) -> int | None:
    """Memory on the LRU lists (anon + file + unevictable): what processes and page cache
    hold."""
    return _meminfo_kib(
        ctx,
        "active_anon_pages",
        "inactive_anon_pages",
        "active_file_pages",
        "inactive_file_pages",
    )


@fact(unit="ratio", lines=_meminfo_lines)
def unaccounted_ratio(ctx: FactContext) -> float | None:
    """The share of managed memory in no Mem-Info counter (not LRU, slab, page tables,
    free or hugepages): memory taken by drivers, vmalloc or leaks outside slab."""
    info = _meminfo(ctx)
    managed = _managed_kib(ctx)
    if info is None or managed is None:
        return None
    names = (
        "active_anon_pages",
        "inactive_anon_pages",
        "active_file_pages",
        "inactive_file_pages",
        "unevictable_pages",
        "slab_reclaimable_pages",
        "slab_unreclaimable_pages",
        "pagetables_pages",
        "free_pages",
    )
    values = [getattr(info, name) for name in names]
    if any(v is None for v in values):
        return None
    counted = _pages(ctx, sum(values))
    if counted is None:
        return None
    counted += hugepages_total_kib(ctx) or 0
    return max(0.0, (managed - counted) / managed) if managed > 0 else None


@fact(unit="kib", lines=_meminfo_lines)
def shmem_kib(ctx: FactContext) -> int | None:
    """Mem-Info ``shmem:``: tmpfs, /dev/shm, SysV and shared anonymous memory."""
    return _meminfo_kib(ctx, "shmem_pages")


@fact(unit="ratio", lines=_meminfo_lines)
def shmem_ratio(ctx: FactContext) -> float | None:
    """shmem/tmpfs as a share of RAM."""
    return _ratio(shmem_kib(ctx), ram_kib(ctx))


@fact(unit="kib", lines=_meminfo_lines)
def unevictable_kib(ctx: FactContext) -> int | None:
    """Mem-Info ``unevictable:`` (mlocked pages, ramfs, locked shm)."""
    return _meminfo_kib(ctx, "unevictable_pages")


@fact(unit="ratio", lines=_meminfo_lines)
def unevictable_ratio(ctx: FactContext) -> float | None:
    """Unevictable memory as a share of RAM."""
    return _ratio(unevictable_kib(ctx), ram_kib(ctx))


@fact(unit="kib", lines=_meminfo_lines)
def pagetables_kib(ctx: FactContext) -> int | None:
    """Mem-Info ``pagetables:`` in KiB."""
    return _meminfo_kib(ctx, "pagetables_pages")


@fact(unit="ratio", lines=_meminfo_lines)
def pagetables_ratio(ctx: FactContext) -> float | None:
    """Page tables as a share of RAM (large with many processes mapping big shared areas)."""
    return _ratio(pagetables_kib(ctx), ram_kib(ctx))


@fact(unit="kib", lines=_hugepage_lines)
def hugepages_total_kib(ctx: FactContext) -> int | None:
    """The hugetlb pools (``hugepages_total=N ... hugepages_size=NkB``) summed over nodes
    and sizes: memory set aside that ordinary allocations cannot use."""
    pools = ctx.event.memory.hugepages
    if not pools:
        return None
    return sum(p.total * p.size_kib for p in pools)


@fact(unit="kib", lines=_hugepage_lines)
def hugepages_free_kib(ctx: FactContext) -> int | None:
    """Free pages of the hugetlb pools, in KiB."""
    pools = ctx.event.memory.hugepages
    if not pools:
        return None
    return sum(p.free * p.size_kib for p in pools)


@fact(unit="ratio", lines=_hugepage_lines)
def hugepages_ratio(ctx: FactContext) -> float | None:
    """The hugetlb pools as a share of RAM."""
    return _ratio(hugepages_total_kib(ctx), ram_kib(ctx))


@fact(unit="ratio", lines=_hugepage_lines)
def hugepages_free_ratio(ctx: FactContext) -> float | None:
    """The unused share of the hugetlb pools."""
    return _ratio(hugepages_free_kib(ctx), hugepages_total_kib(ctx))


def _highmem_zones(ctx: FactContext) -> list[Zone]:
    return [z for z in ctx.event.memory.zones if z.name == "HighMem"]


@fact(unit="bool", lines=_zone_lines)
def highmem_present(ctx: FactContext) -> bool | None:
    """A 32-bit kernel with HighMem: a HighMem zone with pages, or ``N pages HighMem``."""
    zones = _highmem_zones(ctx)
    if any((z.present_kib or z.managed_kib or 0) > 0 for z in zones):
        return True
    ram = ctx.event.memory.ram
    if ram is not None and ram.highmem_pages is not None:
        return ram.highmem_pages > 0
    return False if ctx.event.memory.zones else None


@fact(unit="kib", lines=_zone_lines)
def highmem_free_kib(ctx: FactContext) -> int | None:
    """Free memory in HighMem zones (usable only for user pages on 32-bit kernels)."""
    zones = _highmem_zones(ctx)
    if not zones:
        return None
    return sum(z.free_kib or 0 for z in zones)


@fact(unit="bool", lines=_zone_lines)
def lowmem_at_watermark(ctx: FactContext) -> bool | None:
    """Every Normal zone (the kernel's directly mapped lowmem on 32-bit) has free memory at
    or below its low watermark."""
    zones = [z for z in ctx.event.memory.zones if z.name == "Normal" and z.free_kib is not None]
    if not zones:
        return None
    for zone in zones:
        low = zone.low_kib if zone.low_kib is not None else zone.min_kib
        if low is None or (zone.free_kib or 0) > low:
            return False
    return True


@fact(unit="bool", lines=_zone_lines)
def all_unreclaimable(ctx: FactContext) -> bool | None:
    """Some node or zone says ``all_unreclaimable? yes``: reclaim scanned without success."""
    flags = [n.all_unreclaimable for n in ctx.event.memory.nodes]
    flags += [z.all_unreclaimable for z in ctx.event.memory.zones]
    known = [f for f in flags if f is not None]
    return any(known) if known else None

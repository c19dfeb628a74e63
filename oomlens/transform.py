"""Transformer: one method per line family of ``grammars/oom_report.lark``; builds an OomEvent.

Each method receives a token holding a run of lines of one family and reads the fields out of
them into a private builder; ``build_event`` freezes the result. Numbers are only taken where
their unit or delimiter is present, so a line cut mid-number yields ``None``, never a smaller
value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from lark import Token, Transformer

from .fastinit import from_row, positional
from .model import (
    AllocationSite,
    BuddyBucket,
    CallTrace,
    Constraint,
    EventKind,
    EventTime,
    Frame,
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
    PerCpuPages,
    RamSummary,
    Reap,
    Selection,
    SlabUsage,
    SourceLocation,
    Summary,
    Task,
    Trigger,
    Zone,
)
from .parsing import parse_block

_INT = re.compile(r"-?\d+")  # a whole decimal token (fullmatch)

_HEADER_COMM = re.compile(r"^(?P<comm>.*?) invoked oom-killer:")
# the mask is followed by "(flags)" (4.6+) or "," in every era: a mask cut at the end of the
# line may have lost digits, so it is not read
_GFP_MASK = re.compile(r"gfp_mask=(?P<mask>0x[0-9a-fA-F]+)(?:\((?P<flags>[^)]*)\))?(?=[(,])")
_ORDER = re.compile(r"\border[=:](?P<v>-?\d+)(?=,|\s|$)")
_SCORE_ADJ = re.compile(r"\boom_score_adj=(?P<v>-?\d+)(?=,|\s|$)")
_OOM_ADJ = re.compile(r"\b(?:oom_adj|oomkilladj)=(?P<v>-?\d+)(?=,|\s|$)")
_NODEMASK = re.compile(r"\bnodemask=(?P<v>[^,\s]*)")
_CPU_LINE = re.compile(
    r"^CPU: (?P<cpu>\d+) (?:UID: (?P<uid>\d+) )?PID: (?P<pid>\d+) Comm: (?P<comm>.*?)"
    r"(?: Kdump: loaded)? (?:Not tainted|Tainted: [A-Z -]*?)\s*(?P<release>\d\S*)"
)
_CPU_LINE_SHORT = re.compile(r"^CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>\S+)")
_PID_LINE = re.compile(
    r"^Pid: (?P<pid>\d+), comm: (?P<comm>.*?) (?:Not tainted|Tainted: [A-Z -]*?)\s*"
    r"(?P<release>\d\S*)"
)
_TAINTED = re.compile(r" Tainted: (?P<flags>[A-Z -]*?) +(?=\d)")
_PID_LINE_SHORT = re.compile(r"^Pid: (?P<pid>\d+), comm: (?P<comm>\S+)")
_CPUSET = re.compile(r"^(?P<comm>.*) cpuset=(?P<cpuset>\S*) mems_allowed=(?P<mems>\S+)")
_TASK_IN = re.compile(r"^Task in (?P<victim>\S*) killed as a result of limit of (?P<limit>\S*)")
_MEMCG_COUNTER = re.compile(
    r"^(?P<kind>memory|memory\+swap|swap|kmem): usage (?P<usage>\d+)kB, "
    r"limit (?P<limit>\d+)kB, failcnt (?P<failcnt>\d+)"
)
_MEMCG_STATS = re.compile(r"^Memory cgroup stats for (?P<path>.*?):(?:\s+(?P<rest>.*))?$")
_KV_KB = re.compile(r"(?P<k>[A-Za-z_]+):(?P<v>\d+)KB")
_STAT = re.compile(r"^(?P<k>[a-z][a-z0-9_]*) (?P<v>\d+)$")
_TASK_ROW = re.compile(r"^\[\s*(?P<pid>\d+)\]\s+(?P<rest>.*)$")
_KILL_SELECT = re.compile(
    r"^(?:(?P<msg>.*?): )?[Kk]ill process (?P<pid>-?\d+) \((?P<comm>.*)\) "
    r"score (?P<score>-?\d+) or (?:sacrifice child|a child)"
)
_KILLED = re.compile(
    r"^(?:(?P<msg>.*?): )?Killed process (?P<pid>\d+)(?:, UID (?P<uid>\d+),)? "
    r"\((?P<comm>.*)\)(?P<rest>.*)$"
)
# the pid must be followed by more text: a line that ends in its digits may have been cut
_KILLED_BARE = re.compile(r"^(?:(?P<msg>.*?): )?Killed process (?P<pid>\d+)(?=[ ,])")
_SIZE = {
    "total_vm": re.compile(r"\b(?:total-vm|vsz):(?P<v>\d+)kB"),
    "anon": re.compile(r"\banon-rss:(?P<v>\d+)kB"),
    "file": re.compile(r"\bfile-rss:(?P<v>\d+)kB"),
    "shmem": re.compile(r"\bshmem-rss:(?P<v>\d+)kB"),
    "pgtables": re.compile(r"\bpgtables:(?P<v>\d+)kB"),
}
_KILLED_UID = re.compile(r"(?:\bUID:|, UID )(?P<v>\d+)(?=[\s,]|$)")
_KILLED_ADJ = re.compile(r"\boom_score_adj:(?P<v>-?\d+)$")
_VM_KILLING = re.compile(r"^VM: killing process (?P<comm>.+)$")
_REAPED = re.compile(
    r"^oom_reaper: reaped process (?P<pid>\d+) \((?P<comm>.*)\), now anon-rss:(?P<anon>\d+)kB, "
    r"file-rss:(?P<file>\d+)kB, shmem-rss:(?P<shmem>\d+)kB"
)
_REAPED_SHORT = re.compile(r"^oom_reaper: reaped process (?P<pid>\d+) \((?P<comm>.*)\)")
_UNABLE = re.compile(r"^oom_reaper: unable to reap pid:(?P<pid>\d+) \((?P<comm>.*)\)")
_ALLOC_COMM = re.compile(r"^(?P<comm>.*?): ")
_ALLOC_MODE = re.compile(r"mode:(?P<mask>0x[0-9a-fA-F]+)(?:\((?P<flags>[^)]*)\))?")
_ALLOC_CPUSET = re.compile(r",cpuset=(?P<cpuset>[^,]*),mems_allowed=(?P<mems>\S+)")
_SWAP = re.compile(r"=\s*(?P<v>-?\d+)kB$")
_GROUP = re.compile(r"^Tasks in (?P<path>.*) are going to be killed")

# task-table column names as printed -> Task field
_COLUMNS = {
    "uid": "uid",
    "tgid": "tgid",
    "total_vm": "total_vm_pages",
    "rss": "rss_pages",
    "rss_anon": "rss_anon_pages",
    "rss_file": "rss_file_pages",
    "rss_shmem": "rss_shmem_pages",
    "nr_ptes": "nr_ptes",
    "nr_pmds": "nr_pmds",
    "pgtables_bytes": "pgtables_bytes",
    "swapents": "swapents",
    "oom_adj": "oom_adj",
    "oom_score_adj": "oom_score_adj",
    "cpu": "cpu",
}

_LAYOUT_NR_PTES = ("uid", "tgid", "total_vm", "rss", "nr_ptes", "swapents", "oom_score_adj")


def _whole_pages(value: str) -> bool:
    return _INT.fullmatch(value) is not None and int(value) % 1024 == 0


# headerless tables: number of numeric columns -> layout (docs §3.8); ambiguous counts pick
# the most common era
_LAYOUTS = {
    6: ("uid", "tgid", "total_vm", "rss", "cpu", "oom_adj"),
    7: ("uid", "tgid", "total_vm", "rss", "pgtables_bytes", "swapents", "oom_score_adj"),
    8: ("uid", "tgid", "total_vm", "rss", "nr_ptes", "nr_pmds", "swapents", "oom_score_adj"),
    10: (
        "uid",
        "tgid",
        "total_vm",
        "rss",
        "rss_anon",
        "rss_file",
        "rss_shmem",
        "pgtables_bytes",
        "swapents",
        "oom_score_adj",
    ),
}


@cache
def _column_plan(
    columns: tuple[str, ...],
) -> tuple[tuple[str, ...] | None, tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]:
    """Task fields of ``columns`` when every column is one, else (column index, Task field)
    of the known columns and (column index, name) of the others (kept in ``extra``)."""
    known = tuple((i, _COLUMNS[name]) for i, name in enumerate(columns) if name in _COLUMNS)
    unknown = tuple((i, name) for i, name in enumerate(columns) if name not in _COLUMNS)
    in_order = None if unknown else tuple(name for _, name in known)
    return in_order, known, unknown


@cache
def _row_shape(columns: int) -> re.Pattern[str]:
    """``[ pid]``, ``columns`` whitespace-separated integers, then the name (rest of line)."""
    return re.compile(r"\[\s*(\d+)\]" + r"\s+(-?\d+)" * columns + r"(?:\s+(.*))?$")


@cache
def _rows_shape(columns: int) -> re.Pattern[str]:
    """``_row_shape`` for a run of rows joined by newlines, in the kernel's own spacing (plain
    spaces; a name starts with a non-space): one ``findall`` reads them all. A row spaced
    otherwise does not match, and the run is then read line by line with ``_row_shape``."""
    return re.compile(r"^\[ *(\d+)\]" + r" +(-?\d+)" * columns + r"(?: +(\S.*))?$", re.MULTILINE)


_Plan = tuple[tuple[str, ...] | None, tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]


def _task_row(text: str, line: int, shape: re.Pattern[str], plan: _Plan) -> Task | None:
    row = shape.match(text)
    if row is None:
        return None
    cells: tuple[str, ...] = row.groups()  # pid, one per column, name
    if cells[-1] is None:
        return None  # no name after the numbers: the row was cut, its last number with it
    fields_in_order, known, unknown = plan
    if fields_in_order is not None:  # the common case: every column is a Task field
        make = positional(Task, ("pid", "name", "line", *fields_in_order))
        return make(int(cells[0]), cells[-1], line, *map(int, cells[1:-1]))
    values = {name: int(cells[i + 1]) for i, name in known}
    extra = tuple((name, int(cells[i + 1])) for i, name in unknown)
    return Task(pid=int(cells[0]), name=cells[-1], line=line, extra=extra, **values)


def _int(match: re.Match[str] | None, group: str = "v") -> int | None:
    if match is None or match.group(group) is None:
        return None
    return int(match.group(group))


@dataclass(slots=True)
class _Builder:
    """Mutable scratch state of one report while its lines are read (never leaves this module)."""

    lines: Sequence[LogLine]
    header_index: int | None = None
    trigger_comm: str | None = None
    trigger_pid: int | None = None
    gfp_mask: str | None = None
    gfp_flags: tuple[str, ...] = ()
    order: int | None = None
    oom_score_adj: int | None = None
    oom_adj: int | None = None
    nodemask: str | None = None
    trigger_uid: int | None = None
    manual: bool = False
    kernel_release: str | None = None
    cpuset: str | None = None
    mems_allowed: str | None = None
    memcg_seen: bool = False
    memcg_limit_path: str | None = None
    memcg_victim_path: str | None = None
    counters: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    stats: list[tuple[str, str, list[tuple[str, int]]]] = field(default_factory=list)
    swap_total_kib: int | None = None
    swap_free_kib: int | None = None
    task_columns: tuple[str, ...] | None = None
    tasks: list[Task] | None = None
    kills: list[Kill] = field(default_factory=list)
    selected: Selection | None = None
    summary: Summary | None = None
    reaps: list[Reap] = field(default_factory=list)
    panic: str | None = None
    no_killable: bool = False
    alloc_failure: bool = False
    kill_messages: list[str] = field(default_factory=list)
    unparsed: list[int] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)
    # memory state (show_mem / show_free_areas)
    meminfo: dict[str, int] = field(default_factory=dict)
    meminfo_lines: list[int] = field(default_factory=list)
    nodes: list[NodeMemory] = field(default_factory=list)
    zones: list[dict[str, Any]] = field(default_factory=list)  # Zone fields, frozen at the end
    lowmem_zone: int | None = None  # index in ``zones`` still waiting for its lowmem_reserve
    free_areas: list[FreeArea] = field(default_factory=list)
    hugepages: list[HugePool] = field(default_factory=list)
    pagecache_pages: int | None = None
    swap_cache_pages: int | None = None
    swap_cache_stats: tuple[tuple[str, int], ...] = ()
    ram: dict[str, int] = field(default_factory=dict)
    ram_lines: list[int] = field(default_factory=list)
    slab: list[SlabUsage] | None = None
    slab_excessive: bool = False
    allocation_profile: list[AllocationSite] = field(default_factory=list)
    pcp_zone: tuple[int | None, str | None] = (None, None)
    per_cpu: list[PerCpuPages] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    registers: list[str] = field(default_factory=list)
    trace_lines: list[int] = field(default_factory=list)
    tainted: str | None = None
    taint_printed: bool = False
    hardware: str | None = None
    min_protection_kib: int | None = None
    low_protection_kib: int | None = None


class ReportTransformer(Transformer[Token, None]):
    """Methods are named after the grammar's terminals (Lark calls them per token)."""

    def __init__(self, builder: _Builder) -> None:
        super().__init__(visit_tokens=True)
        self.b = builder

    # -- helpers
    def _each(self, token: Token) -> Iterator[tuple[int, str]]:
        """(index in the block, text) of each line of a run."""
        return enumerate(token.split("\n"), (token.line or 1) - 1)

    def _line_no(self, index: int) -> int:
        return self.b.lines[index].number

    # -- header and request
    def HEADER(self, token: Token) -> None:
        for index, text in self._each(token):
            if self.b.header_index is not None:
                break  # a second header belongs to another report; the splitter avoids this
            self.b.header_index = index
            comm = _HEADER_COMM.match(text)
            self.b.trigger_comm = comm.group("comm") if comm else None
            self._request(text, _GFP_MASK)
            self.b.oom_score_adj = _int(_SCORE_ADJ.search(text))
            self.b.oom_adj = _int(_OOM_ADJ.search(text))
            if self.b.order == -1:
                self.b.manual = True

    def _request(self, text: str, mask: re.Pattern[str]) -> None:
        """gfp mask and flags, order and nodemask of a header or allocation-failure line."""
        gfp = mask.search(text)
        if gfp:
            self.b.gfp_mask = gfp.group("mask").lower()
            self.b.gfp_flags = tuple(f for f in (gfp.group("flags") or "").split("|") if f)
        self.b.order = _int(_ORDER.search(text))
        nodemask = _NODEMASK.search(text)
        self.b.nodemask = nodemask.group("v") if nodemask else None

    def MANUAL_OOM(self, token: Token) -> None:
        self.b.manual = True

    def CPUSET_LINE(self, token: Token) -> None:
        for _, text in self._each(token):
            match = _CPUSET.match(text)
            if match and self.b.cpuset is None:
                self.b.cpuset = match.group("cpuset")
                self.b.mems_allowed = match.group("mems")

    def CPU_LINE(self, token: Token) -> None:
        self._dump_task(token, _CPU_LINE, _CPU_LINE_SHORT)

    def PID_LINE(self, token: Token) -> None:
        self._dump_task(token, _PID_LINE, _PID_LINE_SHORT)

    def _dump_task(self, token: Token, full_re: re.Pattern[str], short_re: re.Pattern[str]) -> None:
        """The dump_stack task line: the allocating task's pid (the first one printed wins;
        a panic prints another) and the kernel release (absent when the line was cut)."""
        for _, text in self._each(token):
            full = full_re.match(text)
            match = full or short_re.match(text)
            if match is None or self.b.trigger_pid is not None:
                continue
            self.b.trigger_pid = int(match.group("pid"))
            self._taint(text)
            if self.b.trigger_comm is None:
                self.b.trigger_comm = match.group("comm")
            if full:
                self.b.kernel_release = full.group("release")
                if "uid" in full.groupdict() and full.group("uid"):
                    self.b.trigger_uid = int(full.group("uid"))

    def _taint(self, text: str) -> None:
        """``... Comm: java Tainted: P           O      6.1.106-Unraid #1`` or ``Not tainted``;
        flags cut off before the release are not read (they may have lost letters)."""
        if " Not tainted " in text or text.endswith(" Not tainted"):
            self.b.taint_printed = True
            return
        flags = _TAINTED.search(text)
        if flags is not None:
            self.b.taint_printed = True
            self.b.tainted = flags.group("flags").strip() or None
        elif " Tainted: " in text:
            self.b.taint_printed = True

    def HARDWARE(self, token: Token) -> None:
        """``Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.15.0-1 04/01/2014``"""
        for _, text in self._each(token):
            if self.b.hardware is None:
                self.b.hardware = text[len("Hardware name: ") :].strip()

    def TAINT_LEGEND(self, token: Token) -> None:
        """6.12+: ``Tainted: [P]=PROPRIETARY_MODULE, [O]=OOT_MODULE`` (kept in ``extra``)"""
        for _, text in self._each(token):
            self.b.extra.setdefault("taint_legend", text[len("Tainted: ") :])

    def WORKQUEUE(self, token: Token) -> None:
        """``Workqueue: events moom_callback`` (a kworker allocated; kept in ``extra``)"""
        for _, text in self._each(token):
            self.b.extra.setdefault("workqueue", text[len("Workqueue: ") :])

    # -- memory cgroup
    def MEMCG_TASK_IN(self, token: Token) -> None:
        for _, text in self._each(token):
            match = _TASK_IN.match(_unpad(text))
            if match:
                self.b.memcg_seen = True
                self.b.memcg_victim_path = self.b.memcg_victim_path or match.group("victim")
                self.b.memcg_limit_path = self.b.memcg_limit_path or match.group("limit")

    def MEMCG_LIMIT_REACHED(self, token: Token) -> None:
        self.b.memcg_seen = True
        for _, text in self._each(token):
            path = text.rsplit(" ", 1)[-1]
            self.b.memcg_limit_path = self.b.memcg_limit_path or path

    def MEMCG_COUNTER(self, token: Token) -> None:
        for _, text in self._each(token):
            match = _MEMCG_COUNTER.match(text)
            if match and match.group("kind") not in self.b.counters:
                self.b.memcg_seen = True
                self.b.counters[match.group("kind")] = (
                    int(match.group("usage")),
                    int(match.group("limit")),
                    int(match.group("failcnt")),
                )

    def MEMCG_STATS(self, token: Token) -> None:
        for _, text in self._each(token):
            match = _MEMCG_STATS.match(_unpad(text))
            if match is None:
                continue
            self.b.memcg_seen = True
            rest = match.group("rest")
            if rest:
                values = [(m.group("k"), int(m.group("v"))) for m in _KV_KB.finditer(rest)]
                self.b.stats.append((match.group("path"), "kB", values))
            else:
                self.b.stats.append((match.group("path"), "bytes", []))

    def MEMCG_STAT(self, token: Token) -> None:
        if not self.b.stats or self.b.stats[-1][1] != "bytes":
            self.b.stats.append(("", "bytes", []))  # a tail that starts inside memory.stat
        values = self.b.stats[-1][2]
        for _, text in self._each(token):
            match = _STAT.match(text)
            if match:
                values.append((match.group("k"), int(match.group("v"))))

    # -- swap
    def FREE_SWAP(self, token: Token) -> None:
        self.b.swap_free_kib = _int(_SWAP.search(str(token).split("\n")[0]))

    def TOTAL_SWAP(self, token: Token) -> None:
        self.b.swap_total_kib = _int(_SWAP.search(str(token).split("\n")[0]))

    # -- task table
    def TASK_HEADER(self, token: Token) -> None:
        for _, text in self._each(token):
            columns = text.split("]", 1)[1].split()
            if columns and columns[-1] == "name":
                columns = columns[:-1]
            self.b.task_columns = tuple(columns)
            if self.b.tasks is None:
                self.b.tasks = []

    def TASK_ROW(self, token: Token) -> None:
        """``[ 2592]   500  2592   584727   253037   1       0             0 java``"""
        b = self.b
        if b.tasks is None:
            b.tasks = []
        lines, tasks, columns = b.lines, b.tasks, b.task_columns
        if columns:
            # a run of rows shares the header's columns: shape and plan are looked up once
            shape, plan = _row_shape(len(columns)), _column_plan(columns)
            first = (token.line or 1) - 1
            if plan[0] is not None and self._task_run(token, first, plan[0]):
                return
        for index, text in self._each(token):
            line = lines[index].number
            if columns:
                task = _task_row(text, line, shape, plan)
            else:
                task = self._headerless_task(text, line)
            if task is None:
                b.unparsed.append(index)
            else:
                tasks.append(task)

    def _task_run(self, token: Token, first: int, set_fields: tuple[str, ...]) -> bool:
        """Every row of the run read by one ``findall``; False (nothing added) unless every
        line is a whole row with a name, in which case the per-line path decides."""
        rows = _rows_shape(len(set_fields)).findall(token)
        if len(rows) != token.count("\n") + 1 or any(not row[-1] for row in rows):
            return False
        numbers = frozenset(("pid", *set_fields))
        make = from_row(Task, ("pid", *set_fields, "name"), numbers, ("line",))
        lines = self.b.lines
        assert self.b.tasks is not None
        self.b.tasks.extend(
            make(row, lines[index].number) for index, row in enumerate(rows, start=first)
        )
        return True

    def _headerless_task(self, text: str, line: int) -> Task | None:
        """A row with no header above it (a tail of the table), or under a header with no
        number columns: the layout is guessed from the count of numbers (docs §3.8)."""
        match = _TASK_ROW.match(text)
        if match is None:
            return None
        rest = match.group("rest")
        if self.b.task_columns is not None:  # a header with no number columns
            return Task(pid=int(match.group("pid")), name=rest, line=line)
        numbers = 0
        for part in rest.split():
            if not _INT.fullmatch(part):
                break
            numbers += 1
        layout = _LAYOUTS.get(numbers) or _LAYOUTS.get(numbers - 1)
        if layout is None:
            return None
        if layout is _LAYOUTS[7] and not _whole_pages(rest.split()[4]):
            # 3.x-4.14 print nr_ptes (pages) where 4.15+ print pgtables_bytes (whole pages,
            # so a multiple of 1 KiB): a byte count that is not one is a page count
            layout = _LAYOUT_NR_PTES
        return _task_row(text, line, _row_shape(len(layout)), _column_plan(layout))

    # -- selection, kill, aftermath
    def SUMMARY(self, token: Token) -> None:
        for index, text in self._each(token):
            if self.b.summary is None:
                self.b.summary = _summary(text, self._line_no(index))

    def KILL_SELECT(self, token: Token) -> None:
        for index, text in self._each(token):
            match = _KILL_SELECT.match(text)
            if match and self.b.selected is None:
                self.b.selected = Selection(
                    pid=int(match.group("pid")),
                    comm=match.group("comm"),
                    score=int(match.group("score")),
                    message=match.group("msg"),
                    line=self._line_no(index),
                )
                if match.group("msg"):
                    self.b.kill_messages.append(match.group("msg"))

    def KILLED(self, token: Token) -> None:
        for index, text in self._each(token):
            kill = _kill(text.rstrip(". "), self._line_no(index))
            if kill is None:
                self.b.unparsed.append(index)
                continue
            self.b.kills.append(kill)
            if kill.message:
                self.b.kill_messages.append(kill.message)

    def VM_KILLING(self, token: Token) -> None:
        for index, text in self._each(token):
            match = _VM_KILLING.match(text)
            if match:
                comm = match.group("comm").strip()
                self.b.kills.append(Kill(pid=None, comm=comm, line=self._line_no(index)))

    def OOM_GROUP(self, token: Token) -> None:
        for _, text in self._each(token):
            match = _GROUP.match(text)
            if match:
                self.b.extra["oom_group_path"] = match.group("path")

    def REAPER(self, token: Token) -> None:
        for index, text in self._each(token):
            line = self.b.lines[index]
            full = _REAPED.match(text)
            short = full or _REAPED_SHORT.match(text)
            unable = _UNABLE.match(text)
            if short is not None:
                self.b.reaps.append(
                    Reap(
                        pid=int(short.group("pid")),
                        comm=short.group("comm"),
                        success=True,
                        anon_rss_kib=_int(full, "anon"),
                        file_rss_kib=_int(full, "file"),
                        shmem_rss_kib=_int(full, "shmem"),
                        line=line.number,
                        uptime_s=line.uptime_s,
                    )
                )
            elif unable is not None:
                self.b.reaps.append(
                    Reap(
                        pid=int(unable.group("pid")),
                        comm=unable.group("comm"),
                        success=False,
                        line=line.number,
                        uptime_s=line.uptime_s,
                    )
                )
            else:
                self.b.unparsed.append(index)

    def NO_KILLABLE(self, token: Token) -> None:
        self.b.no_killable = True

    def PANIC(self, token: Token) -> None:
        if self.b.panic is None:
            self.b.panic = str(token).split("\n")[0].strip()

    def ALLOC_FAILURE(self, token: Token) -> None:
        for index, text in self._each(token):
            if self.b.header_index is not None:
                continue
            self.b.alloc_failure = True
            self.b.header_index = index
            comm = _ALLOC_COMM.match(text)
            self.b.trigger_comm = comm.group("comm") if comm else None
            self._request(text, _ALLOC_MODE)
            cpuset = _ALLOC_CPUSET.search(text)
            if cpuset:
                self.b.cpuset = cpuset.group("cpuset")
                self.b.mems_allowed = cpuset.group("mems")

    # -- Mem-Info (show_free_areas / show_mem); docs: kernel-oom-format.md §3.6
    def MEMINFO(self, token: Token) -> None:
        for index, _ in self._each(token):
            self.b.meminfo_lines.append(self._line_no(index))

    def PCP_HEAD(self, token: Token) -> None:
        """``Node 0 DMA32 per-cpu:`` (``Normal per-cpu:`` on non-NUMA kernels)"""
        for _, text in self._each(token):
            match = _PCP_HEAD.match(text)
            if match is not None:
                self.b.pcp_zone = (_opt_int(match.group("node")), match.group("zone"))

    def PCP_ROW(self, token: Token) -> None:
        """``CPU    0: hi:  186, btch:  31 usd:  69`` or 2.6.2x ``cpu 0 hot: high 186, batch 31
        used:77``"""
        node, zone = self.b.pcp_zone
        for index, text in self._each(token):
            match = _PCP_ROW.match(text)
            old = None if match else _PCP_ROW_OLD.match(text)
            found = match or old
            if found is None:
                self.b.unparsed.append(index)
                continue
            self.b.per_cpu.append(
                PerCpuPages(
                    node=node,
                    zone=zone,
                    cpu=int(found.group("cpu")),
                    high_pages=_opt_int(found.group("high")),
                    batch_pages=_opt_int(found.group("batch")),
                    count_pages=_opt_int(found.group("count")),
                    list=old.group("list") if old else None,
                    line=self._line_no(index),
                )
            )

    def COUNTERS(self, token: Token) -> None:
        """``active_anon:480000 inactive_anon:12000 isolated_anon:0`` and the lines after it
        (one multi-line record; pages). Every key is kept: the named ones in fields, the rest
        in ``extra``."""
        for index, text in self._each(token):
            self.b.meminfo_lines.append(self._line_no(index))
            for key, value in _COUNTER.findall(text):
                self.b.meminfo.setdefault(key.lower(), int(value))

    def NODE_LINE(self, token: Token) -> None:
        """``Node 0 active_anon:48kB inactive_anon:0kB ... shmem_thp: 0kB ... pages_scanned:0
        all_unreclaimable? no [Balloon:0kB]`` (kB)"""
        for index, text in self._each(token):
            match = _NODE_HEAD.match(text)
            if match is None:
                self.b.unparsed.append(index)
                continue
            values, extra, scanned, unreclaimable = _kib_fields(text, _NODE_FIELDS)
            values.update(
                node=int(match.group("node")),
                pages_scanned=scanned,
                all_unreclaimable=unreclaimable,
                extra=extra,
                line=self._line_no(index),
            )
            self.b.nodes.append(NodeMemory(**values))

    def ZONE_LINE(self, token: Token) -> None:
        """``Node 0 Normal free:12345kB boost:0kB min:... reserved_highatomic:0KB ...``
        (``Normal free:...`` without a node on non-NUMA kernels; kB)"""
        for index, text in self._each(token):
            match = _ZONE_HEAD.match(text)
            if match is None:
                self.b.unparsed.append(index)
                continue
            values, extra, scanned, unreclaimable = _kib_fields(text, _ZONE_FIELDS)
            values.update(
                node=_opt_int(match.group("node")),
                name=match.group("zone"),
                pages_scanned=scanned,
                all_unreclaimable=unreclaimable,
                extra=extra,
                line=self._line_no(index),
            )
            self.b.zones.append(values)
            self.b.lowmem_zone = len(self.b.zones) - 1

    def LOWMEM_RESERVE(self, token: Token) -> None:
        """``lowmem_reserve[]: 0 2967 7855 7855 7855``: pages, one per zone index, for the zone
        line just above. Completeness is judged in ``_memory`` once every zone is known."""
        for index, text in self._each(token):
            target = self.b.lowmem_zone
            if target is None:
                self.b.unparsed.append(index)  # no zone line to belong to
                continue
            self.b.lowmem_zone = None
            values = tuple(int(v) for v in text.split(":", 1)[1].split())
            self.b.zones[target]["lowmem_reserve_pages"] = values

    def BUDDY(self, token: Token) -> None:
        """``Node 0 Normal: 1*4kB (U) 2*8kB (UM) 0*16kB ... = 15700kB`` (counts are blocks,
        sizes and the total kB); a bucket or total cut before its ``kB`` is not read."""
        bucket = positional(BuddyBucket, ("block_kib", "count", "migrate_types"))
        area = positional(FreeArea, ("node", "zone", "buckets", "total_kib", "line"))
        for index, text in self._each(token):
            match = _BUDDY_HEAD.match(text)
            if match is None:
                self.b.unparsed.append(index)
                continue
            rest = match.group("rest")
            buckets = tuple(
                bucket(int(size), int(count), types or None)
                for count, size, types in _BUCKET.findall(rest)
            )
            total = _BUDDY_TOTAL.search(rest)
            self.b.free_areas.append(
                area(
                    _opt_int(match.group("node")),
                    match.group("zone"),
                    buckets,
                    int(total.group("v")) if total else None,
                    self._line_no(index),
                )
            )

    def HUGEPAGES(self, token: Token) -> None:
        """``Node 0 hugepages_total=512 hugepages_free=512 hugepages_surp=0
        hugepages_size=2048kB``"""
        for index, text in self._each(token):
            match = _HUGEPAGES.match(text)
            if match is None:
                self.b.unparsed.append(index)
                continue
            self.b.hugepages.append(
                HugePool(
                    node=int(match.group("node")),
                    total=int(match.group("total")),
                    free=int(match.group("free")),
                    surplus=int(match.group("surp")),
                    size_kib=int(match.group("size")),
                    line=self._line_no(index),
                )
            )

    def PAGECACHE(self, token: Token) -> None:
        """``100592 total pagecache pages``"""
        for _, text in self._each(token):
            if self.b.pagecache_pages is None:
                self.b.pagecache_pages = int(text.split(" ", 1)[0])

    def SWAP_CACHE(self, token: Token) -> None:
        """``0 pages in swap cache``"""
        for _, text in self._each(token):
            if self.b.swap_cache_pages is None:
                self.b.swap_cache_pages = int(text.split(" ", 1)[0])

    def SWAP_CACHE_STATS(self, token: Token) -> None:
        """``Swap cache stats: add 1919969, delete 1918646, find 72763/93573`` (2.6.26:
        ``Swap cache: add ...``)"""
        for _, text in self._each(token):
            match = _SWAP_STATS.search(text)
            if match and not self.b.swap_cache_stats:
                self.b.swap_cache_stats = tuple(
                    (key, int(match.group(key))) for key in ("add", "delete", "find", "find_total")
                )

    def RAM_SUMMARY(self, token: Token) -> None:
        """``4194174 pages RAM``, ``0 pages HighMem/MovableOnly``, ``98437 pages reserved``,
        ``0 pages cma reserved``, ``0 pages hwpoisoned``, ``1110 pages shared``, ``3295246 pages
        non-shared``, ``N pages in pagetable cache`` and the arch forms ``65536 pages of RAM``,
        ``547 free pages``, ``2170 reserved pages``, ``446 slab pages``, ``0 pages swap cached``"""
        for index, text in self._each(token):
            number, phrase = text.split(" ", 1)
            key = _RAM_PHRASES.get(phrase)
            if key is None:
                self.b.unparsed.append(index)
                continue
            self.b.ram.setdefault(key, int(number))
            self.b.ram_lines.append(self._line_no(index))

    # -- unreclaimable slab table (4.15+)
    def SLAB_HEAD(self, token: Token) -> None:
        """``Unreclaimable slab info:``"""
        if self.b.slab is None:
            self.b.slab = []

    def SLAB_COLUMNS(self, token: Token) -> None:
        """``Name                      Used          Total``"""
        if self.b.slab is None:
            self.b.slab = []

    def SLAB_ROW(self, token: Token) -> None:
        """``kmalloc-2k              5916KB       5952KB`` (names longer than 17 characters
        push the columns right, so split on whitespace)"""
        if self.b.slab is None:
            self.b.slab = []
        for index, text in self._each(token):
            parts = text.split()
            if len(parts) != 3 or not parts[1].endswith("KB") or not parts[2].endswith("KB"):
                self.b.unparsed.append(index)
                continue
            self.b.slab.append(
                SlabUsage(
                    name=parts[0],
                    used_kib=int(parts[1][:-2]),
                    total_kib=int(parts[2][:-2]),
                    line=self._line_no(index),
                )
            )

    def SLAB_EXCESSIVE(self, token: Token) -> None:
        """``excessive unreclaimable slab but cannot dump stats``"""
        self.b.slab_excessive = True

    # -- allocation profiling (6.10+)
    def ALLOC_PROFILE_HEAD(self, token: Token) -> None:
        """``Memory allocations (profiling is currently turned on):``"""

    def ALLOC_PROFILE_ROW(self, token: Token) -> None:
        """``    1.21 GiB   237476 mm/readahead.c:189 func:ractl_alloc_folio`` or
        ``143 MiB   133249 fs/ext4/super.c:1389 [ext4] func:ext4_alloc_inode``"""
        for index, text in self._each(token):
            match = _ALLOC_ROW.match(text)
            if match is None:
                self.b.unparsed.append(index)
                continue
            self.b.allocation_profile.append(
                AllocationSite(
                    size_bytes=round(float(match.group("size")) * _SIZE_UNITS[match.group("unit")]),
                    calls=int(match.group("calls")),
                    location=match.group("location"),
                    function=match.group("function"),
                    module=match.group("module"),
                    line=self._line_no(index),
                )
            )

    def MEMCG_PROTECTION(self, token: Token) -> None:
        """6.19: ``Memory cgroup min protection 0kB -- low protection 0kB``"""
        for _, text in self._each(token):
            match = _PROTECTION.match(text)
            if match and self.b.min_protection_kib is None:
                self.b.min_protection_kib = int(match.group("min"))
                self.b.low_protection_kib = int(match.group("low"))

    # -- call trace (dump_stack)
    def CALL_TRACE(self, token: Token) -> None:
        """``Call Trace:`` (arm64: ``Call trace:``)"""
        for index, _ in self._each(token):
            self.b.trace_lines.append(self._line_no(index))

    def STACK_MARKER(self, token: Token) -> None:
        """`` <TASK>``, `` </TASK>``, `` <IRQ>`` ..."""
        for index, text in self._each(token):
            self.b.markers.append(text.strip())
            self.b.trace_lines.append(self._line_no(index))

    def REGISTERS(self, token: Token) -> None:
        """``RIP: 0033:0x7f47eba4197e``, ``RSP: 002b:00007ffd7c0c1890 EFLAGS: 00010293``,
        ``RAX: ...``, ``Code: ...`` (kept as printed)"""
        for index, text in self._each(token):
            self.b.registers.append(text)
            self.b.trace_lines.append(self._line_no(index))

    def FRAME(self, token: Token) -> None:
        """x86 ≤4.9 `` [<ffffffff81234567>] ? func+0x12/0x40 [module]``, ~4.10+ `` ? func+0x12/0x40
        [module <buildid>]``, ppc64 ``[c0000001cb163640] [c000000001035754] dump_stack+0xe8/0x164
        (unreliable)`` and arm32 ``[<c0111640>] (unwind_backtrace) from [<c010ba84>]
        (show_stack+0x10/0x14)``"""
        frame = positional(Frame, _FRAME_FIELDS)
        for index, text in self._each(token):
            line = self._line_no(index)
            self.b.trace_lines.append(line)
            stripped = text.strip()
            arm = _ARM_FRAME.match(stripped)
            if arm is not None:
                self._arm_frame(arm, stripped, line)
                continue
            match = _FRAME.match(stripped)
            if match is None:
                self.b.unparsed.append(index)
                continue
            address, address2, unreliable, function, offset, size, module, ppc = match.groups()
            self.b.frames.append(
                frame(
                    function,
                    int(offset, 16),
                    _hex(size),
                    module,
                    address2 or address,
                    not (unreliable or ppc),
                    text,
                    line,
                )
            )

    def _arm_frame(self, arm: re.Match[str], raw: str, line: int) -> None:
        """arm32 prints callee and caller on one line (``(f) from (g+0x10/0x14)``); the caller
        is the next line's callee, so each line adds its caller, and only the first line of a
        trace adds its callee too. A line wrapped after ``from`` leaves the caller alone on the
        next line, which then adds it."""
        if arm.group("caller") is None and arm.group("from") is not None:
            if not self.b.frames:
                self.b.frames.append(_arm_part(arm, "callee", raw, line))
            return
        if arm.group("from") is None:
            self.b.frames.append(_arm_part(arm, "callee", raw, line))
            return
        if not self.b.frames:
            self.b.frames.append(_arm_part(arm, "callee", raw, line))
        self.b.frames.append(_arm_part(arm, "caller", raw, line))

    def OTHER(self, token: Token) -> None:
        for index, _ in self._each(token):
            self.b.unparsed.append(index)


_FRAME_FIELDS = ("function", "offset", "size", "module", "address", "reliable", "raw", "line")
_PADDING = re.compile(r"(?<=[\w/-]) {5,}(?=[\w/-])")


def _unpad(text: str) -> str:
    """Close mid-token gaps a log viewer left when it wrapped a long line (``mapped_f   ile``).

    Only used on lines whose tokens never hold runs of spaces (cgroup paths, key:value lists).
    """
    return _PADDING.sub("", text) if "     " in text else text


_SUMMARY_KEYS = (
    "constraint", "nodemask", "cpuset", "mems_allowed", "oom_memcg", "global_oom",
    "task_memcg", "task", "pid", "uid",
)  # fmt: skip


def _known_constraint(value: str | None) -> str | None:
    """One of the kernel's constraint names; anything else is a cut or damaged value."""
    return value if value in {c.value for c in Constraint} else None


def _is_cut_key(part: str) -> bool:
    """A summary line's tail that is the start of its next key (the line was cut there)."""
    return part != "global_oom" and any(key.startswith(part) for key in _SUMMARY_KEYS)


def _summary(text: str, line: int) -> Summary:
    """``oom-kill:constraint=C,nodemask=N[,cpuset=..,mems_allowed=..][,oom_memcg=..|,global_oom]
    [,task_memcg=..],task=..,pid=..,uid=..`` (values are not escaped; rejoin stray commas)."""
    pieces: list[str] = []
    parts = text[len("oom-kill:") :].split(",")
    if len(parts) > 1 and "=" not in parts[-1] and _is_cut_key(parts[-1]):
        parts.pop()  # the line was cut inside the next key ("...,oom_memcg=/app,t")
    for part in parts:
        if pieces and "=" not in part and part != "global_oom":
            pieces[-1] += "," + part
        else:
            pieces.append(part)
    values: dict[str, str] = {}
    global_oom = False
    for piece in pieces:
        if piece == "global_oom":
            global_oom = True
        elif "=" in piece:
            key, value = piece.split("=", 1)
            values.setdefault(key, value)

    def number(key: str) -> int | None:
        value = values.get(key)
        if key != "uid" and pieces and pieces[-1].startswith(key + "="):
            return None  # the last value before the closing uid=: the line may end inside it
        return int(value) if value is not None and _INT.fullmatch(value) else None

    return Summary(
        constraint=_known_constraint(values.get("constraint")),
        nodemask=values.get("nodemask"),
        cpuset=values.get("cpuset"),
        mems_allowed=values.get("mems_allowed"),
        oom_memcg=values.get("oom_memcg"),
        global_oom=global_oom,
        task_memcg=values.get("task_memcg"),
        task=values.get("task"),
        pid=number("pid"),
        uid=number("uid"),
        line=line,
    )


def _kill(text: str, line: int) -> Kill | None:
    match = _KILLED.match(text)
    if match is None:
        bare = _KILLED_BARE.match(text)
        if bare is None:
            return None
        return Kill(pid=int(bare.group("pid")), comm=None, message=bare.group("msg"), line=line)
    rest = match.group("rest")
    comm = match.group("comm")
    # "(comm) total-vm:..." -- greedy ``comm`` stops at the last ")"; sizes hold none
    sizes = {key: _int(regex.search(rest)) for key, regex in _SIZE.items()}
    uid = int(match.group("uid")) if match.group("uid") else _int(_KILLED_UID.search(rest))
    return Kill(
        pid=int(match.group("pid")),
        comm=comm,
        message=match.group("msg"),
        total_vm_kib=sizes["total_vm"],
        anon_rss_kib=sizes["anon"],
        file_rss_kib=sizes["file"],
        shmem_rss_kib=sizes["shmem"],
        pgtables_kib=sizes["pgtables"],
        uid=uid,
        oom_score_adj=_int(_KILLED_ADJ.search(rest)),
        line=line,
    )


# --------------------------------------------------------------------------- memory state

_PCP_HEAD = re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>\w+) per-cpu:$")
_PCP_ROW = re.compile(
    r"^CPU\s+(?P<cpu>\d+): hi:\s*(?P<high>\d+), btch:\s*(?P<batch>\d+) usd:\s*(?P<count>\d+)$"
)
_PCP_ROW_OLD = re.compile(
    r"^cpu (?P<cpu>\d+) (?P<list>hot|cold): high (?P<high>\d+), batch (?P<batch>\d+)"
    r" used:(?P<count>\d+)$"
)
# "key:value" in the unit-less counter lines; 2.6.28 prints "Active_anon"
_COUNTER = re.compile(r"([A-Za-z_]+):\s?(\d+)(?=\s|$)")
_NODE_HEAD = re.compile(r"^Node (?P<node>\d+) ")
_ZONE_HEAD = re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>[A-Za-z0-9]+) free:")
# "key:NkB" / "key:NKB" (reserved_highatomic) / 4.9 "shmem_thp: NkB"; a number must be
# followed by its unit, so a value cut at the end of the line ("present:524") is not read.
# "pages_scanned:N" is bare pages and always followed by "all_unreclaimable?".
_KIB_FIELD = re.compile(
    r"(?P<key>[A-Za-z_]+(?:\((?:anon|file)\))?):\s?(?P<v>\d+)(?P<unit>[kK]B)?(?=(?P<after>.?))"
)
_UNRECLAIMABLE = re.compile(r"all_unreclaimable\? (?P<v>yes|no)\b")
_BUDDY_HEAD = re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>[A-Za-z0-9]+): (?P<rest>.*)$")
# "12*4kB (UME)": the block size must end in kB (a cut "10*3" is not a bucket)
_BUCKET = re.compile(r"(?<![\w*])(\d+)\*(\d+)kB(?: \(([A-Z]+)\))?")
_BUDDY_TOTAL = re.compile(r"= ?(?P<v>\d+)kB\s*$")
_HUGEPAGES = re.compile(
    r"^Node (?P<node>\d+) hugepages_total=(?P<total>\d+) hugepages_free=(?P<free>\d+) "
    r"hugepages_surp=(?P<surp>\d+) hugepages_size=(?P<size>\d+)kB$"
)
_SWAP_STATS = re.compile(
    r"add (?P<add>\d+), delete (?P<delete>\d+), find (?P<find>\d+)/(?P<find_total>\d+)$"
)
_RAM_PHRASES = {
    "pages RAM": "ram_pages",
    "pages of RAM": "ram_pages",
    "pages HighMem": "highmem_pages",
    "pages HighMem/MovableOnly": "highmem_pages",
    "pages reserved": "reserved_pages",
    "reserved pages": "reserved_pages",
    "pages cma reserved": "cma_reserved_pages",
    "pages hwpoisoned": "hwpoisoned_pages",
    "pages shared": "shared_pages",
    "pages non-shared": "non_shared_pages",
    "pages in pagetable cache": "pagetable_cache_pages",
    "free pages": "free_pages",
    "slab pages": "slab_pages",
    "pages swap cached": "swap_cached_pages",
}
_ALLOC_ROW = re.compile(
    r"^\s*(?P<size>\d+(?:\.\d+)?) ?(?P<unit>[KMGTP]?i?B)\s+(?P<calls>\d+) "
    r"(?P<location>\S+:\d+)(?: \[(?P<module>[^\]]+)\])? func:(?P<function>\S+)$"
)
# string_get_size(..., STRING_UNITS_2): powers of 1024
_SIZE_UNITS = {
    "B": 1,
    "KiB": 1 << 10,
    "MiB": 1 << 20,
    "GiB": 1 << 30,
    "TiB": 1 << 40,
    "PiB": 1 << 50,
    "KB": 1 << 10,
    "MB": 1 << 20,
    "GB": 1 << 30,
    "TB": 1 << 40,
    "PB": 1 << 50,
}
_PROTECTION = re.compile(
    r"^Memory cgroup min protection (?P<min>\d+)kB -- low protection (?P<low>\d+)kB"
)
_FRAME = re.compile(
    r"^(?:\[<?(?P<address>[0-9a-f]{6,16})>?\]\s*)?(?:\[<?(?P<address2>[0-9a-f]{6,16})>?\]\s*)?"
    r"(?P<unreliable>\? )?(?P<function>[\w.$]+)\+0x(?P<offset>[0-9a-f]+)(?:/0x(?P<size>[0-9a-f]+))?"
    r"(?: \[(?P<module>[^\]\s]+)(?: [0-9a-f]+)?\])?(?P<ppc_unreliable> \(unreliable\))?\s*$"
)
_ARM_FRAME = re.compile(
    r"^\[<(?P<callee_address>[0-9a-f]+)>\] \((?P<callee_function>[^()+\s]+)"
    r"(?:\+0x(?P<callee_offset>[0-9a-f]+)/0x(?P<callee_size>[0-9a-f]+))?\)"
    r"(?P<from> from(?: \[<(?P<caller_address>[0-9a-f]+)>\] \((?P<caller>(?P<caller_function>"
    r"[^()+\s]+)(?:\+0x(?P<caller_offset>[0-9a-f]+)/0x(?P<caller_size>[0-9a-f]+))?)\))?)?$"
)


def _opt_int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _hex(value: str | None) -> int | None:
    return int(value, 16) if value is not None else None


def _arm_part(arm: re.Match[str], part: str, raw: str, line: int) -> Frame:
    return Frame(
        function=arm.group(f"{part}_function"),
        offset=_hex(arm.group(f"{part}_offset")),
        size=_hex(arm.group(f"{part}_size")),
        address=arm.group(f"{part}_address"),
        raw=raw,
        line=line,
    )


def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


_MEMINFO_FIELDS = _field_names(MemInfo)
_NODE_FIELDS = _field_names(NodeMemory)
_ZONE_FIELDS = _field_names(Zone)


_KIB_NAMES: dict[str, str] = {}


def _kib_name(key: str) -> str:
    """``isolated(anon)`` -> ``isolated_anon_kib``, ``Balloon`` -> ``balloon_kib`` (cached)."""
    name = key.replace("(", "_").replace(")", "").lower() + "_kib"
    if len(_KIB_NAMES) < 4096:  # keys come from kernel text; bound the cache all the same
        _KIB_NAMES[key] = name
    return name


def _kib_fields(
    text: str, names: frozenset[str]
) -> tuple[dict[str, Any], tuple[tuple[str, int], ...], int | None, bool | None]:
    """The kB fields of a node or zone line: (named fields, others for ``extra``,
    pages_scanned, all_unreclaimable). A value whose unit is missing is skipped."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, int]] = []
    scanned: int | None = None
    for key, number, unit, after in _KIB_FIELD.findall(text):
        if not unit:
            # pages_scanned is bare pages; trusted only when a delimiter follows (a number
            # at the line's end may be cut); any other unit-less value was cut before "kB"
            if key == "pages_scanned" and after == " ":
                scanned = int(number)
            continue
        name = _KIB_NAMES.get(key) or _kib_name(key)
        if name in names:
            values.setdefault(name, int(number))
        else:
            extra.append((name[:-4], int(number)))
    unreclaimable = _UNRECLAIMABLE.search(text)
    flag = None if unreclaimable is None else unreclaimable.group("v") == "yes"
    return values, tuple(extra), scanned, flag


def _meminfo(b: _Builder) -> MemInfo | None:
    if not b.meminfo and not b.meminfo_lines:
        return None
    named: dict[str, int] = {}
    extra: list[tuple[str, int]] = []
    for key, value in b.meminfo.items():
        name = f"{key}_pages"
        if name in _MEMINFO_FIELDS:
            named[name] = value
        else:
            extra.append((key, value))
    return MemInfo(
        first_line=min(b.meminfo_lines),
        last_line=max(b.meminfo_lines),
        extra=tuple(extra),
        **named,
    )


def _lowmem_checked(zones: Sequence[dict[str, Any]]) -> tuple[Zone, ...]:
    """The zones, with their ``lowmem_reserve[]:`` lines judged. Such a line has one entry
    per zone index (MAX_NR_ZONES), the same count on every line of a report and never fewer
    than the zones printed, and its entries never decrease; a line breaking either rule was
    cut (KERN_CONT split from 4.9), and its last number may have lost digits, so it is
    dropped."""
    widths = [len(z["lowmem_reserve_pages"]) for z in zones if "lowmem_reserve_pages" in z]
    expected = max([*widths, len({z["name"] for z in zones})]) if widths else 0
    out = []
    for values in zones:
        reserve = values.get("lowmem_reserve_pages")
        # the entries never decrease (each adds the pages of one more zone above), so a last
        # entry below its neighbour lost digits too
        shrunk = reserve is not None and len(reserve) > 1 and reserve[-1] < reserve[-2]
        if reserve is not None and (len(reserve) < expected or shrunk):
            values = values | {
                "lowmem_reserve_pages": reserve[:-1],
                "lowmem_reserve_complete": False,
            }
        out.append(Zone(**values))
    return tuple(out)


def _memory(b: _Builder) -> MemoryState:
    sizes = [bucket.block_kib for area in b.free_areas for bucket in area.buckets]
    ram = None
    if b.ram:
        ram = RamSummary(first_line=min(b.ram_lines), last_line=max(b.ram_lines), **b.ram)
    return MemoryState(
        meminfo=_meminfo(b),
        nodes=tuple(b.nodes),
        zones=_lowmem_checked(b.zones),
        free_areas=tuple(b.free_areas),
        hugepages=tuple(b.hugepages),
        pagecache_pages=b.pagecache_pages,
        swap_cache_pages=b.swap_cache_pages,
        swap_cache_stats=b.swap_cache_stats,
        ram=ram,
        slab=tuple(b.slab) if b.slab is not None else None,
        slab_excessive=b.slab_excessive,
        allocation_profile=tuple(b.allocation_profile),
        page_size_kib=min(sizes) if sizes else None,
        per_cpu=tuple(b.per_cpu),
    )


def _call_trace(b: _Builder) -> CallTrace | None:
    if not b.trace_lines:
        return None
    return CallTrace(
        frames=tuple(b.frames),
        markers=tuple(b.markers),
        registers=tuple(b.registers),
        first_line=min(b.trace_lines),
        last_line=max(b.trace_lines),
    )


_MEMCG_MESSAGES = ("Memory cgroup out of memory",)
# mm/oom_kill.c's messages of an unconstrained OOM ("... (oom_kill_allocating_task)" too)
_GLOBAL_MESSAGE = re.compile(r"Out of [Mm]emory(?: \(oom_kill_allocating_task\))?$")


def _constraint(b: _Builder) -> str | None:
    if b.summary is not None and b.summary.constraint:
        return b.summary.constraint
    if b.summary is not None:
        # a 5.0+ summary whose constraint was damaged: "Out of memory" no longer means global
        return Constraint.MEMCG.value if b.summary.oom_memcg else None
    if b.alloc_failure:
        return None
    if b.memcg_seen or any(m.startswith(_MEMCG_MESSAGES) for m in b.kill_messages):
        return Constraint.MEMCG.value
    if any("MPOL_BIND" in m for m in b.kill_messages):
        return Constraint.MEMORY_POLICY.value
    if b.panic is not None and "system-wide panic_on_oom" in b.panic:
        return Constraint.NONE.value  # panic_on_oom=1 panics only for unconstrained OOMs
    # "Out of memory" (kernels before 5.0 print no constraint) says global, as does the
    # global Mem-Info a memcg OOM does not print; a header alone says nothing (the report may
    # have been cut before its summary), nor does a message damaged by wrapping or cutting
    if b.kill_messages and not all(_GLOBAL_MESSAGE.match(m) for m in b.kill_messages):
        return None
    if b.kill_messages or b.kills or b.selected:
        return Constraint.NONE.value
    if b.header_index is not None and (b.meminfo or b.zones or b.free_areas):
        return Constraint.NONE.value
    return None


def _memcg(b: _Builder) -> Memcg | None:
    summary = b.summary
    limit_path = b.memcg_limit_path or (summary.oom_memcg if summary else None)
    victim_path = b.memcg_victim_path or (summary.task_memcg if summary else None)
    protection = b.min_protection_kib is not None
    if not b.memcg_seen and limit_path is None and victim_path is None and not protection:
        return None
    memory = b.counters.get("memory", (None, None, None))
    swap = b.counters.get("swap", (None, None, None))
    memsw = b.counters.get("memory+swap", (None, None, None))
    kmem = b.counters.get("kmem", (None, None, None))
    return Memcg(
        limit_path=limit_path,
        victim_path=victim_path,
        usage_kib=memory[0],
        limit_kib=memory[1],
        failcnt=memory[2],
        swap_usage_kib=swap[0],
        swap_limit_kib=swap[1],
        swap_failcnt=swap[2],
        memsw_usage_kib=memsw[0],
        memsw_limit_kib=memsw[1],
        memsw_failcnt=memsw[2],
        kmem_usage_kib=kmem[0],
        kmem_limit_kib=kmem[1],
        kmem_failcnt=kmem[2],
        stats=tuple(
            MemcgStats(path=path, unit=unit, values=tuple(values)) for path, unit, values in b.stats
        ),
        min_protection_kib=b.min_protection_kib,
        low_protection_kib=b.low_protection_kib,
    )


def _kind(b: _Builder) -> EventKind:
    if b.kills:
        return EventKind.OOM_KILL
    if b.panic is not None:
        return EventKind.OOM_PANIC
    if b.alloc_failure:
        return EventKind.ALLOCATION_FAILURE
    if b.reaps and b.header_index is None and not b.tasks:
        return EventKind.REAPER_ONLY
    return EventKind.OOM_NO_KILL


def build_event(lines: Sequence[LogLine], families: Sequence[str] | None = None) -> OomEvent:
    """Parse one report block (its logical lines, and their families if known) into an event."""
    builder = _Builder(lines=lines)
    tree = parse_block([line.text for line in lines], families)
    # the tree is flat (one token per run of lines): calling each token's method in order is
    # what ``Transformer.transform`` does, without its per-node bookkeeping
    transformer = ReportTransformer(builder)
    for token in tree.children:
        if isinstance(token, Token):
            handler = getattr(transformer, token.type, None)
            if handler is not None:
                handler(token)
    return _freeze(builder)


def _freeze(b: _Builder) -> OomEvent:
    lines = b.lines
    summary = b.summary
    killed = bool(b.kills)
    if not b.kills and summary is not None and summary.pid is not None:
        # the summary names the victim just before the kill line (lost in this log)
        b.kills.append(Kill(pid=summary.pid, comm=summary.task, uid=summary.uid, line=summary.line))
        b.extra["victim_from"] = "summary"
    first = lines[b.header_index] if b.header_index is not None else lines[0]
    host = next((line.host for line in lines if line.host), None)
    if b.summary is not None:
        b.cpuset = b.cpuset or b.summary.cpuset
        b.mems_allowed = b.mems_allowed or b.summary.mems_allowed
        if b.nodemask is None:
            b.nodemask = b.summary.nodemask
    trigger_pid = b.trigger_pid
    if trigger_pid is None and b.header_index is not None:
        caller = lines[b.header_index].caller  # printk caller id "T<tid>" of the allocating task
        if caller and caller.startswith("T") and caller[1:].isdigit():
            trigger_pid = int(caller[1:])
    trigger = Trigger(
        comm=b.trigger_comm,
        pid=trigger_pid,
        gfp_mask=b.gfp_mask,
        gfp_flags=b.gfp_flags,
        order=b.order,
        oom_score_adj=b.oom_score_adj,
        oom_adj=b.oom_adj,
        nodemask=b.nodemask,
        uid=b.trigger_uid,
    )
    has_start = b.header_index is not None
    has_end = killed or b.no_killable or b.panic is not None or b.alloc_failure
    return OomEvent(
        kind=_kind(b),
        source=SourceLocation(path=first.path, first_line=first.number, last_line=lines[-1].number),
        time=EventTime(uptime_s=first.uptime_s, wallclock=first.wallclock),
        host=host,
        kernel_release=b.kernel_release,
        trigger=trigger,
        constraint=_constraint(b),
        manual=b.manual,
        memcg=_memcg(b),
        cpuset=b.cpuset,
        mems_allowed=b.mems_allowed,
        swap_total_kib=b.swap_total_kib,
        swap_free_kib=b.swap_free_kib,
        tasks=tuple(b.tasks) if b.tasks is not None else None,
        task_columns=b.task_columns,
        kills=tuple(b.kills),
        selected=b.selected,
        summary=b.summary,
        reaps=tuple(b.reaps),
        panic=b.panic,
        complete=has_start and has_end,
        memory=_memory(b),
        call_trace=_call_trace(b),
        tainted=b.tainted,
        taint_printed=b.taint_printed,
        hardware=b.hardware,
        lines=tuple(lines),
        unparsed=tuple(lines[i].number for i in sorted(set(b.unparsed))),
        extra=tuple(sorted(b.extra.items())),
    )

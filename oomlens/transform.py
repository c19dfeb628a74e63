"""Transformer: one method per line family of ``grammars/oom_report.lark``; builds an OomEvent.

Each method receives a token holding a run of lines of one family and reads the fields out of
them into a private builder; ``build_event`` freezes the result. Numbers are only taken where
their unit or delimiter is present, so a line cut mid-number yields ``None``, never a smaller
value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lark import Token, Transformer

from .model import (
    Constraint,
    EventKind,
    EventTime,
    Kill,
    LogLine,
    Memcg,
    MemcgStats,
    OomEvent,
    Reap,
    Selection,
    SourceLocation,
    Summary,
    Task,
    Trigger,
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
_KILLED_BARE = re.compile(r"^(?:(?P<msg>.*?): )?Killed process (?P<pid>\d+)")
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


class ReportTransformer(Transformer[Token, None]):
    """Methods are named after the grammar's terminals (Lark calls them per token)."""

    def __init__(self, builder: _Builder) -> None:
        super().__init__(visit_tokens=True)
        self.b = builder

    # -- helpers
    def _each(self, token: Token) -> list[tuple[int, str]]:
        first = (token.line or 1) - 1
        return [(first + i, text) for i, text in enumerate(str(token).split("\n"))]

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
            if self.b.trigger_comm is None:
                self.b.trigger_comm = match.group("comm")
            if full:
                self.b.kernel_release = full.group("release")
                if "uid" in full.groupdict() and full.group("uid"):
                    self.b.trigger_uid = int(full.group("uid"))

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
        if self.b.tasks is None:
            self.b.tasks = []
        for index, text in self._each(token):
            task = self._task(text, self._line_no(index))
            if task is None:
                self.b.unparsed.append(index)
            else:
                self.b.tasks.append(task)

    def _task(self, text: str, line: int) -> Task | None:
        match = _TASK_ROW.match(text)
        if match is None:
            return None
        columns = self.b.task_columns
        rest = match.group("rest")
        if columns is None:
            numbers = 0
            for part in rest.split():
                if not _INT.fullmatch(part):
                    break
                numbers += 1
            layout = _LAYOUTS.get(numbers) or _LAYOUTS.get(numbers - 1)
            if layout is None:
                return None
            columns = layout
        parts = rest.split(None, len(columns))
        if len(parts) < len(columns):
            return None
        values: dict[str, int] = {}
        extra: list[tuple[str, int]] = []
        for name, value in zip(columns, parts, strict=False):
            if not _INT.fullmatch(value):
                return None
            if name in _COLUMNS:
                values[_COLUMNS[name]] = int(value)
            else:
                extra.append((name, int(value)))
        name = parts[len(columns)] if len(parts) > len(columns) else ""
        return Task(
            pid=int(match.group("pid")),
            name=name,
            line=line,
            extra=tuple(extra),
            **values,
        )

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

    def OTHER(self, token: Token) -> None:
        for index, _ in self._each(token):
            self.b.unparsed.append(index)


_PADDING = re.compile(r"(?<=[\w/-]) {5,}(?=[\w/-])")


def _unpad(text: str) -> str:
    """Close mid-token gaps a log viewer left when it wrapped a long line (``mapped_f   ile``).

    Only used on lines whose tokens never hold runs of spaces (cgroup paths, key:value lists).
    """
    return _PADDING.sub("", text) if "     " in text else text


def _summary(text: str, line: int) -> Summary:
    """``oom-kill:constraint=C,nodemask=N[,cpuset=..,mems_allowed=..][,oom_memcg=..|,global_oom]
    [,task_memcg=..],task=..,pid=..,uid=..`` (values are not escaped; rejoin stray commas)."""
    pieces: list[str] = []
    for part in text[len("oom-kill:") :].split(","):
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
        return int(value) if value is not None and _INT.fullmatch(value) else None

    return Summary(
        constraint=values.get("constraint") or None,
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


_MEMCG_MESSAGES = ("Memory cgroup out of memory",)


def _constraint(b: _Builder) -> str | None:
    if b.summary is not None and b.summary.constraint:
        return b.summary.constraint
    if b.alloc_failure:
        return None
    if b.memcg_seen or any(m.startswith(_MEMCG_MESSAGES) for m in b.kill_messages):
        return Constraint.MEMCG.value
    if any("MPOL_BIND" in m for m in b.kill_messages):
        return Constraint.MEMORY_POLICY.value
    if b.panic is not None and "system-wide panic_on_oom" in b.panic:
        return Constraint.NONE.value  # panic_on_oom=1 panics only for unconstrained OOMs
    if b.header_index is not None or b.kill_messages or b.kills or b.selected:
        return Constraint.NONE.value
    return None


def _memcg(b: _Builder) -> Memcg | None:
    summary = b.summary
    limit_path = b.memcg_limit_path or (summary.oom_memcg if summary else None)
    victim_path = b.memcg_victim_path or (summary.task_memcg if summary else None)
    if not b.memcg_seen and limit_path is None and victim_path is None:
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
    ReportTransformer(builder).transform(tree)
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
        lines=tuple(lines),
        unparsed=tuple(lines[i].number for i in sorted(set(b.unparsed))),
        extra=tuple(sorted(b.extra.items())),
    )

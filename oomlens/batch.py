"""``oomlens batch``: whole log archives from a fleet into one de-duplicated table.

Flow: the parent process walks the inputs (:mod:`oomlens.archives`), looks each log up in
the incremental index (SQLite), and sends the rest as work units to worker processes (a local
process pool, or a Dask cluster). Workers return plain rows (dicts of str/int/float/None),
one per event and source. The parent attributes hosts, merges the same OOM seen in several
files of one host, and builds the pandas DataFrame (schema: docs/batch.md).

pandas, pyarrow and dask are imported only inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from . import __version__
from .api import PartialInputError, analyze_stream, explain_events
from .archives import (
    DEFAULT_MAX_MEMBER_BYTES,
    LIMIT_MESSAGE,
    BadInput,
    HostnameHint,
    KnownArchive,
    Member,
    Walker,
    WalkOptions,
    archive_stem,
    file_digest,
    is_archive_name,
    open_log,
    open_member_raw,
)
from .errors import ErrorLocation, InputError
from .model import Analysis, OomEvent, SourceInfo
from .units import human_kib

if TYPE_CHECKING:
    import pandas

INDEX_SCHEMA_VERSION = 1
DEFAULT_INDEX = ".oomlens-index.sqlite"
UNIT_BYTES = 8 << 20  # small archive members are sent to a worker in batches of about this
UNIT_MEMBERS = 64
DEDUP_UPTIME_S = 1.0  # the same kernel line, stamped in several files
DEDUP_WALLCLOCK_S = 2.0  # syslog shows whole seconds
DEDUP_BOOT_S = 120.0  # boot time estimates (wallclock - uptime) of one boot agree this well
_TZ_STEP_S = 900.0  # UTC offsets are multiples of 15 minutes

Row = dict[str, Any]

# --------------------------------------------------------------------------- schema

# (column, pandas dtype, meaning); docs/batch.md documents the same list.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("host", "string"),
    ("host_from", "string"),  # "log", "hostname_file", "path" or None
    ("wallclock", "string"),
    ("uptime_s", "Float64"),
    ("kernel", "string"),
    ("kind", "string"),
    ("constraint", "string"),
    ("memcg_limit_path", "string"),
    ("memcg_victim_path", "string"),
    ("pod_uid", "string"),
    ("container_id", "string"),
    ("systemd_unit", "string"),
    ("trigger_comm", "string"),
    ("trigger_pid", "Int64"),
    ("victim_comm", "string"),
    ("victim_pid", "Int64"),
    ("victim_anon_rss_kib", "Int64"),
    ("victim_file_rss_kib", "Int64"),
    ("victim_shmem_rss_kib", "Int64"),
    ("victim_total_vm_kib", "Int64"),
    ("memcg_usage_kib", "Int64"),
    ("memcg_limit_kib", "Int64"),
    ("swap_total_kib", "Int64"),
    ("swap_free_kib", "Int64"),
    ("cause", "string"),
    ("severity", "string"),
    ("complete", "boolean"),
    ("sources", "object"),
    ("source_path", "string"),
    ("source_line", "Int64"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


# --------------------------------------------------------------------------- cgroup paths

_POD_CGROUPFS = re.compile(
    r"/pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?=/|$)"
)
_POD_SYSTEMD = re.compile(
    r"-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice(?=/|$)"
)
_CONTAINER = re.compile(
    r"(?:^|/)(?:(?:docker|cri-containerd|crio|containerd|libpod)-)?([0-9a-f]{64})(?:\.scope)?(?=/|$)"
)
_UNIT = re.compile(r"[^/]+\.(?:service|scope)(?=/|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class CgroupInfo:
    pod_uid: str | None = None
    container_id: str | None = None
    systemd_unit: str | None = None


def parse_cgroup(path: str | None) -> CgroupInfo:
    """Kubernetes pod uid, container id and systemd unit named by a cgroup path.

    ``/kubepods/burstable/pod<uid>/<64 hex>`` (cgroupfs driver),
    ``/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid with _>.slice/
    cri-containerd-<64 hex>.scope`` (systemd driver), ``/system.slice/docker-<64 hex>.scope``,
    ``/system.slice/nginx.service``.
    """
    if not path:
        return CgroupInfo()
    pod: str | None = None
    if match := _POD_CGROUPFS.search(path):
        pod = match[1]
    elif match := _POD_SYSTEMD.search(path):
        pod = match[1].replace("_", "-")
    containers = _CONTAINER.findall(path)
    units = _UNIT.findall(path)
    return CgroupInfo(
        pod_uid=pod,
        container_id=containers[-1] if containers else None,
        systemd_unit=units[-1] if units else None,
    )


# --------------------------------------------------------------------------- rows


def event_row(event: OomEvent, cause: str | None, severity: str | None) -> Row:
    """One event from one source as a plain row (before host attribution and merging).

    The victim comes from the kill line, e.g. ``Out of memory: Killed process 4242 (java)
    total-vm:8388608kB, anon-rss:4194304kB, file-rss:1024kB, shmem-rss:0kB, UID:1000
    pgtables:8400kB oom_score_adj:0`` (else from the selection ``Out of memory: Kill process
    4242 (java) score 912 or sacrifice child``); cgroups from ``oom-kill:constraint=
    CONSTRAINT_MEMCG,...,oom_memcg=/kubepods/burstable/pod<uid>,task_memcg=/kubepods/
    burstable/pod<uid>/<id>,task=java,pid=4242,uid=1000`` and the ``Memory cgroup out of
    memory`` / ``memory: usage 1048576kB, limit 1048576kB, failcnt 12`` lines."""
    kill = event.kills[0] if event.kills else None
    victim_pid = kill.pid if kill is not None else None
    victim_comm = kill.comm if kill is not None else None
    if kill is None and event.selected is not None:
        victim_pid, victim_comm = event.selected.pid, event.selected.comm
    memcg = event.memcg
    victim_path = memcg.victim_path if memcg is not None else None
    if victim_path is None and event.summary is not None:
        victim_path = event.summary.task_memcg
    limit_path = memcg.limit_path if memcg is not None else None
    cgroup = parse_cgroup(victim_path or limit_path)
    return {
        "host": None,
        "host_from": None,
        "wallclock": event.time.wallclock,
        "uptime_s": event.time.uptime_s,
        "kernel": event.kernel_release,
        "kind": str(event.kind),
        "constraint": event.constraint,
        "memcg_limit_path": limit_path,
        "memcg_victim_path": victim_path,
        "pod_uid": cgroup.pod_uid,
        "container_id": cgroup.container_id,
        "systemd_unit": cgroup.systemd_unit,
        "trigger_comm": event.trigger.comm,
        "trigger_pid": event.trigger.pid,
        "victim_comm": victim_comm,
        "victim_pid": victim_pid,
        "victim_anon_rss_kib": kill.anon_rss_kib if kill is not None else None,
        "victim_file_rss_kib": kill.file_rss_kib if kill is not None else None,
        "victim_shmem_rss_kib": kill.shmem_rss_kib if kill is not None else None,
        "victim_total_vm_kib": kill.total_vm_kib if kill is not None else None,
        "memcg_usage_kib": memcg.usage_kib if memcg is not None else None,
        "memcg_limit_kib": memcg.limit_kib if memcg is not None else None,
        "swap_total_kib": event.swap_total_kib,
        "swap_free_kib": event.swap_free_kib,
        "cause": cause,
        "severity": severity,
        "complete": event.complete,
        "sources": [f"{event.source.path}:{event.source.first_line}"],
        "source_path": event.source.path,
        "source_line": event.source.first_line,
        "log_host": event.host,
        "report_lines": len(event.lines),
    }


def analysis_rows(analysis: Analysis) -> list[Row]:
    """One row per event, with the primary cause and severity from ``analysis.explained``
    (aligned with the events) when the rules engine filled it; None otherwise."""
    explained = analysis.explained
    rows = []
    for i, event in enumerate(analysis.events):
        primary = explained[i].primary if i < len(explained) else None
        rows.append(
            event_row(
                event,
                str(primary.cause) if primary is not None else None,
                str(primary.severity) if primary is not None else None,
            )
        )
    return rows


def _rows(events: list[OomEvent], info: SourceInfo) -> list[Row]:
    """Rows of one log's events, each explained by the rules (in the worker)."""
    explained, _ = explain_events(events)
    analysis = Analysis(sources=(info,), events=tuple(events), diagnostics=(), explained=explained)
    return analysis_rows(analysis)


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkUnit:
    """One input file, or a batch of small archive members (their bytes included)."""

    members: tuple[Member, ...]
    max_member_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberResult:
    display: str
    rows: tuple[Row, ...]
    failure: str | None = None  # why the member failed (rows read before damage are kept)
    lines: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitResult:
    results: tuple[MemberResult, ...]
    peak_rss_kib: int  # of the worker process, so far
    raw_bytes: int
    pid: int = 0  # of the worker process (peaks are kept per worker)


def _year(mtime: float | None) -> int | None:
    return time.localtime(mtime).tm_year if mtime is not None else None


def analyze_member(member: Member, max_member_bytes: int) -> MemberResult:
    """Analyse one log (a file or an archive member)."""
    plain_file = member.data is None and not member.locator.steps
    try:
        with ExitStack() as stack:
            raw = stack.enter_context(open_member_raw(member))
            opened = open_log(
                raw,
                member.display,
                stack,
                max_member_bytes,
                file_path=member.locator.top if plain_file else None,
            )
            events, info, _diagnostics = analyze_stream(
                opened.stream,
                member.display,
                year=_year(member.mtime),
                compression=opened.compression,
            )
    except PartialInputError as exc:
        if exc.message.startswith(LIMIT_MESSAGE):
            return MemberResult(display=member.display, rows=(), failure=exc.message)
        rows = _rows(exc.events, exc.info)
        return MemberResult(
            display=member.display, rows=tuple(rows), failure=exc.message, lines=exc.info.lines
        )
    except InputError as exc:
        return MemberResult(display=member.display, rows=(), failure=exc.message)
    rows = _rows(events, info)
    return MemberResult(display=member.display, rows=tuple(rows), lines=info.lines)


def analyze_unit(unit: WorkUnit) -> UnitResult:
    """Worker entry point (process pool and Dask): plain, picklable results only."""
    import resource

    results = tuple(analyze_member(m, unit.max_member_bytes) for m in unit.members)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    raw = sum(m.size_bytes or 0 for m in unit.members)
    return UnitResult(results=results, peak_rss_kib=peak, raw_bytes=raw, pid=os.getpid())


# --------------------------------------------------------------------------- executors


class _Handle(Protocol):
    def result(self) -> UnitResult: ...


class _Runner(Protocol):
    slots: int

    def submit(self, unit: WorkUnit) -> _Handle: ...

    def first_done(self, handles: Sequence[_Handle]) -> int:
        """Index of the earliest submitted handle that has finished (blocks until one has)."""
        ...

    def close(self) -> None: ...


@dataclass(slots=True)
class _Done:
    value: UnitResult

    def result(self) -> UnitResult:
        return self.value


class _InProcess:
    slots = 1

    def submit(self, unit: WorkUnit) -> _Handle:
        return _Done(analyze_unit(unit))

    def first_done(self, handles: Sequence[_Handle]) -> int:
        return 0

    def close(self) -> None:
        pass


def _first_done(handles: Sequence[_Handle], wait: Callable[[list[Any]], Iterable[Any]]) -> int:
    done = {id(h) for h in handles if cast(Any, h).done()}
    if not done:
        done = {id(h) for h in wait(list(handles))}
    return next(i for i, h in enumerate(handles) if id(h) in done)


# A two-line report: analysing it builds the cached line classifier and Lark parser.
_WARM_UP = (
    "bash invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, "
    "oom_score_adj=0\n"
    "Out of memory: Killed process 1 (bash) total-vm:4kB, anon-rss:0kB, file-rss:0kB, "
    "shmem-rss:0kB, UID:0 pgtables:0kB oom_score_adj:0\n"
)


class _Pool:
    def __init__(self, jobs: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from .api import analyze_text

        # built once here, inherited by every forked worker (~0.2 s each otherwise)
        analyze_text(_WARM_UP)
        self.slots = jobs * 2
        self._pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("fork")
        )

    def submit(self, unit: WorkUnit) -> _Handle:
        return self._pool.submit(analyze_unit, unit)

    def first_done(self, handles: Sequence[_Handle]) -> int:
        from concurrent.futures import FIRST_COMPLETED, wait

        return _first_done(handles, lambda fs: wait(fs, return_when=FIRST_COMPLETED).done)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    def __init__(self, address: str) -> None:
        from distributed import Client

        self._client = Client(address)  # type: ignore[no-untyped-call]
        workers = self._client.scheduler_info().get("workers", {})
        threads = sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1
        self.slots = threads * 2

    def submit(self, unit: WorkUnit) -> _Handle:
        # the bytes go straight to a worker, not through the scheduler's task graph
        data = self._client.scatter(unit, hash=False)  # type: ignore[no-untyped-call]
        return self._client.submit(analyze_unit, data, pure=False)

    def first_done(self, handles: Sequence[_Handle]) -> int:
        from distributed import wait

        return _first_done(
            handles,
            lambda fs: wait(fs, return_when="FIRST_COMPLETED").done,  # type: ignore[no-untyped-call]
        )

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------- index


@dataclass(frozen=True, slots=True)
class _ArchiveRecord:
    members: list[tuple[str, tuple[tuple[str, str], ...]]]  # (display, scopes)
    rows: dict[str, list[Row]]
    hints: list[HostnameHint]


class Index:
    """Per input file/member: size, mtime, blake2b of the raw bytes and the rows found.

    Rows are stored before host attribution and merging, so a re-run rebuilds the same table
    from stored and fresh rows. The whole index is dropped when its schema version or the
    oomlens version differs from the running one.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            self._open(os.fspath(path))
        except sqlite3.Error as exc:
            raise InputError(
                f"the index cannot be used ({exc}); remove it or run with --no-index",
                ErrorLocation(os.fspath(path)),
            ) from exc
        self._known: dict[tuple[str, str], _ArchiveRecord] = {}

    def _open(self, path: str) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        wanted = {"schema_version": str(INDEX_SCHEMA_VERSION), "oomlens_version": __version__}
        if any(meta.get(k) != v for k, v in wanted.items()):
            self._db.execute("DROP TABLE IF EXISTS inputs")
            self._db.execute("DROP TABLE IF EXISTS archives")
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", wanted.items()
            )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS inputs (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime REAL, digest TEXT, rows TEXT NOT NULL, lines INTEGER, analysed_at REAL)"
        )
        # a top-level archive read without any problem: what it gave, so an unchanged one
        # (same size and mtime, same walk options) need not even be decompressed again
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS archives (path TEXT, root TEXT, size INTEGER, "
            "mtime_ns INTEGER, options TEXT, members TEXT NOT NULL, hints TEXT NOT NULL, "
            "PRIMARY KEY (path, root))"
        )
        self._db.commit()

    def known_archive(
        self, path: str, root: str | None, info: os.stat_result, options: str
    ) -> bool:
        """Whether ``path`` is unchanged since it was last read completely and every member
        it gave is still stored; the record is kept for :meth:`archive_record`."""
        found = self._db.execute(
            "SELECT size, mtime_ns, options, members, hints FROM archives "
            "WHERE path = ? AND root = ?",
            (path, root or ""),
        ).fetchone()
        if found is None or (found[0], found[1], found[2]) != (
            info.st_size,
            info.st_mtime_ns,
            options,
        ):
            return False
        members = [(d, tuple(tuple(x) for x in scopes)) for d, scopes in json.loads(found[3])]
        rows: dict[str, list[Row]] = {}
        for display, _scopes in members:
            stored = self._db.execute(
                "SELECT rows FROM inputs WHERE path = ?", (display,)
            ).fetchone()
            if stored is None:
                return False
            rows[display] = json.loads(stored[0])
        hints = [HostnameHint(**h) for h in json.loads(found[4])]
        self._known[(path, root or "")] = _ArchiveRecord(members, rows, hints)
        return True

    def archive_record(self, path: str, root: str | None) -> _ArchiveRecord:
        return self._known.pop((path, root or ""))

    def store_archive(
        self,
        path: str,
        root: str | None,
        info: os.stat_result,
        options: str,
        members: list[tuple[str, tuple[tuple[str, str], ...]]],
        hints: list[HostnameHint],
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO archives (path, root, size, mtime_ns, options, members, "
            "hints) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                path,
                root or "",
                info.st_size,
                info.st_mtime_ns,
                options,
                json.dumps(members),
                json.dumps(
                    [
                        {"container": h.container, "directory": h.directory, "hostname": h.hostname}
                        for h in hints
                    ]
                ),
            ),
        )

    def lookup(self, member: Member) -> tuple[list[Row] | None, str | None]:
        """(stored rows if the member is unchanged, else None; the member's digest)."""
        found = self._db.execute(
            "SELECT size, mtime, digest, rows FROM inputs WHERE path = ?", (member.display,)
        ).fetchone()
        digest = member.digest
        if member.data is None and not member.locator.steps:
            # a plain file: same size and mtime is taken as unchanged (like make and rsync);
            # else its bytes decide
            if found is not None and found[0] == member.size_bytes and found[1] == member.mtime:
                return json.loads(found[3]), found[2]
            digest = file_digest(member.locator.top)
        if found is not None and digest is not None and found[0] == member.size_bytes:
            if found[2] == digest:
                self._db.execute(
                    "UPDATE inputs SET mtime = ? WHERE path = ?", (member.mtime, member.display)
                )
                return json.loads(found[3]), digest
        return None, digest

    def store(self, member: Member, digest: str | None, result: MemberResult) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO inputs (path, size, mtime, digest, rows, lines, analysed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                member.display,
                member.size_bytes,
                member.mtime,
                digest,
                json.dumps(list(result.rows), separators=(",", ":")),
                result.lines,
                time.time(),
            ),
        )

    def close(self) -> None:
        self._db.commit()
        self._db.close()


# --------------------------------------------------------------------------- progress


class _Progress:
    """A one-line bar on a terminal (stderr); plain count lines every few seconds otherwise."""

    def __init__(self, walker: Walker, enabled: bool) -> None:
        self._walker = walker
        self._enabled = enabled
        self._tty = enabled and sys.stderr.isatty()
        self._last = 0.0
        self.analysed = 0
        self.cached = 0
        self.bad = 0

    def update(self, *, final: bool = False) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self._tty else 5.0):
            return
        self._last = now
        done, total = self._walker.bytes_done, max(self._walker.bytes_total, 1)
        counts = f"{self.analysed} analysed, {self.cached} from index, {self.bad} bad"
        if self._tty:
            width = 24
            filled = min(width, done * width // total)
            bar = "#" * filled + "." * (width - filled)
            end = "\n" if final else ""
            sys.stderr.write(
                f"\roomlens batch [{bar}] {done / 1e6:.0f}/{total / 1e6:.0f} MB, {counts}{end}"
            )
        else:
            sys.stderr.write(f"oomlens batch: {done / 1e6:.0f}/{total / 1e6:.0f} MB, {counts}\n")
        sys.stderr.flush()


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    rows: tuple[Row, ...]  # one per merged event, COLUMN_NAMES keys, in table order
    bad: tuple[BadInput, ...]  # refused or failed inputs, in walk order
    members: int  # logs found
    analysed: int  # logs analysed in this run
    cached: int  # logs whose rows came from the index
    source_rows: int  # rows before merging
    peak_worker_rss_kib: int | None  # largest worker peak RSS seen (None: nothing analysed)
    raw_bytes: int  # raw bytes of the logs analysed in this run
    archives_from_index: int = 0  # unchanged top-level archives not read at all
    worker_peaks_rss_kib: tuple[int, ...] = ()  # peak RSS of each worker process, largest first

    def frame(self) -> pandas.DataFrame:
        return to_frame(self.rows)


@dataclass(slots=True)
class _State:
    # in walk order, whatever order the workers finish in (keys are entered at submit)
    rows_by_member: dict[str, list[Row]] = field(default_factory=dict)
    scopes: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    bad: list[tuple[int, BadInput]] = field(default_factory=list)  # (walk position, input)
    walked: int = 0  # items the walk gave so far
    analysed: int = 0
    cached: int = 0
    peak: int | None = None
    peaks: dict[int, int] = field(default_factory=dict)  # worker pid -> its peak RSS
    raw_bytes: int = 0
    tops: dict[str, str] = field(default_factory=dict)  # member display -> top-level path
    known_archives: int = 0


def run_batch(
    paths: Sequence[str],
    *,
    jobs: int | None = None,
    dask: str | None = None,
    globs: Sequence[str] = (),
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
    index: str | os.PathLike[str] | None = None,
    progress: bool = False,
    on_bad: Callable[[BadInput], None] | None = None,
) -> BatchResult:
    """Analyse every log under ``paths`` (files, directories, archives).

    ``jobs``: local worker processes (default: the usable CPUs; 1 runs in this process).
    ``dask``: a Dask scheduler address; the work runs there instead. ``index``: SQLite file of
    the incremental index (None: no index).
    """
    options = WalkOptions(
        globs=tuple(globs), max_member_bytes=max_member_bytes, hash_members=index is not None
    )
    # what an archive gives depends on these; a stored archive is reused only when they match
    walk_key = json.dumps([sorted(options.globs), max_member_bytes, options.max_depth])
    store = Index(index) if index is not None else None
    if store is not None:
        known = store.known_archive
        options.known_archive = lambda path, root, info: known(path, root, info, walk_key)
    walker = Walker(options=options)
    state = _State()
    bar = _Progress(walker, progress)
    runner: _Runner
    if dask is not None:
        runner = _Dask(dask)
    else:
        jobs = jobs or usable_cpus()
        runner = _InProcess() if jobs <= 1 else _Pool(jobs)
    # units in flight: the parent collects whichever finishes first, so one long unit does
    # not stall the walk while the other workers run dry
    pending: list[tuple[_Handle, dict[str, tuple[Member, str | None, int]]]] = []

    def bad(item: BadInput, position: int | None = None) -> None:
        state.bad.append((state.walked if position is None else position, item))
        bar.bad += 1
        if on_bad is not None:
            on_bad(item)

    def collect(handle: _Handle, members: dict[str, tuple[Member, str | None, int]]) -> None:
        outcome = handle.result()
        state.peak = max(state.peak or 0, outcome.peak_rss_kib)
        state.peaks[outcome.pid] = max(state.peaks.get(outcome.pid, 0), outcome.peak_rss_kib)
        state.raw_bytes += outcome.raw_bytes
        for result in outcome.results:
            member, digest, position = members[result.display]
            state.rows_by_member[result.display] = list(result.rows)
            state.analysed += 1
            bar.analysed += 1
            if result.failure is not None:
                bad(BadInput(path=result.display, message=result.failure), position)
            elif store is not None:
                store.store(member, digest, result)
        bar.update()

    def submit(batch: list[tuple[Member, str | None, int]]) -> None:
        if not batch:
            return
        unit = WorkUnit(members=tuple(m for m, _, _ in batch), max_member_bytes=max_member_bytes)
        for member, _, _ in batch:
            state.rows_by_member[member.display] = []
        pending.append((runner.submit(unit), {m.display: (m, d, p) for m, d, p in batch}))
        batch.clear()
        while len(pending) > runner.slots:
            collect(*pending.pop(runner.first_done([h for h, _ in pending])))

    try:
        batch: list[tuple[Member, str | None, int]] = []
        batch_bytes = 0
        for item in walker.walk(paths):
            state.walked += 1
            if isinstance(item, BadInput):
                bad(item)
                bar.update()
                continue
            if isinstance(item, KnownArchive):
                assert store is not None  # only an index recognises archives
                record = store.archive_record(item.path, item.root)
                state.known_archives += 1
                walker.hostnames.extend(record.hints)
                for display, scopes in record.members:
                    state.scopes[display] = scopes
                    state.tops[display] = item.path
                    state.rows_by_member[display] = record.rows[display]
                    state.cached += 1
                    bar.cached += 1
                bar.update()
                continue
            if item.display in state.scopes:
                continue  # the same path given twice
            state.scopes[item.display] = item.scopes
            state.tops[item.display] = item.locator.top
            digest = item.digest
            if store is not None:
                try:
                    stored, digest = store.lookup(item)
                except OSError as exc:
                    bad(BadInput(path=item.display, message=f"cannot read: {exc.strerror}"))
                    continue
                if stored is not None:
                    state.rows_by_member[item.display] = stored
                    state.cached += 1
                    bar.cached += 1
                    bar.update()
                    continue
            if item.data is None:
                submit([(item, digest, state.walked)])
                continue
            batch.append((item, digest, state.walked))
            batch_bytes += len(item.data)
            if batch_bytes >= UNIT_BYTES or len(batch) >= UNIT_MEMBERS:
                submit(batch)
                batch_bytes = 0
        submit(batch)
        while pending:
            collect(*pending.pop(runner.first_done([h for h, _ in pending])))
        if store is not None:
            _store_archives(store, walker, state, walk_key)
    finally:
        runner.close()
        if store is not None:
            store.close()
    bar.update(final=True)
    source_rows = [row for rows in state.rows_by_member.values() for row in rows]
    hosts = _HostResolver(walker, state.scopes)
    for display, rows in state.rows_by_member.items():
        for row in rows:
            hosts.attribute(row, display)
    merged = merge_rows(source_rows)
    return BatchResult(
        rows=tuple(merged),
        bad=tuple(item for _, item in sorted(state.bad, key=lambda b: b[0])),
        members=len(state.scopes),
        analysed=state.analysed,
        cached=state.cached,
        source_rows=len(source_rows),
        peak_worker_rss_kib=state.peak,
        raw_bytes=state.raw_bytes,
        archives_from_index=state.known_archives,
        worker_peaks_rss_kib=tuple(sorted(state.peaks.values(), reverse=True)),
    )


def _store_archives(store: Index, walker: Walker, state: _State, walk_key: str) -> None:
    """Record each top-level archive read in this run without any bad member."""
    failed = {b.path.split("!", 1)[0] for _, b in state.bad}
    members: dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]] = {}
    for display, top in state.tops.items():
        members.setdefault(top, []).append((display, state.scopes[display]))
    for path, root, info in walker.archives:
        if path in failed:
            continue
        hints = [
            h for h in walker.hostnames if h.container == path or h.container.startswith(path + "!")
        ]
        store.store_archive(path, root, info, walk_key, members.get(path, []), hints)


# --------------------------------------------------------------------------- hosts

_GENERIC_DIRS = frozenset(
    {
        "var",
        "log",
        "logs",
        "etc",
        "journal",
        "run",
        "tmp",
        "sos_commands",
        "archive",
        "archives",
        "backup",
        "export",
        "data",
        "root",
        "srv",
        "opt",
        "usr",
        "home",
    }
)
_MACHINE_ID = re.compile(r"[0-9a-f]{32}")
_NO_HOST = frozenset({"localhost", "localhost.localdomain", "(none)", "-"})


class _HostResolver:
    """host: the log's host field, else the tree's hostname file, else the path."""

    def __init__(self, walker: Walker, scopes: dict[str, tuple[tuple[str, str], ...]]) -> None:
        self._hints = {(h.container, h.directory): h.hostname for h in walker.hostnames}
        self._scopes = scopes

    def attribute(self, row: Row, display: str) -> None:
        log_host = row.get("log_host")
        if log_host and log_host.lower() not in _NO_HOST:
            row["host"], row["host_from"] = log_host, "log"
            return
        scopes = self._scopes.get(display, ())
        name = self._from_hostname_file(scopes)
        if name is not None:
            row["host"], row["host_from"] = name, "hostname_file"
            return
        name = _host_from_path(scopes)
        row["host"], row["host_from"] = (name, "path") if name else (None, None)

    def _from_hostname_file(self, scopes: Iterable[tuple[str, str]]) -> str | None:
        for container, rel in scopes:
            parts = rel.split("/")[:-1]
            for depth in range(len(parts), -1, -1):
                name = self._hints.get((container, "/".join(parts[:depth])))
                if name is not None:
                    return name
        return None


def _host_from_path(scopes: Iterable[tuple[str, str]]) -> str | None:
    """A top directory named after the host (``web1/var/log/syslog``), else an archive named
    after it (``web1.tar.gz``)."""
    for container, rel in scopes:
        parts = rel.split("/")
        top = parts[0]
        if len(parts) >= 2 and top.lower() not in _GENERIC_DIRS and not _MACHINE_ID.fullmatch(top):
            return top
        base = container.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
        if is_archive_name(base):
            stem = archive_stem(base)
            if stem and stem.lower() not in _GENERIC_DIRS:
                return stem
    return None


# --------------------------------------------------------------------------- merging


def _epoch(wallclock: str | None) -> tuple[float, bool] | None:
    """(seconds, tz shown) of an ISO wall clock; a wall clock without zone counts as UTC."""
    if not wallclock:
        return None
    try:
        moment = datetime.fromisoformat(wallclock)
    except ValueError:
        return None
    aware = moment.tzinfo is not None
    return (moment if aware else moment.replace(tzinfo=UTC)).timestamp(), aware


def _close(a: tuple[float, bool], b: tuple[float, bool], tolerance: float) -> bool:
    delta = abs(a[0] - b[0])
    if a[1] == b[1]:
        return delta <= tolerance
    # one file shows UTC, another local time without a zone: off by a whole UTC offset
    rest = delta % _TZ_STEP_S
    return min(rest, _TZ_STEP_S - rest) <= tolerance and delta <= 14 * 3600 + tolerance


@dataclass(slots=True)
class _Seen:
    uptime: float | None
    wall: tuple[float, bool] | None
    boot: tuple[float, bool] | None
    rows: list[Row]
    paths: set[str]


def _same_event(a: _Seen, row: Row, wall: tuple[float, bool] | None) -> bool:
    if row["source_path"] in a.paths:
        return False  # one file never reports one event twice
    uptime = row["uptime_s"]
    if a.uptime is not None and uptime is not None:
        if abs(a.uptime - uptime) > DEDUP_UPTIME_S:
            return False
        boot = (wall[0] - uptime, wall[1]) if wall is not None else None
        return a.boot is None or boot is None or _close(a.boot, boot, DEDUP_BOOT_S)
    if a.wall is not None and wall is not None:
        return _close(a.wall, wall, DEDUP_WALLCLOCK_S)
    return False


def _host_key(host: str | None) -> str:
    return (host or "").split(".", 1)[0].lower()


def merge_rows(rows: Iterable[Row]) -> list[Row]:
    """One row per OOM: the same report found in kern.log, syslog, messages and the journal
    of one host (same host, boot, uptime within a second, victim or trigger pid and comm;
    the wall clock when no uptime was printed) becomes one row listing every source. The row
    kept is the most complete copy."""
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        pid = row["victim_pid"] if row["victim_pid"] is not None else row["trigger_pid"]
        comm = row["victim_comm"] if row["victim_comm"] is not None else row["trigger_comm"]
        groups.setdefault((_host_key(row["host"]), pid, comm), []).append(row)
    merged: list[Row] = []
    for group in groups.values():
        group.sort(key=_source_order)
        seen: list[_Seen] = []
        for row in group:
            wall = _epoch(row["wallclock"])
            match = next((s for s in seen if _same_event(s, row, wall)), None)
            if match is None:
                uptime = row["uptime_s"]
                boot = (wall[0] - uptime, wall[1]) if wall and uptime is not None else None
                seen.append(_Seen(uptime, wall, boot, [row], {row["source_path"]}))
            else:
                match.rows.append(row)
                match.paths.add(row["source_path"])
                if match.boot is None and wall is not None and row["uptime_s"] is not None:
                    match.boot = (wall[0] - row["uptime_s"], wall[1])
                match.wall = match.wall or wall
        merged.extend(_representative(s.rows) for s in seen)
    merged.sort(key=_table_order)
    return merged


def _source_order(row: Row) -> tuple[Any, ...]:
    uptime = row["uptime_s"]
    return (uptime is None, uptime or 0.0, row["source_path"], row["source_line"])


def _representative(rows: list[Row]) -> Row:
    # max() keeps the first of equals: in path order, whatever order the files were read in
    best = max(
        sorted(rows, key=lambda r: (r["source_path"], r["source_line"])),
        key=lambda r: (
            bool(r["complete"]),
            r.get("report_lines") or 0,
            r["host_from"] == "log",
            r["wallclock"] is not None,
        ),
    )
    out = {name: best.get(name) for name in COLUMN_NAMES}
    own = f"{best['source_path']}:{best['source_line']}"
    others = sorted({s for r in rows for s in r["sources"]} - {own})
    out["sources"] = [own, *others]
    for name in ("cause", "severity", "kernel"):
        if out[name] is None:  # a shorter copy may still have it
            out[name] = next((r[name] for r in rows if r[name] is not None), None)
    return out


def _table_order(row: Row) -> tuple[Any, ...]:
    wall = _epoch(row["wallclock"])
    uptime = row["uptime_s"]
    return (
        row["host"] is None,
        row["host"] or "",
        wall is None,
        wall[0] if wall else 0.0,
        uptime is None,
        uptime or 0.0,
        row["source_path"],
        row["source_line"],
    )


# --------------------------------------------------------------------------- table


def to_frame(rows: Iterable[Row]) -> pandas.DataFrame:
    """The table (one row per event; columns and dtypes as in ``COLUMNS``)."""
    import pandas as pd

    records = [{name: row.get(name) for name in COLUMN_NAMES} for row in rows]
    data = {
        name: pd.Series([r[name] for r in records], dtype=dtype if dtype != "object" else object)
        for name, dtype in COLUMNS
    }
    return pd.DataFrame(data, columns=list(COLUMN_NAMES))


FORMATS = ("parquet", "csv", "jsonl")
_FORMAT_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def format_for(path: str | os.PathLike[str]) -> str | None:
    return _FORMAT_SUFFIXES.get(Path(path).suffix.lower())


def write_table(frame: pandas.DataFrame, output: str | os.PathLike[str] | Any, fmt: str) -> None:
    """Parquet (``sources`` as a list column), CSV (``sources`` as a JSON array) or JSON
    Lines (``sources`` a list). ``output`` is a path or a text stream (not for Parquet)."""
    if fmt == "parquet":
        frame.to_parquet(output, index=False, engine="pyarrow")
    elif fmt == "csv":
        flat = frame.copy()
        # a JSON array: paths may hold spaces and commas
        flat["sources"] = [json.dumps(list(s), ensure_ascii=False) for s in flat["sources"]]
        flat.to_csv(output, index=False)
    elif fmt == "jsonl":
        text = "".join(
            json.dumps(_plain(record), ensure_ascii=False) + "\n"
            for record in frame.to_dict(orient="records")
        )
        if isinstance(output, str | os.PathLike):
            Path(output).write_text(text, encoding="utf-8")
        else:
            output.write(text)
    else:
        raise ValueError(f"unknown table format {fmt!r}; expected one of {FORMATS}")


def _plain(record: dict[Any, Any]) -> dict[str, Any]:
    import pandas as pd

    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, list):
            out[str(key)] = value
        elif value is None or value is pd.NA or (isinstance(value, float) and value != value):
            out[str(key)] = None
        elif hasattr(value, "item"):
            out[str(key)] = value.item()
        else:
            out[str(key)] = value
    return out


# --------------------------------------------------------------------------- fleet summary


def summary_context(result: BatchResult, top: int = 15) -> dict[str, Any]:
    """The view-model of the fleet summary (both templates render this)."""
    rows = result.rows
    per_host = Counter(r["host"] or "(unknown)" for r in rows)
    per_cause = Counter(r["cause"] or "(not explained)" for r in rows)
    per_victim = Counter(r["victim_comm"] or "(none)" for r in rows if r["kind"] == "oom_kill")
    repeats = Counter((r["host"], r["victim_comm"]) for r in rows if r["victim_comm"])

    def rss(row: Row) -> int:
        return sum(
            row[k] or 0
            for k in ("victim_anon_rss_kib", "victim_file_rss_kib", "victim_shmem_rss_kib")
        )

    worst = sorted(
        rows,
        key=lambda r: (-rss(r), -repeats[(r["host"], r["victim_comm"])], _table_order(r)),
    )[:top]
    return {
        "events": len(rows),
        "hosts": len(per_host),
        "members": result.members,
        "analysed": result.analysed,
        "cached": result.cached,
        "source_rows": result.source_rows,
        "per_host": per_host.most_common(),
        "per_cause": per_cause.most_common(),
        "per_victim": per_victim.most_common(top),
        "timeline": _timeline(rows),
        "worst": [
            {
                "host": r["host"] or "(unknown)",
                "wallclock": r["wallclock"] or "",
                "uptime_s": r["uptime_s"],
                "kind": r["kind"],
                "victim": r["victim_comm"] or "",
                "victim_pid": r["victim_pid"],
                "rss_kib": rss(r),
                "repeats": repeats[(r["host"], r["victim_comm"])] if r["victim_comm"] else 1,
                "cause": r["cause"] or "",
                "cgroup": r["memcg_victim_path"] or r["memcg_limit_path"] or "",
                "source": f"{r['source_path']}:{r['source_line']}",
                "copies": len(r["sources"]),
            }
            for r in worst
        ],
        "bad": [{"path": b.path, "message": b.message} for b in result.bad],
        "version": __version__,
    }


_MAX_BARS = 60


def _buckets(first: datetime, last: datetime) -> tuple[str, str, list[str]]:
    """(unit, strftime format, every bucket label from first to last): the finest of hour,
    day, month, year that needs at most ``_MAX_BARS`` bars, empty ones included."""
    span = last - first
    if span <= timedelta(hours=_MAX_BARS - 1):
        unit, fmt, step = "hour", "%Y-%m-%d %H:00", timedelta(hours=1)
        start = first.replace(minute=0, second=0, microsecond=0)
    elif span <= timedelta(days=_MAX_BARS - 1):
        unit, fmt, step = "day", "%Y-%m-%d", timedelta(days=1)
        start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        months = (last.year - first.year) * 12 + last.month - first.month
        if months < _MAX_BARS:
            labels = []
            year, month = first.year, first.month
            for _ in range(months + 1):
                labels.append(f"{year:04d}-{month:02d}")
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            return "month", "%Y-%m", labels
        return "year", "%Y", [str(y) for y in range(first.year, last.year + 1)]
    labels = []
    moment = start
    while moment <= last:
        labels.append(moment.strftime(fmt))
        moment += step
    return unit, fmt, labels


def _timeline(rows: Sequence[Row]) -> dict[str, Any]:
    """Events per hour, day, month or year (UTC) as SVG bar geometry, empty periods kept so
    the axis is a time axis."""
    moments = [
        datetime.fromtimestamp(e[0], UTC) for r in rows if (e := _epoch(r["wallclock"])) is not None
    ]
    if not moments:
        return {"bars": [], "unit": None, "width": 0, "height": 0, "max": 0, "undated": len(rows)}
    unit, fmt, labels = _buckets(min(moments), max(moments))
    counts = Counter(m.strftime(fmt) for m in moments)
    top = max(counts.values())
    bar_w, gap, height, label_h = 14, 3, 120, 90
    bars = []
    for i, label in enumerate(labels):
        h = round(counts[label] * height / top)
        x = i * (bar_w + gap) + 30
        bars.append(
            {
                "x": x,
                "y": height - h + 10,
                "w": bar_w,
                "h": h,
                "label": label,
                "count": counts[label],
                "label_x": x + bar_w // 2,
                "label_y": height + 16,
            }
        )
    return {
        "bars": bars,
        "unit": unit,
        "width": len(labels) * (bar_w + gap) + 90,  # room for the last slanted label
        "height": height + 10 + label_h,
        "max": top,
        "undated": len(rows) - len(moments),
    }


def md_escape(value: object) -> str:
    """A Markdown table cell: every character Markdown reads as markup (``|``, backticks,
    ``<``, brackets, ...) escaped, newlines flattened (log text never forms HTML or links)."""
    from .render import md_escape as escape

    return "" if value is None else escape(value)


def render_summary(result: BatchResult, fmt: str) -> str:
    """The fleet summary as ``html`` or ``md``."""
    import jinja2

    from .render import visible_controls
    from .resources import data_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=visible_controls,
    )
    env.filters["md"] = md_escape
    env.filters["kib"] = _kib
    name = "fleet.html.j2" if fmt == "html" else "fleet.md.j2"
    return env.get_template(name).render(**summary_context(result))


def _kib(value: int | None) -> str:
    return human_kib(value, missing="")


def summary_format_for(path: str | os.PathLike[str]) -> str | None:
    suffix = Path(path).suffix.lower()
    return {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}.get(suffix)

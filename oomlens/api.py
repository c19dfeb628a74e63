"""The composed pipeline: inputs -> lines -> report blocks -> OomEvents -> Analysis.

Each stage is also callable alone: ``split_stream`` (splitter), ``build_event`` (grammar and
transformer). The CLI and the tests call these functions.
"""

from __future__ import annotations

import bisect
import gc
import io
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO

from . import handoff, hits, parsing
from .errors import InputError, OomlensError
from .model import (
    Analysis,
    Diagnostic,
    EventKind,
    ExplainedEvent,
    LogLine,
    OomEvent,
    Replay,
    SourceInfo,
)
from .reader import (
    InputRef,
    count_newlines_between,
    expand_inputs,
    open_input,
    open_range,
)
from .splitter import (
    MAX_REPORT_LINES,
    QUIET_BYTES,
    ReportBlock,
    ScanStats,
    quiet_split_point,
    split_stream,
)
from .transform import build_event

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from .engine import RuleSet
    from .facts import LogEvents

INTERNAL_ERROR = "internal error"  # diagnostics of a bug (tests assert there are none)
MAX_EVENTS_PER_FILE = 100_000  # reports parsed per input; the rest are counted (a diagnostic)
REAPER_ATTACH_SECONDS = 60.0  # an oom_reaper line this soon after a kill belongs to it


def events_from_blocks(blocks: Iterable[ReportBlock]) -> tuple[list[OomEvent], list[Diagnostic]]:
    events: list[OomEvent] = []
    diagnostics: list[Diagnostic] = []
    skipped = 0  # reports past MAX_EVENTS_PER_FILE: counted, not parsed
    first_skipped: LogLine | None = None
    for block in blocks:
        if len(events) >= MAX_EVENTS_PER_FILE:
            skipped += 1
            first_skipped = first_skipped or block.lines[0]
            continue
        if block.dropped_lines:
            first = block.lines[0]
            diagnostics.append(
                Diagnostic(
                    path=first.path,
                    line=first.number,
                    message=f"report longer than {MAX_REPORT_LINES:,} lines: "
                    f"the {block.dropped_lines:,} lines after its first "
                    f"{MAX_REPORT_LINES:,} were not parsed",
                )
            )
        try:
            event = build_event(block.lines, block.families)
        except OomlensError as exc:
            first = block.lines[0]
            diagnostics.append(Diagnostic(path=first.path, line=first.number, message=str(exc)))
            continue
        except Exception as exc:  # a parser bug must cost one report, not the whole input
            first = block.lines[0]
            message = f"{INTERNAL_ERROR} while parsing this report: {type(exc).__name__}: {exc}"
            diagnostics.append(Diagnostic(path=first.path, line=first.number, message=message))
            continue
        if events and _is_late_reaper(events[-1], event):
            events[-1] = replace(events[-1], reaps=events[-1].reaps + event.reaps)
            continue
        events.append(event)
    if first_skipped is not None:
        diagnostics.append(
            Diagnostic(
                path=first_skipped.path,
                line=first_skipped.number,
                message=f"more than {MAX_EVENTS_PER_FILE:,} OOM events in this input: the "
                f"{skipped:,} reports from this line on were not parsed",
            )
        )
    for event in events:
        by_number = {line.number: line.text for line in event.lines}
        for number in event.unparsed:
            text = by_number.get(number, "")
            diagnostics.append(
                Diagnostic(
                    path=event.source.path,
                    line=number,
                    message=f"unrecognised line inside an OOM report: {text[:120]!r}",
                )
            )
    return events, diagnostics


def _is_late_reaper(previous: OomEvent, event: OomEvent) -> bool:
    """An oom_reaper line printed after its kill's report was closed."""
    if event.kind is not EventKind.REAPER_ONLY or previous.source.path != event.source.path:
        return False
    if not previous.kills:
        return False
    killed = {kill.pid for kill in previous.kills}
    if any(reap.pid in killed for reap in event.reaps):
        return True
    before, after = previous.lines[-1].uptime_s, event.time.uptime_s
    if before is not None and after is not None:
        return 0 <= after - before <= REAPER_ATTACH_SECONDS
    return event.source.first_line - previous.source.last_line <= 50


def analyze_stream(
    stream: BinaryIO,
    path: str,
    *,
    year: int | None = None,
    compression: str | None = None,
    found: Iterator[hits.Hit] | None = None,
    feed_finder: bool = False,
) -> tuple[list[OomEvent], SourceInfo, list[Diagnostic]]:
    """Analyse one decompressed byte stream (``found``, ``feed_finder``: see ``Scanner``)."""
    blocks, stats = split_stream(stream, path, year=year, found=found, feed_finder=feed_finder)
    failure: list[Diagnostic] = []

    def guarded() -> Iterable[ReportBlock]:
        # damage found mid-stream (corrupt gzip, journalctl failure): keep what came before
        try:
            yield from blocks
        except InputError as exc:
            failure.append(Diagnostic(path=path, line=stats.lines, message=exc.message))

    events, diagnostics = events_from_blocks(guarded())
    diagnostics = stats.diagnostics + diagnostics
    fmt = "journal" if "journal" in (compression or "") else stats.format
    info = account_lines(
        SourceInfo(path=path, format=fmt, compression=compression, lines=stats.lines),
        events,
        diagnostics,
        stats.block_lines,
    )
    if failure:
        raise PartialInputError(failure[0].message, events, info, diagnostics)
    return events, info, diagnostics


def _runs_of(numbers: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in a sorted sequence."""
    for _, run in itertools.groupby(enumerate(numbers), key=lambda pair: pair[1] - pair[0]):
        members = [number for _, number in run]
        yield members[0], members[-1]


def account_lines(
    info: SourceInfo,
    events: Sequence[OomEvent],
    diagnostics: list[Diagnostic],
    block_lines: set[int],
) -> SourceInfo:
    """Attribute every physical line of one input to an event, a diagnostic or noise.

    ``block_lines`` are the lines the splitter put in report blocks. A block line that ended
    in no event and no diagnostic would be lost silently: it gets a diagnostic of its own
    (appended to ``diagnostics``), so the three counts always add up to ``info.lines``.
    """
    in_events: set[int] = set()
    for event in events:
        if event.source.path == info.path:
            in_events.update(line.number for line in event.lines)
            for line in event.lines:
                if line.continued:  # a line joined from several physical lines
                    in_events.update(range(line.number + 1, line.last_number + 1))
    diagnosed = {d.line for d in diagnostics if d.path == info.path and 0 < d.line <= info.lines}
    lost = sorted(block_lines - in_events - diagnosed)
    for first, last in _runs_of(lost):  # one diagnostic per run of consecutive lines
        span = f"line {first}" if first == last else f"lines {first}-{last}"
        diagnostics.append(
            Diagnostic(path=info.path, line=first, message=f"{span}: in a report, kept by no event")
        )
    diagnosed.update(lost)
    event_lines = len(in_events - diagnosed)
    noise = info.lines - len((block_lines | in_events) | diagnosed)
    return replace(
        info, event_lines=event_lines, diagnostic_lines=len(diagnosed), noise_lines=noise
    )


class PartialInputError(InputError):
    """An input failed part-way; carries what was analysed before the damage."""

    def __init__(
        self,
        message: str,
        events: list[OomEvent],
        info: SourceInfo,
        diagnostics: list[Diagnostic],
    ) -> None:
        super().__init__(message)
        self.events = events
        self.info = info
        self.diagnostics = diagnostics


def analyze_text(
    text: str, path: str = "<text>", *, explain: bool = True, rule_dirs: Sequence[str] = ()
) -> Analysis:
    events, info, diagnostics = analyze_stream(io.BytesIO(text.encode("utf-8")), path)
    analysis = Analysis(sources=(info,), events=tuple(events), diagnostics=tuple(diagnostics))
    return explain_analysis(analysis, rule_dirs=rule_dirs) if explain else analysis


PARALLEL_MIN_EVENTS = 32  # fewer events are explained faster than processes start
_SLICE_EVENTS = 16  # events per task handed to an explaining process


def explain_events(
    events: Sequence[OomEvent], *, rule_dirs: Sequence[str] = (), jobs: int = 1
) -> tuple[tuple[ExplainedEvent, ...], list[Diagnostic]]:
    """Replay each event and run the rules over it (the other events of its log give the
    rules their context: kill loops, repeats). ``jobs``: see ``_explained_slices``.

    Raises RuleError when a user rule directory has problems.
    """
    from .engine import load_rules

    explained: list[ExplainedEvent] = []
    diagnostics: list[Diagnostic] = []
    rules = load_rules(extra_dirs=tuple(rule_dirs))
    for part in _explained_slices(events, rules, jobs, as_json=False):
        for event, (outcome, failure) in part:
            assert isinstance(outcome, ExplainedEvent)
            explained.append(outcome)
            if failure:
                diagnostics.append(_unexplained(event, failure))
    return tuple(explained), diagnostics


def explained_json_chunks(
    analysis: Analysis, *, rule_dirs: Sequence[str] = (), jobs: int = 1
) -> tuple[Iterator[str], list[Diagnostic]]:
    """The ``--format json`` document of ``analysis`` with every event explained, the same
    text as ``json_chunks(explain_analysis(analysis))``; made one slice of events at a time,
    in ``jobs`` processes, which send back only each event's JSON text. The list is filled
    with the diagnostics explaining added, once the chunks have been read."""
    from .engine import load_rules
    from .incidents import group_incidents
    from .serialize import document_chunks

    rules = load_rules(extra_dirs=tuple(rule_dirs))  # a RuleError now, not while writing
    analysis = replace(analysis, incidents=group_incidents(analysis.events))
    later: list[Diagnostic] = []

    def texts() -> Iterator[str]:
        for part in _explained_slices(analysis.events, rules, jobs, as_json=True):
            for event, (text, failure) in part:
                assert isinstance(text, str)
                if failure:
                    later.append(_unexplained(event, failure))
                yield text

    return document_chunks(analysis, texts(), lambda: later), later


def _unexplained(event: OomEvent, failure: str) -> Diagnostic:
    return Diagnostic(
        path=event.source.path,
        line=event.source.first_line,
        message=f"could not explain this event: {failure}",
    )


# an event explained (or its JSON text), and why it could not be explained ("" if it was)
_Outcome = tuple[ExplainedEvent | str, str]


def _explain_slice(
    events: Sequence[OomEvent],
    log: LogEvents,
    rules: RuleSet,
    start: int,
    stop: int,
    as_json: bool,
) -> list[_Outcome]:
    from .engine import explain_event
    from .replay import replay
    from .serialize import event_json_text

    outcomes: list[_Outcome] = []
    for event in events[start:stop]:
        failure = ""
        try:
            steps = replay(event)
            findings = explain_event(event, steps, log, rules)
            explained = ExplainedEvent(event=event, replay=steps, findings=findings)
        except Exception as exc:  # one odd event must not cost the others their explanation
            failure = f"{type(exc).__name__}: {exc}"
            explained = ExplainedEvent(event=event, replay=Replay(steps=()))
        outcomes.append((event_json_text(event, explained) if as_json else explained, failure))
    return outcomes


# what forked explaining processes inherit (set only while their pool runs)
_INHERITED: tuple[Sequence[OomEvent], LogEvents, RuleSet] | None = None


def _explain_inherited(start: int, stop: int, as_json: bool) -> list[_Outcome]:
    assert _INHERITED is not None
    events, log, rules = _INHERITED
    return _explain_slice(events, log, rules, start, stop, as_json)


def _explained_slices(
    events: Sequence[OomEvent], rules: RuleSet, jobs: int, *, as_json: bool
) -> Iterator[list[tuple[OomEvent, _Outcome]]]:
    """(event, outcome) for every event, in order, a slice at a time.

    ``jobs`` > 1 and many events: slices are explained in forked processes, which inherit the
    events and rules instead of receiving them; a few slices are in flight at a time, so the
    results waiting here stay few. For JSON only text comes back: pickled events, replays
    and findings cost the parent more to rebuild than explaining them did."""
    global _INHERITED
    from . import replay, serialize  # noqa: F401 - imported here, before any process forks
    from .facts import LogEvents

    log = LogEvents.of(events)
    bounds = list(range(0, len(events), _SLICE_EVENTS)) + [len(events)]
    slices = list(zip(bounds, bounds[1:], strict=False))
    if jobs < 2 or len(events) < PARALLEL_MIN_EVENTS or "fork" not in _start_methods():
        for start, stop in slices:
            part = _explain_slice(events, log, rules, start, stop, as_json)
            yield list(zip(events[start:stop], part, strict=True))
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _INHERITED = (events, log, rules)
    done = 0  # slices handed out so far
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            waiting: deque[Future[list[_Outcome]]] = deque()
            for start, stop in slices:
                waiting.append(pool.submit(_explain_inherited, start, stop, as_json))
                while waiting and (len(waiting) > 2 * jobs or stop == len(events)):
                    first, last = slices[done]
                    yield list(zip(events[first:last], waiting.popleft().result(), strict=True))
                    done += 1
    except (BrokenProcessPool, OSError):  # a process died (memory, a signal): go on here
        for start, stop in slices[done:]:
            part = _explain_slice(events, log, rules, start, stop, as_json)
            yield list(zip(events[start:stop], part, strict=True))
    finally:
        _INHERITED = None


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def explain_analysis(
    analysis: Analysis, *, rule_dirs: Sequence[str] = (), jobs: int = 1
) -> Analysis:
    """The analysis with every event replayed and explained, and its incidents grouped
    (``jobs``: processes for explaining many events)."""
    from .incidents import group_incidents

    explained, diagnostics = explain_events(analysis.events, rule_dirs=rule_dirs, jobs=jobs)
    return replace(
        analysis,
        explained=explained,
        incidents=group_incidents(analysis.events),
        diagnostics=analysis.diagnostics + tuple(diagnostics),
    )


def _year(mtime: float | None) -> int:
    return time.localtime(mtime if mtime is not None else time.time()).tm_year


def analyze_paths(
    paths: Sequence[str],
    *,
    jobs: int | None = None,
    explain: bool = True,
    rule_dirs: Sequence[str] = (),
    alongside: Callable[[], object] | None = None,
) -> Analysis:
    """Analyse files, directories and ``-`` (stdin); a bad input never stops the others.

    ``jobs``: processes for scanning one large plain file (default: the usable CPUs).
    ``explain``: replay the events, run the rules (built-in plus ``rule_dirs``) and group
    incidents. ``alongside``: work for this process to do while worker processes start on
    the pieces of a large file (called at most once, at the first such file): the
    workers take over its share of the pieces.
    """
    refs, diagnostics = expand_inputs(paths)
    todo = [alongside] if alongside is not None else []
    failed = [d.path for d in diagnostics]
    events: list[OomEvent] = []
    sources: list[SourceInfo] = []
    for ref in refs:
        try:
            found, info, diags = _analyze_ref(ref, jobs or usable_cpus(), todo)
        except PartialInputError as exc:
            failed.append(ref.path)
            events.extend(exc.events)
            sources.append(exc.info)
            diagnostics.extend(exc.diagnostics)
            diagnostics.append(Diagnostic(path=ref.path, line=exc.info.lines, message=exc.message))
            continue
        except InputError as exc:
            failed.append(ref.path)
            diagnostics.append(Diagnostic(path=ref.path, line=0, message=exc.message))
            continue
        events.extend(found)
        sources.append(info)
        diagnostics.extend(diags)
    analysis = Analysis(
        sources=tuple(sources),
        events=tuple(events),
        diagnostics=tuple(diagnostics),
        failed_inputs=tuple(failed),
    )
    if not explain:
        return analysis
    return explain_analysis(analysis, rule_dirs=rule_dirs, jobs=jobs or usable_cpus())


def _analyze_ref(
    ref: InputRef, jobs: int, todo: list[Callable[[], object]]
) -> tuple[list[OomEvent], SourceInfo, list[Diagnostic]]:
    with open_input(ref) as opened:
        # a plain regular file (mtime is None for stdin and pipes) can be read in ranges
        if jobs > 1 and opened.compression is None and opened.mtime is not None:
            size = os.path.getsize(opened.path)
            if size >= PARALLEL_MIN_BYTES:
                return analyze_file_parallel(opened.path, size, _year(opened.mtime), jobs, todo)
        plain_file = opened.mtime is not None and opened.compression is None
        if plain_file and (size := os.path.getsize(opened.path)) >= hits.FINDER_MIN_BYTES:
            return _analyze_with_finder(opened.path, size, _year(opened.mtime))
        return analyze_stream(
            opened.stream,
            opened.path,
            year=_year(opened.mtime),
            compression=opened.compression,
            # another CPU can search what this one decompresses or receives
            feed_finder=jobs > 1,
        )


def _analyze_with_finder(
    path: str, size: int, year: int
) -> tuple[list[OomEvent], SourceInfo, list[Diagnostic]]:
    """A plain file in one stream, with a finder when one runs: the scan jumps from hit to
    hit in a range of the file (which can seek)."""
    finder = hits.start_finder(path)
    try:
        with open_range(path, 0, size) as stream:
            found = finder.hits() if finder is not None else None
            return analyze_stream(stream, path, year=year, found=found)
    finally:
        if finder is not None:
            finder.close()


# ----------------------------------------------------------------------- one file, in pieces

PARALLEL_MIN_BYTES = 64 << 20  # below this, starting processes costs more than it saves
_SPLIT_WINDOW = 8 << 20
_SPLIT_TRIES = 8


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def split_pieces(
    path: str,
    size: int,
    parts: int,
    found: Sequence[hits.Hit] | None = None,
    *,
    jobs: int,
) -> list[tuple[int, int]]:
    """Byte ranges covering a plain file, cut at quiet line starts (no report straddles one).

    The work is in the reports, not in the bytes between them: with the finder's hits the
    pieces get shares of the hits (and the quiet points are read off the hits), else of the
    bytes. The shares shrink toward where ``jobs`` processes meet (``_cut_shares``). Where
    no quiet point is found near a target the pieces on both sides are merged.
    """
    shares = _cut_shares(parts, jobs)
    if found:
        targets = [found[min(len(found) - 1, int(len(found) * share))][0] for share in shares]
    else:
        targets = [int(size * share) for share in shares]
    cuts = [0]
    with open(path, "rb", buffering=0) as raw:
        for target in targets:
            if found is not None:
                cut = _quiet_cut_between_hits(raw.fileno(), found, max(target, cuts[-1]), size)
            else:
                cut = _quiet_cut_in_windows(raw.fileno(), target, size)
            if cut is not None and cut > cuts[-1]:
                cuts.append(cut)
    cuts.append(size)
    return list(zip(cuts, cuts[1:], strict=False))


def _cut_shares(parts: int, jobs: int) -> list[float]:
    """Where to cut ``parts`` pieces, as shares of the work: this process scans from the
    front and the ``jobs - 1`` workers from the back, so they meet about ``1 / jobs`` in.
    Piece sizes fall linearly toward that point on both sides, so whoever finishes first
    waits at most for a small piece (with equal pieces it had waited up to two, 0.25 s)."""
    meet = 1 / jobs
    front = max(1, min(parts - 1, round(parts / jobs)))
    back = parts - front
    shares = []
    done = 0
    for weight in range(front, 1, -1):  # front pieces: front, front - 1, ..., 1 parts
        done += weight
        shares.append(meet * done / (front * (front + 1) / 2))
    shares.append(meet)
    done = 0
    for weight in range(1, back):  # back pieces: 1, 2, ..., back parts
        done += weight
        shares.append(meet + (1 - meet) * done / (back * (back + 1) / 2))
    return shares


def _quiet_cut_in_windows(fd: int, target: int, size: int) -> int | None:
    """The first quiet line start the scanner's own patterns find at or after ``target``."""
    for attempt in range(_SPLIT_TRIES):
        start = target + attempt * _SPLIT_WINDOW
        if start + 2 * QUIET_BYTES >= size:
            break
        cut = quiet_split_point(os.pread(fd, _SPLIT_WINDOW, start), start)
        if cut is not None:
            return cut
    return None


_LINE_PROBE = 64 << 10  # read around a hit to find the ends of its line


def _quiet_cut_between_hits(
    fd: int, found: Sequence[hits.Hit], target: int, size: int
) -> int | None:
    """The first line start at or after ``target`` that lies ``QUIET_BYTES`` from the lines
    of the hits on either side (every anchor lies on a line holding a hit), or None within
    the distance the window search would try. A hit whose line is longer than
    ``_LINE_PROBE`` ends no gap: its anchor might lie anywhere on it."""
    index = bisect.bisect_left(found, (target,))
    previous_end = _line_end(fd, found[index - 1][0]) if index > 0 else 0
    limit = target + _SPLIT_TRIES * _SPLIT_WINDOW
    while previous_end is None or previous_end <= limit:
        following = found[index][0] if index < len(found) else size
        if previous_end is not None:
            following_start = _line_start(fd, following) if index < len(found) else size
            at = max(target, previous_end + QUIET_BYTES)
            if following_start is not None and at + QUIET_BYTES < following_start:
                probe = os.pread(fd, _LINE_PROBE, at - 1)
                newline = probe.find(b"\n")
                if newline >= 0 and following_start - (at + newline) >= QUIET_BYTES:
                    return at + newline  # the line start after that newline
        if index >= len(found):
            return None
        previous_end = _line_end(fd, following)
        index += 1
    return None


def _line_end(fd: int, offset: int) -> int | None:
    """The offset of the newline ending the line that holds ``offset`` (None: too far)."""
    probe = os.pread(fd, _LINE_PROBE, offset)
    newline = probe.find(b"\n")
    return offset + newline if newline >= 0 else None


def _line_start(fd: int, offset: int) -> int | None:
    """The start of the line that holds ``offset`` (None: too far back)."""
    start = max(0, offset - _LINE_PROBE)
    newline = os.pread(fd, offset - start, start).rfind(b"\n")
    if newline < 0:
        return 0 if start == 0 else None
    return start + newline + 1


_PieceResult = tuple[list[OomEvent], ScanStats, list[Diagnostic]]
_PieceArgs = tuple[str, int, int, int, list[hits.Hit] | None, int]


class _PieceQueue:
    """Piece indexes handed out from both ends: to this process from the front, to the
    workers from the back, the next one as soon as one of theirs is done."""

    def __init__(self, pool: ProcessPoolExecutor, jobs_args: Sequence[_PieceArgs]) -> None:
        self.pool, self.jobs_args = pool, jobs_args
        self.front, self.back = 0, len(jobs_args)
        self.lock = threading.Lock()
        self.handed_out: dict[int, Future[_PieceResult]] = {}  # complete once front meets back

    def take_front(self) -> int | None:
        with self.lock:
            if self.front >= self.back:
                return None
            self.front += 1
            return self.front - 1

    def hand_out(self, _done: object = None) -> None:
        """Give a worker the last piece nobody has taken (a done-callback of its last)."""
        from concurrent.futures.process import BrokenProcessPool

        with self.lock:
            if self.front >= self.back:
                return
            try:
                future = self.pool.submit(_scan_piece, *self.jobs_args[self.back - 1])
            except (BrokenProcessPool, RuntimeError):  # no worker left: this process scans it
                return
            self.back -= 1
            self.handed_out[self.back] = future
        future.add_done_callback(self.hand_out)


def _scan_piece(
    path: str, start: int, end: int, year: int, found: list[hits.Hit] | None, first_line: int
) -> _PieceResult:
    """One piece of a file, whose first line is ``first_line``; ``found``: the hits in it,
    their offsets relative to ``start``."""
    with open_range(path, start, end) as stream:
        in_piece = iter(found) if found is not None else None
        blocks, stats = split_stream(stream, path, year=year, first_line=first_line, found=in_piece)
        events, diagnostics = events_from_blocks(blocks)
    return events, stats, diagnostics


def _within(found: list[hits.Hit] | None, start: int, end: int) -> list[hits.Hit] | None:
    """The hits in bytes [start, end), their offsets relative to ``start``."""
    if found is None:
        return None
    first, last = bisect.bisect_left(found, (start,)), bisect.bisect_left(found, (end,))
    return [(offset - start, line) for offset, line in found[first:last]]


def _first_lines(path: str, cuts: Sequence[int], found: list[hits.Hit] | None) -> list[int]:
    """The number of the line starting at each cut (a line start) of a plain file: counted
    from the nearest hit the finder numbered, else from the previous cut."""
    numbers = []
    previous_cut, previous_number = 0, 1
    for cut in cuts:
        number = 1 if cut == 0 else None
        if found and number is None:
            after = bisect.bisect_left(found, (cut,))
            if after < len(found) and (
                after == 0 or found[after][0] - cut < cut - found[after - 1][0]
            ):
                offset, line = found[after]
                number = line - count_newlines_between(path, cut, offset)
            elif after > 0:
                offset, line = found[after - 1]
                number = line + count_newlines_between(path, offset, cut)
        if number is None:
            number = previous_number + count_newlines_between(path, previous_cut, cut)
        numbers.append(number)
        previous_cut, previous_number = cut, number
    return numbers


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cycle collection while the events come back: unpickling hundreds of thousands of
    small objects (none in a cycle, so refcounting frees them) set it off again and again,
    which tripled the time (0.13-0.17 s -> 0.45-0.7 s for 400 events). Scanning makes no
    cycles either (none over 128 MB of log, once the first regexes are compiled), so memory
    does not grow.

    Then every object made meanwhile is young, and the collector's next pass would walk
    them all (70 ms for 400 events): they are frozen instead, as the events are kept to the
    end of a run anyway. Refcounting still frees them; processes forked later never walk
    them either."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


_PIECES_PER_JOB = 8  # smaller pieces keep every process busy until the last one is done
_MIN_PIECE_BYTES = 16 << 20


def analyze_file_parallel(
    path: str, size: int, year: int, jobs: int, todo: list[Callable[[], object]] | None = None
) -> tuple[list[OomEvent], SourceInfo, list[Diagnostic]]:
    """Scan a large plain file in ``jobs`` processes; the same result as one stream.

    The file is cut into a few pieces per process. This process scans them from the front
    (its events need no pickling), the workers from the back, each taking the next piece
    as soon as it finishes one; so all stay busy until the ends meet, however the reports
    lie in the file, and a worker's events come back while the rest is still scanned."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # one finder over the whole file, its hits shared out by piece
    finder = hits.start_finder(path)
    parsing.prepare()  # while the finder runs: the workers inherit what it builds
    found = hits.hits_to_end(finder) if finder is not None else None
    # with no hits to find quiet points by, each one costs reading megabytes: fewer pieces
    per_job = _PIECES_PER_JOB if found is not None else 1
    parts = max(jobs, min(jobs * per_job, size // _MIN_PIECE_BYTES))
    pieces = split_pieces(path, size, parts, found, jobs=jobs)
    if len(pieces) == 1:
        with open_range(path, 0, size) as stream:
            return analyze_stream(
                stream, path, year=year, found=iter(found) if found is not None else None
            )
    first_lines = _first_lines(path, [start for start, _ in pieces], found)
    jobs_args = [
        (path, start, end, year, _within(found, start, end), first_line)
        for (start, end), first_line in zip(pieces, first_lines, strict=True)
    ]
    results: list[_PieceResult | None] = [None] * len(pieces)
    context = multiprocessing.get_context("fork")
    with (
        handoff.helper_running(),  # the pool's manager thread reads the workers' results
        _collector_paused(),  # ... and unpickles them, while this thread scans
        ProcessPoolExecutor(max_workers=jobs - 1, mp_context=context) as pool,
    ):
        queue = _PieceQueue(pool, jobs_args)
        for _ in range(2 * (jobs - 1)):  # one running and one waiting in each worker
            queue.hand_out()
        while todo:  # the caller's work, while the workers start (and take over pieces)
            todo.pop()()
        while (index := queue.take_front()) is not None:
            results[index] = _scan_piece(*jobs_args[index])
        for index, future in queue.handed_out.items():
            try:
                results[index] = future.result()
            except BrokenProcessPool:  # a worker died (a signal, memory): scan it here
                results[index] = _scan_piece(*jobs_args[index])
    events: list[OomEvent] = []
    diagnostics: list[Diagnostic] = []
    stats = ScanStats()
    for result in results:
        assert result is not None  # every piece was scanned here or by a worker
        piece_events, piece_stats, piece_diagnostics = result
        events.extend(piece_events)
        stats.lines += piece_stats.lines
        stats.envelopes.update(piece_stats.envelopes)
        stats.block_lines |= piece_stats.block_lines
        diagnostics.extend(piece_stats.diagnostics)
        diagnostics.extend(piece_diagnostics)
    if len(events) > MAX_EVENTS_PER_FILE:  # each piece kept up to the limit
        limited = [d for d in diagnostics if "OOM events in this input" in d.message]
        first = min([d.line for d in limited] + [events[MAX_EVENTS_PER_FILE].source.first_line])
        diagnostics = [d for d in diagnostics if d not in limited]
        diagnostics.append(
            Diagnostic(
                path=path,
                line=first,
                message=f"more than {MAX_EVENTS_PER_FILE:,} OOM events in this input: the "
                "reports from this line on were not parsed",
            )
        )
        events = events[:MAX_EVENTS_PER_FILE]
    info = SourceInfo(path=path, format=stats.format, compression=None, lines=stats.lines)
    return events, account_lines(info, events, diagnostics, stats.block_lines), diagnostics

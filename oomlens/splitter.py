"""Find OOM reports in a byte stream and group their lines into report blocks.

Logs are gigabytes of noise around a few reports, so per-line Python work is only spent near
a hit. The scanner searches for four patterns with a literal prefix (fast in ``re``) that
every line able to *anchor* a report contains: ``oom[-_]`` (``invoked oom-killer``,
``oom-kill:``, ``oom_reaper``), ``ill(ed)? process`` / ``VM: killing process`` (kill lines
of every era), ``, mode:0x`` (page allocation failures) and ``Kernel panic - not syncing``.
"Out of memory" alone is not searched: applications print it all the time, and the
kernel's "no killable processes" line follows a header that is found anyway. On a large
input the search runs in ripgrep or grep beside the scan, which reads their offsets
(``hits.py``); over a plain file it also numbers the hit lines, and the scanner jumps from
one hit to the next. A hit line is confirmed with the grammar's line classifier; the scanner then
walks back over the report lines before it (a report whose header was lost) and forward
until the report lines stop. Everything else is counted, not read.

The ``Splitter`` state machine then turns those lines into blocks: a report starts at a
header, a sysrq "Manual OOM" line, an allocation failure, or a kill/summary line whose header
is missing, and ends at the kill (and its reaper/oom.group lines), a panic, the next header,
a reboot or a long stretch of unrelated lines. Other programs' lines are skipped, not lost.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from .fastinit import fast_init, positional
from .hits import FinderFailed, Hit, StreamFinder, start_stream_finder
from .model import Diagnostic, Envelope, LogLine
from .parsing import OTHER, classify
from .prefixes import parse_prefix

HIT_PATTERNS = tuple(
    re.compile(p)
    for p in (
        rb"oom[-_]",
        # kernel kill lines of every era; systemd's "Killing process" never matches
        rb"ill(?:(?:ed)? process|(?<=kill)ing process)",
        rb", mode:0x",
        rb"Kernel panic - not syncing",
    )
)
_HIT_OVERLAP = 64  # longer than any hit pattern's match
_NO_MORE_HITS = 1 << 62  # past the end of any stream
_PROBE_BYTES = 8 << 10  # read at each step of a jump over lines, to find their newlines
CHUNK_BYTES = 8 << 20
JUMP_READ_BYTES = 1 << 20  # read size of a scanner that jumps between hits
NEAR_BYTES = 16 << 10  # a jump lands this far before a hit, unless a back walk goes further
AFTER_BYTES = 128 << 10  # and reads this much after the hit, for its report
KEEP_BYTES = 256 << 10  # tail kept across chunks so a back walk can reach into it
MAX_LINE_BYTES = 1 << 20  # longer lines are counted and skipped, never decoded
WRAPPED_NUMBER = "?"  # stands for a number a wrap cut in two (no number pattern reads it)
NUL_RUN = "\x00" * 2  # NULs padding a file where a crash lost its tail (single ones are dropped)
MAX_REPORT_LINES = 20_000  # a block longer than this is cut (real reports: < 5,000 lines)
MAX_REGION_LINES = 2 * MAX_REPORT_LINES  # lines one forward walk reads before it stops
FORWARD_STOP = 16  # consecutive unrelated lines that end a forward walk
BACK_TOLERANCE = 2  # unrelated lines a back walk may step over
MAX_BACK_LINES = 5000
MAX_GAP = 40  # consecutive unrelated lines that close an open report
MAX_PENDING_GAP = 3  # unrelated lines that discard headerless candidate lines

# families that can anchor a report (a hit line must be one of these)
ANCHORS = frozenset(
    {
        "HEADER",
        "MANUAL_OOM",
        "SUMMARY",
        "KILL_SELECT",
        "KILL_SHARING",
        "KILLED",
        "VM_KILLING",
        "OOM_GROUP",
        "REAPER",
        "NO_KILLABLE",
        "PANIC",
        "ALLOC_FAILURE",
        "ALREADY_EXITING",
    }
)
STARTS = frozenset({"HEADER", "ALLOC_FAILURE", "MANUAL_OOM"})
# lines that end a report, or may follow its end (kill sequence, reaper, oom.group)
ENDINGS = frozenset(
    {
        "KILL_SELECT",
        "KILL_SHARING",
        "KILLED",
        "VM_KILLING",
        "OOM_GROUP",
        "MM_PINNED",
        "REAPER",
        "NO_KILLABLE",
        "PANIC",
        "PANIC_END",
        "ALREADY_EXITING",
        "IGNORED",
        "SUMMARY",
    }
)
KILLS = frozenset({"KILLED", "VM_KILLING"})
# after a panic the kernel dumps its stack again
AFTER_PANIC = frozenset(
    {
        "CPU_LINE",
        "PID_LINE",
        "HARDWARE",
        "WORKQUEUE",
        "TAINT_LEGEND",
        "CALL_TRACE",
        "STACK_MARKER",
        "FRAME",
        "ARM_EXCEPTION",
        "REGISTERS",
        "STACK_WORDS",
        "KERNEL_OFFSET",
        "PANIC_END",
    }
)
_FOREIGN = "FOREIGN"  # a line logged by another program (syslog tag other than kernel)

# A hit line must hold one of these before it is decoded and classified (cheap rejection of
# "process"/"room" in ordinary log text).
_ANCHOR_BYTES = re.compile(
    rb"oom-kill|oom_reaper|illed process|ill process|VM: killing process|no killable"
    rb"|Kernel panic|, mode:0x|page allocation|Manual OOM|already exiting|OOM request"
    rb"|memory\.oom\.group"
)


def normalise(text: str) -> str:
    """The text the grammar sees: blanks trimmed, markdown escapes (``\\<TASK\\>``) undone."""
    text = text.strip()
    if "\\" in text:
        text = (
            text.replace("\\<", "<")
            .replace("\\>", ">")
            .replace("\\_", "_")
            .replace("\\[", "[")
            .replace("\\]", "]")
            .replace("\\*", "*")
        )
    return text


@fast_init
@dataclass(frozen=True, slots=True)
class ClassifiedLine:
    line: LogLine
    family: str


# one of each per line read: positional makers cost a third of the dataclasses' __init__
_classified = positional(ClassifiedLine, ("line", "family"))
_log_line = positional(
    LogLine,
    ("path", "number", "text", "envelope", "uptime_s", "wallclock", "host", "caller", "program"),
)


@dataclass(frozen=True, slots=True)
class Gap:
    """``count`` lines that were counted but not read."""

    count: int


@dataclass(frozen=True, slots=True)
class Region:
    lines: tuple[ClassifiedLine, ...]
    physical_lines: int


@dataclass(slots=True)
class ScanStats:
    lines: int = 0
    envelopes: Counter[Envelope] = field(default_factory=Counter)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # physical lines handed out in report blocks (for line accounting; reports are small)
    block_lines: set[int] = field(default_factory=set)

    @property
    def format(self) -> str:
        if not self.envelopes:
            return Envelope.BARE.value
        total = sum(self.envelopes.values())
        common = self.envelopes.most_common(2)
        if len(common) > 1 and common[1][1] >= 0.2 * total:
            return Envelope.MIXED.value
        return common[0][0].value


class LineReader:
    """Decode and classify physical lines; one place for encodings and envelopes."""

    def __init__(self, path: str, year: int | None, stats: ScanStats) -> None:
        self.path = path
        self.year = year
        self.stats = stats

    def sample_envelopes(self, data: bytes, lines: int = 20) -> None:
        """Count the envelopes of a file's first lines, so a file without reports has a format."""
        for raw in data.split(b"\n", lines)[:lines]:
            if raw.strip():
                text = raw[:MAX_LINE_BYTES].decode("utf-8", "replace").rstrip("\r")
                self.stats.envelopes[parse_prefix(text, year=self.year).envelope] += 1

    def _after_nul_padding(self, text: str, number: int) -> str:
        """A run of NULs is where a crash lost the end of a file (syslog's next lines resume
        after it): the text before the last run was cut mid-line and is not read. Single
        NULs are dropped."""
        head, run, tail = text.rpartition(NUL_RUN)
        if run:
            cut = head.replace("\x00", "").strip()
            if cut and number:  # number 0: a family probe, the line is read again later
                self.stats.diagnostics.append(_nul_padding_diagnostic(self.path, number, cut))
            text = tail
        return text.replace("\x00", "")

    def classify_physical(self, raw: bytes, number: int) -> list[ClassifiedLine]:
        if len(raw) > MAX_LINE_BYTES:
            if not number:  # a family probe (number unknown): the line is read again if kept
                return []
            self.stats.diagnostics.append(
                Diagnostic(
                    path=self.path,
                    line=number,
                    message=f"line of {len(raw)} bytes is longer than {MAX_LINE_BYTES}; skipped",
                )
            )
            return []
        text = raw.decode("utf-8", "replace")
        if "\x00" in text:
            text = self._after_nul_padding(text, number)
        prefix = parse_prefix(text.rstrip("\r\n"), year=self.year)
        foreign = prefix.program is not None and prefix.program != "kernel"
        out = []
        for part in prefix.text.split("\n"):
            logical = normalise(part)
            if not logical:
                continue
            line = _log_line(
                self.path,
                number,
                logical,
                prefix.envelope,
                prefix.uptime_s,
                prefix.wallclock,
                prefix.host,
                prefix.caller,
                prefix.program,
            )
            out.append(_classified(line, _FOREIGN if foreign else classify(logical)))
        return out


def _nul_padding_diagnostic(path: str, number: int, cut: str) -> Diagnostic:
    return Diagnostic(
        path=path,
        line=number,
        message=f"NUL padding after {cut[-60:]!r}: the text before it was cut and is ignored",
    )


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (OSError, ValueError):
        return False


def _back_walk(reader: LineReader, buf: bytes, floor: int, start: int) -> tuple[int, bool]:
    """The earliest line start before ``buf[start]`` (a line start) that still looks like
    part of the report, and whether the walk stopped only because it reached ``floor``."""
    region_start = start
    probe = start
    unrelated = 0
    steps = 0
    while probe > floor and steps < MAX_BACK_LINES:
        prev = max(buf.rfind(b"\n", floor, probe - 1) + 1, floor)
        # the line number is not known yet; 0 is fine for a family probe
        family = _family(reader.classify_physical(buf[prev : probe - 1], 0))
        steps += 1
        if family in (OTHER, _FOREIGN):
            unrelated += 1
            if unrelated > BACK_TOLERANCE:
                return region_start, False
        else:
            unrelated = 0
            region_start = prev
        probe = prev
    return region_start, probe <= floor and steps < MAX_BACK_LINES


def _family(lines: list[ClassifiedLine]) -> str:
    """The most telling family of one physical line's logical lines."""
    for item in lines:
        if item.family in ANCHORS:
            return item.family
    for item in lines:
        if item.family not in (OTHER, _FOREIGN):
            return item.family
    return OTHER


class Scanner:
    """Yield ``Gap`` and ``Region`` items covering every line of ``stream`` exactly once.

    Hits come from a finder running beside (``hits.py``): ``found``, every hit (offset and
    line number) from one that reads the file itself, or, with ``feed_finder``, one the
    scanner feeds every chunk it reads (started once a first read fills a whole chunk).
    Without a finder, or once it fails, the scanner runs ``HIT_PATTERNS`` itself.

    With ``found`` and a seekable stream, the lines between one hit's report and the next
    hit are neither read nor counted: the scanner seeks to just before the next hit and
    takes the line numbers from the finder. Only a line too long to keep would be missed
    that way (it gets a diagnostic when read), so a few bytes of every half of
    ``MAX_LINE_BYTES`` skipped are read to prove there is none.
    """

    def __init__(
        self,
        stream: BinaryIO,
        reader: LineReader,
        first_line: int = 1,
        found: Iterator[Hit] | None = None,
        *,
        feed_finder: bool = False,
    ) -> None:
        self.stream = stream
        self.reader = reader
        self.buf = b""
        self.eof = False
        self.line_at_pos = first_line  # physical line number of buf[pos]
        self.sampled = False
        self.read_bytes = 0  # stream offset of the end of buf
        self.found = found
        self.next_found = -1  # the finder's next offset not yet passed (-1: ask it)
        self.next_found_line = 0  # the line number of that hit
        self.jumps = found is not None and _seekable(stream)
        # what a jump reads is used near one hit: read a little at a time
        self.read_size = JUMP_READ_BYTES if self.jumps else CHUNK_BYTES
        self.no_jump_before = 0  # a long line may lie before this offset: read up to it
        self.feed_finder = feed_finder and found is None
        self.fed: StreamFinder | None = None
        self.fed_bytes = 0  # bytes read from the stream (fed to the finder if there is one)
        self.numbered = True  # the finder's line numbers agree with the lines counted here
        self.hit_line = 0  # the line number of the hit _next_hit found (0: not known)
        self.ahead: bytes | None = None  # read and fed, not yet in buf

    def _read(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the stream."""
        data = self._next_chunk()
        if not data:
            self.eof = True
            return False
        if not self.sampled:
            self.sampled = True
            self.reader.sample_envelopes(data)
        self.buf += data
        return True

    def _next_chunk(self) -> bytes:
        """The stream's next chunk, counted in ``read_bytes``. A fed finder is handed the
        chunk after it at once: searching one chunk ahead, it has its answer ready when the
        scan asks (waiting for it cost ~0.8 s/GB)."""
        if self.ahead is not None:
            data, self.ahead = self.ahead, None
        else:
            data = self._read_and_feed()
        if self.fed is not None and data:
            self.ahead = self._read_and_feed()
        self.read_bytes += len(data)
        return data

    def _read_and_feed(self) -> bytes:
        data = self.stream.read(self.read_size)
        if self.feed_finder and self.fed_bytes == 0 and len(data) >= CHUNK_BYTES:
            self.fed = start_stream_finder()  # a smaller stream is searched faster alone
        self.fed_bytes += len(data)
        if self.fed is not None:
            self.fed.feed(data)
        return data

    def _complete_end(self) -> int:
        if self.eof:
            return len(self.buf)
        return self.buf.rfind(b"\n") + 1

    def __iter__(self) -> Iterator[Gap | Region]:
        try:
            yield from self._items()
        finally:  # the end of the stream, an error, or a consumer that stopped early
            if self.fed is not None:
                self.fed.close()
                self.fed = None

    def _items(self) -> Iterator[Gap | Region]:
        pos = 0
        search_from = 0
        hits: dict[int, tuple[int, int]] = {}
        while True:
            end = self._complete_end()
            if end <= pos and not self.eof:
                if len(self.buf) - pos > MAX_LINE_BYTES:
                    yield from self._skip_long_line(pos)
                    pos = search_from = 0
                    hits.clear()
                    continue
                self._read()
                continue
            hit = self._next_hit(hits, search_from, end)
            if hit < 0 and self.jumps and (passed := self._jump(pos)) is not None:
                if passed:
                    yield Gap(passed)
                pos = search_from = 0
                hits.clear()
                continue
            if hit < 0:
                keep_from = self.buf.rfind(b"\n", pos, end - KEEP_BYTES) + 1
                cut = end if self.eof else max(pos, keep_from)
                if cut > pos:
                    count = self._lines_before_end(end)
                    if count >= 0:  # numbered by the finder: count only the lines kept
                        count -= self.buf.count(b"\n", cut, end)
                        self._check_numbers(count)
                    if count < 0:
                        count = self.buf.count(b"\n", pos, cut)
                    if self.eof and cut > pos and not self.buf.endswith(b"\n"):
                        count += 1
                    yield Gap(count)
                    self.line_at_pos += count
                    pos = cut
                if self.eof:
                    return
                self.buf = self.buf[pos:]
                search_from = max(0, search_from - pos)
                pos = 0
                hits.clear()
                self._read()
                continue
            start = self.buf.rfind(b"\n", 0, hit) + 1
            stop = self.buf.find(b"\n", hit, end)
            stop = end if stop < 0 else stop
            if start < pos:  # cannot happen: pos is always a line start
                start = pos
            raw = self.buf[start:stop]
            if (
                _ANCHOR_BYTES.search(raw) is None
                or _family(self.reader.classify_physical(raw, 0)) not in ANCHORS
            ):
                search_from = stop + 1
                continue
            region_start = self._walk_back(pos, start)
            gap = -1
            if self.hit_line:  # the finder numbered the hit's line: count the lines walked back
                gap = self.hit_line - self.buf.count(b"\n", region_start, start)
                gap -= self.line_at_pos
                self._check_numbers(gap)
            if gap < 0:
                gap = self.buf.count(b"\n", pos, region_start)
            if gap:
                yield Gap(gap)
            self.line_at_pos += gap
            pos = region_start
            region, pos = self._walk_forward(pos, start)
            yield region
            self.line_at_pos += region.physical_lines
            search_from = pos

    def _lines_before_end(self, end: int) -> int:
        """Lines from ``buf[pos]`` to ``buf[end]`` (the end of the last whole line) when a
        fed finder has numbered the line starting there, else -1."""
        if self.fed is None or self.eof or not self.numbered:
            return -1
        base = self.read_bytes - len(self.buf)
        line = self.fed.line_at(base + end)
        return -1 if line is None else line - self.line_at_pos

    def _check_numbers(self, count: int) -> None:
        """A negative count from the finder's line numbers: the input is not what the finder
        read (a file changed under us); count lines ourselves from now on."""
        if count < 0:
            self.numbered = self.jumps = False

    def _next_hit(self, hits: dict[int, tuple[int, int]], start: int, end: int) -> int:
        """Offset in ``buf`` of the first hit in [start, end), or -1; ``hit_line`` is set to
        its line number when the finder gave it, else 0."""
        self.hit_line = 0
        try:
            if self.found is not None:
                hit = self._next_found(start, end)
                if hit >= 0 and self.numbered:
                    self.hit_line = self.next_found_line
                return hit
            if self.fed is not None:
                base = self.read_bytes - len(self.buf)  # stream offset of buf[0]
                hit = self.fed.next_hit(base + start, base + end)
                if hit >= 0 and self.numbered:
                    self.hit_line = self.fed.pending_line
                return hit - base if hit >= 0 else -1
        except FinderFailed:  # its silence proves nothing: search from here ourselves
            self.found = None
            self.jumps = False
            if self.fed is not None:
                self.fed.close()
                self.fed = None
            hits.clear()
        return self._next_match(hits, start, end)

    def _next_found(self, start: int, end: int) -> int:
        assert self.found is not None
        base = self.read_bytes - len(self.buf)  # stream offset of buf[0]
        while True:
            if self.next_found < 0:
                self.next_found, self.next_found_line = next(self.found, (_NO_MORE_HITS, 0))
            if self.next_found < base + start:
                self.next_found = -1  # before the search start: already passed
                continue
            return self.next_found - base if self.next_found < base + end else -1

    def _jump(self, pos: int) -> int | None:
        """Seek to a line start shortly before the next found hit, when it lies beyond what
        has been read; the number of lines passed over (from ``buf[pos]``), or None when
        the scan must read on instead (no hit ahead, a long line may lie between, or the
        hit's own line starts before the window).

        It lands ``NEAR_BYTES`` before the hit, or ``KEEP_BYTES`` before when the back walk
        from the hit would reach past the nearer point: nearly every jump reads and counts
        16 KiB before its hit, not 256 KiB, and lands where the far one would have."""
        hit, hit_line = self.next_found, self.next_found_line
        if hit >= _NO_MORE_HITS:
            return None
        here = self.read_bytes - len(self.buf) + pos  # a line start: line self.line_at_pos
        for keep in (NEAR_BYTES, KEEP_BYTES):
            target = hit - keep  # the window starts at the first line start after target
            if target <= max(self.read_bytes, self.no_jump_before):
                break
            self.stream.seek(target - 1)
            data = self.stream.read(keep + AFTER_BYTES)
            start = data.find(b"\n") + 1  # the first line start at or after target
            at = hit - (target - 1)  # the hit's offset in data
            if not 0 < start <= at or self._long_line_between(here, target - 1 + start):
                if keep == KEEP_BYTES:
                    self.no_jump_before = hit
                continue
            if keep < KEEP_BYTES and self._walks_back_to(data, start, at):
                continue
            number = hit_line - data.count(b"\n", start, at)
            passed = number - self.line_at_pos
            self._check_numbers(passed)
            if passed < 0:
                break
            self.buf = data[start:]
            self.read_bytes = target - 1 + len(data)
            self.line_at_pos = number
            self.stream.seek(self.read_bytes)  # the probes for long lines moved it
            return passed
        self.stream.seek(self.read_bytes)
        return None

    def _walks_back_to(self, data: bytes, floor: int, at: int) -> bool:
        """Would the back walk from the line holding ``data[at]`` reach ``floor``?"""
        start = data.rfind(b"\n", floor, at) + 1 or floor
        return _back_walk(self.reader, data, floor, start)[1]

    def _long_line_between(self, start: int, stop: int) -> bool:
        """Might a line longer than ``MAX_LINE_BYTES`` lie in stream bytes [start, stop)?
        Such a line holds a whole step of half that length with no newline in it; a step
        whose first bytes hold a newline (nearly every one) is cleared by a small read."""
        step = MAX_LINE_BYTES // 2
        for probe in range(start, stop - step + 1, step):
            self.stream.seek(probe)
            left = step
            while left > 0:
                data = self.stream.read(min(left, _PROBE_BYTES))
                if not data:
                    return True  # the file changed under us: read it instead
                if b"\n" in data:
                    break
                left -= len(data)
            else:
                return True
        return False

    def _next_match(self, hits: dict[int, tuple[int, int]], start: int, end: int) -> int:
        """Offset of the first match of any pattern in [start, end), or -1.

        ``hits`` caches, per pattern, (its next hit or -1, the end searched to), so each
        pattern passes over each byte once even when regions and reads come in between.
        """
        best = -1
        for key, pattern in enumerate(HIT_PATTERNS):
            where, until = hits.get(key, (-1, start))
            if where < start and not (where < 0 and until >= end):
                # resume a miss where it stopped (less a margin for a hit across the old end)
                resume = start if where >= 0 else max(start, until - _HIT_OVERLAP)
                match = pattern.search(self.buf, resume, end)
                where, until = (match.start() if match else -1), end
                hits[key] = (where, until)
            if where >= 0 and (best < 0 or where < best):
                best = where
        return best

    def _physical(self, start: int, stop: int, number: int) -> list[ClassifiedLine]:
        return self.reader.classify_physical(self.buf[start:stop], number)

    def _walk_back(self, floor: int, start: int) -> int:
        """Earliest line start before ``start`` that still looks like part of the report."""
        return _back_walk(self.reader, self.buf, floor, start)[0]

    def _walk_forward(self, pos: int, hit_start: int) -> tuple[Region, int]:
        lines: list[ClassifiedLine] = []
        physical = 0
        unrelated = 0
        index = pos
        number = self.line_at_pos
        last_useful_index = pos
        last_useful_count = 0
        last_useful_physical = 0
        while True:
            end = self._complete_end()
            if index >= end:
                if self._read():
                    continue
                end = self._complete_end()  # at the end of the stream a last line may lack "\n"
                if index >= end:
                    break
            stop = self.buf.find(b"\n", index, end)
            stop = end if stop < 0 else stop
            items = self._physical(index, stop, number)
            family = _family(items)
            lines.extend(items)
            physical += 1
            number += 1
            index = stop + 1
            if family in (OTHER, _FOREIGN) and index > hit_start + 1:
                unrelated += 1
                if unrelated >= FORWARD_STOP:
                    break
            else:
                unrelated = 0
                last_useful_index = index
                last_useful_count = len(lines)
                last_useful_physical = physical
            if physical >= MAX_REGION_LINES:
                break  # memory stays bounded; what follows is scanned like any other text
        # trailing unrelated lines are left for the next gap
        kept = lines[:last_useful_count]
        for item in kept:
            self.reader.stats.envelopes[item.line.envelope] += 1
        return Region(tuple(kept), last_useful_physical), min(last_useful_index, len(self.buf))

    def _skip_long_line(self, pos: int) -> Iterator[Gap]:
        """Count a line too long to keep, reading on until its newline."""
        number = self.line_at_pos
        size = len(self.buf) - pos
        self.buf = b""
        while True:
            data = self._next_chunk()
            if not data:
                self.eof = True
                break
            newline = data.find(b"\n")
            if newline >= 0:
                size += newline
                self.buf = data[newline + 1 :]
                break
            size += len(data)
        self.reader.stats.diagnostics.append(
            Diagnostic(
                path=self.reader.path,
                line=number,
                message=f"line of {size} bytes is longer than {MAX_LINE_BYTES}; skipped",
            )
        )
        yield Gap(1)
        self.line_at_pos += 1


@dataclass(slots=True)
class _Open:
    lines: list[ClassifiedLine] = field(default_factory=list)
    held: list[ClassifiedLine] = field(default_factory=list)  # kernel lines no family matched
    manual: bool = False  # a sysrq "Manual OOM execution" line opened it
    header: bool = False
    alloc_failure: bool = False
    ended: bool = False
    panicked: bool = False
    gap: int = 0
    last_uptime: float | None = None
    families: set[str] = field(default_factory=set)
    dropped: int = 0  # lines past MAX_REPORT_LINES


@dataclass(frozen=True, slots=True)
class ReportBlock:
    lines: tuple[LogLine, ...]
    families: tuple[str, ...]  # each line's family, as classified while splitting
    dropped_lines: int = 0  # report lines past MAX_REPORT_LINES, not kept


_QP_ESCAPE = re.compile(r"=([0-9A-F]{2})")


def _qp_decode(text: str) -> str:
    """Undo quoted-printable escapes (``=3D``) left by mail archives."""
    if "=3D" not in text and "=20" not in text:
        return text
    return _QP_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def join_wrapped(previous: ClassifiedLine, current: ClassifiedLine) -> ClassifiedLine | None:
    """Rejoin a line that a mail client or pager wrapped onto an unprefixed next line.

    Quoted-printable soft breaks (a trailing ``=``) always join. A hard wrap joins when the
    continuation matches no family alone and the joined text keeps (or gains) a family.
    """
    if current.line.envelope is not Envelope.BARE or previous.line.envelope is Envelope.BARE:
        return None
    if previous.family == _FOREIGN:
        return None
    if previous.line.text.endswith("="):
        text = _qp_decode(previous.line.text[:-1] + current.line.text)
    elif current.family == OTHER:
        head, tail = previous.line.text, current.line.text
        if head[-1:].isdigit() and tail[:1].isdigit():
            # "failcnt 83" / "420" is 83420 cut by a fixed-width wrap, or 83 and 420 wrapped
            # at a space: either reading could be wrong, so the number becomes unreadable
            # (a line no family reads any more is kept as an unrecognised report line)
            head, tail = head.rstrip("0123456789"), tail.lstrip("0123456789")
            text = head + WRAPPED_NUMBER + tail
            return ClassifiedLine(replace(previous.line, text=text), classify(text))
        text = head + " " + tail
    else:
        return None
    family = classify(text)
    if family == OTHER and previous.family != OTHER:
        return None
    if previous.family not in (OTHER, family) and not previous.line.text.endswith("="):
        return None
    joined = current.line.last_number - previous.line.number
    return ClassifiedLine(replace(previous.line, text=text, continued=joined), family)


class Splitter:
    """Group classified lines into report blocks (see the module docstring)."""

    def __init__(self) -> None:
        self.open: _Open | None = None
        self.pending: list[ClassifiedLine] = []
        self.pending_gap = 0
        self.last: ClassifiedLine | None = None  # the last line fed, for rejoining wraps

    # One line closes at most one report: feed, gap and finish return it, or None (a
    # generator per line had cost more than the rest of feeding it).
    def gap(self, count: int) -> ReportBlock | None:
        if count <= 0:
            return None
        self.last = None
        self.pending_gap += count
        if self.pending_gap > MAX_PENDING_GAP:
            self.pending.clear()
        if self.open is not None:
            self.open.gap += count
            if self.open.gap > MAX_GAP:
                return self._close()
        return None

    def feed(self, item: ClassifiedLine) -> ReportBlock | None:
        joined = join_wrapped(self.last, item) if self.last is not None else None
        if joined is not None and self._retract():
            item = joined
        elif "=3D" in item.line.text:
            text = _qp_decode(item.line.text)
            item = ClassifiedLine(replace(item.line, text=text), classify(text))
        self.last = item
        line, family = item.line, item.family
        current = self.open
        closed = None
        if current is not None and self._rebooted(current, line):
            closed = self._close()
            current = None
        if family == "BOUNDARY":
            # another sysrq command or a boot banner: whatever was open has ended
            closed = self._close() or closed
            self.pending.clear()
            return closed
        if family in (OTHER, _FOREIGN):
            if current is not None:
                current.gap += 1
                if family == OTHER:
                    current.held.append(item)
                if current.gap > MAX_GAP:
                    closed = self._close() or closed
            else:
                closed = self.gap(1) or closed
            return closed
        if family in STARTS:
            # the header after a sysrq "Manual OOM execution" line continues its report
            continues = (
                family == "HEADER"
                and current is not None
                and current.manual
                and not (current.header or current.alloc_failure or current.ended)
            )
            if current is not None and not continues:
                closed = self._close() or closed
                current = None
            if current is None:
                current = self._start(with_pending=False)
            current.manual |= family == "MANUAL_OOM"
            current.header |= family == "HEADER"
            current.alloc_failure |= family == "ALLOC_FAILURE"
        elif family in ENDINGS:
            if current is not None and self._ends_before(current, family):
                closed = self._close() or closed
                current = None
            if current is None:
                current = self._start(with_pending=True)
            current.ended = True
            current.panicked |= family == "PANIC"
        else:
            if (
                current is not None
                and current.ended
                and not (current.panicked and family in AFTER_PANIC)
            ):
                closed = self._close() or closed
                current = None
            if current is None:
                self.pending.append(item)
                self.pending_gap = 0
                return closed
        self._append(current, item)
        return closed

    def finish(self) -> ReportBlock | None:
        self.pending.clear()
        return self._close()

    # -- internals
    def _retract(self) -> bool:
        """Take back the last line fed (to feed it again joined with its continuation)."""
        if self.last is None:
            return False
        last = self.last
        current = self.open
        if current is not None and current.lines and current.lines[-1] is last:
            current.lines.pop()
            return True
        if current is not None and current.held and current.held[-1] is last:
            current.held.pop()
            current.gap = max(0, current.gap - 1)
            return True
        if self.pending and self.pending[-1] is last:
            self.pending.pop()
            return True
        return False

    @staticmethod
    def _ends_before(current: _Open, family: str) -> bool:
        """Does this ending line belong to a new report rather than the open one?"""
        if current.alloc_failure and family in KILLS | {"KILL_SELECT", "SUMMARY"}:
            return True  # allocation failures kill nothing: a kill line is a new OOM
        if not current.ended:
            return False
        if family in ("KILL_SELECT", "SUMMARY"):
            # a second choice after a kill is a new OOM whose header was lost
            return family in current.families
        return False

    @staticmethod
    def _rebooted(current: _Open, line: LogLine) -> bool:
        if current.last_uptime is None or line.uptime_s is None:
            return False
        return line.uptime_s + 1.0 < current.last_uptime

    def _start(self, *, with_pending: bool) -> _Open:
        current = _Open()
        if with_pending:
            current.lines.extend(self.pending)
        self.pending = []
        self.pending_gap = 0
        self.open = current
        return current

    def _append(self, current: _Open, item: ClassifiedLine) -> None:
        if len(current.lines) + len(current.held) >= MAX_REPORT_LINES:
            # a "report" that never ends (crafted, or a runaway dump) must not hold the
            # whole file in memory: its first lines are kept, the rest counted
            current.dropped += 1 + len(current.held)
            current.held.clear()
            current.gap = 0
            return
        if current.held:
            current.lines.extend(current.held)  # unknown kernel lines inside a report
            current.held.clear()
        current.lines.append(item)
        current.gap = 0
        if item.line.uptime_s is not None:
            current.last_uptime = item.line.uptime_s
        current.families.add(item.family)

    def _close(self) -> ReportBlock | None:
        current = self.open
        self.open = None
        if current is None or not current.lines:
            return None
        return ReportBlock(
            lines=tuple(item.line for item in current.lines),
            families=tuple(item.family for item in current.lines),
            dropped_lines=current.dropped,
        )


def split_stream(
    stream: BinaryIO,
    path: str,
    *,
    year: int | None = None,
    first_line: int = 1,
    found: Iterator[Hit] | None = None,
    feed_finder: bool = False,
) -> tuple[Iterator[ReportBlock], ScanStats]:
    """Report blocks of one decompressed stream, and the stats filled while iterating.

    ``first_line`` is the number of the stream's first line in its file (a piece of a file
    scanned in parallel starts past line 1). ``found``, ``feed_finder``: see ``Scanner``.
    """
    stats = ScanStats()
    reader = LineReader(path, year, stats)

    def counted(block: ReportBlock) -> ReportBlock:
        stats.block_lines.update(line.number for line in block.lines)
        for line in block.lines:
            if line.continued:  # joined from several physical lines
                stats.block_lines.update(range(line.number + 1, line.last_number + 1))
        return block

    def blocks() -> Iterator[ReportBlock]:
        splitter = Splitter()
        closed: ReportBlock | None
        for item in Scanner(stream, reader, first_line, found, feed_finder=feed_finder):
            if isinstance(item, Gap):
                stats.lines += item.count
                if (closed := splitter.gap(item.count)) is not None:
                    yield counted(closed)
            else:
                stats.lines += item.physical_lines
                feed = splitter.feed
                for classified in item.lines:
                    if (closed := feed(classified)) is not None:
                        yield counted(closed)
        if (closed := splitter.finish()) is not None:
            yield counted(closed)

    return blocks(), stats


QUIET_BYTES = 1 << 20  # no report spans this much text with no anchor line in it


def quiet_split_point(window: bytes, offset: int) -> int | None:
    """A line start in ``window`` (which begins at file offset ``offset``) with no anchor
    within ``QUIET_BYTES`` on either side, so no report can straddle it; None if there is none.

    Used to cut a large file into pieces that are scanned in parallel.
    """
    hits = sorted(m.start() for pattern in HIT_PATTERNS for m in pattern.finditer(window))
    edges = [0, *hits, len(window)]  # the window's ends count as hits: beyond is unknown
    for before, after in zip(edges, edges[1:], strict=False):
        if after - before < 2 * QUIET_BYTES + 2:
            continue
        newline = window.find(b"\n", before + QUIET_BYTES)
        if newline >= 0 and after - (newline + 1) >= QUIET_BYTES:
            return offset + newline + 1
    return None

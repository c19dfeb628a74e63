"""Offsets of the lines worth a look, found by ripgrep or GNU grep in a process of their own.

The scanner's own search (``splitter.HIT_PATTERNS``, four ``re`` passes) costs 2-3 s per GB
of log on the one core that also parses. ``rg -F`` finds the same literals at several GB/s
with SIMD, and GNU grep (on every Linux system) at about 0.6 GB/s, reading the file itself
in a process beside the scanner, which then only reads their byte offsets. The literals
below match exactly the lines the patterns match (a test checks), and the scanner judges
each hit line as before, so the analysis is the same whichever finder ran (tests compare
whole analyses).

A plain regular file is read by the finder itself (``start_finder``), which also numbers
the lines of its hits, so the scanner can jump from one hit to the next without reading or
counting the lines between. Any other stream
(compressed, a journal, stdin) is fed to it by the scanner (``start_stream_finder``): each
chunk the scanner has read, already decompressed, goes to a writer thread that pipes it to
the finder, followed, after the chunk's last newline, by a sync line holding a random token.
The finder reports that line like a hit, which tells the scanner how far its silence is
proof; a thread drains the finder's output, so neither side can block the other. This pays
only with a second CPU, and only for a stream of more than a chunk (8 MiB).

A finder that cannot start is skipped; one that fails part-way is abandoned and the scanner
searches the rest itself.

``OOMLENS_HITS`` picks the finder: ``auto`` (default: rg, then grep, then Python), ``rg``,
``grep`` or ``python`` (the scanner's own passes). A named finder that is not installed falls
back to Python.
"""

from __future__ import annotations

import os
import queue
import resource
import secrets
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from . import handoff
from .magic import HEAD_BYTES, is_plain_head

# every line a HIT_PATTERNS regex matches holds one of these, and every line holding one of
# these is matched ("ill(?:(?:ed)? process|(?<=kill)ing process)" is the middle three)
HIT_LITERALS = (
    b"oom-",
    b"oom_",
    b"ill process",
    b"illed process",
    b"killing process",
    b", mode:0x",
    b"Kernel panic - not syncing",
)
FINDERS = ("rg", "grep")
FINDER_MIN_BYTES = 8 << 20  # a smaller file is searched faster than a process starts
_QUEUED_CHUNKS = 2  # chunks handed to the writer and not yet piped
_LONG_TAIL = 16 << 20  # a line still open after this much is piped on without a sync line
# a finder holds one line in memory at a time; a log line of gigabytes must not take the
# machine's memory with it (the finder dies, and the scanner searches the rest itself)
FINDER_MEMORY_BYTES = 1 << 30


class FinderFailed(Exception):
    """The finder stopped before the end of its input: its silence proves nothing."""


def _patterns(flag: str) -> list[str]:
    out = []
    for literal in HIT_LITERALS:
        out += [flag, literal.decode("ascii")]
    return out


def _finder_argv(name: str, sync: bytes | None = None) -> list[str] | None:
    """argv of finder ``name``: each match as ``line:offset:match``; with ``sync``, also
    finding that token and writing each result at once (so a sync line is reported as soon
    as it is searched)."""
    tool = shutil.which(name)
    if tool is None:
        return None
    # --text: NUL bytes do not make the rest "binary"; -o -b: the byte offset of each match,
    # and only the match (a long line is never copied out); the input is standard input,
    # named /dev/stdin when it is a file (rg then maps it: a fifth faster than reading "-")
    argv = [tool, "--text", "--fixed-strings", "--only-matching", "--byte-offset"]
    argv += ["--no-filename", "--color=never", *_patterns("-e")]
    argv.insert(1, "--line-number")
    if name == "rg":
        argv.insert(1, "--no-config")
    if sync is not None:
        return [*argv, "--line-buffered", "-e", sync.decode("ascii"), "-"]
    return [*argv, "/dev/stdin" if os.path.exists("/dev/stdin") else "-"]


def chosen_finder() -> str | None:
    """The finder ``OOMLENS_HITS`` asks for and this machine has, or None for Python."""
    wanted = os.environ.get("OOMLENS_HITS", "auto").strip().lower()
    names = FINDERS if wanted in ("", "auto") else (wanted,) if wanted in FINDERS else ()
    for name in names:
        if shutil.which(name) is not None:
            return name
    return None


def _finder_env() -> dict[str, str]:
    return {**os.environ, "LC_ALL": "C"}  # byte-wise matching, grep's fastest path


def _limit_memory(process: subprocess.Popen[bytes]) -> None:
    # set from outside (prlimit), not in a preexec_fn, which is unsafe beside the reader's
    # decompression thread; the finder does not grow in the instant before
    limit = (FINDER_MEMORY_BYTES, FINDER_MEMORY_BYTES)
    try:
        resource.prlimit(process.pid, resource.RLIMIT_AS, limit)
    except (OSError, ValueError):  # it already exited
        pass


# a hit: (byte offset of the match, number of its line, counted from 1)
Hit = tuple[int, int]


@dataclass
class HitFinder:
    """A running finder over a file: ``hits()`` yields every hit, ascending."""

    process: subprocess.Popen[bytes]

    def hits(self) -> Iterator[Hit]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for line in stdout:
                number, _, rest = line.partition(b":")
                offset, _, _ = rest.partition(b":")
                try:
                    yield int(offset), int(number)
                except ValueError:  # not "line:offset:match"
                    raise FinderFailed(f"unexpected finder output {line[:60]!r}") from None
            code = self.process.wait()
        finally:
            self.close()  # stops it if the scan ended early
        # grep and rg exit 1 when nothing matched; anything else means the search stopped
        if code not in (0, 1):
            raise FinderFailed(f"finder exited with {code}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


# finders started before the pipeline was imported, by (device, inode, size, mtime) of the file
_prestarted: dict[tuple[int, int, int, int], HitFinder] = {}
_MAX_PRESTARTED = 4


def _file_key(path: str) -> tuple[int, int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def prestart(paths: list[str]) -> None:
    """Start finders over the first few large plain files among ``paths`` now, while the rest
    of oomlens is imported (about as long as rg takes over 1 GB); ``start_finder`` takes them
    over. ``stop_prestarted`` ends those never taken."""
    for path in paths:
        if len(_prestarted) >= _MAX_PRESTARTED:
            return
        key = _file_key(path)
        if key is None or key[2] < FINDER_MIN_BYTES or key in _prestarted:
            continue
        try:
            with open(path, "rb") as source:
                head = source.read(HEAD_BYTES)
        except OSError:
            continue
        if not is_plain_head(head):
            continue
        finder = _start_finder(path)
        if finder is not None:
            _prestarted[key] = finder


def stop_prestarted() -> None:
    while _prestarted:
        _prestarted.popitem()[1].close()


def start_finder(path: str) -> HitFinder | None:
    """A finder over the plain regular file ``path`` (one ``prestart`` began, if the file has
    not changed since), or None when none is wanted or installed, or it cannot start."""
    key = _file_key(path)
    if key is not None and key in _prestarted:
        return _prestarted.pop(key)
    return _start_finder(path)


def _start_finder(path: str) -> HitFinder | None:
    name = chosen_finder()
    argv = _finder_argv(name) if name is not None else None
    if argv is None:
        return None
    try:
        with open(path, "rb") as source:  # on its stdin: no file name is ever parsed
            process = subprocess.Popen(
                argv,
                stdin=source,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_finder_env(),
            )
    except (OSError, subprocess.SubprocessError):
        return None
    _limit_memory(process)
    return HitFinder(process)


def hits_to_end(finder: HitFinder) -> list[Hit] | None:
    """Every hit ``finder`` reports, or None when it did not run to the end."""
    try:
        return list(finder.hits())
    except FinderFailed:
        return None


@dataclass(frozen=True, slots=True)
class _Synced:
    offset: int  # stream offset up to which every hit has been reported (a line start)
    line: int  # the number of the line starting there


@dataclass(frozen=True, slots=True)
class _Ended:
    error: str | None  # None: the finder read everything and exited normally


class StreamFinder:
    """A finder fed the stream's chunks with ``feed``; ``next_hit`` gives its hit offsets."""

    def __init__(self, argv: list[str], sync: bytes) -> None:
        self.sync = sync
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_finder_env(),
        )
        _limit_memory(self.process)
        self.tail = b""  # fed bytes after the last newline, not yet piped
        self.synced = 0  # every hit before this stream offset has been taken from ``results``
        self.pending = -1  # a hit taken from ``results`` and not yet passed (-1: none)
        self.pending_line = 0  # its line number
        self.last_sync = _Synced(0, 1)
        self.ended: _Ended | None = None
        self.closed = False
        self.results: queue.SimpleQueue[Hit | _Synced | _Ended] = queue.SimpleQueue()
        self.chunks: queue.Queue[tuple[bytes | memoryview, ...] | None]
        self.chunks = queue.Queue(_QUEUED_CHUNKS)
        self.threads = [
            threading.Thread(target=self._write, name="oomlens-finder-in", daemon=True),
            threading.Thread(target=self._drain, name="oomlens-finder-out", daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        handoff.helper_started()

    # -- feeding (the scanner's thread)
    def feed(self, data: bytes) -> None:
        """Hand over the stream's next bytes; ``b""`` at the end of the stream.

        Data is piped up to its last newline, then a sync line ``\\n<token>\\n`` (a line of
        its own even where the stream's last line has no newline)."""
        if self.ended is not None:
            return
        if not data:
            self.chunks.put((self.tail, b"\n" + self.sync + b"\n"))
            self.chunks.put(None)
            self.tail = b""
            return
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # still inside one line
            self.tail += data
            if len(self.tail) > _LONG_TAIL:
                self.chunks.put((self.tail,))
                self.tail = b""
            return
        # pieces, not one joined copy: the writer sends them one after the other
        self.chunks.put((self.tail, memoryview(data)[:cut], b"\n" + self.sync + b"\n"))
        self.tail = data[cut:]

    def _write(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            while (pieces := self.chunks.get()) is not None:
                for piece in pieces:
                    stdin.write(piece)
                stdin.flush()  # a short last chunk must not wait in the buffer
        except OSError:  # the finder died; _drain reports it
            while self.chunks.get() is not None:  # let the scanner finish handing over
                pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _drain(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        # sync bytes and lines piped before the current position: "\n<token>\n" after a
        # newline is an empty line and the token's line
        inserted = inserted_lines = 0
        sync_line = len(self.sync) + 2
        error = None
        try:
            for line in stdout:
                number, _, rest = line.partition(b":")
                offset, _, match = rest.rstrip(b"\n").partition(b":")
                if match == self.sync:  # its line starts one byte earlier, at the "\n"
                    where = int(offset) - 1 - inserted
                    self.results.put(_Synced(where, int(number) - 1 - inserted_lines))
                    inserted += sync_line
                    inserted_lines += 2
                else:
                    self.results.put((int(offset) - inserted, int(number) - inserted_lines))
        except ValueError:
            error = "unexpected output"
            self.process.kill()  # unread, it would block on its output and never exit
        code = self.process.wait()
        if error is None and code not in (0, 1):  # 1: nothing matched
            error = f"exited with {code}"
        self.results.put(_Ended(error))

    # -- results (the scanner's thread)
    def next_hit(self, low: int, high: int) -> int:
        """The first hit at a stream offset in [low, high), or -1; every byte before ``high``
        must have been fed. Raises FinderFailed when the finder cannot tell."""
        while True:
            if self.pending >= 0:
                if self.pending < low:
                    self.pending = -1
                    continue
                return self.pending if self.pending < high else -1
            if self.synced >= high:
                return -1
            if self.ended is not None:
                if self.ended.error is None:
                    return -1
                raise FinderFailed(self.ended.error)
            item = self.results.get()
            if isinstance(item, _Synced):
                self.synced = item.offset
                self.last_sync = item
            elif isinstance(item, _Ended):
                self.ended = item
                if item.error is None:
                    self.synced = 1 << 62
            else:
                self.pending, self.pending_line = item

    def line_at(self, offset: int) -> int | None:
        """The number of the line starting at stream offset ``offset`` when it is where the
        last sync line taken was piped (the end of the chunk last searched), else None."""
        return self.last_sync.line if self.last_sync.offset == offset else None

    def close(self) -> None:
        """Stop the finder and its threads (at the end of the stream, or when abandoned)."""
        if self.process.poll() is None:
            self.process.kill()
        self.ended = self.ended or _Ended("closed")
        self.chunks.put(None)  # the writer fails on the dead pipe, empties the queue, stops
        for thread in self.threads:
            thread.join()
        if not self.closed:
            self.closed = True
            handoff.helper_stopped()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def start_stream_finder() -> StreamFinder | None:
    """A finder fed by the scanner, or None when none is wanted or installed, or it cannot
    start."""
    name = chosen_finder()
    sync = b"oomlens-sync-" + secrets.token_hex(16).encode()  # no log can guess it
    argv = _finder_argv(name, sync) if name is not None else None
    if argv is None:
        return None
    try:
        return StreamFinder(argv, sync)
    except (OSError, subprocess.SubprocessError):
        return None

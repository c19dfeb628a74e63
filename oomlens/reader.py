"""Open inputs and stream their decompressed bytes.

Every input (file, directory entry or stdin) goes through one pipeline:

1. raw bytes (``_FileSource``) behind a small buffered ``_Stream`` so the first bytes can be
   peeked without consuming them (this is what makes sniffing stdin possible);
2. a decompressor chosen by magic bytes, never by file name (gzip, bzip2, xz, zstd);
3. for systemd journals (binary, ``journalctl -o json`` text or export text) a converter that
   turns entries into ``<iso-time> <host> <program>: [<uptime>] <message>`` text lines.

Nothing reads a whole file into memory: every stage pulls bounded chunks from the one before.
Damage found while reading (corrupt or truncated compressed data, a failing ``journalctl``)
surfaces as :class:`~oomlens.errors.InputError` from ``read()``/``readinto()``, after every byte
decoded before the damage has been returned.
"""

from __future__ import annotations

import bz2
import functools
import io
import json
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from queue import Queue
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol, cast

import zstandard

from oomlens import handoff
from oomlens.errors import ErrorLocation, InputError
from oomlens.magic import HEAD_BYTES, JOURNAL_MAGIC, codec_of
from oomlens.model import Diagnostic

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["STDIN", "InputRef", "OpenedInput", "expand_inputs", "open_input"]

STDIN = "-"  # the path that means standard input


_INPUT_CHUNK = 256 * 1024  # compressed bytes fed to a decompressor per call
# Decompressed bytes per decompressor call: small enough to stay in CPU cache until copied
# into the caller's buffer (8 MiB steps measured up to 2x slower on highly compressible gzip).
_OUTPUT_STEP = 1024 * 1024
_PREFETCH_DEPTH = 12  # 1 MiB chunks a decompressing thread may run ahead (over one scan read)
_PEEK_CHUNK = 64 * 1024  # granularity of lookahead reads (sniffing, readline)
_OUTPUT_BATCH = 256 * 1024  # converted journal text handed out per chunk
_SPOOL_CHUNK = 1024 * 1024
_FIRST_LINE_LIMIT = 1024 * 1024  # longest first line we look at to recognise journal JSON
_BINARY_SNIFF = 4096  # decoded bytes examined to decide "not a log"
_BINARY_RATIO = 0.10
_MAX_EXPORT_FIELD = 1 << 30  # journald caps fields well below this; larger means corruption

# Bytes that do not occur in text logs; TAB/LF/CR/FF/VT and ESC (ANSI colours) are allowed.
_CONTROL_BYTES = bytes(c for c in range(32) if c not in b"\t\n\r\f\v\x1b") + b"\x7f"

# --------------------------------------------------------------------------- public API


@dataclass(frozen=True, slots=True, kw_only=True)
class InputRef:
    """One file to read, or stdin."""

    path: str  # display path as given or expanded; "-" for stdin


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedInput:
    """An open input: ``stream`` yields decompressed (and, for journals, converted) bytes."""

    # At run time an io.BufferedIOBase (read, readinto, read1, readline, peek); typed BinaryIO
    # because that is what consumers of "a binary file" take.
    stream: BinaryIO
    # None (plain), "gzip", "bzip2", "xz", "zstd", "journal" (binary journal via journalctl),
    # "journal-json" / "journal-export" (journal text forms); a compressed journal is
    # "<codec>+<journal kind>", e.g. "gzip+journal-json".
    compression: str | None
    path: str
    mtime: float | None  # seconds since the epoch; None for stdin and non-regular files


def expand_inputs(paths: Sequence[str]) -> tuple[list[InputRef], list[Diagnostic]]:
    """Turn command-line paths into the list of inputs to read, in reading order.

    Files are kept in the order given; directories are walked recursively with rotated logs
    oldest first. Problems become diagnostics rather than exceptions. Files found inside
    directories are skipped when they are clearly not logs; files named explicitly never are.
    """
    walker = _Expander()
    for path in paths:
        walker.add_argument(path)
    return walker.refs, walker.diagnostics


@contextmanager
def open_input(ref: InputRef) -> Iterator[OpenedInput]:
    """Open ``ref`` for streaming; everything opened (files, journalctl, temp files) is
    released when the context exits, also when it exits early.

    Raises InputError for missing or unreadable files and for damage detected at open.
    """
    with ExitStack() as stack:
        yield _open(ref.path, stack)


class _RangeReader(io.RawIOBase):
    """Bytes [start, end) of an open file."""

    def __init__(self, file: io.FileIO, start: int, end: int) -> None:
        file.seek(start)
        self._file = file
        self._start = start
        self._end = end
        self._left = end - start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only from the start of the range (the scanner jumps between hits)."""
        if whence != io.SEEK_SET or offset < 0:
            raise io.UnsupportedOperation("seek from the start of the range only")
        offset = min(offset, self._end - self._start)
        self._file.seek(self._start + offset)
        self._left = self._end - self._start - offset
        return offset

    def tell(self) -> int:
        return self._end - self._start - self._left

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._left]
        count = (self._file.readinto(view) or 0) if len(view) else 0
        self._left -= count
        return count

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = (self._file.read(size) or b"") if size else b""
        self._left -= len(data)
        return data


@contextmanager
def open_range(path: str, start: int, end: int) -> Iterator[BinaryIO]:
    """Bytes [start, end) of a plain (uncompressed, regular) file, for scanning a large file
    in pieces in parallel."""
    try:
        with open(path, "rb", buffering=0) as raw:
            yield cast(BinaryIO, _RangeReader(raw, start, end))
    except OSError as exc:
        raise _translate(exc, path, "file") from exc


def count_newlines_between(path: str, start: int, end: int) -> int:
    """Newlines in bytes [start, end) of a plain file (no line is decoded)."""
    count = 0
    left = end - start
    try:
        with open(path, "rb", buffering=0) as raw:
            raw.seek(start)
            while left > 0:
                chunk = raw.read(min(left, 8 << 20))
                if not chunk:
                    break
                count += chunk.count(b"\n")
                left -= len(chunk)
    except OSError as exc:
        raise _translate(exc, path, "file") from exc
    return count


# --------------------------------------------------------------------------- errors


def _location(path: str) -> ErrorLocation:
    return ErrorLocation(path)


def _translate(exc: BaseException, path: str, what: str) -> InputError:
    """Turn a low-level read/decompression failure into an InputError naming the path."""
    if isinstance(exc, InputError):
        return exc
    if isinstance(exc, EOFError):
        return InputError(f"{what} data ends early (truncated file?)", _location(path))
    if isinstance(exc, OSError) and exc.strerror:
        return InputError(f"read error: {exc.strerror}", _location(path))
    return InputError(f"corrupt {what} data: {exc}", _location(path))


class _CorruptData(Exception):
    """Structural damage found by our own parsing (journal export records)."""


# Failures that mean "this input is damaged or unreadable" (bz2 reports corruption as OSError).
_READ_ERRORS: tuple[type[BaseException], ...] = (
    InputError,
    _CorruptData,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zstandard.ZstdError,
)

# --------------------------------------------------------------------------- streams


class _Source(Protocol):
    """A producer of bytes. Both methods may return less than asked for; empty means EOF."""

    def read(self, size: int, /) -> bytes: ...

    def readinto(self, buffer: memoryview, /) -> int: ...

    def close(self) -> None: ...


class _ChunkSource:
    """Base for sources that naturally produce new bytes objects (decompressors)."""

    def read(self, size: int, /) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer: memoryview, /) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        pass


class _Stream(io.BufferedIOBase):
    """Buffered, read-only stream over a ``_Source`` with error deferral.

    ``read(n)``/``readinto(b)`` fill completely unless EOF. When the source fails part-way,
    the call returns the bytes obtained so far and the *next* call raises the InputError
    (io.BufferedReader would drop the partial data). Large reads go straight to the source:
    a plain file is read with one read(2) per call and no extra copy, and a decompressor's
    output is joined once.
    """

    def __init__(self, source: _Source, path: str, what: str = "input") -> None:
        super().__init__()
        self._source = source
        self._path = path
        self._what = what
        self._ahead = b""  # lookahead (peeked) bytes not yet consumed
        self._pos = 0
        self._eof = False
        self._error: InputError | None = None

    # -- io plumbing

    def readable(self) -> bool:
        return True

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def close(self) -> None:
        if not self.closed:
            try:
                self._source.close()
            finally:
                super().close()

    # -- source access: one source call each; a failure is remembered and reads as EOF

    def _failed(self, exc: BaseException) -> None:
        self._error = _translate(exc, self._path, self._what)

    def _pull(self, size: int) -> bytes:
        if self._eof or self._error is not None:
            return b""
        try:
            data = self._source.read(size)
        except _READ_ERRORS as exc:
            self._failed(exc)
            return b""
        if not data:
            self._eof = True
        return data

    def _pull_into(self, buffer: memoryview) -> int:
        if self._eof or self._error is not None:
            return 0
        try:
            count = self._source.readinto(buffer)
        except _READ_ERRORS as exc:
            self._failed(exc)
            return 0
        if not count:
            self._eof = True
        return count

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def _take(self, size: int) -> bytes:
        """Consume up to ``size`` lookahead bytes."""
        start = self._pos
        end = min(len(self._ahead), start + size)
        if start == 0 and end == len(self._ahead):
            data = self._ahead  # whole buffer: no copy
        else:
            data = self._ahead[start:end]
        self._pos = end
        if end >= len(self._ahead):
            self._ahead, self._pos = b"", 0
        return data

    def _fill(self, size: int) -> None:
        """Make at least ``size`` bytes available in the lookahead (fewer only at EOF)."""
        if len(self._ahead) - self._pos >= size:
            return
        parts = [self._ahead[self._pos :]]
        have = len(parts[0])
        while have < size:
            chunk = self._pull(max(size - have, _PEEK_CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self._ahead, self._pos = b"".join(parts), 0

    # -- reading

    def read(self, size: int | None = -1) -> bytes:
        self._check_open()
        if size is None or size < 0:
            return self.readall()
        if size < _PEEK_CHUNK:
            # Small reads (e.g. export field sizes) go through the lookahead, so the source
            # is never asked for a handful of bytes at a time.
            self._fill(size)
            data = self._take(size)
        else:
            first = self._take(size)
            parts = [first] if first else []
            have = len(first)
            while have < size:
                chunk = self._pull(size - have)
                if not chunk:
                    break
                parts.append(chunk)
                have += len(chunk)
            data = b"".join(parts)  # a single part is returned as is, without copying
        if not data and size:
            self._raise_pending()
        return data

    def readall(self) -> bytes:
        self._check_open()
        parts = [self._take(len(self._ahead))]
        while chunk := self._pull(_SPOOL_CHUNK):
            parts.append(chunk)
        data = b"".join(parts)
        if not data:
            self._raise_pending()
        return data

    def read1(self, size: int = -1) -> bytes:
        self._check_open()
        if size < 0:
            size = _PEEK_CHUNK
        if not size:
            return b""
        data = self._take(size) if self._pos < len(self._ahead) else self._pull(size)
        if not data:
            self._raise_pending()
        return data

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._check_open()
        view = memoryview(buffer).cast("B")
        want = len(view)
        done = 0
        if self._pos < len(self._ahead):
            data = self._take(want)
            done = len(data)
            view[:done] = data
        while done < want:
            count = self._pull_into(view[done:])
            if not count:
                break
            done += count
        if not done and want:
            self._raise_pending()
        return done

    def readinto1(self, buffer: WriteableBuffer) -> int:
        self._check_open()
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        if self._pos < len(self._ahead):
            data = self._take(len(view))
            view[: len(data)] = data
            return len(data)
        count = self._pull_into(view)
        if not count:
            self._raise_pending()
        return count

    def peek(self, size: int = 1) -> bytes:
        """Return at least ``size`` buffered bytes (fewer only at EOF), without consuming."""
        self._check_open()
        self._fill(size)
        if self._pos >= len(self._ahead):
            self._raise_pending()
        return self._ahead[self._pos :]

    def readline(self, size: int | None = -1) -> bytes:
        self._check_open()
        limit = sys.maxsize if size is None or size < 0 else size
        parts: list[bytes] = []
        have = 0
        while have < limit:
            if self._pos >= len(self._ahead):
                self._ahead, self._pos = self._pull(_PEEK_CHUNK), 0
                if not self._ahead:
                    break
            end = self._ahead.find(b"\n", self._pos, self._pos + (limit - have))
            if end >= 0:
                parts.append(self._take(end + 1 - self._pos))
                break
            part = self._take(limit - have)
            parts.append(part)
            have += len(part)
        line = b"".join(parts)
        if not line and limit:
            self._raise_pending()
        return line


class _FileSource:
    """Raw reads from a file: FileIO for paths, sys.stdin.buffer for "-"."""

    def __init__(self, raw: io.RawIOBase | io.BufferedIOBase, *, owned: bool) -> None:
        self._owned = owned
        self._raw = raw
        if isinstance(raw, io.BufferedIOBase):
            # BufferedReader.read(n) blocks until n bytes arrive; read1() returns what one
            # read(2) gives, which keeps piped stdin responsive.
            self._read: Callable[[int], bytes | None] = raw.read1
            self._readinto: Callable[[memoryview], int | None] = raw.readinto1
        else:
            self._read, self._readinto = raw.read, raw.readinto

    def read(self, size: int, /) -> bytes:
        return self._read(size) or b""

    def readinto(self, buffer: memoryview, /) -> int:
        return self._readinto(buffer) or 0

    def close(self) -> None:
        if self._owned:
            self._raw.close()


class _Decoder(Protocol):
    """What the stdlib decompressor objects (lzma, bz2, adapted zlib) have in common."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _GzipDecoder:
    """A gzip decoder shaped like LZMADecompressor. ISA-L's inflate (the ``isal`` package)
    decodes about twice as fast as zlib's, with zlib's interface; zlib where it is not
    installed. Both check the CRC and length trailer themselves, which keeps this faster
    than zcat (gzip.GzipFile re-checksums in Python-driven 8 KiB steps)."""

    __slots__ = ("_zlib",)

    def __init__(self) -> None:
        self._zlib: _Inflater = _inflate_module().decompressobj(16 + zlib.MAX_WBITS)

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def unused_data(self) -> bytes:
        return self._zlib.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._zlib.unconsumed_tail

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if not data:
            data = self._zlib.unconsumed_tail
        try:
            return self._zlib.decompress(data, max(max_length, 0))
        except zlib.error:
            raise
        except _inflate_module().error as exc:  # isal's own class: reported like zlib's
            raise zlib.error(str(exc)) from exc


class _Inflater(Protocol):
    """A zlib decompress object (zlib's or isal's)."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def unconsumed_tail(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


@functools.cache
def _inflate_module() -> Any:
    try:
        from isal import isal_zlib
    except ImportError:  # a platform without isal wheels
        return zlib
    return isal_zlib


def _xz_decoder() -> _Decoder:
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)


_DECODERS: dict[str, Callable[[], _Decoder]] = {
    "gzip": _GzipDecoder,
    "bzip2": bz2.BZ2Decompressor,
    "xz": _xz_decoder,
}


class _CodecSource(_ChunkSource):
    """Decompresses gzip/bzip2/xz, including concatenated members/streams (``cat a.gz b.gz``,
    pbzip2, xz multi-stream) and zero padding between them. Output per call is bounded, so a
    tiny file of repeated lines cannot balloon memory."""

    def __init__(self, upstream: _Stream, codec: str) -> None:
        self._upstream = upstream
        self._factory = _DECODERS[codec]
        self._decoder: _Decoder | None = None
        self._carry = b""  # input read but not yet fed to a decoder
        self._input_done = False

    def _read_input(self) -> bytes:
        if self._input_done:
            return b""
        data = self._upstream.read1(_INPUT_CHUNK)
        if not data:
            self._input_done = True
        return data

    def read(self, size: int, /) -> bytes:
        while True:
            decoder = self._decoder
            if decoder is None:
                # Between members: skip zero padding; anything else starts the next member
                # (and a decoder error if it is garbage).
                data = self._carry.lstrip(b"\0")
                while not data:
                    chunk = self._read_input()
                    if not chunk:
                        return b""
                    data = chunk.lstrip(b"\0")
                decoder = self._decoder = self._factory()
            elif self._carry:
                data = self._carry
            elif decoder.needs_input:
                data = self._read_input()
            else:
                data = b""
            self._carry = b""
            out = decoder.decompress(data, min(size, _OUTPUT_STEP))
            if decoder.eof:
                self._carry = decoder.unused_data
                self._decoder = None
            if out:
                return out
            if self._decoder is not None and self._input_done:
                # No input left, no output produced, stream not finished: it was cut off.
                raise EOFError("compressed data ends before the end-of-stream marker")

    def close(self) -> None:
        self._upstream.close()


class _Prefetch(_ChunkSource):
    """Runs a decompressing source in a thread, a few chunks ahead of the reader.

    zlib, bz2, lzma and zstandard release the GIL while they decompress, so the scan of one
    chunk overlaps the decompression of the next; memory stays at ``_PREFETCH_DEPTH`` chunks.
    An exception in the thread is handed over in order and raised by ``read``.
    """

    def __init__(self, source: _Source) -> None:
        self._source = source
        self._queue: Queue[bytes | BaseException] = Queue(maxsize=_PREFETCH_DEPTH)
        self._stop = threading.Event()
        self._rest = b""
        self._done = False
        self._thread = threading.Thread(target=self._run, name="oomlens-decompress", daemon=True)
        self._thread.start()
        self._done_helping = False
        handoff.helper_started()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._source.read(_OUTPUT_STEP)
                self._queue.put(data)
                if not data:
                    return
        except BaseException as exc:  # handed over to the reading thread
            self._queue.put(exc)

    def read(self, size: int, /) -> bytes:
        if not self._rest:
            if self._done:
                return b""
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if not item:
                self._done = True
                return b""
            self._rest = item
        data, self._rest = self._rest[:size], self._rest[size:]
        return data

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            while not self._queue.empty():
                self._queue.get_nowait()
            self._thread.join(timeout=0.05)
        self._source.close()
        if not self._done_helping:
            self._done_helping = True
            handoff.helper_stopped()


class _ZstdFrameTracker:
    """Follows the zstd frame layout of the compressed bytes without decoding them.

    python-zstandard's stream reader reports a frame cut off mid-way as a clean EOF; knowing
    whether the input stopped on a frame boundary lets us report truncation like the other
    codecs. Anything unrecognised stops tracking and is left to the decoder to reject.
    """

    _MAGIC, _FRAME_HEADER, _BLOCK, _SKIPPABLE_SIZE, _LOST = range(5)

    def __init__(self) -> None:
        self._state = self._MAGIC
        self._want = 4  # header bytes needed in the current state
        self._header = bytearray()
        self._skip = 0  # payload bytes to pass over before the next header
        self._checksum = False

    @property
    def complete(self) -> bool:
        at_boundary = self._state == self._MAGIC and not self._header and not self._skip
        return at_boundary or self._state == self._LOST

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end and self._state != self._LOST:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            step = min(self._want - len(self._header), end - pos)
            self._header += data[pos : pos + step]
            pos += step
            if len(self._header) == self._want:
                header = bytes(self._header)
                self._header.clear()
                self._advance(int.from_bytes(header, "little"))

    def _advance(self, value: int) -> None:
        if self._state == self._MAGIC:
            if value == 0xFD2FB528:
                self._state, self._want = self._FRAME_HEADER, 1
            elif value & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._want = self._SKIPPABLE_SIZE, 4
            else:
                self._state = self._LOST
        elif self._state == self._FRAME_HEADER:
            single_segment = value >> 5 & 1
            self._checksum = bool(value & 4)
            self._skip = (
                (1 - single_segment)  # window descriptor
                + (0, 1, 2, 4)[value & 3]  # dictionary id
                + (single_segment, 2, 4, 8)[value >> 6]  # frame content size
            )
            self._state, self._want = self._BLOCK, 3
        elif self._state == self._BLOCK:
            block_type, size = value >> 1 & 3, value >> 3
            if block_type == 3:
                self._state = self._LOST
                return
            self._skip = 1 if block_type == 1 else size  # RLE blocks store one byte
            if value & 1:  # last block
                self._skip += 4 if self._checksum else 0
                self._state, self._want = self._MAGIC, 4
        else:  # skippable frame
            self._skip = value
            self._state, self._want = self._MAGIC, 4


class _ZstdSource(_ChunkSource):
    """zstd via python-zstandard's stream reader (bounded output, all frames)."""

    def __init__(self, upstream: _Stream) -> None:
        self._upstream = upstream
        self._tracker = _ZstdFrameTracker()
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            cast(IO[bytes], _ZstdInput(upstream, self._tracker)),
            read_size=_INPUT_CHUNK,
            read_across_frames=True,
            closefd=False,
        )

    def read(self, size: int, /) -> bytes:
        data = self._reader.read(min(size, _OUTPUT_STEP))
        if not data and not self._tracker.complete:
            raise EOFError("zstd data ends inside a frame")
        return data

    def close(self) -> None:
        self._upstream.close()


class _ZstdInput:
    """What the zstd reader reads from: the compressed stream, shown to the tracker."""

    def __init__(self, upstream: _Stream, tracker: _ZstdFrameTracker) -> None:
        self._upstream = upstream
        self._tracker = tracker

    def read(self, size: int = -1) -> bytes:
        data = self._upstream.read1(size if size > 0 else _INPUT_CHUNK)
        self._tracker.feed(data)
        return data


class _IterSource(_ChunkSource):
    """Serves the chunks of a byte-chunk iterator (the journal converters)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._current = b""
        self._pos = 0

    def read(self, size: int, /) -> bytes:
        while self._pos >= len(self._current):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._current, self._pos = chunk, 0
        start = self._pos
        self._pos = min(start + size, len(self._current))
        if start == 0 and self._pos == len(self._current):
            return self._current
        return self._current[start : self._pos]

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()  # finishes the generator, releasing what it holds


# --------------------------------------------------------------------------- opening


_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux fcntl; not in Python's fcntl module before 3.10 on all builds


def _widen_pipe(stream: io.BufferedIOBase) -> None:
    """A pipe on stdin holds 64 KiB by default, so each read returns at most that: 1 MiB
    means 16 times fewer reads (best effort: other systems, or a limit, keep the default)."""
    try:
        import fcntl

        descriptor = stream.fileno()
        if stat.S_ISFIFO(os.fstat(descriptor).st_mode):
            fcntl.fcntl(descriptor, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), _PIPE_BYTES)
    except (OSError, ValueError, io.UnsupportedOperation, ImportError):
        pass


def _open_raw(path: str, stack: ExitStack) -> tuple[_Stream, float | None, bool]:
    """Open the undecoded bytes; returns (stream, mtime, is_regular_file)."""
    if path == STDIN:
        if sys.stdin is None:
            raise InputError("stdin is not available", _location(path))
        buffer = cast(io.BufferedIOBase, sys.stdin.buffer)
        _widen_pipe(buffer)
        stream = _Stream(_FileSource(buffer, owned=False), path)  # never close our stdin
        return stack.enter_context(stream), None, False
    try:
        raw = open(path, "rb", buffering=0)  # closed by the _Stream
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot open: {reason}", _location(path)) from exc
    stream = stack.enter_context(_Stream(_FileSource(raw, owned=True), path))
    try:
        info = os.fstat(raw.fileno())
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", _location(path)) from exc
    regular = stat.S_ISREG(info.st_mode)
    return stream, (info.st_mtime if regular else None), regular


def _open_decoded(path: str, stack: ExitStack) -> tuple[_Stream, str | None, float | None, bool]:
    """Open ``path`` and undo any compression: (stream, codec, mtime, is_regular_file)."""
    raw, mtime, regular = _open_raw(path, stack)
    codec = codec_of(raw.peek(HEAD_BYTES))
    if codec is None:
        return raw, None, mtime, regular
    source: _Source = _ZstdSource(raw) if codec == "zstd" else _CodecSource(raw, codec)
    return stack.enter_context(_Stream(_Prefetch(source), path, codec)), codec, mtime, regular


def _open(path: str, stack: ExitStack) -> OpenedInput:
    stream, codec, mtime, regular = _open_decoded(path, stack)
    head = stream.peek(len(JOURNAL_MAGIC))  # raises if the compressed data is bad from the start

    if head.startswith(JOURNAL_MAGIC):
        # journalctl needs a real, seekable file: spool stdin and compressed journals.
        journal_file = path if codec is None and regular else _spool(stream, path, stack)
        chunks = _journalctl_chunks(journal_file, path, stack)
        kind = "journal"
    else:
        kind = _journal_text_kind(stream) or ""
        if not kind:
            return OpenedInput(stream=_binary(stream), compression=codec, path=path, mtime=mtime)
        entries = _json_entries(stream) if kind == "journal-json" else _ExportParser(stream)
        chunks = _render_entries(entries)

    converted = stack.enter_context(_Stream(_IterSource(chunks), path, "journal"))
    compression = f"{codec}+{kind}" if codec else kind
    return OpenedInput(stream=_binary(converted), compression=compression, path=path, mtime=mtime)


def _binary(stream: _Stream) -> BinaryIO:
    return cast(BinaryIO, stream)


def _spool(stream: _Stream, path: str, stack: ExitStack) -> str:
    """Copy a decoded journal to a private temp file (removed when the input is closed)."""
    try:
        fd, name = tempfile.mkstemp(prefix="oomlens-", suffix=".journal")
        stack.callback(os.unlink, name)
        with open(fd, "wb") as out:
            while chunk := stream.read(_SPOOL_CHUNK):
                out.write(chunk)
    except OSError as exc:  # our temp file, e.g. a full disk; read errors are InputErrors
        reason = exc.strerror or str(exc)
        raise InputError(
            f"cannot copy the journal to a temporary file: {reason}", _location(path)
        ) from exc
    return name


# --------------------------------------------------------------------------- journals


def _journalctl_chunks(journal_file: str, path: str, stack: ExitStack) -> Iterator[bytes]:
    """Start journalctl on a binary journal file and stream its entries as text lines."""
    exe = shutil.which("journalctl")
    if exe is None:
        raise InputError(
            "journalctl is needed to read binary journal files but was not found on PATH; "
            "install the systemd package, which provides it (or give oomlens the output of "
            "`journalctl -o json` instead)",
            _location(path),
        )
    # Temp file rather than a pipe for stderr: an unread stderr pipe could fill and block.
    errors = stack.enter_context(tempfile.TemporaryFile())
    argv = [
        exe,
        f"--file={_glob_escape(journal_file)}",  # --file takes a glob pattern
        "-o",
        "json",
        "--all",  # include long and binary fields (they come out as byte arrays)
        "--no-pager",
    ]
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
    except OSError as exc:
        raise InputError(f"cannot run journalctl: {exc.strerror or exc}", _location(path)) from exc
    stack.callback(_reap, proc)
    assert proc.stdout is not None
    return _journalctl_output(proc, proc.stdout, errors, path)


def _journalctl_output(
    proc: subprocess.Popen[bytes], stdout: IO[bytes], errors: IO[bytes], path: str
) -> Iterator[bytes]:
    # Popen's stdout is an io.BufferedReader (bufsize=-1), typed loosely as IO[bytes].
    yield from _render_entries(_json_entries(cast(io.BufferedReader, stdout)))
    status = proc.wait()
    if status != 0:
        errors.seek(0)
        lines = [line.strip() for line in errors.read().decode("utf-8", "replace").splitlines()]
        last = next((line for line in reversed(lines) if line), f"exit status {status}")
        raise InputError(f"journalctl failed: {last}", _location(path))


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Stop journalctl if the reader closed early, and always collect its exit status."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _glob_escape(path: str) -> str:
    return re.sub(r"([\\*?\[])", r"\\\1", path)


_FIELD_NAME = re.compile(rb"[A-Z_][A-Z0-9_]*")
_EXPORT_FIELD_LINE = re.compile(rb"([A-Z_][A-Z0-9_]*)(=.*)?")
_EXPORT_LINE = re.compile(rb"([^=\n]*)(=[^\n]*)?\n")  # key, "=value" (None: binary field)


def _journal_text_kind(stream: _Stream) -> str | None:
    """Recognise ``journalctl -o json`` (and json-seq) or ``-o export`` text by its start."""
    head = stream.peek(1)
    start = head.lstrip(b" \t\r\n\x1e")
    if start[:1] == b"{":
        line = _first_line(stream)
        try:
            first = json.loads(line.strip(b" \t\r\n\x1e"))
        except ValueError:
            return None
        if isinstance(first, dict) and ("MESSAGE" in first or "__CURSOR" in first):
            return "journal-json"
        return None
    # Cheap checks first: only a head that starts like an export record is looked at further.
    if (
        _FIELD_NAME.match(head)
        and _EXPORT_FIELD_LINE.fullmatch(_first_line(stream))
        and _looks_like_export(stream.peek(_PEEK_CHUNK))
    ):
        return "journal-export"
    return None


def _first_line(stream: _Stream) -> bytes:
    """The first non-blank line, looking ahead at most _FIRST_LINE_LIMIT bytes."""
    size = _PEEK_CHUNK
    while True:
        head = stream.peek(size)
        body = head.lstrip(b" \t\r\n\x1e")
        end = body.find(b"\n")
        if end >= 0:
            return body[:end]
        if len(head) < size or size >= _FIRST_LINE_LIMIT:
            return body
        size *= 2


def _looks_like_export(head: bytes) -> bool:
    """Export format: ``KEY=value`` lines (or ``KEY`` + binary) up to a blank line, with a
    journal key among them; a plain log that happens to start ``FOO=bar`` does not pass."""
    keys: set[bytes] = set()
    for line in head.split(b"\n")[:-1]:
        if not line:
            break
        match = _EXPORT_FIELD_LINE.fullmatch(line)
        if match is None:
            return False
        keys.add(match.group(1))
        if match.group(2) is None:
            break  # binary field: its payload follows, stop checking lines here
    return any(key == b"MESSAGE" or key.startswith(b"__") for key in keys)


# Fields the rendered line uses; everything else in an entry is ignored.
_WANTED = ("MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "_TRANSPORT")
_REALTIME = "__REALTIME_TIMESTAMP"
_MONOTONIC = "_SOURCE_MONOTONIC_TIMESTAMP"
_ENTRY_KEYS = (*_WANTED, _REALTIME, _MONOTONIC)
_ENTRY_KEYS_BYTES = frozenset(key.encode() for key in _ENTRY_KEYS)

# An entry is either the fields of one journal entry (values we use are str) or, for a line
# of journal JSON that does not parse, the raw line to pass through untouched.
_Entry = dict[str, Any] | bytes


def _iter_lines(stream: io.BufferedIOBase) -> Iterator[bytes]:
    """Lines of a stream, read in large chunks (much faster than readline per line)."""
    pending: list[bytes] = []  # pieces of an unfinished line (kept apart: no O(n^2) joins)
    while chunk := stream.read1(_SPOOL_CHUNK):
        pending.append(chunk)
        if b"\n" in chunk:
            lines = b"".join(pending).split(b"\n")
            pending = [lines.pop()]
            yield from lines
    if tail := b"".join(pending):
        yield tail


def _json_value(value: object) -> str | None:
    """A journalctl JSON field value as text: strings as is, byte arrays (non-UTF-8 data)
    decoded with replacement, multiple values -> the first, null (field too large without
    --all) -> absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        try:
            return bytes(value).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return _json_value(value[0])  # a list of values: the field occurred repeatedly
    return None


_decode_json = json.JSONDecoder().decode


def _json_entries(stream: io.BufferedIOBase) -> Iterator[_Entry]:
    for line in _iter_lines(stream):
        text = line.strip(b" \t\r\x1e")
        if not text:
            continue
        try:
            entry = _decode_json(text.decode("utf-8"))
        except ValueError:  # also UnicodeDecodeError
            entry = None
        if not isinstance(entry, dict):
            yield line + b"\n"  # keep what we cannot interpret rather than drop it
            continue
        # Usually every value we use is already a string; only fix up the others in place.
        for key in _ENTRY_KEYS:
            value = entry.get(key)
            if value is not None and value.__class__ is not str:
                text_value = _json_value(value)
                if text_value is None:
                    del entry[key]
                else:
                    entry[key] = text_value
        yield entry


class _ExportParser:
    """Journal export format: ``KEY=value`` lines, binary fields as ``KEY\\n`` + little-endian
    64-bit size + data + ``\\n``, entries separated by a blank line.

    Parsed from large chunks, one regex step per line (readline per field was 2-3x slower);
    only the fields the rendered line needs are decoded, and unused binary payloads are
    skipped without being kept.
    """

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream
        self._buf = b""
        self._pos = 0

    def _more(self) -> bool:
        # Grow geometrically so one very long text line does not cost quadratic copying.
        chunk = self._stream.read(max(_SPOOL_CHUNK, len(self._buf) - self._pos))
        if not chunk:
            return False
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def _take(self, size: int, *, keep: bool = True) -> bytes:
        """Exactly ``size`` bytes (or b"" when not kept); EOFError if the data ends first."""
        have = len(self._buf) - self._pos
        if have >= size:
            start = self._pos
            self._pos += size
            return self._buf[start : self._pos] if keep else b""
        # Long payload: drain the buffer, then read the rest straight from the stream.
        parts = [self._buf[self._pos :]]
        self._buf, self._pos = b"", 0
        need = size - have
        while need:
            chunk = self._stream.read(min(need, _SPOOL_CHUNK))
            if not chunk:
                raise EOFError("journal export data ends inside a binary field")
            need -= len(chunk)
            if keep:
                parts.append(chunk)
        return b"".join(parts) if keep else b""

    def _binary_field(self, key: bytes) -> bytes:
        if not _FIELD_NAME.fullmatch(key):
            raise _CorruptData(f"unexpected line in journal export data: {key[:80]!r}")
        size = int.from_bytes(self._take(8), "little")
        if size > _MAX_EXPORT_FIELD:
            name = key.decode("ascii", "replace")
            raise _CorruptData(f"journal export field {name} claims {size} bytes")
        data = self._take(size, keep=key in _ENTRY_KEYS_BYTES)
        if self._take(1) != b"\n":
            raise _CorruptData("journal export binary field is not followed by a newline")
        return data

    def __iter__(self) -> Iterator[_Entry]:
        fields: dict[str, str] = {}
        wanted = _ENTRY_KEYS_BYTES
        while True:
            buf, pos = self._buf, self._pos
            binary_key = None
            # One regex step per complete line (never searching into the unfinished last
            # line, which would be quadratic); restarted, not re-split, after binary data.
            for match in _EXPORT_LINE.finditer(buf, pos, buf.rfind(b"\n") + 1):
                key, value = match.groups()
                pos = match.end()
                if value is not None:
                    if key in wanted:
                        fields.setdefault(key.decode("ascii"), value[1:].decode("utf-8", "replace"))
                elif key:
                    binary_key = key  # KEY alone on a line: size and payload follow
                    break
                elif fields:  # blank line: end of entry
                    yield fields
                    fields = {}
            self._pos = pos
            if binary_key is not None:
                data = self._binary_field(binary_key)
                if binary_key in wanted:
                    fields.setdefault(binary_key.decode("ascii"), data.decode("utf-8", "replace"))
                continue
            if self._more():
                continue
            tail = self._buf[self._pos :]  # a last line without its newline
            self._buf, self._pos = b"", 0
            if tail:
                name, equals_sign, raw = tail.partition(b"=")
                if not equals_sign:
                    raise EOFError("journal export data ends inside a binary field")
                if name in wanted:
                    fields.setdefault(name.decode("ascii"), raw.decode("utf-8", "replace"))
            break
        if fields:
            yield fields


def _render_entries(entries: Iterable[_Entry]) -> Iterator[bytes]:
    """Render entries as text lines, batched so the consumer gets large chunks."""
    render = _EntryRenderer()
    batch: list[bytes] = []
    size = 0
    try:
        for entry in entries:
            text = entry if isinstance(entry, bytes) else render(entry)
            batch.append(text)
            size += len(text)
            if size >= _OUTPUT_BATCH:
                yield b"".join(batch)
                batch.clear()
                size = 0
    except _READ_ERRORS:
        # Deliver what was rendered before the damage, then report it.
        if batch:
            yield b"".join(batch)
        raise
    if batch:
        yield b"".join(batch)


# Host and program must stay single tokens for the line-prefix parser ("host tag: ").
_NOT_IN_TOKEN = re.compile(r"[\s\[\]:]+")

# Realtime stamps past 9999-12-31 cannot be printed as ISO dates: treat them as absent.
_MAX_REALTIME_US = 253_402_300_799_999_999


def _token(value: object) -> str:
    return _NOT_IN_TOKEN.sub("_", value) if isinstance(value, str) else ""


def _int_field(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _EntryRenderer:
    """``<wallclock> <host> <program>: [<uptime>] <line>`` for each line of MESSAGE."""

    def __init__(self) -> None:
        self._second = -1
        self._second_text = ""  # "2023-11-25T12:00:00": entries cluster in time
        self._names: dict[tuple[object, ...], str] = {}  # "host program" per field values

    def _wallclock(self, micros: int) -> str:
        second, fraction = divmod(micros, 1_000_000)
        if second != self._second:
            moment = _EPOCH + timedelta(seconds=second)
            self._second, self._second_text = second, moment.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{fraction:06d}+00:00"

    def _host_program(self, kernel: bool, fields: Mapping[str, object]) -> str:
        key = (
            kernel,
            fields.get("_HOSTNAME"),
            fields.get("SYSLOG_IDENTIFIER"),
            fields.get("_COMM"),
        )
        names = self._names.get(key)
        if names is None:
            host = _token(key[1]) or "localhost"
            program = _token(key[2]) or _token(key[3]) or ("kernel" if kernel else "unknown")
            names = f"{host} {program}"
            if len(self._names) > 4096:
                self._names.clear()  # bounded: unbounded variety would be a strange journal
            self._names[key] = names
        return names

    def __call__(self, fields: Mapping[str, object]) -> bytes:
        message = fields.get("MESSAGE")
        if not isinstance(message, str):
            return b""  # entries without a message have nothing to show
        kernel = fields.get("_TRANSPORT") == "kernel"
        names = self._host_program(kernel, fields)
        bracket = ""
        if kernel and (uptime := _int_field(fields.get(_MONOTONIC))) is not None:
            seconds, micros = divmod(uptime, 1_000_000)
            bracket = f"[{f'{seconds}.{micros:06d}':>12}] "  # "%12.6f", without float rounding
        realtime = _int_field(fields.get(_REALTIME))
        if realtime is not None and realtime <= _MAX_REALTIME_US:
            prefix = f"{self._wallclock(realtime)} {names}: {bracket}"
        elif bracket:
            prefix = f"{bracket}{names}: "  # no wall clock: journalctl's short-monotonic shape
        else:
            prefix = ""
        if "\n" not in message:
            return f"{prefix}{message}\n".encode("utf-8", "replace")
        lines = message.split("\n")
        if not lines[-1]:
            lines.pop()  # a trailing newline does not start another line
        return "".join(f"{prefix}{line}\n" for line in lines).encode("utf-8", "replace")


# --------------------------------------------------------------------------- expansion

_COMPRESSED_SUFFIX = r"(?:\.(?:gz|bz2|xz|zst|zstd|lz4|lzma|Z))?"
# messages-20231101.gz, syslog-2023-11-01, app.log-20231101-1700000000 (logrotate dateext)
_DATED = re.compile(
    rf"(?P<base>.+?)[-_.](?P<date>(?:19|20)\d\d-?[01]\d-?[0-3]\d(?:[-_T]?\d{{2,10}})?)"
    rf"{_COMPRESSED_SUFFIX}"
)
# kern.log.1, kern.log.2.gz (logrotate default, savelog)
_NUMBERED = re.compile(rf"(?P<base>.+?)\.(?P<number>\d{{1,6}}){_COMPRESSED_SUFFIX}")
# system@<seqnum-id>-<seqnum>-<realtime>.journal, system@<realtime>-<random>.journal~
_ARCHIVED_JOURNAL = re.compile(r"(?P<base>.+)@(?P<rest>[^@/]+)\.journal~?")


def _rotation_key(name: str) -> tuple[str, int, int, str, str]:
    """Sort key putting each rotated family oldest first and its live file last:
    dated copies by date, then numbered copies highest number first, then the live file."""
    if match := _DATED.fullmatch(name):
        date = re.sub(r"\D", "", match["date"])
        return match["base"], 0, 0, date, name
    if match := _NUMBERED.fullmatch(name):
        return match["base"], 1, -int(match["number"]), "", name
    if match := _ARCHIVED_JOURNAL.fullmatch(name):
        parts = match["rest"].split("-")
        # Order by the head realtime stamp: third part when archived, first when dirty (~).
        stamp = parts[2] if len(parts) == 3 else parts[0]
        return f"{match['base']}.journal", 0, 0, stamp, name
    return name, 2, 0, "", name


def _is_binary(head: bytes) -> bool:
    if not head:
        return False
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return control > _BINARY_RATIO * len(head)


def _sniff_log(path: str) -> str | None:
    """Why a file found in a directory is not a log, or None if it should be read."""
    with ExitStack() as stack:
        stream, codec, _mtime, _regular = _open_decoded(path, stack)
        head = stream.peek(_BINARY_SNIFF)[:_BINARY_SNIFF]
    if head.startswith(JOURNAL_MAGIC) or not _is_binary(head):
        return None
    after = f" after {codec} decompression" if codec else ""
    return f"skipped: binary data{after}, not a log or journal"


class _Expander:
    def __init__(self) -> None:
        self.refs: list[InputRef] = []
        self.diagnostics: list[Diagnostic] = []
        self._seen_files: set[tuple[int, int]] = set()
        self._seen_dirs: set[tuple[int, int]] = set()
        self._stdin = False

    def _note(self, path: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(path=path, line=0, message=message))

    def _add(self, path: str, info: os.stat_result | None) -> None:
        if info is not None:
            identity = (info.st_dev, info.st_ino)
            if identity in self._seen_files:
                self._note(path, "listed more than once; read once")
                return
            self._seen_files.add(identity)
        self.refs.append(InputRef(path=path))

    def add_argument(self, path: str) -> None:
        if path == STDIN:
            if self._stdin:
                self._note(path, "stdin listed more than once; read once")
            else:
                self._stdin = True
                self.refs.append(InputRef(path=STDIN))
            return
        try:
            info = os.stat(path)
        except OSError as exc:
            self._note(path, f"cannot open: {exc.strerror or exc}")
            return
        if stat.S_ISDIR(info.st_mode):
            self._walk(path, info)
        else:
            # Named explicitly: always read, even if it looks binary or is unreadable (then
            # open_input reports the error for it).
            self._add(path, info)

    def _walk(self, directory: str, info: os.stat_result) -> None:
        identity = (info.st_dev, info.st_ino)
        if identity in self._seen_dirs:
            return  # a symlink loop or a directory given twice
        self._seen_dirs.add(identity)
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError as exc:
            self._note(directory, f"cannot read directory: {exc.strerror or exc}")
            return
        files: list[tuple[str, os.stat_result]] = []
        subdirs: list[tuple[str, os.stat_result]] = []
        for entry in entries:
            path = os.path.join(directory, entry.name)
            try:
                entry_info = entry.stat()  # follows symlinks
            except OSError as exc:
                self._note(path, f"cannot read: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(entry_info.st_mode):
                subdirs.append((entry.name, entry_info))
            elif stat.S_ISREG(entry_info.st_mode):
                files.append((entry.name, entry_info))
            else:
                # FIFOs, sockets and devices could block or never end.
                self._note(path, "skipped: not a regular file")
        for name, entry_info in sorted(files, key=lambda item: _rotation_key(item[0])):
            path = os.path.join(directory, name)
            try:
                reason = _sniff_log(path)
            except InputError as exc:
                self._note(path, exc.message)
                continue
            if reason is None:
                self._add(path, entry_info)
            else:
                self._note(path, reason)
        for name, entry_info in sorted(subdirs, key=lambda item: item[0]):
            self._walk(os.path.join(directory, name), entry_info)

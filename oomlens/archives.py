"""Walk directories and archives (tar, tar.gz/.xz/.bz2/.zst, zip, nested) member by member.

Nothing is extracted to disk: tar archives are read as forward-only streams (``tarfile``
stream mode over oomlens' own decompressors), zip archives through ``zipfile``. A display path
names a member inside its archives with ``!``: ``fleet.tar.gz!web1/var/log/messages``,
``outer.zip!inner.tar!var/log/syslog``.

The walk yields :class:`Member` (a log to analyse) and :class:`BadInput` (a member refused or
unreadable: path traversal, links, devices, decompression bombs, damaged archives) and
collects the ``hostname`` files of sosreport-like trees for host attribution.

A member's bytes travel with it when it is small (``inline_bytes``); a larger member is named
by a :class:`Locator` so a worker process re-reads it from its archive.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import re
import stat
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import IO, BinaryIO, cast

import zstandard

from .errors import ErrorLocation, InputError
from .magic import HEAD_BYTES, JOURNAL_MAGIC, codec_of
from .reader import (
    _DECODERS,
    _READ_ERRORS,
    OpenedInput,
    _CodecSource,
    _ExportParser,
    _FileSource,
    _IterSource,
    _journal_text_kind,
    _journalctl_chunks,
    _json_entries,
    _render_entries,
    _rotation_key,
    _Source,
    _spool,
    _Stream,
    _ZstdSource,
)

__all__ = [
    "DEFAULT_MAX_MEMBER_BYTES",
    "LIMIT_MESSAGE",
    "BadInput",
    "HostnameHint",
    "KnownArchive",
    "Locator",
    "Member",
    "Walker",
    "open_log",
    "open_member_raw",
]

DEFAULT_MAX_MEMBER_BYTES = 4 << 30  # decompressed bytes one member may hold
MAX_DEPTH = 3  # archives inside archives inside archives; deeper ones are not opened
INLINE_BYTES = 32 << 20  # members up to this raw size travel to workers with their bytes
NESTED_ZIP_BYTES = 256 << 20  # a zip inside another archive is read into memory (needs seek)
_HOSTNAME_BYTES = 512
LIMIT_MESSAGE = "decompressed data exceeds the limit"
_SNIFF_BYTES = 64 * 1024
_CHUNK = 1 << 20

# Log files picked from directories and archives when no --glob is given: the /var/log and
# sosreport names (rotated and compressed copies included) and journal files.
LOG_NAME_PATTERNS: tuple[str, ...] = (
    "messages",
    "messages[.-]*",
    "kern.log",
    "kern.log[.-]*",
    "syslog",
    "syslog[.-]*",
    "dmesg",
    "dmesg[.-]*",
    "journalctl*",  # sosreport: sos_commands/logs/journalctl_--no-pager..., text output
    "*.journal",
    "*.journal~",
)
_ARCHIVE_SUFFIXES = (
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.xz",
    ".txz",
    ".tar.bz2",
    ".tbz2",
    ".tar.zst",
    ".tar.zstd",
    ".tzst",
    ".zip",
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True, kw_only=True)
class Locator:
    """Where a member sits: the top-level file, then per archive level the member name and its
    ordinal among that archive's entries (tar names may repeat)."""

    top: str
    steps: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One log to analyse."""

    display: str  # "fleet.tar.gz!web1/var/log/messages" or a file path
    locator: Locator
    # (container display path, path relative to it), innermost first; used for hosts by path
    scopes: tuple[tuple[str, str], ...]
    size_bytes: int | None  # raw (as stored) size
    mtime: float | None
    data: bytes | None = None  # the raw bytes, for small archive members
    digest: str | None = None  # blake2b of the raw bytes, when computed


@dataclass(frozen=True, slots=True, kw_only=True)
class BadInput:
    """A file or member that was refused or could not be read."""

    path: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownArchive:
    """A top-level archive that ``WalkOptions.known_archive`` recognised as unchanged: it is
    not read; its members come from the index."""

    path: str
    root: str | None  # the directory argument it was found under (None: named itself)


@dataclass(frozen=True, slots=True, kw_only=True)
class HostnameHint:
    """A sosreport ``hostname`` (or ``etc/hostname``) file: ``directory`` is the tree root it
    names, relative to ``container``."""

    container: str
    directory: str
    hostname: str


# --------------------------------------------------------------------------- helpers


def blake2b_hex(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def file_digest(path: str) -> str:
    """blake2b of a file's bytes, streamed."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb", buffering=0) as raw:
        while chunk := raw.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def unsafe_name(name: str) -> str | None:
    """Why an archive member name is refused, or None: absolute paths, drive letters and
    ``..`` components would escape an extraction directory."""
    if not name:
        return "refused: empty member name"
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", name):
        return "refused: absolute member path"
    if ".." in re.split(r"[\\/]", name):
        return "refused: member path escapes the archive (..)"
    if "\x00" in name:
        return "refused: NUL in member name"
    return None


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


def archive_stem(name: str) -> str:
    base = os.path.basename(name.rstrip("/"))
    lower = base.lower()
    for suffix in sorted(_ARCHIVE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return base[: -len(suffix)]
    return base


def hostname_from_bytes(data: bytes) -> str | None:
    """The first line of a hostname file, if it looks like a host name."""
    text = data[:_HOSTNAME_BYTES].decode("utf-8", "replace").strip().split("\n", 1)[0].strip()
    return text if _HOSTNAME_RE.fullmatch(text) else None


class _LimitSource:
    """At most ``limit`` bytes from a stream; reading past it is an InputError (a
    decompression bomb, or a member larger than allowed)."""

    def __init__(self, inner: IO[bytes], limit: int, path: str) -> None:
        self._inner = inner
        self._left = limit
        self._limit = limit
        self._path = path

    def read(self, size: int, /) -> bytes:
        data = self._inner.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise InputError(
                f"{LIMIT_MESSAGE} of {self._limit} bytes (--max-member-bytes); skipped",
                ErrorLocation(self._path),
            )
        return data

    def readinto(self, buffer: memoryview, /) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()


def _decoded(
    raw: IO[bytes], path: str, stack: ExitStack, limit: int | None
) -> tuple[_Stream, str | None]:
    """Undo gzip/bzip2/xz/zstd (by magic bytes) over a raw stream; at most ``limit`` bytes.
    Returns the decoded stream and the codec (None: not compressed)."""
    stream = stack.enter_context(_Stream(_FileSource(cast(io.RawIOBase, raw), owned=False), path))
    codec = codec_of(stream.peek(HEAD_BYTES))
    if codec is not None:
        source: _Source = _ZstdSource(stream) if codec == "zstd" else _CodecSource(stream, codec)
        stream = stack.enter_context(_Stream(source, path, codec))
    if limit is not None:
        stream = stack.enter_context(
            _Stream(_LimitSource(cast(IO[bytes], stream), limit, path), path)
        )
    return stream, codec


def _tar_header(block: bytes) -> bool:
    try:
        tarfile.TarInfo.frombuf(block[:512], "utf-8", "surrogateescape")
    except (tarfile.HeaderError, ValueError):
        return False
    return True


def open_log(
    raw: IO[bytes], path: str, stack: ExitStack, limit: int, *, file_path: str | None = None
) -> OpenedInput:
    """Open a member's raw bytes as a log the way ``reader.open_input`` opens a file:
    compression by magic bytes, journal export/JSON text converted, binary journals read with
    journalctl. journalctl needs a file: a plain journal file (``file_path``) is given to it
    as it is, a journal from an archive or compressed is spooled to a private temporary file.
    At most ``limit`` decompressed bytes are read."""
    stream, codec = _decoded(raw, path, stack, limit)
    head = stream.peek(len(JOURNAL_MAGIC))
    if head.startswith(JOURNAL_MAGIC):
        journal = file_path if file_path is not None and codec is None else None
        chunks = _journalctl_chunks(journal or _spool(stream, path, stack), path, stack)
        kind = "journal"
    else:
        kind = _journal_text_kind(stream) or ""
        if not kind:
            return OpenedInput(
                stream=cast(BinaryIO, stream), compression=codec, path=path, mtime=None
            )
        entries = _json_entries(stream) if kind == "journal-json" else _ExportParser(stream)
        chunks = _render_entries(entries)
    converted = stack.enter_context(_Stream(_IterSource(chunks), path, "journal"))
    compression = f"{codec}+{kind}" if codec else kind
    return OpenedInput(
        stream=cast(BinaryIO, converted), compression=compression, path=path, mtime=None
    )


# --------------------------------------------------------------------------- containers


_Entry = tuple[str, int, "Callable[[], IO[bytes]] | None", int, float | None, str | None]
# (name, ordinal, opener or None, raw size, mtime, refusal reason)


def _tar_entries(stream: IO[bytes]) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo, int]]:
    # 64 KiB reads: tarfile's default 10 KiB records cost many small calls, and 1 MiB ones
    # cost a copy of the unread rest of the buffer on every read (measured: the walk of a
    # tar.gz of 1 MB logs took 1.5x as long with 1 MiB as with 64 KiB)
    archive = tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 16)
    ordinal = 0
    for info in archive:
        yield archive, info, ordinal
        ordinal += 1


def _tar_refusal(info: tarfile.TarInfo) -> str | None:
    if info.issym():
        return "skipped: symbolic link in archive"
    if info.islnk():
        return "skipped: hard link in archive"
    if info.ischr() or info.isblk() or info.isfifo():
        return "skipped: device or fifo in archive"
    if not info.isreg():
        return "skipped: not a regular file"
    return None


def _zip_refusal(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "skipped: symbolic link in archive"
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
        return "skipped: device or fifo in archive"
    return None


def _zip_mtime(info: zipfile.ZipInfo) -> float | None:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return None


def _open_zip(raw: IO[bytes] | str, path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(f"corrupt zip archive: {exc}", ErrorLocation(path)) from exc


@contextmanager
def _read_error(path: str, what: str) -> Iterator[None]:
    """Turn the ways archive reading fails into an InputError naming the archive."""
    try:
        yield
    except InputError:
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"damaged {what}: {exc or 'ends early'}", ErrorLocation(path)) from exc
    except (OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"cannot read {what}: {exc}", ErrorLocation(path)) from exc
    except _READ_ERRORS as exc:  # zlib/lzma/zstd errors raised through zipfile
        raise InputError(f"damaged {what}: {exc}", ErrorLocation(path)) from exc


def sniff_archive(stream: _Stream) -> str | None:
    """ "zip", "tar" (after any compression) or None, from the lookahead of a raw stream
    (nothing is consumed)."""
    head = stream.peek(_SNIFF_BYTES)
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    codec = codec_of(head[:HEAD_BYTES])
    block = head[:512] if codec is None else _decode_head(head, codec)
    return "tar" if len(block) >= 512 and _tar_header(block) else None


def _decode_head(head: bytes, codec: str) -> bytes:
    """The first 512 decoded bytes of a compressed head (less when it does not decode)."""
    try:
        if codec == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(head))
            return bytes(reader.read(512))
        decoder = _DECODERS[codec]()
        return bytes(decoder.decompress(head, 512))
    except _READ_ERRORS:  # not a readable archive head
        return b""


# --------------------------------------------------------------------------- the walk


@dataclass(slots=True)
class WalkOptions:
    globs: tuple[str, ...] = ()
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    inline_bytes: int = INLINE_BYTES
    hash_members: bool = True
    max_depth: int = MAX_DEPTH
    # (path, root, stat) -> True when the index holds everything this archive gave last time
    known_archive: Callable[[str, str | None, os.stat_result], bool] | None = None


@dataclass(slots=True)
class Walker:
    """Turns command-line paths into members, bad inputs and hostname hints, in a stable
    order (directories sorted, rotated logs oldest first, archives in stored order)."""

    options: WalkOptions = field(default_factory=WalkOptions)
    hostnames: list[HostnameHint] = field(default_factory=list)
    # top-level archives read completely or in part: (path, root, stat)
    archives: list[tuple[str, str | None, os.stat_result]] = field(default_factory=list)
    # top-level bytes read so far and in total (for progress)
    bytes_done: int = 0
    bytes_total: int = 0

    def walk(self, paths: Sequence[str]) -> Iterator[Member | BadInput | KnownArchive]:
        seen: set[tuple[int, int]] = set()
        tops: list[tuple[str, os.stat_result | None]] = []
        for path in paths:
            try:
                info = os.stat(path)
            except OSError as exc:
                tops.append((path, None))
                yield BadInput(path=path, message=f"cannot open: {exc.strerror or exc}")
                continue
            tops.append((path, info))
            if stat.S_ISREG(info.st_mode):
                self.bytes_total += info.st_size
        for path, top_info in tops:
            if top_info is None:
                continue
            if stat.S_ISDIR(top_info.st_mode):
                yield from self._walk_dir(path, path, seen)
            else:
                yield from self._top_file(path, top_info, root=None, explicit=True, seen=seen)

    # -- files and directories

    def _selected(self, rel: str) -> bool:
        if self.options.globs:
            return any(fnmatch.fnmatchcase(rel, g) for g in self.options.globs)
        base = rel.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(base, p) for p in LOG_NAME_PATTERNS)

    def _walk_dir(
        self, root: str, directory: str, seen: set[tuple[int, int]]
    ) -> Iterator[Member | BadInput | KnownArchive]:
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: _rotation_key(e.name))
        except OSError as exc:
            yield BadInput(path=directory, message=f"cannot read directory: {exc.strerror}")
            return
        subdirs = []
        for entry in entries:
            path = entry.path
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            try:
                if entry.is_symlink():
                    # a link could lead anywhere (outside the tree, a loop): not followed
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield BadInput(path=path, message=f"cannot read: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(info.st_mode):
                subdirs.append(path)
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            base = entry.name
            if base == "hostname":
                self._note_hostname_file(root, rel, path)
                continue
            if is_archive_name(base) or self._selected(rel):
                self.bytes_total += info.st_size
                yield from self._top_file(path, info, root=root, explicit=False, seen=seen)
        for sub in sorted(subdirs):
            yield from self._walk_dir(root, sub, seen)

    def _note_hostname_file(self, root: str, rel: str, path: str) -> None:
        try:
            with open(path, "rb") as handle:
                name = hostname_from_bytes(handle.read(_HOSTNAME_BYTES))
        except OSError:
            return
        self._hint(root, rel, name)

    def _hint(self, container: str, rel: str, name: str | None) -> None:
        if name is None:
            return
        directory = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if directory == "etc" or directory.endswith("/etc"):
            directory = directory[: -len("etc")].rstrip("/")
        self.hostnames.append(HostnameHint(container=container, directory=directory, hostname=name))

    def _top_file(
        self,
        path: str,
        info: os.stat_result,
        *,
        root: str | None,
        explicit: bool,
        seen: set[tuple[int, int]],
    ) -> Iterator[Member | BadInput | KnownArchive]:
        identity = (info.st_dev, info.st_ino)
        if identity in seen:
            return
        seen.add(identity)
        rel = os.path.relpath(path, root).replace(os.sep, "/") if root else os.path.basename(path)
        scopes = ((root, rel),) if root else ()
        known = self.options.known_archive
        if known is not None and known(path, root, info):
            self.bytes_done += info.st_size
            yield KnownArchive(path=path, root=root)
            return
        try:
            with ExitStack() as stack:
                try:
                    raw = stack.enter_context(open(path, "rb", buffering=0))
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    raise InputError(f"cannot open: {reason}", ErrorLocation(path)) from exc
                stream = stack.enter_context(
                    _Stream(_FileSource(cast(io.RawIOBase, raw), owned=False), path)
                )
                kind = sniff_archive(stream)
                if kind is not None:
                    self.archives.append((path, root, info))
                    yield from self._archive(
                        kind,
                        stream if kind == "tar" else path,
                        display=path,
                        locator=Locator(top=path),
                        scopes=scopes,
                        depth=1,
                    )
                    return
        except InputError as exc:
            yield BadInput(path=path, message=exc.message)
            return
        finally:
            self.bytes_done += info.st_size
        if not explicit and not self._selected(rel):
            return
        yield Member(
            display=path,
            locator=Locator(top=path),
            scopes=scopes,
            size_bytes=info.st_size,
            mtime=info.st_mtime,
        )

    # -- archives

    def _archive(
        self,
        kind: str,
        source: _Stream | str | IO[bytes],
        *,
        display: str,
        locator: Locator,
        scopes: tuple[tuple[str, str], ...],
        depth: int,
    ) -> Iterator[Member | BadInput | KnownArchive]:
        """Members of one archive; damage ends this archive (reported), not the walk."""
        try:
            with ExitStack() as stack:
                if kind == "tar":
                    limit = None if depth == 1 else self.options.max_member_bytes
                    stream, _codec = _decoded(cast(IO[bytes], source), display, stack, limit)
                    with _read_error(display, "tar archive"):
                        yield from self._tar_members(stream, display, locator, scopes, depth)
                else:
                    archive = stack.enter_context(_open_zip(cast(IO[bytes], source), display))
                    with _read_error(display, "zip archive"):
                        yield from self._zip_members(archive, display, locator, scopes, depth)
        except InputError as exc:
            yield BadInput(path=display, message=exc.message)

    def _tar_members(
        self,
        stream: _Stream,
        display: str,
        locator: Locator,
        scopes: tuple[tuple[str, str], ...],
        depth: int,
    ) -> Iterator[Member | BadInput | KnownArchive]:
        for archive, info, ordinal in _tar_entries(cast(IO[bytes], stream)):
            if info.isdir():
                continue
            name = _clean(info.name)

            def opener(
                archive: tarfile.TarFile = archive, info: tarfile.TarInfo = info
            ) -> IO[bytes]:
                handle = archive.extractfile(info)
                assert handle is not None  # regular files only
                return handle

            refusal = unsafe_name(info.name) or _tar_refusal(info)
            yield from self._entry(
                (name, ordinal, None if refusal else opener, info.size, float(info.mtime), refusal),
                display,
                locator,
                scopes,
                depth,
            )

    def _zip_members(
        self,
        archive: zipfile.ZipFile,
        display: str,
        locator: Locator,
        scopes: tuple[tuple[str, str], ...],
        depth: int,
    ) -> Iterator[Member | BadInput | KnownArchive]:
        for ordinal, info in enumerate(archive.infolist()):
            if info.is_dir():
                continue
            name = _clean(info.filename)

            def opener(info: zipfile.ZipInfo = info) -> IO[bytes]:
                return archive.open(info)

            refusal = unsafe_name(info.filename) or _zip_refusal(info)
            yield from self._entry(
                (
                    name,
                    ordinal,
                    None if refusal else opener,
                    info.file_size,
                    _zip_mtime(info),
                    refusal,
                ),
                display,
                locator,
                scopes,
                depth,
            )

    def _entry(
        self,
        entry: _Entry,
        display: str,
        locator: Locator,
        scopes: tuple[tuple[str, str], ...],
        depth: int,
    ) -> Iterator[Member | BadInput | KnownArchive]:
        name, ordinal, opener, size, mtime, refusal = entry
        member_display = f"{display}!{name}"
        if refusal is not None:
            yield BadInput(path=member_display, message=refusal)
            return
        assert opener is not None
        base = name.rsplit("/", 1)[-1]
        inner_scopes = ((display, name), *scopes)
        inner_locator = Locator(top=locator.top, steps=(*locator.steps, (name, ordinal)))
        if base == "hostname":
            with opener() as handle:
                self._hint(display, name, hostname_from_bytes(handle.read(_HOSTNAME_BYTES)))
            return
        nested = is_archive_name(base)
        if not nested and not self._selected(name):
            return
        if size > self.options.max_member_bytes:
            yield BadInput(
                path=member_display,
                message=f"member of {size} bytes exceeds the limit of "
                f"{self.options.max_member_bytes} bytes (--max-member-bytes); skipped",
            )
            return
        if nested:
            if depth >= self.options.max_depth:
                yield BadInput(
                    path=member_display,
                    message=f"nested archive deeper than {self.options.max_depth} levels; "
                    "not opened",
                )
                return
            yield from self._nested(opener, member_display, inner_locator, inner_scopes, depth)
            return
        data: bytes | None = None
        digest: str | None = None
        if size <= self.options.inline_bytes:
            data = _read_limited(opener, member_display, self.options.max_member_bytes, size)
            if self.options.hash_members:
                digest = blake2b_hex(data)
        elif self.options.hash_members:
            digest = _hash_member(opener, member_display)
        yield Member(
            display=member_display,
            locator=inner_locator,
            scopes=inner_scopes,
            size_bytes=size,
            mtime=mtime,
            data=data,
            digest=digest,
        )

    def _nested(
        self,
        opener: Callable[[], IO[bytes]],
        display: str,
        locator: Locator,
        scopes: tuple[tuple[str, str], ...],
        depth: int,
    ) -> Iterator[Member | BadInput | KnownArchive]:
        try:
            with ExitStack() as stack:
                with _read_error(display, "archive member"):
                    handle = stack.enter_context(opener())
                stream = stack.enter_context(
                    _Stream(_FileSource(cast(io.RawIOBase, handle), owned=False), display)
                )
                kind = sniff_archive(stream)
                if kind is None:
                    yield BadInput(
                        path=display, message="skipped: named like an archive but is not one"
                    )
                    return
                if kind == "zip":
                    data = _read_limited(lambda: cast(IO[bytes], stream), display, NESTED_ZIP_BYTES)
                    yield from self._archive(
                        "zip",
                        io.BytesIO(data),
                        display=display,
                        locator=locator,
                        scopes=scopes,
                        depth=depth + 1,
                    )
                else:
                    yield from self._archive(
                        "tar",
                        stream,
                        display=display,
                        locator=locator,
                        scopes=scopes,
                        depth=depth + 1,
                    )
        except InputError as exc:
            yield BadInput(path=display, message=exc.message)


def _read_limited(
    opener: Callable[[], IO[bytes]], display: str, limit: int, size: int | None = None
) -> bytes:
    """At most ``limit`` bytes (InputError beyond). ``size``: the member's size from its
    archive, which bounds what its handle gives; asking for no more than that spares
    BufferedReader a ``limit``-sized buffer and a shrinking copy."""
    want = limit if size is None else min(size, limit)
    with _read_error(display, "archive member"), opener() as handle:
        data = handle.read(want + 1)
    if len(data) > limit:
        raise InputError(
            f"member exceeds the limit of {limit} bytes; skipped", ErrorLocation(display)
        )
    return data


def _hash_member(opener: Callable[[], IO[bytes]], display: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with _read_error(display, "archive member"), opener() as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- workers


@contextmanager
def open_member_raw(member: Member) -> Iterator[IO[bytes]]:
    """The raw bytes of a member: inline data, a plain file, or re-read from its archives by
    its locator (streaming through each archive up to the member)."""
    if member.data is not None:
        yield io.BytesIO(member.data)
        return
    locator = member.locator
    with ExitStack() as stack:
        try:
            handle: IO[bytes] = stack.enter_context(open(locator.top, "rb", buffering=0))
        except OSError as exc:
            raise InputError(
                f"cannot open: {exc.strerror or exc}", ErrorLocation(member.display)
            ) from exc
        display = locator.top
        for name, ordinal in locator.steps:
            with _read_error(display, "archive"):
                handle = _find_member(handle, name, ordinal, display, stack)
            display = f"{display}!{name}"
        yield handle


def _find_member(
    handle: IO[bytes], name: str, ordinal: int, display: str, stack: ExitStack
) -> IO[bytes]:
    stream = stack.enter_context(
        _Stream(_FileSource(cast(io.RawIOBase, handle), owned=False), display)
    )
    kind = sniff_archive(stream)
    if kind == "zip":
        if isinstance(handle, io.BufferedIOBase | io.RawIOBase) and handle.seekable():
            archive = stack.enter_context(_open_zip(handle, display))
        else:
            data = _read_limited(lambda: cast(IO[bytes], stream), display, NESTED_ZIP_BYTES)
            archive = stack.enter_context(_open_zip(io.BytesIO(data), display))
        infos = archive.infolist()
        if ordinal < len(infos) and _clean(infos[ordinal].filename) == name:
            return stack.enter_context(archive.open(infos[ordinal]))
    elif kind == "tar":
        decoded, _codec = _decoded(cast(IO[bytes], stream), display, stack, None)
        for archive_tar, info, index in _tar_entries(cast(IO[bytes], decoded)):
            if index == ordinal and _clean(info.name) == name:
                found = archive_tar.extractfile(info)
                if found is not None:
                    return found
            if index > ordinal:
                break
    raise InputError(f"member {name!r} not found (did the archive change?)", ErrorLocation(display))

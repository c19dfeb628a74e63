"""Offsets of the lines worth a look, found by ripgrep or GNU grep in a process of their own.

The scanner's own search (``splitter.HIT_PATTERNS``, four ``re`` passes) costs about 2 s per
GB of log, all on the one core that also parses. ``rg -F`` finds the same literals at several
GB/s with SIMD, and GNU grep (on every Linux system) at about 0.6 GB/s; either runs beside
the scanner, which then only reads offsets. The literals below match exactly the lines the
patterns match (a test checks), and the scanner judges each hit line as before, so the
result is the same whichever finder ran; tests compare whole analyses.

Compressed files are decompressed a second time for the finder (``gzip -dc FILE | rg``), on
another core: only worth it where there is one. A finder that cannot start is skipped; one
that fails mid-way is abandoned and the scanner searches the rest itself.

``OOMLENS_HITS`` picks the finder: ``auto`` (default: rg, then grep, then Python), ``rg``,
``grep`` or ``python`` (the scanner's own passes). A named finder that is not installed falls
back to Python.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

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
# decompressors for the finder's own copy of a compressed file (name in reader.py -> argv)
DECOMPRESSORS = {
    "gzip": ("gzip", "-dc"),
    "bzip2": ("bzip2", "-dc"),
    "xz": ("xz", "-dc"),
    "zstd": ("zstd", "-dc", "-q"),
}
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


def _finder_argv(name: str) -> list[str] | None:
    tool = shutil.which(name)
    if tool is None:
        return None
    if name == "rg":
        # --text: NUL bytes do not make the rest of the file "binary"; -o -b: the byte offset
        # of each match, and only the match (a long line is never copied out)
        return [
            tool,
            "--no-config",
            "--text",
            "--fixed-strings",
            "--only-matching",
            "--byte-offset",
            "--no-line-number",
            "--no-filename",
            "--color=never",
            *_patterns("-e"),
            "-",
        ]
    return [
        tool,
        "--text",
        "--fixed-strings",
        "--only-matching",
        "--byte-offset",
        "--no-filename",
        "--color=never",
        *_patterns("-e"),
        "-",
    ]


def chosen_finder() -> str | None:
    """The finder ``OOMLENS_HITS`` asks for and this machine has, or None for Python."""
    wanted = os.environ.get("OOMLENS_HITS", "auto").strip().lower()
    names = FINDERS if wanted in ("", "auto") else (wanted,) if wanted in FINDERS else ()
    for name in names:
        if shutil.which(name) is not None:
            return name
    return None


def _limit_memory(process: subprocess.Popen[bytes]) -> None:
    # set from outside (prlimit), not in a preexec_fn, which is unsafe beside the reader's
    # decompression thread; the finder does not grow in the instant before
    limit = (FINDER_MEMORY_BYTES, FINDER_MEMORY_BYTES)
    try:
        resource.prlimit(process.pid, resource.RLIMIT_AS, limit)
    except (OSError, ValueError):  # it already exited
        pass


@dataclass
class HitFinder:
    """A running finder: ``offsets()`` yields the byte offset of every hit, ascending."""

    process: subprocess.Popen[bytes]
    feeder: subprocess.Popen[bytes] | None = None  # the decompressor, for compressed input

    def offsets(self) -> Iterator[int]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for line in stdout:
                number, _, _ = line.partition(b":")
                try:
                    yield int(number)
                except ValueError:  # not "offset:match"
                    raise FinderFailed(f"unexpected finder output {line[:60]!r}") from None
            codes = [self.process.wait(), self.feeder.wait() if self.feeder else 0]
        finally:
            self.close()  # stops them if the scan ended early
        # grep and rg exit 1 when nothing matched; anything else means the search stopped
        if codes[0] not in (0, 1) or codes[1] != 0:
            raise FinderFailed(f"finder exited with {codes[0]}, its decompressor with {codes[1]}")

    def close(self) -> None:
        for process in (self.process, self.feeder):
            if process is None:
                continue
            if process.poll() is None:
                process.kill()
            process.wait()
            for stream in (process.stdout, process.stdin):
                if stream is not None:
                    stream.close()


def start_finder(path: str, compression: str | None, *, parallel_ok: bool) -> HitFinder | None:
    """A finder over the decompressed bytes of the regular file ``path``, or None when none
    is wanted, installed or worth it (a compressed file on one CPU: decompressing twice would
    cost more than the search saves)."""
    name = chosen_finder()
    if name is None:
        return None
    argv = _finder_argv(name)
    if argv is None:
        return None
    env = {**os.environ, "LC_ALL": "C"}  # byte-wise matching, and grep's fastest path
    feeder = None
    try:
        if compression is None:
            with open(path, "rb") as source:
                process = subprocess.Popen(
                    argv,
                    stdin=source,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            _limit_memory(process)
            return HitFinder(process)
        if not parallel_ok or compression not in DECOMPRESSORS:
            return None
        tool, *flags = DECOMPRESSORS[compression]
        decompressor = shutil.which(tool)
        if decompressor is None:
            return None
        with open(path, "rb") as source:
            feeder = subprocess.Popen(
                [decompressor, *flags],
                stdin=source,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        process = subprocess.Popen(
            argv,
            stdin=feeder.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert feeder.stdout is not None
        feeder.stdout.close()  # the finder holds it now; the feeder sees a broken pipe if it dies
        _limit_memory(process)
        return HitFinder(process, feeder)
    except (OSError, subprocess.SubprocessError):
        if feeder is not None:
            feeder.kill()
            feeder.wait()
        return None


def all_offsets(path: str) -> list[int] | None:
    """Every hit offset of the plain file ``path`` (for cutting it into pieces), or None when
    no finder ran to the end."""
    finder = start_finder(path, None, parallel_ok=True)
    if finder is None:
        return None
    try:
        return list(finder.offsets())
    except FinderFailed:
        return None

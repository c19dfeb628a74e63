"""Offsets of the lines worth a look, found by ripgrep or GNU grep in a process of their own.

The scanner's own search (``splitter.HIT_PATTERNS``, four ``re`` passes) costs 2-3 s per GB
of log on the one core that also parses. ``rg -F`` finds the same literals at several GB/s
with SIMD, and GNU grep (on every Linux system) at about 0.6 GB/s, reading the file itself
in a process beside the scanner, which then only reads their byte offsets. The literals
below match exactly the lines the patterns match (a test checks), and the scanner judges
each hit line as before, so the analysis is the same whichever finder ran (tests compare
whole analyses).

Only plain regular files get a finder. Feeding a finder a decompressed stream through a pipe,
or letting it decompress a second copy, was measured here and gained little: a pipe costs
the kernel about as much per GB as the scanner's own search, and the second decompression
competes for the same cores. A finder that cannot start is skipped; one that fails part-way
is abandoned and the scanner searches the rest itself.

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
FINDER_MIN_BYTES = 8 << 20  # a smaller file is searched faster than a process starts
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


def start_finder(path: str) -> HitFinder | None:
    """A finder over the plain regular file ``path``, or None when none is wanted or
    installed, or it cannot start."""
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
                env={**os.environ, "LC_ALL": "C"},  # byte-wise matching, grep's fastest path
            )
    except (OSError, subprocess.SubprocessError):
        return None
    _limit_memory(process)
    return HitFinder(process)


def all_offsets(path: str) -> list[int] | None:
    """Every hit offset of the plain file ``path`` (for cutting it into pieces), or None when
    no finder ran to the end."""
    finder = start_finder(path)
    if finder is None:
        return None
    try:
        return list(finder.offsets())
    except FinderFailed:
        return None

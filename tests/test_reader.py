"""oomlens.reader: real files, real compressors, real journals (built with systemd tools)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
import zstandard

from oomlens.errors import InputError
from oomlens.model import Diagnostic
from oomlens.reader import InputRef, OpenedInput, expand_inputs, open_input

ROOT = Path(__file__).resolve().parents[1]

LOG = (
    b"Nov 25 12:00:00 web1 kernel: [  123.456789] java invoked oom-killer: "
    b"gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n"
    b"Nov 25 12:00:00 web1 kernel: [  123.456800] Mem-Info:\n"
    b"Nov 25 12:00:00 web1 kernel: [  123.456800] active_anon:1 inactive_anon:2\n"
    b"Nov 25 12:00:01 web1 kernel: [  124.000000] Out of memory: "
    b"Killed process 4242 (caf\xc3\xa9)\n"
)


def varied_log(size: int, seed: int = 7) -> bytes:
    """Log-like lines with random numbers, so compressed size grows with the text."""
    rng = random.Random(seed)
    lines = []
    total = 0
    number = 0
    while total < size:
        line = (
            f"Nov 25 12:{number // 60 % 60:02d}:{number % 60:02d} web{rng.randrange(9)} kernel: "
            f"[{rng.randrange(10**6):>7}.{rng.randrange(10**6):06d}] pid {rng.randrange(10**7)} "
            f"rss {rng.randrange(10**9)}kB\n"
        ).encode()
        lines.append(line)
        total += len(line)
        number += 1
    return b"".join(lines)


def read_all(path: str | Path, chunk: int = 1 << 20) -> tuple[bytes, str | None]:
    with open_input(InputRef(path=str(path))) as opened:
        # Typed BinaryIO for consumers that read(); at run time it is a BufferedIOBase.
        stream = cast(io.BufferedIOBase, opened.stream)
        parts = []
        buffer = bytearray(chunk)
        while count := stream.readinto(buffer):
            parts.append(bytes(buffer[:count]))
        return b"".join(parts), opened.compression


def read_until_error(path: Path) -> tuple[bytes, InputError | None]:
    """Read in small steps, keeping everything delivered before an InputError."""
    got = bytearray()
    with open_input(InputRef(path=str(path))) as opened:
        try:
            while chunk := opened.stream.read(64 * 1024):
                got += chunk
        except InputError as exc:
            return bytes(got), exc
    return bytes(got), None


# --------------------------------------------------------------------------- compression

Compress = Callable[[bytes], bytes]

STDLIB_COMPRESSORS: dict[str, Compress] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lambda data: lzma.compress(data, format=lzma.FORMAT_XZ),
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}

CLI_COMPRESSORS = {
    "gzip": ["gzip", "-c"],
    "bzip2": ["bzip2", "-c"],
    "xz": ["xz", "-c"],
    "zstd": ["zstd", "-q", "-c"],
}


@pytest.mark.parametrize("codec", sorted(STDLIB_COMPRESSORS))
def test_stdlib_compressed_file_detected_by_magic(tmp_path: Path, codec: str) -> None:
    data = LOG + varied_log(300_000)
    path = tmp_path / "kern.log.1"  # no telling extension: magic bytes decide
    path.write_bytes(STDLIB_COMPRESSORS[codec](data))
    assert read_all(path) == (data, codec)


@pytest.mark.parametrize("codec", sorted(CLI_COMPRESSORS))
def test_cli_compressed_file(tmp_path: Path, codec: str) -> None:
    argv = CLI_COMPRESSORS[codec]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} command-line tool not installed")
    data = LOG + varied_log(300_000)
    plain = tmp_path / "messages"
    plain.write_bytes(data)
    packed = tmp_path / "messages.packed"
    with plain.open("rb") as source, packed.open("wb") as target:
        subprocess.run([*argv, str(plain)], stdin=source, stdout=target, check=True)
    assert read_all(packed) == (data, codec)


def test_small_reads_and_lines_match(tmp_path: Path) -> None:
    data = LOG * 50
    path = tmp_path / "kern.log.gz"
    path.write_bytes(gzip.compress(data))
    with open_input(InputRef(path=str(path))) as opened:
        assert opened.stream.read(5) == data[:5]
        assert opened.stream.readline() == data[5 : data.index(b"\n") + 1]
        rest = b"".join(iter(lambda: opened.stream.read(7), b""))
    assert data[5:] == data[5 : data.index(b"\n") + 1] + rest


@pytest.mark.parametrize("codec", ["gzip", "bzip2", "xz", "zstd"])
def test_concatenated_members(tmp_path: Path, codec: str) -> None:
    parts = [LOG, b"second member\n", varied_log(50_000, seed=3)]
    path = tmp_path / "multi"
    path.write_bytes(b"".join(STDLIB_COMPRESSORS[codec](part) for part in parts))
    assert read_all(path) == (b"".join(parts), codec)


def test_zstd_skippable_frames_and_pzstd(tmp_path: Path) -> None:
    skippable = struct.pack("<II", 0x184D2A5A, 5) + b"index"  # pzstd output starts like this
    path = tmp_path / "frames"
    path.write_bytes(skippable + STDLIB_COMPRESSORS["zstd"](LOG) + skippable)
    assert read_all(path) == (LOG, "zstd")
    if shutil.which("pzstd"):
        plain = tmp_path / "plain"
        plain.write_bytes(LOG * 1000)
        subprocess.run(["pzstd", "-q", "-f", str(plain), "-o", str(path)], check=True)
        assert read_all(path) == (LOG * 1000, "zstd")


def test_gzip_zero_padding_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "padded.gz"
    path.write_bytes(gzip.compress(LOG) + b"\0" * 1000 + gzip.compress(LOG) + b"\0" * 10)
    assert read_all(path) == (LOG + LOG, "gzip")


def test_gzip_trailing_garbage_reported_after_data(tmp_path: Path) -> None:
    path = tmp_path / "garbage.gz"
    path.write_bytes(gzip.compress(LOG) + b"this is not gzip\n")
    got, error = read_until_error(path)
    assert got == LOG
    assert error is not None and str(path) in str(error)


@pytest.mark.parametrize(
    ("codec", "compress"),
    [
        ("gzip", gzip.compress),
        ("xz", lambda data: lzma.compress(data, preset=1)),
        ("bzip2", lambda data: bz2.compress(data, compresslevel=1)),  # 100k blocks
        ("zstd", lambda data: zstandard.ZstdCompressor(write_checksum=True).compress(data)),
    ],
)
def test_truncated_file_keeps_data_before_damage(
    tmp_path: Path, codec: str, compress: Compress
) -> None:
    data = varied_log(1_500_000)
    packed = compress(data)
    path = tmp_path / f"cut.{codec}"
    path.write_bytes(packed[: len(packed) * 6 // 10])

    got, error = read_until_error(path)

    assert error is not None, "truncation must be reported"
    assert str(path) in str(error)
    assert "truncated" in error.message
    assert data.startswith(got)
    assert len(got) > len(data) // 4  # most of what precedes the cut arrived


def test_truncated_gzip_error_comes_after_the_data(tmp_path: Path) -> None:
    """One big read returns the good bytes; the error waits for the next call."""
    data = varied_log(500_000)
    packed = gzip.compress(data)
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[:-100])
    with open_input(InputRef(path=str(path))) as opened:
        first = opened.stream.read()
        assert data.startswith(first) and len(first) > len(data) // 2
        with pytest.raises(InputError) as caught:
            opened.stream.read(1024)
    assert caught.value.location is not None and caught.value.location.path == str(path)


def test_corrupt_gzip_mid_stream_raises_input_error_from_read(tmp_path: Path) -> None:
    data = varied_log(800_000)
    packed = bytearray(gzip.compress(data))
    middle = len(packed) // 2
    packed[middle : middle + 64] = bytes(64)
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(packed))
    with open_input(InputRef(path=str(path))) as opened:  # the start is fine: opens
        with pytest.raises(InputError) as caught:
            while opened.stream.read(1 << 20):
                pass
    assert str(path) in str(caught.value)


def test_corrupt_at_start_raises_at_open(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    with pytest.raises(InputError) as caught, open_input(InputRef(path=str(path))):
        pass
    assert "gzip" in caught.value.message
    assert caught.value.location is not None and caught.value.location.path == str(path)


def test_gz_name_with_plain_text_is_plain(tmp_path: Path) -> None:
    path = tmp_path / "kern.log.2.gz"
    path.write_bytes(LOG)
    assert read_all(path) == (LOG, None)


def test_binary_garbage_read_as_bytes(tmp_path: Path) -> None:
    garbage = b"\x00\x01" + random.Random(5).randbytes(200_000)
    path = tmp_path / "garbage.bin"
    path.write_bytes(garbage)
    assert read_all(path) == (garbage, None)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    with open_input(InputRef(path=str(path))) as opened:
        assert opened.stream.read() == b""
        assert opened.compression is None
        assert opened.mtime == pytest.approx(path.stat().st_mtime)
        assert opened.path == str(path)


def test_missing_file_and_directory_raise_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.log"
    with pytest.raises(InputError) as caught, open_input(InputRef(path=str(missing))):
        pass
    assert str(missing) in str(caught.value)
    with pytest.raises(InputError), open_input(InputRef(path=str(tmp_path))):
        pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_permission_denied_raises_input_error(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_bytes(LOG)
    path.chmod(0)
    with pytest.raises(InputError) as caught, open_input(InputRef(path=str(path))):
        pass
    assert "ermission" in caught.value.message


def test_opened_input_is_frozen(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(LOG)
    with open_input(InputRef(path=str(path))) as opened:
        assert isinstance(opened, OpenedInput)
        with pytest.raises(AttributeError):
            opened.path = "x"  # type: ignore[misc]
    assert opened.stream.closed  # released when the context exits


# --------------------------------------------------------------------------- directories


def _paths(refs: list[InputRef]) -> list[str]:
    return [ref.path for ref in refs]


def test_directory_walk_orders_rotated_logs_oldest_first(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "sub" / "deeper").mkdir(parents=True)
    contents = {
        "kern.log": b"kern live\n",
        "kern.log.1": b"kern 1\n",
        "kern.log.2.gz": gzip.compress(b"kern 2\n"),
        "kern.log.3.gz": gzip.compress(b"kern 3\n"),
        "kern.log.10.gz": gzip.compress(b"kern 10\n"),
        "messages": b"messages live\n",
        "messages-20231101.gz": gzip.compress(b"messages 1101\n"),
        "messages-20231108": b"messages 1108\n",
        "auth.log": b"auth\n",
        "zzz.txt": bz2.compress(b"zzz\n"),
        "sub/dmesg": b"dmesg\n",
        "sub/deeper/boot.log.xz": lzma.compress(b"boot\n"),
    }
    for name, data in contents.items():
        (logs / name).write_bytes(data)

    refs, diagnostics = expand_inputs([str(logs)])

    assert diagnostics == []
    assert _paths(refs) == [
        str(logs / name)
        for name in [
            "auth.log",
            "kern.log.10.gz",
            "kern.log.3.gz",
            "kern.log.2.gz",
            "kern.log.1",
            "kern.log",
            "messages-20231101.gz",
            "messages-20231108",
            "messages",
            "zzz.txt",
            "sub/dmesg",
            "sub/deeper/boot.log.xz",
        ]
    ]
    decoded = [read_all(ref.path)[0] for ref in refs]
    assert decoded[1:6] == [b"kern 10\n", b"kern 3\n", b"kern 2\n", b"kern 1\n", b"kern live\n"]
    assert decoded[-1] == b"boot\n"
    assert decoded[-3] == b"zzz\n"


def test_dated_forms_and_journal_archives_order(tmp_path: Path) -> None:
    journal = b"LPKSHHRH" + bytes(200)
    seqnum_id = "0123456789abcdef0123456789abcdef"
    later = f"system@{seqnum_id}-0000000000000100-0005f0a1b2c3d4f0.journal"
    earlier = f"system@{seqnum_id}-0000000000000001-0005f0a1b2c3d4e5.journal"
    names = {
        "syslog-2023-11-08.gz": gzip.compress(b"b\n"),
        "syslog-2023-11-01": b"a\n",
        "syslog": b"c\n",
        "system.journal": journal,
        later: journal,
        earlier: journal,
        "user-1000.journal": journal,
    }
    for name, data in names.items():
        (tmp_path / name).write_bytes(data)
    refs, diagnostics = expand_inputs([str(tmp_path)])
    assert diagnostics == []
    assert [Path(ref.path).name for ref in refs] == [
        "syslog-2023-11-01",
        "syslog-2023-11-08.gz",
        "syslog",
        earlier,
        later,
        "system.journal",
        "user-1000.journal",
    ]


def test_arguments_keep_their_order_and_missing_paths_become_diagnostics(
    tmp_path: Path,
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.log").write_bytes(b"x\n")
    first, last = tmp_path / "z.log", tmp_path / "a.log"
    first.write_bytes(b"z\n")
    last.write_bytes(b"a\n")
    missing = str(tmp_path / "missing.log")

    refs, diagnostics = expand_inputs([str(first), missing, str(tmp_path / "d"), "-", str(last)])

    assert _paths(refs) == [str(first), str(tmp_path / "d" / "x.log"), "-", str(last)]
    assert len(diagnostics) == 1
    assert diagnostics[0].path == missing and diagnostics[0].line == 0
    assert "No such file" in diagnostics[0].message


def test_same_file_twice_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"a\n")
    refs, diagnostics = expand_inputs([str(path), str(tmp_path), str(path)])
    assert _paths(refs) == [str(path)]
    assert [d.path for d in diagnostics] == [str(path), str(path)]


def test_binary_files_in_directories_skipped_but_not_when_named(tmp_path: Path) -> None:
    logs = tmp_path / "log"
    logs.mkdir()
    wtmp = bytes(384) * 4 + b"\x07\x00\x00\x00pts/0" + bytes(100)  # utmp records: mostly NUL
    (logs / "wtmp").write_bytes(wtmp)
    (logs / "core.gz").write_bytes(gzip.compress(bytes(range(256)) * 64))
    (logs / "system.journal").write_bytes(b"LPKSHHRH" + bytes(4096))  # binary, but a journal
    (logs / "colours.log").write_bytes(b"\x1b[31mred\x1b[0m\tok\r\n" * 100)  # text with ESC
    (logs / "kern.log").write_bytes(LOG)
    (logs / "empty.log").write_bytes(b"")
    os.mkfifo(logs / "pipe")

    refs, diagnostics = expand_inputs([str(logs), str(logs / "wtmp")])

    assert _paths(refs) == [
        str(logs / name) for name in ["colours.log", "empty.log", "kern.log", "system.journal"]
    ] + [str(logs / "wtmp")]
    by_path = {d.path: d for d in diagnostics}
    assert set(by_path) == {str(logs / "wtmp"), str(logs / "core.gz"), str(logs / "pipe")}
    assert "binary" in by_path[str(logs / "wtmp")].message
    assert "gzip" in by_path[str(logs / "core.gz")].message
    assert "regular file" in by_path[str(logs / "pipe")].message
    assert all(isinstance(d, Diagnostic) and d.line == 0 for d in diagnostics)


def test_corrupt_compressed_file_in_directory_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "bad.xz").write_bytes(b"\xfd7zXZ\x00" + bytes(range(200)))
    refs, diagnostics = expand_inputs([str(tmp_path)])
    assert refs == []
    assert len(diagnostics) == 1 and "xz" in diagnostics[0].message


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_unreadable_entries_become_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "ok.log").write_bytes(b"ok\n")
    (tmp_path / "secret.log").write_bytes(b"secret\n")
    (tmp_path / "secret.log").chmod(0)
    (tmp_path / "closed").mkdir()
    (tmp_path / "closed" / "x.log").write_bytes(b"x\n")
    (tmp_path / "closed").chmod(0)
    try:
        refs, diagnostics = expand_inputs([str(tmp_path)])
    finally:
        (tmp_path / "closed").chmod(stat.S_IRWXU)
    assert _paths(refs) == [str(tmp_path / "ok.log")]
    assert {d.path for d in diagnostics} == {
        str(tmp_path / "secret.log"),
        str(tmp_path / "closed"),
    }


# --------------------------------------------------------------------------- stdin

READ_STDIN = """
import sys
from oomlens.reader import InputRef, open_input
with open_input(InputRef(path="-")) as opened:
    data = opened.stream.read()
    sys.stdout.buffer.write(data)
    sys.stderr.write(f"{opened.compression}|{opened.mtime}")
"""


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_reader_on_stdin(payload: bytes) -> tuple[bytes, str]:
    done = subprocess.run(
        [sys.executable, "-c", READ_STDIN],
        input=payload,
        capture_output=True,
        env=_python_env(),
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout, done.stderr.decode()


@pytest.mark.parametrize(
    ("codec", "compress"),
    [
        (None, lambda data: data),
        ("gzip", gzip.compress),
        ("zstd", STDLIB_COMPRESSORS["zstd"]),
        ("xz", STDLIB_COMPRESSORS["xz"]),
    ],
)
def test_stdin(codec: str | None, compress: Compress) -> None:
    data = LOG + varied_log(200_000)
    out, info = run_reader_on_stdin(compress(data))
    assert out == data
    assert info == f"{codec}|None"


def test_stdin_magic_split_across_writes() -> None:
    """The sniffing must wait for enough bytes when a pipe delivers them piecemeal."""
    packed = gzip.compress(LOG)
    proc = subprocess.Popen(
        [sys.executable, "-c", READ_STDIN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_python_env(),
        cwd=ROOT,
    )
    assert proc.stdin is not None
    proc.stdin.write(packed[:1])
    proc.stdin.flush()
    time.sleep(0.3)
    proc.stdin.write(packed[1:])
    proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()  # small: no pipe can fill up
    assert proc.wait(timeout=60) == 0, err.decode()
    assert out == LOG
    assert err.decode() == "gzip|None"


# --------------------------------------------------------------------------- journals

BOOT_ID = "0123456789abcdef0123456789abcdef"
Field = tuple[str, str | bytes]


def kernel_entry(
    realtime: int, uptime_us: int, message: str | bytes, *, source_monotonic: bool = True
) -> list[Field]:
    fields: list[Field] = [
        ("__REALTIME_TIMESTAMP", str(realtime)),
        ("__MONOTONIC_TIMESTAMP", str(uptime_us)),
        ("_BOOT_ID", BOOT_ID),
        ("_TRANSPORT", "kernel"),
        ("SYSLOG_IDENTIFIER", "kernel"),
        ("_HOSTNAME", "web1"),
        ("PRIORITY", "4"),
    ]
    if source_monotonic:
        fields.append(("_SOURCE_MONOTONIC_TIMESTAMP", str(uptime_us)))
    fields.append(("MESSAGE", message))
    return fields


ENTRIES: list[list[Field]] = [
    kernel_entry(
        1700913600_123456,
        123_456_789,
        "java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), "
        "order=0, oom_score_adj=0",
    ),
    kernel_entry(  # a multi-line MESSAGE: the Mem-Info counter block
        1700913600_123500,
        123_456_800,
        "Mem-Info:\n"
        "active_anon:1 inactive_anon:2 isolated_anon:0\n"
        " active_file:3 inactive_file:4 isolated_file:0\n"
        " unevictable:0 dirty:0 writeback:0\n",
    ),
    kernel_entry(  # not UTF-8: journalctl -o json prints it as an array of byte values
        1700913601_000000,
        124_000_000,
        b"Out of memory: Killed process 4242 (caf\xe9) total-vm:1024kB, anon-rss:512kB",
    ),
    kernel_entry(
        1700913601_500000,
        124_500_000,
        "oom_reaper: reaped process 4242 (caf), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
        source_monotonic=False,
    ),
    [
        ("__REALTIME_TIMESTAMP", "1700913602000001"),
        ("__MONOTONIC_TIMESTAMP", "125000001"),
        ("_BOOT_ID", BOOT_ID),
        ("_TRANSPORT", "syslog"),
        ("SYSLOG_IDENTIFIER", "systemd-oomd"),
        ("_COMM", "systemd-oomd"),
        ("_HOSTNAME", "web1"),
        ("_SOURCE_MONOTONIC_TIMESTAMP", "125000001"),  # not kernel: no [uptime]
        ("PRIORITY", "6"),
        ("MESSAGE", "Killed /system.slice/batch.service due to memory pressure"),
    ],
    [
        ("__REALTIME_TIMESTAMP", "1700913603000000"),
        ("__MONOTONIC_TIMESTAMP", "126000000"),
        ("_BOOT_ID", BOOT_ID),
        ("_TRANSPORT", "stdout"),
        ("_COMM", "worker"),
        ("MESSAGE", "worker restarting"),
    ],
    kernel_entry(1700956800_000000, 1_234_567_000_001, "wide uptime"),
]

EXPECTED = [
    "2023-11-25T12:00:00.123456+00:00 web1 kernel: [  123.456789] java invoked oom-killer: "
    "gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0",
    "2023-11-25T12:00:00.123500+00:00 web1 kernel: [  123.456800] Mem-Info:",
    "2023-11-25T12:00:00.123500+00:00 web1 kernel: [  123.456800] "
    "active_anon:1 inactive_anon:2 isolated_anon:0",
    "2023-11-25T12:00:00.123500+00:00 web1 kernel: [  123.456800]  "
    "active_file:3 inactive_file:4 isolated_file:0",
    "2023-11-25T12:00:00.123500+00:00 web1 kernel: [  123.456800]  "
    "unevictable:0 dirty:0 writeback:0",
    "2023-11-25T12:00:01.000000+00:00 web1 kernel: [  124.000000] "
    "Out of memory: Killed process 4242 (caf\ufffd) total-vm:1024kB, anon-rss:512kB",
    "2023-11-25T12:00:01.500000+00:00 web1 kernel: "
    "oom_reaper: reaped process 4242 (caf), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    "2023-11-25T12:00:02.000001+00:00 web1 systemd-oomd: "
    "Killed /system.slice/batch.service due to memory pressure",
    "2023-11-25T12:00:03.000000+00:00 localhost worker: worker restarting",
    "2023-11-26T00:00:00.000000+00:00 web1 kernel: [1234567.000001] wide uptime",
]


def export_record(fields: list[Field]) -> bytes:
    """Journal export format; bytes values and text with newlines use the binary form."""
    out = bytearray()
    for key, value in fields:
        data = value if isinstance(value, bytes) else value.encode()
        if isinstance(value, bytes) or b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out + b"\n")


def json_record(fields: list[Field]) -> bytes:
    """One ``journalctl -o json`` line; bytes become arrays of byte values, as journalctl
    prints non-UTF-8 data."""
    entry = {key: list(value) if isinstance(value, bytes) else value for key, value in fields}
    return json.dumps(entry).encode() + b"\n"


def converted_lines(path: Path) -> tuple[list[str], str | None]:
    data, compression = read_all(path)
    return data.decode("utf-8").splitlines(), compression


def find_journal_remote() -> str | None:
    candidates = [
        shutil.which("systemd-journal-remote"),
        "/usr/lib/systemd/systemd-journal-remote",
        "/lib/systemd/systemd-journal-remote",
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def build_journal(export_file: Path, journal_file: Path) -> None:
    """A real binary journal from export data. systemd-journal-remote insists (with
    --split-mode=none, the default for --output=FILE) that the name ends in .journal."""
    exe = find_journal_remote()
    if exe is None:
        pytest.skip(
            "systemd-journal-remote not installed (apt package systemd-journal-remote); "
            "it is needed to build a real binary journal"
        )
    if shutil.which("journalctl") is None:
        pytest.skip("journalctl not installed (apt package systemd)")
    assert journal_file.name.endswith(".journal")
    done = subprocess.run(
        [exe, f"--output={journal_file}", str(export_file)], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture(scope="module")
def journal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("journal")
    (directory / "entries.export").write_bytes(b"".join(map(export_record, ENTRIES)))
    (directory / "entries.json").write_bytes(b"".join(map(json_record, ENTRIES)))
    return directory


@pytest.fixture(scope="module")
def real_journal(journal_dir: Path) -> Path:
    path = journal_dir / "system.journal"
    build_journal(journal_dir / "entries.export", path)
    return path


def test_binary_journal_via_journalctl(real_journal: Path) -> None:
    assert real_journal.read_bytes()[:8] == b"LPKSHHRH"
    assert converted_lines(real_journal) == (EXPECTED, "journal")


def test_journal_export_text(journal_dir: Path) -> None:
    assert converted_lines(journal_dir / "entries.export") == (EXPECTED, "journal-export")


def test_journal_json_text(journal_dir: Path) -> None:
    assert converted_lines(journal_dir / "entries.json") == (EXPECTED, "journal-json")


def test_journalctl_text_outputs_give_the_same_lines(real_journal: Path, tmp_path: Path) -> None:
    for mode, kind in [("json", "journal-json"), ("export", "journal-export")]:
        out = tmp_path / f"dump.{mode}"
        with out.open("wb") as target:
            subprocess.run(
                ["journalctl", f"--file={real_journal}", "-o", mode, "--all", "--no-pager"],
                stdout=target,
                check=True,
            )
        assert converted_lines(out) == (EXPECTED, kind)
        packed = tmp_path / f"dump.{mode}.zst"
        packed.write_bytes(STDLIB_COMPRESSORS["zstd"](out.read_bytes()))
        assert converted_lines(packed) == (EXPECTED, f"zstd+{kind}")


def test_compressed_binary_journal_and_odd_file_name(real_journal: Path, tmp_path: Path) -> None:
    packed = tmp_path / "system@x.journal.gz"
    packed.write_bytes(gzip.compress(real_journal.read_bytes()))
    assert converted_lines(packed) == (EXPECTED, "gzip+journal")
    odd = tmp_path / "a[1]*?.journal~"  # --file takes a glob: these must be escaped
    shutil.copyfile(real_journal, odd)
    shutil.copyfile(real_journal, tmp_path / "a1x.journal~")  # would match the bare glob
    assert converted_lines(odd) == (EXPECTED, "journal")


def test_binary_journal_on_stdin(real_journal: Path) -> None:
    out, info = run_reader_on_stdin(real_journal.read_bytes())
    assert out.decode().splitlines() == EXPECTED
    assert info == "journal|None"


def test_missing_journalctl_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "system.journal"
    journal.write_bytes(b"LPKSHHRH" + bytes(4096))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(InputError) as caught, open_input(InputRef(path=str(journal))):
        pass
    assert "journalctl is needed to read binary journal files" in caught.value.message
    assert "systemd" in caught.value.message
    assert caught.value.location is not None and caught.value.location.path == str(journal)


def test_journalctl_failure_reports_its_last_stderr_line(tmp_path: Path) -> None:
    if shutil.which("journalctl") is None:
        pytest.skip("journalctl not installed (apt package systemd)")
    journal = tmp_path / "broken.journal"
    journal.write_bytes(b"LPKSHHRH" + random.Random(1).randbytes(5000))
    with pytest.raises(InputError) as caught, open_input(InputRef(path=str(journal))) as opened:
        opened.stream.read()
    assert caught.value.message.startswith("journalctl failed: ")
    assert "Failed to open" in caught.value.message


def _journalctl_children() -> list[str]:
    """journalctl processes (running or zombie) whose parent is this test process."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat_file.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and comm == "journalctl":
            found.append(stat_file.parent.name)
    return found


def test_journalctl_killed_and_reaped_on_early_exit(tmp_path: Path) -> None:
    export = tmp_path / "many.export"
    export.write_bytes(
        b"".join(
            export_record(kernel_entry(1700913600_000000 + i, 1_000_000 + i, f"line {i} " * 20))
            for i in range(3000)
        )
    )
    journal = tmp_path / "many.journal"
    build_journal(export, journal)
    with open_input(InputRef(path=str(journal))) as opened:
        first = opened.stream.read(100)
        assert first.startswith(b"2023-11-25T12:00:00.000000+00:00 web1 kernel: [    1.000000]")
        assert _journalctl_children(), "journalctl should still be running (pipe is full)"
    assert _journalctl_children() == []


def test_journal_json_odd_lines(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(
        json_record([("__CURSOR", "s=1"), ("MESSAGE", "first")])
        + b"\n"  # blank lines are ignored
        + b"not json at all\n"  # kept rather than dropped
        + b'{"MESSAGE": ["one", "two"]}\n'  # a repeated field: the first value
        + json_record([("_HOSTNAME", "h")])  # no MESSAGE: nothing to show
        + b"\x1e"
        + json_record([("MESSAGE", "json-seq record"), ("_HOSTNAME", "my host")])
    )
    # Without __REALTIME_TIMESTAMP (or a kernel uptime) there is no prefix to build.
    assert converted_lines(path) == (
        ["first", "not json at all", "one", "json-seq record"],
        "journal-json",
    )


def test_truncated_export_keeps_entries_before_the_cut(journal_dir: Path, tmp_path: Path) -> None:
    data = (journal_dir / "entries.export").read_bytes()
    cut = data.index(b"Out of memory") + 5  # inside the third entry's binary MESSAGE
    path = tmp_path / "cut.export"
    path.write_bytes(data[:cut])
    got, error = read_until_error(path)
    assert error is not None and "truncated" in error.message and str(path) in str(error)
    assert got.decode().splitlines() == EXPECTED[:5]  # the first two entries


def test_export_and_json_agree_on_many_entries(tmp_path: Path) -> None:
    """Thousands of entries (binary, multi-line, huge fields) cross every internal chunk
    boundary; the export parser and the JSON path must still agree line for line."""
    rng = random.Random(11)
    entries: list[list[Field]] = []
    for i in range(6000):
        text = f"message {i} " * rng.randrange(1, 30)
        message: str | bytes = text
        if i % 3 == 0:
            message = f"{text}\n continued".encode()
        elif i % 3 == 1:
            message = text.encode() + b"\xff"
        entries.append(kernel_entry(1700913600_000000 + i * 997, 1_000_000 + i, message))
    blob = rng.randbytes(1_500_000)  # an unused binary field bigger than a read chunk
    entries.insert(100, [("__REALTIME_TIMESTAMP", "1700913600000000"), ("BLOB", blob)])
    entries[100].append(("MESSAGE", "after the blob"))
    entries.append(kernel_entry(1700913700_000000, 5_000_000, "long " * 400_000))

    export = tmp_path / "many.export"
    export.write_bytes(b"".join(map(export_record, entries)))
    as_json = tmp_path / "many.json"
    as_json.write_bytes(b"".join(map(json_record, entries)))
    packed = tmp_path / "many.export.gz"
    packed.write_bytes(gzip.compress(export.read_bytes(), compresslevel=1))

    lines, kind = converted_lines(export)
    assert kind == "journal-export"
    assert len(lines) == 6000 + 2000 + 2  # entries, their second lines, blob and long ones
    assert "2023-11-25T12:00:00.000000+00:00 localhost unknown: after the blob" in lines
    assert lines[-1].endswith("kernel: [    5.000000] " + "long " * 400_000)
    assert sum(line.endswith(" \ufffd") for line in lines) == 2000  # the \xff messages
    assert converted_lines(as_json) == (lines, "journal-json")
    assert converted_lines(packed) == (lines, "gzip+journal-export")


def test_text_that_merely_looks_like_fields_is_plain(tmp_path: Path) -> None:
    path = tmp_path / "env.log"
    data = b"PATH=/usr/bin\nHOME=/root\n\nplain text\n"
    path.write_bytes(data)
    assert read_all(path) == (data, None)
    braces = tmp_path / "braces.log"
    braces.write_bytes(b'{"level": "info", "msg": "structured app log"}\n')
    assert read_all(braces) == (braces.read_bytes(), None)


# --------------------------------------------------------------------------- memory

MEASURE_RSS = """
import resource, sys
from oomlens.reader import InputRef, open_input
buffer = bytearray(b"x" * (8 << 20))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
total = 0
with open_input(InputRef(path=sys.argv[1])) as opened:
    while True:  # both ways a consumer reads: readinto() and read()
        count = opened.stream.readinto(buffer)
        chunk = opened.stream.read(8 << 20)
        total += count + len(chunk)
        if not chunk:
            break
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(total, after - before)
"""

BIG = 200 * 1000 * 1000


def _write_big(path: Path, codec: str) -> None:
    line = b"Nov 25 12:00:00 web1 kernel: [  123.456789] Out of memory: Killed process 1 (x)\n"
    block = (line * (4 * 1024 * 1024 // len(line) + 1))[: 4 * 1000 * 1000]
    with path.open("wb") as raw:
        if codec == "gzip":
            compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
            for _ in range(BIG // len(block)):
                raw.write(compressor.compress(block))
            raw.write(compressor.flush())
        else:
            with zstandard.ZstdCompressor(level=1).stream_writer(raw, closefd=False) as writer:
                for _ in range(BIG // len(block)):
                    writer.write(block)


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_large_file_streams_in_bounded_memory(tmp_path: Path, codec: str) -> None:
    path = tmp_path / f"big.{codec}"
    _write_big(path, codec)
    assert path.stat().st_size < 5_000_000
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_RSS, str(path)],
        capture_output=True,
        env=_python_env(),
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    total, growth_kib = map(int, done.stdout.split())
    assert total == BIG
    assert growth_kib < 48 * 1024, f"peak RSS grew by {growth_kib} KiB while streaming"


def test_gzip_is_inflated_by_isal_and_by_zlib_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ISA-L when installed (a dependency where it has wheels), zlib otherwise: the same
    bytes, and damage reported the same way."""
    import sys

    from oomlens import reader

    data = b"Nov 25 12:00:00 h kernel: hello\n" * 50_000
    good = tmp_path / "kern.log.gz"
    good.write_bytes(gzip.compress(data))
    bad = tmp_path / "bad.log.gz"
    damaged = bytearray(gzip.compress(data))
    damaged[-8] ^= 0xFF  # the CRC: every byte decodes, the check fails
    bad.write_bytes(bytes(damaged))
    pytest.importorskip("isal")
    for isal_present in (True, False):
        reader._inflate_module.cache_clear()
        if not isal_present:
            monkeypatch.setitem(sys.modules, "isal", None)  # import fails as if not installed
        try:
            assert reader._inflate_module().__name__.endswith(
                "isal_zlib" if isal_present else "zlib"
            )
            with open_input(InputRef(path=str(good))) as opened:
                assert opened.stream.read() == data
            _, error = read_until_error(bad)
            assert error is not None and "corrupt gzip data" in error.message
        finally:
            monkeypatch.delitem(sys.modules, "isal", raising=False)
            reader._inflate_module.cache_clear()

"""oomlens batch over archives, trees and a binary journal built from the real corpus logs.

Each corpus log is laid out as the log of a host (``host-a/var/log/kern.log`` in a tar.gz,
``host-e/var/log/messages`` in a zip, a tar.xz inside a zip, a sosreport tree, a journal
directory). The table must hold exactly the events ``analyze_paths`` finds in each log on its
own, the same log kept twice by one host must give one row per event, and a second run with
the incremental index must analyse nothing and give the same table.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import struct
import subprocess
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.testing as pdt
import pytest
from conftest import CORPUS_DIR

from oomlens.api import analyze_paths
from oomlens.batch import COLUMN_NAMES, BatchResult, run_batch
from oomlens.prefixes import parse_prefix

MACHINE_ID = "00112233445566778899aabbccddeeff"
BOOT_ID = "ffeeddccbbaa99887766554433221100"
HOSTNAME_FILE = "sos-x.example.com"
JOURNAL_HOST = "host-j"
OTHERS = 7  # corpus logs placed once each, besides the two kept twice and the journal one

Expected = tuple[int, str, str | None, int | None, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class CorpusLog:
    path: Path
    events: tuple[Expected, ...]  # (first line, kind, constraint, victim pid/comm, cause, severity)
    hosts: tuple[str | None, ...]  # the host each event's lines name (None: none printed)
    dmesg_only: bool  # every line starts with a [uptime] stamp and names no host
    all_uptimes: bool  # every event has an uptime


def expected_events(path: Path) -> CorpusLog:
    """What ``analyze_paths`` finds in the log on its own: the oracle for the batch table."""
    analysis = analyze_paths([str(path)], jobs=1)
    rows: list[Expected] = []
    for event, explained in zip(analysis.events, analysis.explained, strict=True):
        victim = event.victim
        pid, comm = (victim.pid, victim.comm) if victim is not None else (None, None)
        if victim is None and event.selected is not None:
            pid, comm = event.selected.pid, event.selected.comm
        primary = explained.primary
        rows.append(
            (
                event.source.first_line,
                str(event.kind),
                event.constraint,
                pid,
                comm,
                str(primary.cause) if primary is not None else None,
                str(primary.severity) if primary is not None else None,
            )
        )
    prefixes = [parse_prefix(line) for line in text_lines(path) if line.strip()]
    return CorpusLog(
        path=path,
        events=tuple(rows),
        hosts=tuple(e.host for e in analysis.events),
        dmesg_only=bool(prefixes)
        and all(p.uptime_s is not None and p.host is None for p in prefixes),
        all_uptimes=all(e.time.uptime_s is not None for e in analysis.events),
    )


def text_lines(path: Path) -> list[str]:
    lines = path.read_bytes().decode("utf-8", "replace").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def corpus_logs() -> list[CorpusLog]:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS_DIR}")
    paths = sorted(
        p
        for p in CORPUS_DIR.rglob("*")
        if p.is_file()
        and p.suffix in (".log", ".txt")
        and not p.name.startswith(("LICENSE", "README"))
    )
    return [log for log in map(expected_events, paths) if log.events]


@dataclass(frozen=True, slots=True)
class Roles:
    """Which corpus log went where: display path of each copy -> the log."""

    placed: dict[str, CorpusLog]  # member display -> log (each copy)
    path_host: dict[str, str]  # member display -> host the path (or hostname file) names
    twice: tuple[tuple[str, str], ...]  # (kern.log display, syslog display) of one host
    journal: str


def export_entries(log: Path, host: str) -> bytes:
    """The log as journal export entries (kernel transport), one per physical line, so the
    journal's line numbers are the log's."""
    out = bytearray()
    realtime_base_us = int(log.stat().st_mtime) * 1_000_000
    for number, line in enumerate(text_lines(log), start=1):
        prefix = parse_prefix(line)
        mono_us = round(prefix.uptime_s * 1e6) if prefix.uptime_s is not None else number
        fields = [
            ("__REALTIME_TIMESTAMP", str(realtime_base_us + mono_us)),
            ("__MONOTONIC_TIMESTAMP", str(mono_us)),
            ("_BOOT_ID", BOOT_ID),
            ("_TRANSPORT", "kernel"),
            ("SYSLOG_IDENTIFIER", "kernel"),
            ("_HOSTNAME", host),
            ("PRIORITY", "4"),
            ("_SOURCE_MONOTONIC_TIMESTAMP", str(mono_us)),
            ("MESSAGE", prefix.text),
        ]
        for key, value in fields:
            data = value.encode()
            if b"\n" in data:
                out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
            else:
                out += key.encode() + b"=" + data + b"\n"
        out += b"\n"
    return bytes(out)


def build_journal(log: Path, target: Path, work: Path) -> None:
    """A real binary journal of ``log`` written by systemd-journal-remote."""
    remote = next(
        (
            c
            for c in (
                shutil.which("systemd-journal-remote"),
                "/usr/lib/systemd/systemd-journal-remote",
                "/lib/systemd/systemd-journal-remote",
            )
            if c and os.access(c, os.X_OK)
        ),
        None,
    )
    if remote is None or shutil.which("journalctl") is None:
        pytest.skip(
            "systemd-journal-remote and journalctl are needed (apt: systemd-journal-remote)"
        )
    source = work / "entries.export"
    built = work / "built.journal"  # journal-remote wants a name ending in .journal
    source.write_bytes(export_entries(log, JOURNAL_HOST))
    done = subprocess.run(
        [remote, f"--output={built}", str(source)], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(built, target)


def tar_member(archive: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    archive.addfile(info, io.BytesIO(data))


def zip_member(archive: zipfile.ZipFile, name: str, data: bytes, mtime: float) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime(mtime)[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def lay_out(root: Path, work: Path, logs: list[CorpusLog]) -> Roles:
    """Place the corpus logs as a fleet's archives and trees (roles chosen by what each log
    holds, not by its name)."""
    # logs with more events first: they exercise more (several kills, mixed kinds)
    logs = sorted(logs, key=lambda log: (-len(log.events), str(log.path)))
    journal_log = next(log for log in logs if log.dmesg_only and log.all_uptimes)
    rest = [log for log in logs if log is not journal_log]
    twice_logs = [log for log in rest if log.all_uptimes][:2]
    others = [log for log in rest if log not in twice_logs][:OTHERS]
    assert len(others) == OTHERS and len(twice_logs) == 2
    placed: dict[str, CorpusLog] = {}
    path_host: dict[str, str] = {}

    def note(display: str, log: CorpusLog, host: str) -> None:
        placed[display] = log
        path_host[display] = host

    def data(log: CorpusLog) -> bytes:
        return log.path.read_bytes()

    def mtime(log: CorpusLog) -> float:
        return log.path.stat().st_mtime

    twice: list[tuple[str, str]] = []
    fleet = root / "fleet.tar.gz"
    with tarfile.open(fleet, "w:gz") as tar_out:
        for host, name, log in (
            ("host-a", "kern.log", others[0]),
            ("host-b", "messages", others[1]),
        ):
            tar_member(tar_out, f"{host}/var/log/{name}", data(log), mtime(log))
            note(f"{fleet}!{host}/var/log/{name}", log, host)
        log = others[2]
        tar_member(tar_out, "host-c/var/log/syslog.1.gz", gzip.compress(data(log)), mtime(log))
        note(f"{fleet}!host-c/var/log/syslog.1.gz", log, "host-c")
        log = twice_logs[0]
        for name in ("kern.log", "syslog"):
            tar_member(tar_out, f"host-d/var/log/{name}", data(log), mtime(log))
            note(f"{fleet}!host-d/var/log/{name}", log, "host-d")
        twice.append((f"{fleet}!host-d/var/log/kern.log", f"{fleet}!host-d/var/log/syslog"))

    more = root / "more.zip"
    with zipfile.ZipFile(more, "w") as zip_out:
        for host, name, log in (
            ("host-e", "kern.log", others[3]),
            ("host-f", "messages", others[4]),
        ):
            zip_member(zip_out, f"{host}/var/log/{name}", data(log), mtime(log))
            note(f"{more}!{host}/var/log/{name}", log, host)
        log = twice_logs[1]
        for name in ("kern.log", "syslog"):
            zip_member(zip_out, f"host-g/var/log/{name}", data(log), mtime(log))
            note(f"{more}!host-g/var/log/{name}", log, "host-g")
        twice.append((f"{more}!host-g/var/log/kern.log", f"{more}!host-g/var/log/syslog"))

    # a tar.xz inside a zip
    inner = io.BytesIO()
    log = others[5]
    with tarfile.open(fileobj=inner, mode="w:xz") as tar_out:
        tar_member(tar_out, "var/log/kern.log", data(log), mtime(log))
    nested = root / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zip_out:
        zip_member(zip_out, "host-h/logs.tar.xz", inner.getvalue(), mtime(log))
    note(f"{nested}!host-h/logs.tar.xz!var/log/kern.log", log, "host-h")

    sos = root / "sosreport-x"
    (sos / "var" / "log").mkdir(parents=True)
    (sos / "hostname").write_text(HOSTNAME_FILE + "\n")
    log = others[6]
    shutil.copy2(log.path, sos / "var" / "log" / "messages")
    note(str(sos / "var" / "log" / "messages"), log, HOSTNAME_FILE)

    journal = root / JOURNAL_HOST / "var" / "log" / "journal" / MACHINE_ID / "system.journal"
    build_journal(journal_log.path, journal, work)
    note(str(journal), journal_log, JOURNAL_HOST)
    return Roles(placed=placed, path_host=path_host, twice=tuple(twice), journal=str(journal))


@dataclass(frozen=True, slots=True)
class Fleet:
    root: Path
    roles: Roles
    first: BatchResult  # index filled
    second: BatchResult  # same index, nothing changed


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    root = tmp_path_factory.mktemp("corpus-fleet")
    work = tmp_path_factory.mktemp("corpus-work")
    roles = lay_out(root, work, corpus_logs())
    index = work / "index.sqlite"
    first = run_batch([str(root)], jobs=2, index=index)
    second = run_batch([str(root)], jobs=1, index=index)
    return Fleet(root=root, roles=roles, first=first, second=second)


def table_rows(result: BatchResult) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = result.frame().to_dict(orient="records")  # type: ignore[assignment]
    return records


def source(row_source: str) -> tuple[str, int]:
    path, line = row_source.rsplit(":", 1)
    return path, int(line)


def observed(row: dict[str, Any]) -> tuple[Any, ...]:
    def plain(value: Any) -> Any:
        return None if value is None or value is pd.NA else value

    return tuple(
        plain(row[k])
        for k in ("kind", "constraint", "victim_pid", "victim_comm", "cause", "severity")
    )


def test_every_corpus_event_once_with_its_fields(fleet: Fleet) -> None:
    result, roles = fleet.first, fleet.roles
    assert result.bad == ()
    assert result.members == len(roles.placed)
    rows = table_rows(result)
    assert list(result.frame().columns) == list(COLUMN_NAMES)
    rows_by_source: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        for found in row["sources"]:
            rows_by_source.setdefault(source(found), []).append(row)
    # every source the table names is a placed log
    assert {path for path, _ in rows_by_source} <= set(roles.placed)

    for display, log in roles.placed.items():
        mine = [
            (line, r) for (path, line), rs in rows_by_source.items() if path == display for r in rs
        ]
        assert len(mine) == len(log.events), display
        for expected, host in zip(log.events, log.hosts, strict=True):
            first_line, *fields = expected
            found = rows_by_source.get((display, first_line), [])
            assert len(found) == 1, (display, first_line)
            row = found[0]
            assert observed(row) == tuple(fields), (display, first_line)
            if row["host_from"] == "log":  # the journal's entries name the host they came from
                assert row["host"] == (JOURNAL_HOST if display == roles.journal else host)
            else:
                assert (row["host"], row["host_from"]) == (
                    roles.path_host[display],
                    "hostname_file" if roles.path_host[display] == HOSTNAME_FILE else "path",
                )

    # one row per event: the logs kept twice count once
    distinct = {id(log): log for log in roles.placed.values()}
    assert len(rows) == sum(len(log.events) for log in distinct.values())
    assert result.source_rows == sum(len(log.events) for log in roles.placed.values())


def test_journal_copy_has_the_logs_events(fleet: Fleet) -> None:
    roles = fleet.roles
    log = roles.placed[roles.journal]
    rows = [r for r in table_rows(fleet.first) if r["source_path"] == roles.journal]
    assert sorted(int(r["source_line"]) for r in rows) == [e[0] for e in log.events]
    assert all((r["host"], r["host_from"]) == (JOURNAL_HOST, "log") for r in rows)
    assert all(r["uptime_s"] is not None for r in rows)


def test_same_log_kept_twice_by_one_host_is_one_row_per_event(fleet: Fleet) -> None:
    rows = table_rows(fleet.first)
    for kern, syslog in fleet.roles.twice:
        log = fleet.roles.placed[kern]
        assert fleet.roles.placed[syslog] is log
        mine = [r for r in rows if any(source(s)[0] in (kern, syslog) for s in r["sources"])]
        assert len(mine) == len(log.events)
        for row in mine:
            line = int(row["source_line"])
            assert sorted(row["sources"]) == sorted([f"{kern}:{line}", f"{syslog}:{line}"])
            assert row["sources"][0] == f"{row['source_path']}:{line}"


def test_second_run_with_the_index_analyses_nothing(fleet: Fleet) -> None:
    first, second = fleet.first, fleet.second
    members = len(fleet.roles.placed)
    assert (first.analysed, first.cached) == (members, 0)
    assert (second.analysed, second.cached) == (0, members)
    assert second.archives_from_index == 3  # fleet.tar.gz, more.zip, nested.zip: not opened
    pdt.assert_frame_equal(first.frame(), second.frame())
    # and a run without any index gives that table too
    pdt.assert_frame_equal(first.frame(), run_batch([str(fleet.root)], jobs=1).frame())

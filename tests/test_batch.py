"""oomlens batch: real archives and trees of synthetic kernel logs from several hosts."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.testing as pdt
import pytest
from typer.testing import CliRunner

from oomlens.api import analyze_text
from oomlens.batch import (
    COLUMN_NAMES,
    merge_rows,
    parse_cgroup,
    render_summary,
    run_batch,
)
from oomlens.cli import app
from oomlens.render import md_escape
from oomlens.synth import SynthReport, noise_lines, random_report, render

WALL = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
MACHINE_ID = "0123456789abcdef0123456789abcdef"
BOOT_ID = "fedcba9876543210fedcba9876543210"


def report(seed: int, *, hostile: bool = False) -> SynthReport:
    return random_report(random.Random(seed), era="5.10", kind="oom_kill", hostile=hostile)


def log_bytes(
    reports: list[tuple[SynthReport, float, datetime]], envelope: str, host: str = "x"
) -> bytes:
    """Kernel noise, then each report at (uptime, wall clock), in the given envelope."""
    lines: list[str] = []
    rng = random.Random(len(reports))
    for rep, uptime, wall in reports:
        noise = list(noise_lines(rng, 5, kernel_only=True))
        lines += render(
            noise, envelope, start_uptime=uptime - 3, wallclock=wall - timedelta(3), host=host
        )
        lines += render(rep.records(), envelope, start_uptime=uptime, wallclock=wall, host=host)
    return ("\n".join(lines) + "\n").encode()


def export_bytes(rep: SynthReport, uptime: float, wall: datetime, host: str) -> bytes:
    """The report as journal export entries (kernel transport), as journald stores them."""
    out = bytearray()
    start_us = round(uptime * 1e6)
    realtime = round(wall.timestamp() * 1e6)
    for i, record in enumerate(rep.records()):
        fields = [
            ("__REALTIME_TIMESTAMP", str(realtime + i * 20)),
            ("__MONOTONIC_TIMESTAMP", str(start_us + i * 20)),
            ("_BOOT_ID", BOOT_ID),
            ("_TRANSPORT", "kernel"),
            ("SYSLOG_IDENTIFIER", "kernel"),
            ("_HOSTNAME", host),
            ("PRIORITY", "4"),
            ("_SOURCE_MONOTONIC_TIMESTAMP", str(start_us + i * 20)),
            ("MESSAGE", record.text),
        ]
        for key, value in fields:
            data = value.encode()
            if b"\n" in data:
                out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
            else:
                out += key.encode() + b"=" + data + b"\n"
        out += b"\n"
    return bytes(out)


def journal_remote() -> str:
    for candidate in (
        shutil.which("systemd-journal-remote"),
        "/usr/lib/systemd/systemd-journal-remote",
        "/lib/systemd/systemd-journal-remote",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("systemd-journal-remote not installed (apt package systemd-journal-remote)")


def binary_journal(export: bytes, workdir: Path) -> bytes:
    """A real binary journal built by systemd-journal-remote (the name must end in .journal)."""
    if shutil.which("journalctl") is None:
        pytest.skip("journalctl not installed (apt package systemd)")
    source = workdir / "entries.export"
    target = workdir / "built.journal"
    source.write_bytes(export)
    done = subprocess.run(
        [journal_remote(), f"--output={target}", str(source)], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    data = target.read_bytes()
    target.unlink()
    return data


def tar_add(archive: tarfile.TarFile, name: str, data: bytes, mtime: datetime = WALL) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime.timestamp())
    archive.addfile(info, io.BytesIO(data))


def tar_bytes(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            tar_add(archive, name, data)
    return buffer.getvalue()


# Reports of the fleet; each host's events, and where their copies are.
A = report(1)  # web1: kern.log, syslog.1.gz and the binary journal
B, C = report(2), report(3)  # web2: messages (two incidents)
D = report(4)  # db1: dmesg format, inside db.zip!db1/logs.tar.xz (host from the path)
E = report(5)  # sosreport tree with a hostname file, dmesg format
F = report(6)  # app7/kern.log, dmesg format (host from the top directory)


def victim(rep: SynthReport) -> dict[str, Any]:
    found = rep.expected()["victim"]
    assert found is not None
    return found  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    work = tmp_path_factory.mktemp("work")
    a_at = (500.25, WALL)
    web1_kern = log_bytes([(A, *a_at)], "syslog", "web1")
    web1_journal = binary_journal(export_bytes(A, *a_at, host="web1"), work)
    web2 = log_bytes([(B, 80.5, WALL), (C, 9000.0, WALL + timedelta(hours=2.5))], "syslog", "web2")
    (root / "hosts.tar.gz").write_bytes(
        tar_bytes(
            {
                "web1/var/log/kern.log": web1_kern,
                "web1/var/log/syslog.1.gz": gzip.compress(web1_kern),
                f"web1/var/log/journal/{MACHINE_ID}/system.journal": web1_journal,
                "web1/var/log/audit/audit.log": b"type=SYSCALL msg=audit(1.0:1)\n",
                "web2/var/log/messages": web2,
            }
        )
    )
    inner = tar_bytes({"var/log/kern.log": log_bytes([(D, 42.0, WALL)], "dmesg")}, "w:xz")
    with zipfile.ZipFile(root / "db.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("db1/logs.tar.xz", inner)
    sos = root / "sosreport-x-2024"
    (sos / "var" / "log").mkdir(parents=True)
    (sos / "hostname").write_text("sos-host\n")
    (sos / "var" / "log" / "dmesg").write_bytes(log_bytes([(E, 7.5, WALL)], "dmesg"))
    (root / "app7").mkdir()
    (root / "app7" / "kern.log").write_bytes(log_bytes([(F, 3600.0, WALL)], "dmesg"))
    return root


def by_victim(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    records: list[dict[str, Any]] = frame.to_dict(orient="records")  # type: ignore[assignment]
    return {str(r["victim_comm"]) + f":{r['victim_pid']}": r for r in records}


def key(rep: SynthReport) -> str:
    v = victim(rep)
    return f"{v['comm']}:{v['pid']}"


def test_fleet_table(fleet: Path) -> None:
    result = run_batch([str(fleet)], jobs=1)
    assert result.bad == ()
    frame = result.frame()
    assert list(frame.columns) == list(COLUMN_NAMES)
    assert len(frame) == 6
    rows = by_victim(frame)
    assert set(rows) == {key(r) for r in (A, B, C, D, E, F)}
    hosts = {k: (r["host"], r["host_from"]) for k, r in rows.items()}
    assert hosts[key(A)] == ("web1", "log")
    assert hosts[key(B)] == hosts[key(C)] == ("web2", "log")
    assert hosts[key(D)] == ("db1", "path")
    assert hosts[key(E)] == ("sos-host", "hostname_file")
    assert hosts[key(F)] == ("app7", "path")

    # one row for the three copies of A; the sources name every copy, with their lines
    a = rows[key(A)]
    archive = f"{fleet}/hosts.tar.gz!web1/var/log/"
    assert sorted(s.rsplit(":", 1)[0] for s in a["sources"]) == [
        f"{archive}journal/{MACHINE_ID}/system.journal",
        f"{archive}kern.log",
        f"{archive}syslog.1.gz",
    ]
    assert a["sources"][0] == f"{a['source_path']}:{a['source_line']}"
    assert result.source_rows == 8  # A three times, then B..F once
    assert a["uptime_s"] == 500.25
    assert str(a["wallclock"]).startswith("2024-03-01T12:00:00")

    for rep in (A, B, C, D, E, F):
        row, expected = rows[key(rep)], victim(rep)
        assert row["kind"] == "oom_kill"
        assert row["victim_anon_rss_kib"] == expected["anon_rss_kib"]
        assert row["victim_file_rss_kib"] == expected["file_rss_kib"]
        assert row["victim_shmem_rss_kib"] == expected["shmem_rss_kib"]
        assert row["victim_total_vm_kib"] == expected["total_vm_kib"]
        assert row["trigger_pid"] == rep.trigger_pid
        assert row["trigger_comm"] == rep.trigger_comm
        assert row["kernel"] == rep.kernel_release
        assert row["swap_total_kib"] == rep.swap_total_kib
        assert row["constraint"] == "CONSTRAINT_NONE"
        assert row["memcg_victim_path"] == rep.memcg_victim_path
        # the primary cause is the one the rules give the same report analysed alone
        wall = datetime(2024, 3, 1, tzinfo=UTC)
        text = "\n".join(render(rep.records(), "bare", start_uptime=1.0, wallclock=wall))
        alone = analyze_text(text).explained[0].primary
        assert alone is not None
        assert (row["cause"], row["severity"]) == (alone.cause.value, alone.severity.value)
    assert frame["host"].tolist() == sorted(frame["host"].tolist())
    d = rows[key(D)]
    assert d["source_path"] == f"{fleet}/db.zip!db1/logs.tar.xz!var/log/kern.log"
    assert d["source_line"] == 6  # after five lines of noise


def test_pool_and_dask_give_the_same_table(fleet: Path) -> None:
    from distributed import LocalCluster

    serial = run_batch([str(fleet)], jobs=1).frame()
    pooled = run_batch([str(fleet)], jobs=2)
    pdt.assert_frame_equal(serial, pooled.frame())
    assert pooled.peak_worker_rss_kib is not None and pooled.peak_worker_rss_kib > 0
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        on_dask = run_batch([str(fleet)], dask=cluster.scheduler_address)
    pdt.assert_frame_equal(serial, on_dask.frame())
    assert on_dask.analysed == pooled.analysed == 7


def test_glob_filter(fleet: Path) -> None:
    result = run_batch([str(fleet)], jobs=1, globs=["*/messages"])
    assert {r["host"] for r in result.rows} == {"web2"}
    assert result.members == 1


def make_bad_archive(path: Path, limit: int) -> None:
    good = log_bytes([(report(11), 10.0, WALL)], "syslog", "good1")
    bomb = gzip.compress(b"x" * (limit * 3))
    corrupt = gzip.compress(good)[:20] + b"\x00garbage" * 50
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        tar_add(archive, "good1/var/log/syslog", good)
        tar_add(archive, "bad/var/log/messages.1.gz", corrupt)
        tar_add(archive, "bad/var/log/kern.log.2.gz", bomb)
        tar_add(archive, "../../etc/messages", good)
        tar_add(archive, "/var/log/syslog", good)
        link = tarfile.TarInfo("bad/var/log/syslog")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        archive.addfile(link)
    path.write_bytes(buffer.getvalue())


def test_bad_members_are_reported_and_skipped(tmp_path: Path) -> None:
    limit = 1 << 20
    make_bad_archive(tmp_path / "mixed.tar.gz", limit)
    whole = gzip.compress(tar_bytes({"a/var/log/syslog": b"x" * 100000}, "w"))
    (tmp_path / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])
    result = run_batch([str(tmp_path)], jobs=2, max_member_bytes=limit)
    assert [r["host"] for r in result.rows] == ["good1"]
    reasons = {b.path.split("!", 1)[-1]: b.message for b in result.bad}
    assert set(reasons) == {
        "bad/var/log/messages.1.gz",
        "bad/var/log/kern.log.2.gz",
        "../../etc/messages",
        "/var/log/syslog",
        "bad/var/log/syslog",
        str(tmp_path / "cut.tar.gz"),
    }
    assert "gzip" in reasons["bad/var/log/messages.1.gz"]
    assert "exceeds the limit" in reasons["bad/var/log/kern.log.2.gz"]
    assert "escapes" in reasons["../../etc/messages"]
    assert "absolute" in reasons["/var/log/syslog"]
    assert "symbolic link" in reasons["bad/var/log/syslog"]
    summary = render_summary(result, "md")
    assert "exceeds the limit" in summary and "cut.tar.gz" in summary


def test_cli_exit_codes_and_outputs(fleet: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "events.parquet"
    done = runner.invoke(app, ["batch", str(fleet), "-o", str(out), "--no-index", "-j", "1"])
    assert done.exit_code == 0, done.output
    assert "oomlens batch: " in done.stderr  # plain progress counts: stderr is no terminal
    table = pd.read_parquet(out)
    assert len(table) == 6 and list(table.columns) == list(COLUMN_NAMES)
    assert sorted(len(s) for s in table["sources"]) == [1, 1, 1, 1, 1, 3]

    jsonl = tmp_path / "events.jsonl"
    csv = tmp_path / "events.csv"
    for target in (jsonl, csv):
        done = runner.invoke(app, ["batch", str(fleet), "-o", str(target), "--no-index"])
        assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(lines) == 6 and all(isinstance(x["sources"], list) for x in lines)
    assert lines[0]["trigger_pid"] is None or isinstance(lines[0]["trigger_pid"], int)
    from_csv = pd.read_csv(csv)
    assert sorted(len(json.loads(s)) for s in from_csv["sources"]) == [1, 1, 1, 1, 1, 3]

    make_bad_archive(tmp_path / "mixed.tar.gz", 1 << 20)
    done = runner.invoke(
        app,
        ["batch", str(tmp_path / "mixed.tar.gz"), "--no-index", "--max-member-bytes", "1048576"],
    )
    assert done.exit_code == 1
    assert "exceeds the limit" in done.stderr
    assert done.stdout.startswith("host,")

    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"not a database" * 100)
    done = runner.invoke(app, ["batch", str(fleet), "--index", str(broken)])
    assert done.exit_code == 1 and "--no-index" in done.stderr

    assert runner.invoke(app, ["batch", str(fleet), "-o", str(tmp_path / "x.txt")]).exit_code == 2
    assert runner.invoke(app, ["batch", str(fleet), "--summary", "x.pdf"]).exit_code == 2
    assert runner.invoke(app, ["batch", str(fleet), "--no-index", "--index", "i"]).exit_code == 2


def test_cli_default_index_in_current_directory(fleet: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "oomlens", "batch", str(fleet), "-o", "t.csv", "-j", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".oomlens-index.sqlite").is_file()
    assert "7 analysed, 0 from the index" in done.stderr


def hostile_report(mark: str) -> SynthReport:
    """A report whose victim's name holds ``mark`` (synth's hostile task names)."""
    for seed in range(5000):
        rep = report(seed, hostile=True)
        if mark in victim(rep)["comm"]:
            return rep
    raise AssertionError(f"no victim name with {mark!r} in 5000 seeds")


def test_summary_escapes_log_text(tmp_path: Path) -> None:
    html_rep, md_rep = hostile_report("<"), hostile_report("|")
    for host, rep in (("h1", html_rep), ("h2", md_rep)):
        (tmp_path / host).mkdir()
        (tmp_path / host / "kern.log").write_bytes(log_bytes([(rep, 10.0, WALL)], "dmesg-T"))
    result = run_batch([str(tmp_path)], jobs=1)
    assert sorted(r["victim_comm"] for r in result.rows) == sorted(
        victim(r)["comm"] for r in (html_rep, md_rep)
    )
    html = render_summary(result, "html")
    tag = victim(html_rep)["comm"]
    assert tag not in html
    assert tag.replace("<", "&lt;").replace(">", "&gt;") in html
    assert "<svg" in html and "<rect" in html
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    md = render_summary(result, "md")
    piped = victim(md_rep)["comm"]
    assert "\\|" in md_escape(piped) and md_escape(piped) in md  # all markup escaped
    worst = [line for line in md.splitlines() if line.startswith("| h2 ") and "oom\\_kill" in line]
    assert worst and all(line.replace("\\|", "").count("|") == 10 for line in worst)


def copy_fleet(fleet: Path, target: Path) -> Path:
    shutil.copytree(fleet, target)
    return target


def test_incremental_index(fleet: Path, tmp_path: Path) -> None:
    tree = copy_fleet(fleet, tmp_path / "fleet")
    index = tmp_path / "index.sqlite"
    first = run_batch([str(tree)], jobs=2, index=index)
    assert (first.analysed, first.cached) == (7, 0)
    assert first.archives_from_index == 0
    again = run_batch([str(tree)], jobs=2, index=index)
    assert (again.analysed, again.cached) == (0, 7)
    assert again.archives_from_index == 2  # hosts.tar.gz and db.zip were not even opened
    pdt.assert_frame_equal(first.frame(), again.frame())

    # a new host directory and a new member in the archive: only those two are analysed
    (tree / "new9").mkdir()
    (tree / "new9" / "syslog").write_bytes(log_bytes([(report(9), 5.0, WALL)], "syslog", "new9"))
    with tarfile.open(tree / "hosts.tar.gz") as old:
        members = {m.name: old.extractfile(m).read() for m in old if m.isreg()}  # type: ignore[union-attr]
    members["web3/var/log/messages"] = log_bytes([(report(10), 5.0, WALL)], "syslog", "web3")
    (tree / "hosts.tar.gz").write_bytes(tar_bytes(members))
    grown = run_batch([str(tree)], jobs=2, index=index)
    assert (grown.analysed, grown.cached) == (2, 7)
    assert grown.archives_from_index == 1  # db.zip; hosts.tar.gz changed and was read
    fresh = run_batch([str(tree)], jobs=1)
    pdt.assert_frame_equal(fresh.frame(), grown.frame())
    assert len(grown.rows) == 8

    # a touched file with the same bytes is not analysed again
    os.utime(tree / "app7" / "kern.log", (1, 1))
    touched = run_batch([str(tree)], jobs=1, index=index)
    assert (touched.analysed, touched.cached) == (0, 9)
    pdt.assert_frame_equal(fresh.frame(), touched.frame())

    # other walk options: the archives are read again (their members still from the index)
    narrowed = run_batch([str(tree)], jobs=1, index=index, globs=["*/messages"])
    assert narrowed.archives_from_index == 0 and narrowed.analysed == 0
    assert {r["host"] for r in narrowed.rows} == {"web2", "web3"}

    # another oomlens version invalidates everything
    with sqlite3.connect(index) as db:
        db.execute("UPDATE meta SET value = '0.0.0' WHERE key = 'oomlens_version'")
    rerun = run_batch([str(tree)], jobs=1, index=index)
    assert (rerun.analysed, rerun.cached) == (9, 0)
    pdt.assert_frame_equal(fresh.frame(), rerun.frame())


def test_parse_cgroup() -> None:
    uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    cid = "ab" * 32
    v1 = parse_cgroup(f"/kubepods/burstable/pod{uid}/{cid}")
    assert (v1.pod_uid, v1.container_id, v1.systemd_unit) == (uid, cid, None)
    v2 = parse_cgroup(
        "/kubepods.slice/kubepods-besteffort.slice/"
        f"kubepods-besteffort-pod{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope"
    )
    assert (v2.pod_uid, v2.container_id) == (uid, cid)
    assert v2.systemd_unit == f"cri-containerd-{cid}.scope"
    unit = parse_cgroup("/system.slice/nginx.service")
    assert (unit.pod_uid, unit.container_id, unit.systemd_unit) == (None, None, "nginx.service")
    assert parse_cgroup(None) == parse_cgroup("/")


def row(path: str, uptime: float | None, wall: str | None, pid: int = 7) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    base.update(
        host="h",
        host_from="log",
        kind="oom_kill",
        complete=True,
        uptime_s=uptime,
        wallclock=wall,
        victim_pid=pid,
        victim_comm="java",
        source_path=path,
        source_line=1,
        sources=[f"{path}:1"],
        report_lines=10,
    )
    return base


def test_merge_rules() -> None:
    # journal (UTC) and syslog (local time, UTC+2, no zone) copies of one kill: one event
    same = merge_rows(
        [
            row("kern.log", 100.0, "2024-03-01T14:00:00"),
            row("system.journal", 100.0000, "2024-03-01T12:00:00.000010+00:00"),
        ]
    )
    assert len(same) == 1 and len(same[0]["sources"]) == 2
    # two kills of the same pid and uptime in different boots stay apart
    boots = merge_rows(
        [row("kern.log", 5.0, "2024-03-01T12:00:00"), row("kern.log.1", 5.0, "2024-02-01T08:00:00")]
    )
    assert len(boots) == 2
    # one file never reports one event twice
    assert len(merge_rows([row("a", 5.0, None), row("a", 5.2, None)])) == 2
    # no uptime: the wall clock decides
    assert (
        len(
            merge_rows(
                [row("a", None, "2024-03-01T12:00:00"), row("b", None, "2024-03-01T12:00:01")]
            )
        )
        == 1
    )
    assert len(merge_rows([row("a", None, None), row("b", None, None)])) == 2
    # different victims never merge
    assert len(merge_rows([row("a", 5.0, None, pid=1), row("b", 5.0, None, pid=2)])) == 2


def test_xz_member_and_lzma_logs(tmp_path: Path) -> None:
    text = log_bytes([(report(21), 33.0, WALL)], "rfc3339", "xz1")
    (tmp_path / "logs.tar.zst").write_bytes(
        __import__("zstandard")
        .ZstdCompressor()
        .compress(tar_bytes({"var/log/messages-20240301.xz": lzma.compress(text)}, "w"))
    )
    result = run_batch([str(tmp_path / "logs.tar.zst")], jobs=1)
    assert result.bad == ()
    assert [(r["host"], r["victim_pid"]) for r in result.rows] == [
        ("xz1", victim(report(21))["pid"])
    ]


def test_timeline_buckets() -> None:
    from oomlens.batch import _buckets

    start = datetime(2024, 3, 1, 22, 30, tzinfo=UTC)
    unit, _fmt, labels = _buckets(start, start + timedelta(hours=3))
    assert unit == "hour" and labels == [
        f"2024-03-{d} {h}:00" for d, h in [("01", 22), ("01", 23), ("02", "00"), ("02", "01")]
    ]
    unit, _fmt, labels = _buckets(start, start + timedelta(days=10))
    assert unit == "day" and len(labels) == 11 and labels[0] == "2024-03-01"
    unit, _fmt, labels = _buckets(start, datetime(2025, 2, 1, tzinfo=UTC))
    assert unit == "month" and labels[0] == "2024-03" and labels[-1] == "2025-02"
    assert len(labels) == 12
    unit, _fmt, labels = _buckets(datetime(2010, 1, 1, tzinfo=UTC), start)
    assert unit == "year" and labels == [str(y) for y in range(2010, 2025)]


def test_unchanged_archive_keeps_its_hostname_file(tmp_path: Path) -> None:
    rep = report(31)
    (tmp_path / "sosreport-a.tar.xz").write_bytes(
        tar_bytes(
            {
                "sosreport-a/hostname": b"sos-a.example.com\n",
                "sosreport-a/sos_commands/kernel/dmesg": log_bytes([(rep, 12.0, WALL)], "dmesg"),
            },
            "w:xz",
        )
    )
    index = tmp_path / "index.sqlite"
    first = run_batch([str(tmp_path)], jobs=1, index=index)
    second = run_batch([str(tmp_path)], jobs=1, index=index)
    assert second.archives_from_index == 1 and second.analysed == 0
    for result in (first, second):
        assert [(r["host"], r["host_from"], r["victim_pid"]) for r in result.rows] == [
            ("sos-a.example.com", "hostname_file", victim(rep)["pid"])
        ]


def test_progress_bar_on_a_terminal(fleet: Path, tmp_path: Path) -> None:
    primary, secondary = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "oomlens", "batch", str(fleet), "--no-index", "-j", "1"],
            stdout=subprocess.DEVNULL,
            stderr=secondary,
            timeout=300,
        )
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    text = shown.decode()
    assert "\roomlens batch [" in text and "#" in text
    assert "7 analysed, 0 from index, 0 bad" in text


def test_cause_and_severity_come_from_the_primary_finding() -> None:
    from oomlens.api import analyze_text
    from oomlens.batch import analysis_rows
    from oomlens.model import Cause, ExplainedEvent, Finding, Replay, Severity

    text = log_bytes([(report(41), 20.0, WALL), (report(42), 90.0, WALL)], "dmesg").decode()
    analysis = analyze_text(text, "kern.log", explain=False)
    assert len(analysis.events) == 2
    assert [r["cause"] for r in analysis_rows(analysis)] == [None, None]  # not explained

    def finding(cause: Cause, severity: Severity, primary: bool) -> Finding:
        return Finding(
            rule_id="X1",
            name="x",
            cause=cause,
            primary=primary,
            severity=severity,
            title="t",
            explanation="e",
            remedy="r",
        )

    explained = (
        ExplainedEvent(
            event=analysis.events[0],
            replay=Replay(steps=()),
            findings=(
                finding(Cause.SWAP_ABSENT, Severity.LOW, False),
                finding(Cause.SINGLE_PROCESS, Severity.HIGH, True),
            ),
        ),
        ExplainedEvent(event=analysis.events[1], replay=Replay(steps=())),
    )
    rows = analysis_rows(replace(analysis, explained=explained))
    assert [(r["cause"], r["severity"]) for r in rows] == [
        ("single_process", "high"),
        (None, None),
    ]


def test_bad_inputs_and_rows_in_walk_order_whichever_worker_finishes_first(tmp_path: Path) -> None:
    # a large log first (its unit finishes last), then small ones and damaged members
    limit = 4 << 20
    big = log_bytes([(report(s), 10.0 * s, WALL) for s in range(60, 120)], "syslog", "big1")
    (tmp_path / "a-big").mkdir()
    (tmp_path / "a-big" / "syslog").write_bytes(big)
    make_bad_archive(tmp_path / "mixed.tar.gz", limit)
    for n in range(6):
        host = tmp_path / f"small{n}"
        host.mkdir()
        (host / "kern.log").write_bytes(
            log_bytes([(report(100 + n), 5.0, WALL)], "syslog", f"small{n}")
        )
    serial = run_batch([str(tmp_path)], jobs=1, max_member_bytes=limit)
    pooled = run_batch([str(tmp_path)], jobs=2, max_member_bytes=limit)
    assert pooled.bad == serial.bad and len(serial.bad) == 5
    pdt.assert_frame_equal(serial.frame(), pooled.frame())
    assert len(serial.rows) == 60 + 1 + 6

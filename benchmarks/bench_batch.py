"""Measure ``oomlens batch`` on a generated fleet archive against ``zcat`` of the same archive.

    python benchmarks/bench_batch.py                    # 2,000 files, 2 GiB of logs, tar.gz
    python benchmarks/bench_batch.py --size-mb 200 --files 200 --hosts 5 --no-dask

The archive (``hostNN/var/log/syslog``, ``syslog.1``, ... ``syslog.K``: the rotated syslog of
each host, ``--files`` files in all, with ``--reports`` OOM reports of mixed kernel eras and
kinds from ``oomlens.synth`` spread over them) is generated once and cached in ``--workdir``.
Generation is fast: the noise is a few blocks of ``oomlens.synth`` syslog written once and
repeated (with the host's name), only the reports are rendered one by one; gzip is the cost.

In one run it times ``zcat``, the parent's walk alone (decompress the archive, read every
member: the serial part), then ``oomlens batch`` with 1 worker process, with N (the usable
CPUs), and on a Dask LocalCluster of N worker processes, each in a fresh child process (start-up
included, the cluster's start-up reported apart). It prints throughput, the ratio to ``zcat``,
the peak RSS of the parent and of every worker, and checks that the tables are identical.
This is a measurement tool: it always exits 0.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MB = 1_000_000
MIB = 1 << 20
GENERATOR_VERSION = 2
NOISE_BLOCKS = 8
NOISE_BLOCK_BYTES = 256 << 10


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def noise_blocks(seed: int, tmp: Path) -> list[bytes]:
    """A few blocks of syslog noise (whole lines), each with its host name as ``{HOST}``."""
    from oomlens.synth import write_log

    blocks = []
    for i in range(NOISE_BLOCKS):
        path = tmp / f"noise{i}"
        write_log(path, size_bytes=NOISE_BLOCK_BYTES, reports=0, envelope="syslog", seed=seed + i)
        data = path.read_bytes()
        path.unlink()
        host = data.split(b"\n", 1)[0].split()[3]  # "Sep  5 11:58:38 db2 kernel: ..."
        blocks.append(data.replace(b" " + host + b" ", b" {HOST} "))
    return blocks


def host_files(files: int, hosts: int) -> list[tuple[str, int]]:
    """(host, rotated files) for each host; ``files`` in all."""
    per, extra = divmod(files, hosts)
    return [(f"host{h:02d}", per + (1 if h < extra else 0)) for h in range(hosts)]


def generate(
    archive: Path, *, size_mb: float, files: int, hosts: int, reports: int, seed: int, level: int
) -> dict[str, Any]:
    """``files`` rotated syslog files over ``hosts`` hosts, ``size_mb`` MiB in all, gzip-ed
    into one tar (``--level``)."""
    from oomlens.synth import random_report, render

    rng = random.Random(seed)
    layout = host_files(files, max(1, min(hosts, files)))
    per_file = int(size_mb * MIB / files)
    # which file each report goes to
    counts = [0] * files
    for _ in range(reports):
        counts[rng.randrange(files)] += 1
    raw = 0
    mtime = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())
    with tempfile.TemporaryDirectory() as tmp:
        blocks = noise_blocks(seed * 1000, Path(tmp))
        with tarfile.open(archive, "w:gz", compresslevel=level) as out:
            index = 0
            for host, rotated in layout:
                host_blocks = [b.replace(b"{HOST}", host.encode()) for b in blocks]
                boot = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(1000))
                for k in range(rotated):
                    # oldest first: syslog.K ... syslog.1, then syslog; one day each
                    name = f"syslog.{rotated - 1 - k}" if k < rotated - 1 else "syslog"
                    pieces: list[bytes] = []
                    size = 0
                    while size < per_file:
                        block = host_blocks[rng.randrange(len(host_blocks))]
                        if size + len(block) > per_file:
                            block = block[: block.rfind(b"\n", 0, per_file - size) + 1]
                            if not block:
                                break
                        pieces.append(block)
                        size += len(block)
                    for r in range(counts[index]):
                        uptime = k * 86400.0 + 3600.0 * (r + 1) + rng.random()
                        lines = render(
                            random_report(rng).records(),
                            "syslog",
                            start_uptime=uptime,
                            wallclock=boot + timedelta(seconds=uptime),
                            host=host,
                        )
                        text = ("\n".join(lines) + "\n").encode()
                        pieces.insert(rng.randrange(len(pieces) + 1), text)
                    data = b"".join(pieces)
                    info = tarfile.TarInfo(f"{host}/var/log/{name}")
                    info.size = len(data)
                    info.mtime = mtime
                    out.addfile(info, io.BytesIO(data))
                    raw += len(data)
                    index += 1
    return {"raw_bytes": raw, "reports": reports, "files": files}


def prepare(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    stem = (
        f"fleet-v{GENERATOR_VERSION}-{args.size_mb:g}mb-{args.files}f-{args.hosts}h-"
        f"{args.reports}r-s{args.seed}-l{args.level}"
    )
    archive, meta_path = workdir / f"{stem}.tar.gz", workdir / f"{stem}.meta.json"
    if meta_path.exists() and archive.exists() and not args.regen:
        return archive, json.loads(meta_path.read_text())
    print(f"generating {archive} ...", file=sys.stderr)
    start = time.perf_counter()
    meta = generate(
        archive,
        size_mb=args.size_mb,
        files=args.files,
        hosts=args.hosts,
        reports=args.reports,
        seed=args.seed,
        level=args.level,
    )
    meta["seconds"] = round(time.perf_counter() - start, 1)
    meta_path.write_text(json.dumps(meta))
    print(f"generated in {meta['seconds']} s", file=sys.stderr)
    return archive, meta


def timed(cmd: list[str], timeout: float) -> tuple[float, int, str]:
    """Wall seconds, exit code and stdout of a child process."""
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, -9, ""
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace")[-2000:])
    return time.perf_counter() - start, done.returncode, done.stdout.decode()


CHILD = r"""
import json, resource, sys, time
from oomlens.batch import run_batch
archive, mode, jobs, table = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
setup = 0.0
if mode == "dask":
    from distributed import LocalCluster
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    setup = time.perf_counter() - t
    start = time.perf_counter()
    result = run_batch([archive], dask=cluster.scheduler_address)
    seconds = time.perf_counter() - start
    cluster.close()
elif mode == "index":
    # the first run fills the index (not timed); the second finds the archive unchanged
    index = table + ".sqlite"
    run_batch([archive], jobs=jobs, index=index)
    start = time.perf_counter()
    result = run_batch([archive], jobs=jobs, index=index)
    seconds = time.perf_counter() - start
elif mode == "walk":
    # the parent's serial part alone: decompress the archive and read every member
    from oomlens.archives import Member, Walker, WalkOptions
    start = time.perf_counter()
    walker = Walker(options=WalkOptions(hash_members=False))
    members = sum(1 for m in walker.walk([archive]) if isinstance(m, Member))
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "members": members,
                      "cpu": usage.ru_utime + usage.ru_stime,
                      "parent_rss_kib": usage.ru_maxrss}))
    sys.exit(0)
else:
    start = time.perf_counter()
    result = run_batch([archive], jobs=jobs)
    seconds = time.perf_counter() - start
result.frame().to_parquet(table, index=False)
usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print(json.dumps({
    "cpu": sum(u.ru_utime + u.ru_stime for u in usage),
    "seconds": seconds, "setup": setup, "rows": len(result.rows),
    "source_rows": result.source_rows, "bad": len(result.bad),
    "worker_rss_kib": result.peak_worker_rss_kib,
    "worker_peaks_kib": list(result.worker_peaks_rss_kib), "members": result.members,
    "parent_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=2048.0, help="MiB of logs in total")
    parser.add_argument("--files", type=int, default=2000, help="log files in the archive")
    parser.add_argument("--hosts", type=int, default=20, help="hosts the files are spread over")
    parser.add_argument("--reports", type=int, default=1000, help="OOM reports in total")
    parser.add_argument("--level", type=int, default=6, help="gzip level of the archive")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=usable_cpus(), help="N for the N-worker runs")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "oomlens-bench"))
    parser.add_argument("--regen", action="store_true")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)

    archive, meta = prepare(args)
    raw = int(meta["raw_bytes"])
    size = archive.stat().st_size
    print(
        f"archive: {archive} ({size / MB:.1f} MB gzip, {raw / MB:.1f} MB of logs in "
        f"{meta['files']} files, {args.hosts} hosts, {meta['reports']} reports), "
        f"{usable_cpus()} usable CPUs, load average {load()}"
    )
    lines: list[tuple[str, str, str, str, str]] = []

    zcat = shutil.which("zcat")
    base: float | None = None
    if zcat:
        best = min(
            timed(["sh", "-c", f'"{zcat}" "{archive}" > /dev/null'], args.timeout)[0]
            for _ in range(3)
        )
        base = best
        lines.append(
            ("zcat ARCHIVE > /dev/null (best of 3)", f"{best:.2f}", rate(raw, best), "1.00", "")
        )
    else:
        print("note: zcat not found; no baseline")

    walked, code, out = timed(
        [sys.executable, "-c", CHILD, str(archive), "walk", "1", "-"], args.timeout
    )
    if code == 0:
        stats = json.loads(out.strip().splitlines()[-1])
        lines.append(
            (
                "walk only (parent's serial part)",
                f"{stats['seconds']:.2f}",
                rate(raw, stats["seconds"]),
                f"{stats['seconds'] / base:.2f}" if base else "",
                f"{stats['members']} members; parent {stats['parent_rss_kib'] / 1024:.0f} MiB; "
                f"CPU {stats['cpu']:.1f} s",
            )
        )
    tables: dict[str, Path] = {}
    modes = [("local", 1), ("local", args.jobs)] + ([] if args.no_dask else [("dask", args.jobs)])
    modes.append(("index", args.jobs))
    with tempfile.TemporaryDirectory() as tmp:
        for mode, jobs in modes:
            table = Path(tmp) / f"{mode}-{jobs}.parquet"
            _wall, code, out = timed(
                [sys.executable, "-c", CHILD, str(archive), mode, str(jobs), str(table)],
                args.timeout,
            )
            label = {
                "local": f"oomlens batch, {jobs} worker processes"
                if jobs > 1
                else "oomlens batch, -j 1 (analysis in the one process)",
                "dask": f"oomlens batch on Dask LocalCluster, {jobs} workers",
                "index": "oomlens batch again, index on, archive unchanged",
            }[mode]
            if code != 0:
                lines.append((label, "failed", "", "", f"exit {code}"))
                continue
            stats = json.loads(out.strip().splitlines()[-1])
            work = stats["seconds"]
            ratio = f"{work / base:.2f}" if base else ""
            peaks = stats["worker_peaks_kib"]
            memory = f"parent {stats['parent_rss_kib'] / 1024:.0f} MiB" + (
                ", workers " + "/".join(f"{p / 1024:.0f}" for p in peaks) + " MiB"
                if peaks and mode != "index"
                else ""
            )
            extra = f"; cluster start {stats['setup']:.1f} s" if mode == "dask" else ""
            if mode == "local":  # pool workers are reaped children: their CPU time counts
                extra += f"; CPU {stats['cpu']:.1f} s"
            lines.append(
                (
                    label,
                    f"{work:.2f}",
                    rate(raw, work),
                    ratio,
                    f"{stats['rows']} events ({stats['source_rows']} copies); {memory}{extra}",
                )
            )
            tables[label] = table
        identical = compare(tables)
    width = max(len(line[0]) for line in lines)
    print(f"{'what':<{width}}  {'seconds':>8}  {'MB/s':>8}  {'x zcat':>6}  notes")
    for what, seconds_text, mbs, ratio, notes in lines:
        print(f"{what:<{width}}  {seconds_text:>8}  {mbs:>8}  {ratio:>6}  {notes}")
    print(f"tables identical across runs: {identical}")
    print(f"load average after: {load()}")
    return 0


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / MB / seconds:.0f}" if seconds > 0 else ""


def compare(tables: dict[str, Path]) -> str:
    if len(tables) < 2:
        return "n/a"
    import pandas as pd
    import pandas.testing as pdt

    frames = [pd.read_parquet(path) for path in tables.values()]
    try:
        for frame in frames[1:]:
            pdt.assert_frame_equal(frames[0], frame)
    except AssertionError as exc:
        return f"NO ({str(exc).splitlines()[0]})"
    return "yes"


if __name__ == "__main__":
    sys.exit(main())

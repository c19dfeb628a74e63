"""Measure ``oomlens batch`` on a generated fleet archive against ``zcat`` of the same archive.

    python benchmarks/bench_batch.py                    # 200 MiB of logs, 20 hosts, tar.gz
    python benchmarks/bench_batch.py --size-mb 50 --hosts 5 --no-dask

The archive (``hostNN/var/log/syslog`` per host, syslog lines with OOM reports of mixed kernel
eras from ``oomlens.synth``) is generated once and cached in ``--workdir``. In one run it times
``zcat``, then ``oomlens batch`` with 1 worker process, with N (the usable CPUs), and on a Dask
LocalCluster of N worker processes, each in a fresh child process (start-up included, the
cluster's start-up reported apart). It prints throughput, the ratio to ``zcat`` and the peak
RSS of the parent and of the largest worker, and checks that the three tables are identical.
This is a measurement tool: it always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1_000_000
MIB = 1 << 20
GENERATOR_VERSION = 1


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def generate(archive: Path, size_mb: float, hosts: int, reports: int, seed: int) -> dict[str, Any]:
    """``hosts`` syslog files of ``size_mb / hosts`` MiB each, gzip-ed into one tar."""
    from oomlens.synth import write_log

    raw = 0
    events = 0
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive, "w:gz") as out:
        for h in range(hosts):
            log = Path(tmp) / "syslog"
            found = write_log(
                log,
                size_bytes=int(size_mb * MIB / hosts),
                reports=max(1, reports // hosts),
                envelope="syslog",
                seed=seed * 1000 + h,
            )
            events += len(found)
            raw += log.stat().st_size
            out.add(log, arcname=f"host{h:02d}/var/log/syslog")
            log.unlink()
    return {"raw_bytes": raw, "reports": events}


def prepare(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    stem = f"fleet-{args.size_mb:g}mb-{args.hosts}h-{args.reports}r-s{args.seed}"
    archive, meta_path = workdir / f"{stem}.tar.gz", workdir / f"{stem}.meta.json"
    wanted = {"generator": GENERATOR_VERSION}
    if meta_path.exists() and archive.exists() and not args.regen:
        meta = json.loads(meta_path.read_text())
        if meta.get("generator") == GENERATOR_VERSION:
            return archive, meta
    print(f"generating {archive} ...", file=sys.stderr)
    start = time.perf_counter()
    meta = {**wanted, **generate(archive, args.size_mb, args.hosts, args.reports, args.seed)}
    meta["seconds"] = round(time.perf_counter() - start, 1)
    meta_path.write_text(json.dumps(meta))
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
    "parent_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=200.0, help="MiB of logs in total")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--reports", type=int, default=200, help="OOM reports in total")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=usable_cpus(), help="N for the N-worker runs")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "oomlens-bench"))
    parser.add_argument("--regen", action="store_true")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    archive, meta = prepare(args)
    raw = int(meta["raw_bytes"])
    size = archive.stat().st_size
    print(
        f"archive: {archive} ({size / MB:.1f} MB gzip, {raw / MB:.1f} MB of logs, "
        f"{args.hosts} hosts, {meta['reports']} reports), {usable_cpus()} usable CPUs"
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
                "local": f"oomlens batch, {jobs} worker process(es)",
                "dask": f"oomlens batch on Dask LocalCluster, {jobs} workers",
                "index": "oomlens batch again, index on, archive unchanged",
            }[mode]
            if code != 0:
                lines.append((label, "failed", "", "", f"exit {code}"))
                continue
            stats = json.loads(out.strip().splitlines()[-1])
            work = stats["seconds"]
            ratio = f"{work / base:.2f}" if base else ""
            worker = stats["worker_rss_kib"]
            memory = f"parent {stats['parent_rss_kib'] / 1024:.0f} MiB" + (
                f", worker {worker / 1024:.0f} MiB" if worker else ""
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
    return 0


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

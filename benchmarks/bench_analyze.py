"""Measure ``oomlens analyze`` on a ~1 GB syslog-style log against cat, ripgrep and zcat.

    python benchmarks/bench_analyze.py                 # 1 GiB, 400 reports, /tmp/oomlens-bench
    python benchmarks/bench_analyze.py --size-mb 200 --reports 80
    python benchmarks/bench_analyze.py --oomlens "cat {file}"   # a stand-in, to test the bench

The log (noise with OOM reports of mixed kernel eras, from ``oomlens.synth``) and its gzip copy
are generated once and cached in ``--workdir``.  Every number is taken in the same run, page
cache warm, each command a whole process (start-up included); compare ratios, not absolute
times from different runs.  This is a measurement tool: it always exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

GENERATOR_VERSION = 1  # bump when oomlens.synth output changes in a way that matters here
MB = 1_000_000  # throughput unit (decimal megabytes)
MIB = 1 << 20  # --size-mb unit

TARGET_MB_S = 400.0
TARGET_RSS_MB = 200.0
TARGET_GZ_RATIO = 1.5
TARGET_HELP_S = 0.3


@dataclass
class Run:
    seconds: float
    returncode: int
    maxrss_kib: int
    stderr: str


def run(cmd: list[str], *, timeout: float, stdout: Any = subprocess.DEVNULL) -> Run:
    """Run ``cmd`` as a child; wall time and the child's own peak RSS (os.wait4)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, stdout=stdout, stderr=err, start_new_session=True)
        except OSError as exc:
            return Run(0.0, 127, 0, str(exc))
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, 9)
                pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                err.seek(0)
                return Run(time.perf_counter() - start, -9, usage.ru_maxrss, "timed out")
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return Run(seconds, proc.returncode, usage.ru_maxrss, text)


def best_of(n: int, cmd: list[str], timeout: float) -> Run:
    runs = [run(cmd, timeout=timeout) for _ in range(n)]
    ok = [r for r in runs if r.returncode == 0] or runs
    return min(ok, key=lambda r: r.seconds)


def paths(workdir: Path, size_mb: float, reports: int, seed: int) -> tuple[Path, Path, Path]:
    stem = f"bench-{size_mb:g}mb-{reports}r-s{seed}"
    return workdir / f"{stem}.log", workdir / f"{stem}.log.gz", workdir / f"{stem}.meta.json"


def wanted(size_mb: float, reports: int, seed: int) -> dict[str, Any]:
    return {"generator": GENERATOR_VERSION, "size_mb": size_mb, "reports": reports, "seed": seed}


def cached(workdir: Path, size_mb: float, reports: int, seed: int) -> bool:
    log, gz, meta_path = paths(workdir, size_mb, reports, seed)
    if not (log.exists() and gz.exists() and meta_path.exists()):
        return False
    meta = json.loads(meta_path.read_text())
    same = all(meta.get(k) == v for k, v in wanted(size_mb, reports, seed).items())
    return same and meta.get("bytes") == log.stat().st_size


def generate(workdir: Path, size_mb: float, reports: int, seed: int) -> None:
    """Write the log, its .gz copy, the truth and the metadata (runs in a child process)."""
    sys.path.insert(0, str(ROOT))
    from oomlens.synth import write_log

    workdir.mkdir(parents=True, exist_ok=True)
    log, gz, meta_path = paths(workdir, size_mb, reports, seed)
    print(f"generating {log} ({size_mb:g} MiB, {reports} reports) ...", flush=True)
    start = time.perf_counter()
    events = write_log(
        log, size_bytes=int(size_mb * MIB), reports=reports, envelope="syslog", seed=seed
    )
    gen_s = time.perf_counter() - start
    size = log.stat().st_size
    print(f"  wrote {size / MB:.0f} MB in {gen_s:.1f} s ({size / MB / gen_s:.0f} MB/s)")
    print(f"compressing {gz.name} (gzip -6) ...", flush=True)
    start = time.perf_counter()
    with log.open("rb") as src, gz.open("wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as dst:
            shutil.copyfileobj(src, dst, 4 * MIB)
    print(f"  {gz.stat().st_size / MB:.0f} MB in {time.perf_counter() - start:.1f} s")
    truth = log.with_name(log.name.removesuffix(".log") + ".truth.json")
    truth.write_text(json.dumps({"events": events}) + "\n")
    meta = {
        **wanted(size_mb, reports, seed),
        "bytes": size,
        "generate_seconds": round(gen_s, 2),
        "events": len(events),
        "kinds": dict(Counter(e["kind"] for e in events)),
        "eras": dict(Counter(e["era"] for e in events)),
        "headers": sum(1 for e in events if e["kind"] != "allocation_failure"),
    }
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")


def prepare(args: argparse.Namespace) -> Path:
    """Reuse the cached log, or generate it in a child process.

    A child's ru_maxrss starts at the RSS of the process it was forked from, so this process
    must stay small: the 1 GB generation never runs in it.
    """
    log, gz, _ = paths(args.workdir, args.size_mb, args.reports, args.seed)
    if not args.regen and cached(args.workdir, args.size_mb, args.reports, args.seed):
        print(f"reusing {log} ({log.stat().st_size / MB:.0f} MB) and {gz.name}")
        return log
    cmd = [sys.executable, str(Path(__file__).resolve()), "--generate-only", "--regen"]
    cmd += ["--workdir", str(args.workdir), "--size-mb", f"{args.size_mb:g}"]
    cmd += ["--reports", str(args.reports), "--seed", str(args.seed)]
    subprocess.run(cmd, check=True)
    return log


def oomlens_cmd(template: str, file: Path, out: str) -> list[str]:
    parts = shlex.split(template)
    if any("{file}" in p or "{out}" in p for p in parts):
        return [p.replace("{file}", str(file)).replace("{out}", out) for p in parts]
    return [*parts, "analyze", str(file), "--format", "json", "-o", out]


def help_cmd(template: str) -> list[str]:
    parts = [p for p in shlex.split(template) if "{file}" not in p and "{out}" not in p]
    return [*parts, "--help"]


def fmt_rate(nbytes: int, seconds: float) -> str:
    if seconds <= 0:
        return "-"
    rate = nbytes / MB / seconds
    return f"{rate / 1000:.1f} GB/s" if rate >= 1000 else f"{rate:.0f} MB/s"


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/oomlens-bench"))
    parser.add_argument("--size-mb", type=float, default=1024.0, help="log size in MiB")
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--oomlens",
        default=str(Path(sys.executable).parent / "oomlens"),
        help="command to benchmark; '{file}' and '{out}' placeholders replace the default "
        "'analyze FILE --format json -o OUT' arguments",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of oomlens (best is shown)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per command")
    parser.add_argument("--regen", action="store_true", help="regenerate the cached log")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)
    try:
        return bench(args)
    except Exception as exc:  # a measurement tool: report, never fail the caller
        print(f"benchmark error: {type(exc).__name__}: {exc}")
        return 0


def bench(args: argparse.Namespace) -> int:
    if args.generate_only:
        if args.regen or not cached(args.workdir, args.size_mb, args.reports, args.seed):
            generate(args.workdir, args.size_mb, args.reports, args.seed)
        return 0
    log = prepare(args)
    gz = log.with_name(log.name + ".gz")
    meta = json.loads(log.with_name(log.name.removesuffix(".log") + ".meta.json").read_text())
    size = log.stat().st_size
    rows: list[tuple[str, str, str, str, str]] = []
    notes: list[str] = []

    def row(
        name: str, t: str = "", rate: str = "", target: str = "", ok: bool | None = None
    ) -> None:
        rows.append((name, t, rate, target, verdict(ok)))

    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=False)  # warm the cache
    cat = best_of(3, ["cat", str(log)], args.timeout)
    row("cat FILE > /dev/null", f"{cat.seconds:.2f} s", fmt_rate(size, cat.seconds))

    rg_path = shutil.which("rg")
    rg: Run | None = None
    if rg_path:
        rg = best_of(3, [rg_path, "-c", "invoked oom-killer", str(log)], args.timeout)
        count = subprocess.run(
            [rg_path, "-c", "invoked oom-killer", str(log)], capture_output=True, text=True
        ).stdout.strip()
        row("rg -c 'invoked oom-killer' FILE", f"{rg.seconds:.2f} s", fmt_rate(size, rg.seconds))
        if count != str(meta["headers"]):
            notes.append(f"rg counted {count} headers, the generator wrote {meta['headers']}")
    else:
        row("rg -c 'invoked oom-killer' FILE", "skipped", "(ripgrep not installed)")

    exe = shlex.split(args.oomlens)[0] if args.oomlens.strip() else ""
    have_oomlens = bool(exe) and (shutil.which(exe) is not None or Path(exe).exists())
    plain: Run | None = None
    if not have_oomlens:
        row("oomlens analyze FILE", "skipped", f"({exe or 'no command'} not found)")
    else:
        runs = [
            run(oomlens_cmd(args.oomlens, log, "/dev/null"), timeout=args.timeout)
            for _ in range(max(1, args.repeat))
        ]
        plain = min(runs, key=lambda r: r.seconds)
        peak_rss = max(r.maxrss_kib for r in runs) / 1024 * 1.048576  # KiB -> MB
        if plain.returncode != 0:
            notes.append(f"oomlens exit {plain.returncode}: {plain.stderr.strip()[-500:]}")
        rate = size / MB / plain.seconds if plain.seconds else 0.0
        row(
            "oomlens analyze FILE --format json",
            f"{plain.seconds:.2f} s",
            fmt_rate(size, plain.seconds),
            f">= {TARGET_MB_S:.0f} MB/s",
            rate >= TARGET_MB_S and plain.returncode == 0,
        )
        if len(runs) > 1:  # this machine's speed varies between runs: show the spread
            row("  every run: " + " ".join(f"{r.seconds:.2f}" for r in runs) + " s")
        row("  ratio oomlens / cat", f"{plain.seconds / max(cat.seconds, 1e-9):.1f}x")
        if rg is not None:
            row("  ratio oomlens / rg", f"{plain.seconds / max(rg.seconds, 1e-9):.1f}x")
        floor = run(["true"], timeout=60).maxrss_kib / 1024 * 1.048576
        row(
            "  peak RSS of oomlens",
            f"{peak_rss:.0f} MB",
            f"(floor {floor:.0f} MB)",
            f"<= {TARGET_RSS_MB:.0f} MB",
            peak_rss <= TARGET_RSS_MB,
        )
        if peak_rss <= floor * 1.05:
            notes.append(
                "peak RSS is at the floor (the RSS this script had when it started the child); "
                "the child's own peak is lower and not known"
            )

    zcat = best_of(3, ["zcat", str(gz)], args.timeout) if shutil.which("zcat") else None
    if zcat is not None:
        row("zcat FILE.gz > /dev/null", f"{zcat.seconds:.2f} s", fmt_rate(size, zcat.seconds))
    else:
        row("zcat FILE.gz > /dev/null", "skipped", "(zcat not installed)")
    check_out = args.workdir / "bench-out.json"
    check_run: Run | None = None
    if have_oomlens:
        gzruns = [
            run(oomlens_cmd(args.oomlens, gz, str(check_out)), timeout=args.timeout)
            for _ in range(max(1, args.repeat))
        ]
        gzrun = min(gzruns, key=lambda r: r.seconds)  # best of, like zcat and the plain file
        check_run = gzrun
        if gzrun.returncode != 0:
            notes.append(f"oomlens on .gz exit {gzrun.returncode}: {gzrun.stderr.strip()[-500:]}")
        ratio = gzrun.seconds / zcat.seconds if zcat and zcat.seconds else None
        row(
            "oomlens analyze FILE.gz",
            f"{gzrun.seconds:.2f} s",
            fmt_rate(size, gzrun.seconds),
            f"<= {TARGET_GZ_RATIO}x zcat",
            None if ratio is None else ratio <= TARGET_GZ_RATIO and gzrun.returncode == 0,
        )
        if len(gzruns) > 1:
            row("  every run: " + " ".join(f"{r.seconds:.2f}" for r in gzruns) + " s")
        if ratio is not None:
            row("  ratio oomlens.gz / zcat", f"{ratio:.2f}x")
        gz_rss = max(r.maxrss_kib for r in gzruns) / 1024 * 1.048576
        row(
            "  peak RSS of oomlens",
            f"{gz_rss:.0f} MB",
            "",
            f"<= {TARGET_RSS_MB:.0f} MB",
            gz_rss <= TARGET_RSS_MB,
        )
        helps = [run(help_cmd(args.oomlens), timeout=60) for _ in range(5)]
        best = min(helps, key=lambda r: r.seconds)
        row(
            "oomlens --help (best of 5)",
            f"{best.seconds:.3f} s",
            "",
            f"< {TARGET_HELP_S} s",
            best.seconds < TARGET_HELP_S and best.returncode == 0,
        )

    # event count check (on the JSON written by the .gz run; a plain run if that failed)
    if have_oomlens:
        if check_run is None or check_run.returncode != 0 or not check_out.exists():
            check_run = run(oomlens_cmd(args.oomlens, log, str(check_out)), timeout=args.timeout)
        got = count_events(check_out) if check_run.returncode == 0 else None
        if got is None:
            row(
                "events reported / generated",
                f"? / {meta['events']}",
                "(no JSON output)",
                "equal",
                False,
            )
        else:
            total, kinds = got
            row(
                "events reported / generated",
                f"{total} / {meta['events']}",
                "",
                "equal",
                total == meta["events"],
            )
            if kinds != meta["kinds"]:
                notes.append(f"kinds reported {kinds}, generated {meta['kinds']}")

    print()
    print(
        f"oomlens benchmark: {size / MB:.0f} MB syslog-style log, {meta['events']} reports "
        f"(eras {', '.join(sorted(meta['eras']))}), seed {meta['seed']}"
    )
    print(f"file: {log}  (+ .gz {gz.stat().st_size / MB:.0f} MB); oomlens: {args.oomlens}")
    print(f"generated in {meta['generate_seconds']} s by oomlens.synth")
    from oomlens.hits import chosen_finder

    finder = chosen_finder() or "python (the scanner's own search)"
    print(f"hit finder: {finder} (OOMLENS_HITS={os.environ.get('OOMLENS_HITS', 'auto')})")
    print()
    widths = [
        max(len(r[i]) for r in [("measurement", "time", "throughput", "target", ""), *rows])
        for i in range(5)
    ]
    header = ("measurement", "time", "throughput", "target", "verdict")
    for r in [header, *rows]:
        print(
            f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  "
            f"{r[3]:<{widths[3]}}  {r[4]}".rstrip()
        )
    for note in notes:
        print(f"note: {note}")
    return 0


def count_events(path: Path) -> tuple[int, dict[str, int]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        events = data["events"]
        return len(events), dict(Counter(str(e.get("kind")) for e in events))
    except (OSError, ValueError, KeyError, TypeError):
        return None


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure rendering one incident report (view-model + template + charts), HTML and Markdown.

    python benchmarks/bench_render.py                  # 20 and 400 tasks, 50 runs each
    python benchmarks/bench_render.py --tasks 400 --repeat 200

Reports are written by ``oomlens.synth`` and analysed once (parse, replay, rules); each is
rendered as ``analyze`` explains it and with the test builder's replay, findings and memory
state (tests/report_builder.py), which fills every section and chart. Analysis is not
timed. A fresh process and the first render (Jinja environment, templates loaded) are shown
on their own lines; the table shows the steady state (median and best).
Target: < 50 ms per report. This is a measurement tool: it always exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the report builder used by the tests

TARGET_MS = 50.0


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float, int]:
    """(median ms, best ms, output bytes)."""
    samples = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - start) * 1000)
        size = len(str(out).encode("utf-8"))
    return statistics.median(samples), min(samples), size


_FRESH = """
import sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from report_builder import analyse
analysis = analyse(Path({log!r}))
start = time.perf_counter()
from oomlens.render import analysis_to_html, analysis_to_markdown
(analysis_to_html if {fmt!r} == "html" else analysis_to_markdown)(analysis)
print((time.perf_counter() - start) * 1000)
"""


def _fresh_process_ms(fmt: str) -> float:
    """Rendering as ``oomlens analyze`` does it: once, in a new process (best of 3)."""
    from report_builder import synth_log

    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        log = synth_log(Path(tmp), n_tasks=400, era="6.1")
        code = _FRESH.format(tests=str(ROOT / "tests"), log=str(log), fmt=fmt)
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[20, 400])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)

    from report_builder import analyse, explained_analysis, synth_log

    from oomlens.render import analysis_to_html, analysis_to_markdown

    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        for n in args.tasks:
            piped = analyse(synth_log(Path(tmp), n_tasks=n, era="6.1"))
            cases.append((f"{n} tasks, as analyze explains it", piped))
            cases.append((f"{n} tasks, every section", explained_analysis(piped)))

    for fmt in ("html", "md"):
        print(f"fresh process, {fmt}: {_fresh_process_ms(fmt):.1f} ms", end="")
        print(" (import jinja2 + load the compiled template from the cache + one render)")
    start = time.perf_counter()
    analysis_to_html(cases[0][1])
    analysis_to_markdown(cases[0][1])
    first_ms = (time.perf_counter() - start) * 1000
    print(f"first render in this process, both formats: {first_ms:.1f} ms")
    print()
    print(f"| report | format | median ms | best ms | size | < {TARGET_MS:.0f} ms |")
    print("|---|---|---:|---:|---:|---|")
    worst = 0.0
    for label, analysis in cases:
        for fmt, render in (("html", analysis_to_html), ("md", analysis_to_markdown)):
            median, best, size = _time(lambda a=analysis, r=render: r(a), args.repeat)  # type: ignore[misc]
            worst = max(worst, median)
            ok = "yes" if median < TARGET_MS else "NO"
            print(f"| {label} | {fmt} | {median:.2f} | {best:.2f} | {size / 1024:.0f} KiB | {ok} |")
    print()
    print(f"slowest median: {worst:.2f} ms (target < {TARGET_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measure what the replay adds to the per-report cost of parsing.

    python benchmarks/bench_replay.py                  # 400 reports, 5 repeats
    python benchmarks/bench_replay.py --reports 100 --repeat 3

Reports of every era and kind come from ``oomlens.synth`` (fixed seed), rendered as syslog
text.  In the same run, for the same reports, it times ``analyze_text`` (read, split, parse,
transform: the baseline) and ``replay`` of the parsed events plus ``group_incidents`` over
them; each is the best of ``--repeat`` rounds.  The target is replay < 20 % of parse time.
This is a measurement tool: it always exits 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oomlens import synth  # noqa: E402
from oomlens.api import analyze_text  # noqa: E402
from oomlens.incidents import group_incidents  # noqa: E402
from oomlens.model import OomEvent  # noqa: E402
from oomlens.replay import replay  # noqa: E402

TARGET_RATIO = 0.20


def make_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(n):
        era = synth.ERAS[i % len(synth.ERAS)]
        kind = synth.KINDS[(i // len(synth.ERAS)) % len(synth.KINDS)]
        report = synth.random_report(rng, era=era, kind=kind)
        lines = synth.render(
            report.records(),
            "syslog",
            start_uptime=100.0 + i,
            wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
            host="bench",
        )
        texts.append("\n".join(lines) + "\n")
    return texts


def best(rounds: int, fn: object) -> float:
    assert callable(fn)
    times: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    texts = make_texts(args.reports, args.seed)
    events: list[OomEvent] = []
    for text in texts:
        events.extend(analyze_text(text, path="bench.log").events)
    analyze_text(texts[0])  # warm the grammar caches before timing

    def parse_all() -> None:
        for text in texts:
            analyze_text(text, path="bench.log")

    def replay_all() -> None:
        for event in events:
            replay(event)
        group_incidents(events)

    parse_s = best(args.repeat, parse_all)
    replay_s = best(args.repeat, replay_all)
    ratio = replay_s / parse_s if parse_s else float("inf")
    n = len(texts)
    print(f"reports               {n} ({len(events)} events)")
    print(f"parse   per report    {parse_s / n * 1e3:8.3f} ms   (baseline, best of {args.repeat})")
    print(f"replay  per report    {replay_s / n * 1e3:8.3f} ms   (replay + incidents)")
    verdict = "ok" if ratio < TARGET_RATIO else "OVER TARGET"
    target = f"target < {TARGET_RATIO * 100:.0f} %"
    print(f"replay / parse        {ratio * 100:8.1f} %    {target}: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

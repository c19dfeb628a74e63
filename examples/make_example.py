"""Write ``examples/kern.log``: a small syslog-style kern.log with two OOM reports.

    python examples/make_example.py            # rewrites examples/kern.log (deterministic)
    oomlens analyze examples/kern.log -o report.md

The log is synthetic (``oomlens.synth``), about 300 lines of kernel messages, holding:

1. a 5.15 (Ubuntu 22.04) cgroup v2 memcg OOM of a Docker container
   (``/system.slice/docker-<id>.scope``), with the v2 ``swap:`` line and the memory.stat dump;
2. a 6.1 (Debian 12) global OOM followed by an ``oom_reaper: reaped process`` line.

``examples/kern.expected.json`` holds what oomlens should extract from it (JSON contract keys).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from oomlens.synth import SynthReport, random_report, write_log  # noqa: E402

SEED = 20240517
TARGET_BYTES = 28_000  # about 300 lines with the two reports


def _pick(rng: random.Random, make: object, accept: object) -> SynthReport:
    """The first generated report that ``accept`` likes (deterministic for one seed)."""
    assert callable(make) and callable(accept)
    for _ in range(10_000):
        report = make(rng)
        assert isinstance(report, SynthReport)
        if accept(report):
            return report
    raise RuntimeError("no acceptable report")


def build(path: Path) -> list[dict[str, object]]:
    rng = random.Random(SEED)
    container = _pick(
        rng,
        lambda r: random_report(r, era="5.15", kind="memcg", n_tasks=3, reaped=True, hostile=False),
        lambda rep: (
            (rep.memcg_limit_path or "").startswith("/system.slice/docker-")
            and rep.kills
            and rep.swap_total_kib > 0
        ),
    )
    global_oom = _pick(
        rng,
        lambda r: random_report(
            r, era="6.1", kind="oom_kill", n_tasks=24, reaped=True, hostile=False
        ),
        lambda rep: rep.kills and rep.swap_total_kib == 0 and rep.victim_pid != rep.trigger_pid,
    )
    return write_log(
        path,
        size_bytes=TARGET_BYTES,
        reports=2,
        envelope="syslog",
        seed=SEED,
        synth_reports=[container, global_oom],
        kernel_only=True,
        start=datetime(2024, 5, 17, 9, 12, 3, tzinfo=UTC),
    )


def main() -> int:
    log = HERE / "kern.log"
    expected = build(log)
    for event in expected:
        event["source"]["path"] = "examples/kern.log"  # type: ignore[index]
    (HERE / "kern.expected.json").write_text(
        json.dumps({"events": expected}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    lines = log.read_text(encoding="utf-8").count("\n")
    print(f"wrote {log.relative_to(HERE.parent)}: {lines} lines, {len(expected)} OOM reports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

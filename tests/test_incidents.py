"""Grouping events into incidents: hosts, reboots, gaps, kill storms, restart loops, repeats."""

from __future__ import annotations

import pytest

from oomlens.api import analyze_text
from oomlens.incidents import GAP_S, group_incidents
from oomlens.model import (
    EventKind,
    EventTime,
    Incident,
    IncidentPattern,
    Kill,
    OomEvent,
    SourceLocation,
)


def ev(
    uptime: float | None,
    comm: str | None = "java",
    pid: int | None = 100,
    *,
    host: str | None = "web1",
    path: str = "a.log",
    wallclock: str | None = None,
    extra_kills: int = 0,
) -> OomEvent:
    kills: tuple[Kill, ...] = ()
    if comm is not None:
        kills = (Kill(pid=pid, comm=comm),) + tuple(
            Kill(pid=1000 + i, comm=f"member{i}") for i in range(extra_kills)
        )
    return OomEvent(
        kind=EventKind.OOM_KILL if kills else EventKind.OOM_NO_KILL,
        source=SourceLocation(path=path, first_line=1, last_line=2),
        time=EventTime(uptime_s=uptime, wallclock=wallclock),
        host=host,
        kills=kills,
    )


def test_single_event_is_one_incident() -> None:
    (inc,) = group_incidents([ev(10.0)])
    assert inc.pattern is IncidentPattern.SINGLE
    assert (inc.kills, inc.duration_s, inc.boot) == (1, 0.0, 0)
    assert inc.timeline[0].event_index == 0 and inc.timeline[0].victim_comm == "java"


def test_gap_splits_and_close_events_join() -> None:
    events = [ev(10.0, pid=1), ev(20.0, "db", 2), ev(20.0 + GAP_S + 1, "x", 3)]
    first, second = group_incidents(events)
    assert [t.event_index for t in first.timeline] == [0, 1]
    assert first.pattern is IncidentPattern.REPEATED and first.duration_s == 10.0
    assert [t.event_index for t in second.timeline] == [2]


def test_uptime_going_backwards_is_a_reboot() -> None:
    events = [ev(5000.0, pid=1), ev(30.0, pid=2), ev(40.0, pid=3)]
    before, after = group_incidents(events)
    assert (before.boot, after.boot) == (0, 1)
    assert len(after.events) == 2


def test_hosts_are_separate_streams() -> None:
    events = [ev(10.0, host="a"), ev(11.0, host="b"), ev(12.0, host="a")]
    incidents = group_incidents(events)
    assert sorted((i.host, len(i.events)) for i in incidents) == [("a", 2), ("b", 1)]


def test_kill_storm_needs_three_killing_events_in_a_minute() -> None:
    storm = group_incidents([ev(0.0, "a", 1), ev(20.0, "b", 2), ev(50.0, "c", 3)])
    assert storm[0].kill_storm and storm[0].pattern is IncidentPattern.KILL_STORM
    slow = group_incidents([ev(0.0, "a", 1), ev(100.0, "b", 2), ev(200.0, "c", 3)])
    assert not slow[0].kill_storm and slow[0].pattern is IncidentPattern.REPEATED


def test_group_kill_members_do_not_make_a_storm() -> None:
    (inc,) = group_incidents([ev(0.0, extra_kills=5)])
    assert inc.kills == 6 and not inc.kill_storm
    assert inc.victims[0].comm == "java" and inc.victims[0].kills == 1


def test_restart_loop_inside_an_incident() -> None:
    events = [ev(t, "worker", 100 + i) for i, t in enumerate((0.0, 120.0, 240.0, 360.0))]
    (inc,) = group_incidents(events)
    assert inc.restart_loop and inc.pattern is IncidentPattern.RESTART_LOOP
    assert inc.victims[0].kills == 4 and inc.victims[0].pids == (100, 101, 102, 103)


def test_repeats_across_incidents_of_one_boot() -> None:
    events = [ev(t, "app", 100 + i) for i, t in enumerate((0.0, 1000.0, 2000.0))]
    incidents = group_incidents(events)
    assert [i.repeats for i in incidents] == [0, 1, 2]
    assert incidents[2].repeat_of == 0 and incidents[2].restart_loop


def test_events_without_time_stay_with_their_source() -> None:
    events = [ev(None, pid=1), ev(None, pid=2), ev(None, pid=3, path="b.log")]
    incidents = group_incidents(events)
    assert [len(i.events) for i in incidents] == [2, 1]
    assert incidents[0].duration_s is None


def test_wallclock_going_back_splits_without_a_reboot_and_orders_by_time() -> None:
    a = ev(None, pid=1, wallclock="2024-03-01T12:00:00+00:00")
    b = ev(None, pid=2, wallclock="2024-03-01T12:00:30+00:00")
    c = ev(None, pid=3, wallclock="2024-03-01T11:00:00+00:00")
    incidents = group_incidents([a, b, c])
    assert [i.boot for i in incidents] == [0, 0]
    assert incidents[0].events == (c,)
    assert incidents[1].events == (a, b) and incidents[1].timeline[-1].offset_s == 30.0
    assert [i.index for i in incidents] == [0, 1]


def test_parsed_log_with_two_reports_and_a_reboot() -> None:
    report = (
        "[{t:.6f}] {comm} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, "
        "oom_score_adj=0\n"
        "[{t:.6f}] Out of memory: Killed process {pid} ({comm}) total-vm:1000kB, anon-rss:500kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0\n"
    )
    text = (
        report.format(t=100.0, comm="app", pid=10)
        + report.format(t=110.0, comm="app", pid=11)
        + report.format(t=5.0, comm="app", pid=12)
    )
    events = analyze_text(text).events
    assert len(events) == 3
    incidents = group_incidents(events)
    assert [(i.boot, len(i.events)) for i in incidents] == [(0, 2), (1, 1)]
    assert incidents[0].victims[0].pids == (10, 11)


def test_corpus_storm_and_repeats() -> None:
    from conftest import CORPUS_DIR

    from oomlens.api import analyze_paths

    def incidents(prefix: str) -> tuple[Incident, ...]:
        paths = sorted((CORPUS_DIR / "real").glob(f"{prefix}_*.log"))
        if not paths:
            pytest.skip("shared corpus not found")
        return group_incidents(analyze_paths([str(paths[0])]).events)

    # 018: firefox, xz and python killed within 3 s (uptime 18:56:29 -> 18:56:32).
    (storm,) = incidents("018")
    assert storm.kill_storm and storm.kills == 3 and storm.duration_s == pytest.approx(3.0, abs=0.5)
    # 025: two global OOMs 11.7 s apart on one host; memeater-10521 then memeater-10522.
    (pair,) = incidents("025")
    assert pair.pattern is IncidentPattern.REPEATED
    assert pair.duration_s == pytest.approx(11.684282)
    # 110: three memcg OOMs within 13 ms (a memory.max write), two kills then none.
    (burst,) = incidents("110")
    assert [t.kind for t in burst.timeline] == [
        EventKind.OOM_KILL,
        EventKind.OOM_KILL,
        EventKind.OOM_NO_KILL,
    ]
    assert burst.kills == 2 and not burst.kill_storm

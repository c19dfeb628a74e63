"""Group a log's OOM events into incidents and put them on one timeline.

An incident is a run of events of one host and one boot that are close in time (at most
``GAP_S`` seconds apart).  Uptime going backwards within a host means a reboot; a wall clock
going backwards (with no uptime to compare) only starts a new incident, since merged or
rotated files cause it more often than reboots do.  Incidents are listed by wall clock when
every one has a zoned time, else in input order.  Inside an incident we flag

* a **kill storm**: at least ``STORM_KILLS`` kills within ``STORM_WINDOW_S`` seconds;
* a **restart loop**: one command killed at least ``LOOP_KILLS`` times under at least two
  pids (it is restarted, grows again and is killed again);

and across incidents of one boot we count how often the same command was killed before.
Events carrying no time at all stay with their neighbours from the same source: a log
without timestamps is read as one story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .model import (
    Incident,
    IncidentPattern,
    OomEvent,
    TimelineEntry,
    VictimCount,
)

__all__ = ["GAP_S", "LOOP_KILLS", "STORM_KILLS", "STORM_WINDOW_S", "group_incidents"]

GAP_S = 300.0  # events further apart than this start a new incident
STORM_KILLS = 3
STORM_WINDOW_S = 60.0
LOOP_KILLS = 3


@dataclass(slots=True)
class _Item:
    index: int
    event: OomEvent
    wall: datetime | None


def _wallclock(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _wall_gap(a: datetime | None, b: datetime | None) -> float | None:
    """Seconds from a to b, or None when one is missing or they mix naive and zoned times."""
    if a is None or b is None or (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return (b - a).total_seconds()


def _gap(prev: _Item, cur: _Item) -> tuple[float | None, bool]:
    """(seconds between two events, reboot in between) from uptime, else the wall clock."""
    up_prev, up_cur = prev.event.time.uptime_s, cur.event.time.uptime_s
    if up_prev is not None and up_cur is not None:
        if up_cur < up_prev:
            return None, True
        return up_cur - up_prev, False
    wall = _wall_gap(prev.wall, cur.wall)
    if wall is not None and wall < 0:
        # Out-of-order input (rotated files, merged logs), not a reboot: start a new incident.
        return float("inf"), False
    return wall, False


def _host_key(event: OomEvent) -> str:
    return f"host:{event.host}" if event.host else f"source:{event.source.path}"


def group_incidents(events: Sequence[OomEvent]) -> tuple[Incident, ...]:
    """Incidents of ``events`` (in the order given within each host), numbered by first time."""
    streams: dict[str, list[_Item]] = {}
    for i, event in enumerate(events):
        streams.setdefault(_host_key(event), []).append(
            _Item(i, event, _wallclock(event.time.wallclock))
        )
    groups: list[tuple[int, list[_Item]]] = []  # (boot, items)
    for items in streams.values():
        boot = 0
        current: list[_Item] = []
        for item in items:
            if current:
                gap, reboot = _gap(current[-1], item)
                same_source = item.event.source.path == current[-1].event.source.path
                untimed = gap is None and not reboot and same_source
                if reboot or not (untimed or (gap is not None and gap <= GAP_S)):
                    groups.append((boot, current))
                    current = []
                if reboot:
                    boot += 1
            current.append(item)
        if current:
            groups.append((boot, current))
    if all(_zoned(g[1][0]) for g in groups):
        groups.sort(key=lambda g: (_zoned(g[1][0]) or 0.0, g[1][0].index))
    else:
        groups.sort(key=lambda g: g[1][0].index)
    incidents: list[Incident] = []
    seen: dict[tuple[str, int, str], list[int]] = {}
    for number, (boot, items) in enumerate(groups):
        incident = _incident(number, boot, items)
        key_host = _host_key(items[0].event)
        main = incident.victims[0].comm if incident.victims else None
        earlier = seen.get((key_host, boot, main), []) if main is not None else []
        if earlier:
            incident = _with_repeats(incident, earlier[0], len(earlier))
        if main is not None:
            seen.setdefault((key_host, boot, main), []).append(number)
        incidents.append(incident)
    return tuple(incidents)


def _zoned(item: _Item) -> float | None:
    """The event's wall clock as a POSIX timestamp, when it carries a time zone."""
    if item.wall is not None and item.wall.tzinfo is not None:
        return item.wall.timestamp()
    return None


def _with_repeats(incident: Incident, first: int, count: int) -> Incident:
    """Mark an incident whose main victim was already killed ``count`` times this boot."""
    loop = incident.restart_loop or count + 1 >= LOOP_KILLS
    pattern = incident.pattern
    if loop and pattern is not IncidentPattern.KILL_STORM:
        pattern = IncidentPattern.RESTART_LOOP
    return replace(incident, repeat_of=first, repeats=count, restart_loop=loop, pattern=pattern)


def _incident(number: int, boot: int, items: list[_Item]) -> Incident:
    first = items[0]
    timeline: list[TimelineEntry] = []
    kill_times: list[float] = []
    counts: dict[str, list[int]] = {}
    order: list[str] = []
    kills = 0
    for item in items:
        event = item.event
        offset = _offset(first, item)
        victim = event.victim
        timeline.append(
            TimelineEntry(
                event_index=item.index,
                kind=event.kind,
                uptime_s=event.time.uptime_s,
                wallclock=event.time.wallclock,
                offset_s=offset,
                victim_pid=victim.pid if victim else None,
                victim_comm=victim.comm if victim else None,
            )
        )
        kills += len(event.kills)
        # Storms and loops count events, not memory.oom.group members killed with the victim.
        if victim is None:
            continue
        if offset is not None:
            kill_times.append(offset)
        if victim.comm is None:
            continue
        if victim.comm not in counts:
            counts[victim.comm] = []
            order.append(victim.comm)
        counts[victim.comm].append(victim.pid if victim.pid is not None else -1)
    victims = sorted(
        (
            VictimCount(
                comm=comm,
                kills=len(counts[comm]),
                pids=tuple(dict.fromkeys(p for p in counts[comm] if p >= 0)),
            )
            for comm in order
        ),
        key=lambda v: -v.kills,
    )
    killing_events = sum(1 for item in items if item.event.kills)
    storm = _storm(kill_times) or (not kill_times and killing_events >= STORM_KILLS)
    loop = any(v.kills >= LOOP_KILLS and len(v.pids) >= 2 for v in victims)
    if storm:
        pattern = IncidentPattern.KILL_STORM
    elif loop:
        pattern = IncidentPattern.RESTART_LOOP
    elif len(items) > 1:
        pattern = IncidentPattern.REPEATED
    else:
        pattern = IncidentPattern.SINGLE
    last = items[-1]
    offsets = [t.offset_s for t in timeline if t.offset_s is not None]
    return Incident(
        index=number,
        host=first.event.host,
        source=first.event.source.path,
        boot=boot,
        events=tuple(i.event for i in items),
        timeline=tuple(timeline),
        first_uptime_s=first.event.time.uptime_s,
        last_uptime_s=last.event.time.uptime_s,
        first_wallclock=first.event.time.wallclock,
        last_wallclock=last.event.time.wallclock,
        duration_s=max(offsets) if offsets else None,
        kills=kills,
        victims=tuple(victims),
        pattern=pattern,
        kill_storm=storm,
        restart_loop=loop,
    )


def _offset(first: _Item, item: _Item) -> float | None:
    up0, up = first.event.time.uptime_s, item.event.time.uptime_s
    if up0 is not None and up is not None:
        return round(up - up0, 6)
    wall = _wall_gap(first.wall, item.wall)
    return round(wall, 6) if wall is not None else None


def _storm(times: list[float]) -> bool:
    times = sorted(times)
    for i in range(len(times) - STORM_KILLS + 1):
        if times[i + STORM_KILLS - 1] - times[i] <= STORM_WINDOW_S:
            return True
    return False

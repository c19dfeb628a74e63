"""The cross-event facts (kill loops, repeats) answer from an index built once per log; here
they must count exactly what asking every other event of the log would count."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oomlens.facts import KILL_LOOP_WINDOW_S, LogEvents, _seconds_apart
from oomlens.model import EventKind, EventTime, Kill, OomEvent, SourceLocation

STORMS = {EventKind.OOM_KILL, EventKind.OOM_NO_KILL, EventKind.OOM_PANIC}
BASE = datetime(2024, 5, 1, 12, 0, 0)


def reference_near(event: OomEvent, events: list[OomEvent], window: float) -> int:
    """The question asked of every other event of the log."""
    count = 0
    for other in events:
        if other is event or other.source.path != event.source.path:
            continue
        apart = _seconds_apart(event, other)
        count += other.kind in STORMS and apart is not None and apart <= window
    return count


def reference_kills(event: OomEvent, events: list[OomEvent], comm: str) -> int:
    return sum(
        1
        for e in events
        if e is not event
        and e.source.path == event.source.path
        and e.victim is not None
        and e.victim.comm == comm
    )


# uptimes and clocks on a coarse grid, so that many pairs sit exactly on the window's edge
_seconds = st.integers(0, 8).map(lambda n: n * KILL_LOOP_WINDOW_S / 2) | st.floats(0, 3000)
_wallclock = st.one_of(
    st.none(),
    st.just("not a time"),
    _seconds.map(lambda s: (BASE + timedelta(seconds=s)).isoformat()),
    _seconds.map(lambda s: (BASE + timedelta(seconds=s)).isoformat() + "+02:00"),
)
_event = st.builds(
    lambda kind, path, uptime, wallclock, comm: OomEvent(
        kind=kind,
        source=SourceLocation(path=path, first_line=1, last_line=1),
        time=EventTime(uptime_s=uptime, wallclock=wallclock),
        kills=(Kill(pid=1, comm=comm),) if comm is not None else (),
    ),
    st.sampled_from(list(EventKind)),
    st.sampled_from(["a.log", "b.log"]),
    st.none() | _seconds,
    _wallclock,
    st.none() | st.sampled_from(["java", "mysqld"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_event, max_size=30), st.integers(0, 29), st.booleans())
def test_log_index_counts_what_every_pair_would(
    events: list[OomEvent], pick: int, outsider: bool
) -> None:
    log = LogEvents.of(events)
    asked = list(events)
    if outsider and events:  # an event the log does not hold (equal to one it does)
        asked.append(OomEvent(**{f: getattr(events[0], f) for f in OomEvent.__dataclass_fields__}))
    for event in asked:
        assert log.storms_near(event, KILL_LOOP_WINDOW_S) == reference_near(
            event, events, KILL_LOOP_WINDOW_S
        )
        for comm in ("java", "mysqld"):
            assert log.kills_of(event, comm) == reference_kills(event, events, comm)


def test_an_event_outside_every_indexed_log_has_no_neighbours() -> None:
    event = OomEvent(
        kind=EventKind.OOM_KILL,
        source=SourceLocation(path="c.log", first_line=1, last_line=1),
        time=EventTime(uptime_s=1.0),
        kills=(Kill(pid=1, comm="java"),),
    )
    log = LogEvents.of([])
    assert log.storms_near(event, KILL_LOOP_WINDOW_S) == 0
    assert log.kills_of(event, "java") == 0
    assert event not in log


def test_the_index_is_not_copied_between_processes() -> None:
    with pytest.raises(TypeError, match="built in each process"):
        pickle.dumps(LogEvents.of([]))

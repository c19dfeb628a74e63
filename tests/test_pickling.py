"""Model objects cross processes (parallel scans, explaining, batch workers) by pickle: what
comes back must equal what went, every class, packed rows included."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler

import pytest
from conftest import synthetic_reports

from oomlens import synth
from oomlens.api import analyze_text
from oomlens.model import Analysis, LogLine, OomEvent, Task


def _roundtrip(value: object) -> object:
    return pickle.loads(bytes(ForkingPickler.dumps(value)))


def test_corpus_analysis_survives_pickling(corpus_analysis: Analysis) -> None:
    back = _roundtrip(corpus_analysis)
    assert isinstance(back, Analysis)
    assert back == corpus_analysis
    assert back.explained == corpus_analysis.explained and len(back.explained) > 30


@pytest.mark.parametrize("era", synth.ERAS)
def test_synthetic_events_survive_pickling(era: str) -> None:
    events = analyze_text(synthetic_reports(era, "syslog")).events
    assert events and _roundtrip(events) == events


def test_an_events_lines_and_tasks_go_as_rows() -> None:
    """One call rebuilds all of an event's lines (not one per line)."""
    log = (
        "[  1.0] a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
        "[  1.1] [ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n"
        "[  1.2] [  100]     0   100    10000     5000    65536        0             0 a\n"
        "[  1.3] [  101]     0   101    20000     6000    65536        0             0 b\n"
        "[  1.4] Out of memory: Killed process 101 (b) total-vm:80000kB, anon-rss:24000kB,"
        " file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:64kB oom_score_adj:0\n"
    )
    (event,) = analyze_text(log, explain=False).events
    data = bytes(ForkingPickler.dumps(event))
    assert data.count(b"_unpack_rows") == 1  # memoised: one reference to the function
    back = pickle.loads(data)
    assert isinstance(back, OomEvent) and back == event
    assert all(type(line) is LogLine for line in back.lines) and len(back.lines) == 5
    assert back.tasks is not None and all(type(task) is Task for task in back.tasks)

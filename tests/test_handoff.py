"""Helper threads get the interpreter lock sooner while they run, and only then."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

from oomlens import handoff
from oomlens.reader import InputRef, open_input


def test_the_interval_is_short_while_any_helper_runs() -> None:
    before = sys.getswitchinterval()
    handoff.helper_started()
    handoff.helper_started()
    assert sys.getswitchinterval() == pytest.approx(min(before, handoff.HELPER_SWITCH_S))
    handoff.helper_stopped()
    assert sys.getswitchinterval() == pytest.approx(min(before, handoff.HELPER_SWITCH_S))
    handoff.helper_stopped()
    assert sys.getswitchinterval() == before
    handoff.helper_stopped()  # one stop too many changes nothing
    assert sys.getswitchinterval() == before


def test_reading_a_gzip_file_restores_the_interval(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    log = tmp_path / "kern.log.gz"
    log.write_bytes(gzip.compress(b"Nov 25 12:00:00 h kernel: hello\n" * 1000))
    with open_input(InputRef(path=str(log))) as opened:
        assert sys.getswitchinterval() == pytest.approx(min(before, handoff.HELPER_SWITCH_S))
        assert opened.stream.read().count(b"\n") == 1000
    assert sys.getswitchinterval() == before

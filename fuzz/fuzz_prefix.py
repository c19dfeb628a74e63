"""Coverage-guided fuzzing of envelope detection: parse_prefix must never raise.

Run by scripts/fuzz.sh (needs ``pip install atheris``): ``python fuzz/fuzz_prefix.py
-max_total_time=60 fuzz/corpus/prefix``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from oomlens.model import Envelope
    from oomlens.prefixes import parse_prefix


def test_one_input(data: bytes) -> None:
    line = data.decode("utf-8", "replace").replace("\n", " ")
    prefix = parse_prefix(line, year=2024)
    assert isinstance(prefix.envelope, Envelope)
    assert isinstance(prefix.text, str)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()

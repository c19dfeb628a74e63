"""Coverage-guided fuzzing of the splitter, grammar and transformer through analyze_text.

Only the documented errors may escape (none do from analyze_text: a bad report becomes a
diagnostic), no diagnostic may report an internal error, and the JSON must serialise.
Seeds: the example log and the shared corpus (scripts/fuzz.sh copies them in).
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    from oomlens.api import INTERNAL_ERROR, analyze_text
    from oomlens.serialize import analysis_to_json


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    analysis = analyze_text(text, "fuzz.log", explain=len(data) < 20_000)
    for diagnostic in analysis.diagnostics:
        assert not diagnostic.message.startswith(INTERNAL_ERROR), diagnostic
    json.dumps(analysis_to_json(analysis))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()

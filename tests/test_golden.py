"""Golden JSON per corpus file: the whole parsed event model, pinned.

``tests/golden/<corpus file stem>.json`` holds the ``--format json`` document of one corpus file
with the volatile parts fixed: the source path is the path inside the corpus, and the year of
logs that omit it is 2000 (it otherwise comes from the file's mtime). The replay, the findings
and the incidents are pinned too, so a change to a rule or a replay step shows up here. The
document is validated against docs/oomlens-1.schema.json. ``UPDATE_GOLDEN=1`` rewrites the
files; review the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import CORPUS_DIR

from oomlens.api import analyze_stream, explain_analysis
from oomlens.model import Analysis
from oomlens.serialize import analysis_to_json

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "docs" / "oomlens-1.schema.json").read_text()
)
YEAR = 2000


def _corpus_files() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(
        path
        for path in CORPUS_DIR.rglob("*")
        if path.suffix in (".log", ".txt")
        and not path.name.startswith(("LICENSE", "README", "PROVENANCE"))
    )


FILES = _corpus_files()


def golden_document(path: Path) -> dict[str, Any]:
    name = path.relative_to(CORPUS_DIR).as_posix()
    with path.open("rb") as stream:
        events, info, diagnostics = analyze_stream(stream, name, year=YEAR)
    analysis = Analysis(sources=(info,), events=tuple(events), diagnostics=tuple(diagnostics))
    document = analysis_to_json(explain_analysis(analysis))
    jsonschema.validate(document, SCHEMA)
    return document


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file_matches_golden(path: Path) -> None:
    golden = GOLDEN_DIR / f"{path.stem}.json"
    got = _text(golden_document(path))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN_DIR.mkdir(exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden.name}: run with UPDATE_GOLDEN=1"
    want = golden.read_text(encoding="utf-8")
    if got != want:
        # compare parsed documents so the failure shows the differing keys
        assert json.loads(got) == json.loads(want)
        assert got == want  # same values, different text layout


def test_every_golden_file_has_a_corpus_file() -> None:
    if not FILES:
        pytest.skip(f"shared corpus not found at {CORPUS_DIR}")
    stems = {path.stem for path in FILES}
    orphans = sorted(p.name for p in GOLDEN_DIR.glob("*.json") if p.stem not in stems)
    assert orphans == []

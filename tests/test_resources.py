"""oomlens's cache directory (analysed grammars, compiled rule texts): used when it is there,
rebuilt when it is damaged, skipped when it cannot be written. Each case runs a fresh
interpreter, as a run of oomlens would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oomlens.resources import cache_dir, load_lark

# parses a report through Lark's own parser and evaluates a rule condition: both grammars
_USE_BOTH_GRAMMARS = """
from oomlens.parsing import parse_block_lalr
from oomlens.engine import load_rules
tree = parse_block_lalr([
    "bash invoked oom-killer: gfp_mask=0x6200ca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0",
    "Out of memory: Killed process 4242 (leaky) total-vm:812345kB, anon-rss:791234kB, "
    "file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:1600kB oom_score_adj:0",
])
print([token.type for token in tree.children])
print(all(rule.condition is not None for rule in load_rules().rules if not rule.fallback))
"""


def _python(code: str, cache: Path, *args: str) -> str:
    """The output of ``code`` run by a fresh interpreter with ``cache`` as the cache."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "OOMLENS_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # a damaged cache is rebuilt without a word
    return done.stdout


def _run(cache: Path) -> str:
    return _python(_USE_BOTH_GRAMMARS, cache)


def test_grammar_cache_is_written_then_used_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    expected = "['HEADER', 'KILLED']\nTrue\n"
    assert _run(tmp_path) == expected
    files = sorted((tmp_path / "grammars").glob("*.lark"))
    assert len(files) == 2  # the report grammar and the condition grammar
    written = {path: path.stat().st_mtime_ns for path in files}

    assert _run(tmp_path) == expected  # loaded from the files, which stay as they were
    assert {path: path.stat().st_mtime_ns for path in files} == written

    sizes = {path: path.stat().st_size for path in files}
    for path in files:  # damaged: cut short
        path.write_bytes(path.read_bytes()[: sizes[path] // 2])
    assert _run(tmp_path) == expected
    assert sorted((tmp_path / "grammars").iterdir()) == files  # no part file left behind
    rewritten = {path: path.stat().st_mtime_ns for path in files}
    assert all(path.stat().st_size > sizes[path] // 2 for path in files)
    assert _run(tmp_path) == expected  # the rewritten files load
    assert {path: path.stat().st_mtime_ns for path in files} == rewritten


def test_no_cache_where_none_can_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    expected = "['HEADER', 'KILLED']\nTrue\n"
    assert _run(blocker) == expected  # the cache would be inside a regular file

    monkeypatch.setenv("OOMLENS_CACHE_DIR", str(blocker))
    assert cache_dir("grammars") is None
    assert load_lark('start: "x"', parser="lalr").parse("x").data == "start"


def test_cache_files_differ_by_grammar_and_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OOMLENS_CACHE_DIR", str(tmp_path))
    for grammar in ('start: "x"', 'start: "y"'):
        for placeholders in (True, False):
            load_lark(grammar, parser="lalr", maybe_placeholders=placeholders)
    assert len(list((tmp_path / "grammars").glob("*.lark"))) == 4
    assert load_lark('start: "y"', parser="lalr").parse("y").data == "start"


_EXPLAIN_EXAMPLE = """
import json, sys
from oomlens.api import analyze_paths
from oomlens.engine import load_rules, prepare_texts
prepare_texts(load_rules())
analysis = analyze_paths([sys.argv[1]])
print(json.dumps([
    [finding.title, finding.explanation, finding.remedy]
    for explained in analysis.explained for finding in explained.findings
]))
"""


_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kern.log"


def _explain(cache: Path) -> str:
    return _python(_EXPLAIN_EXAMPLE, cache, str(_EXAMPLE))


def test_rule_texts_compiled_from_the_cache_read_the_same(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    uncached = _explain(blocker)
    assert len(json.loads(uncached)) > 0
    assert _explain(tmp_path / "cache") == uncached  # compiled, and kept
    kept = {path: path.stat().st_mtime_ns for path in (tmp_path / "cache").glob("rule-texts-*/*")}
    assert len(kept) > 20  # every rule text with something to fill in
    assert _explain(tmp_path / "cache") == uncached  # read back, not written again
    assert {path: path.stat().st_mtime_ns for path in kept} == kept

"""The gated line classifier agrees with the grammar's plain alternation; families are right."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from oomlens import parsing, synth
from oomlens.parsing import (
    classify,
    classify_fresh,
    classify_reference,
    parse_block,
    parse_block_lalr,
)
from oomlens.prefixes import parse_prefix
from oomlens.splitter import normalise

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _corpus_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix in (".log", ".txt") and not path.name.startswith("LICENSE"):
            for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
                for part in parse_prefix(raw).text.split("\n"):
                    if normalise(part):
                        texts.append(normalise(part))
    return texts


def _synth_texts() -> list[str]:
    rng = random.Random(3)
    texts = []
    for era in synth.ERAS:
        for kind in synth.KINDS:
            report = synth.random_report(rng, era=era, kind=kind)
            texts.extend(normalise(line) for line in report.lines() if normalise(line))
    texts.extend(normalise(line) for line in synth.noise_lines(rng, 2000))
    return texts


@pytest.mark.parametrize("after_lines", [0, parsing.LINES_BEFORE_FIRST_CHARACTER])
def test_gated_classifier_matches_reference_on_corpus_and_synthetic_lines(
    after_lines: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the first-character alternations (from the first line, or after the usual
    number of lines) and without them."""
    monkeypatch.setattr(parsing, "LINES_BEFORE_FIRST_CHARACTER", after_lines)
    texts = _synth_texts() + (_corpus_texts() if CORPUS.is_dir() else [])
    mismatches = [(t, classify_fresh(t), classify_reference(t)) for t in texts]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert mismatches == []
    # the remembered answer is the fresh one, the second time a line comes too
    for _ in range(2):
        assert [classify(t) for t in texts] == [classify_reference(t) for t in texts]


@pytest.mark.parametrize(
    "text", ["anon 50094080\nfile 12", "anon 50094080\n", "Free swap  = 0kB\n\n", "\n"]
)
def test_a_text_of_several_lines_is_classified_as_the_plain_alternation_says(text: str) -> None:
    """The classifier reads END as the end of the text; a newline in it (no scan makes
    one) is left to the alternation that reads END as the grammar does."""
    assert classify_fresh(text) == classify_reference(text)


@pytest.mark.parametrize(
    ("text", "family"),
    [
        (
            "stress invoked oom-killer: gfp_mask=0x1100cca(GFP_HIGHUSER_MOVABLE), order=0, "
            "oom_score_adj=0",
            "HEADER",
        ),
        ("oom-killer: gfp_mask=0x201d2, order=0", "HEADER"),
        ("sysrq: Manual OOM execution", "MANUAL_OOM"),
        ("sysrq: Show Memory", "BOUNDARY"),
        ("CPU: 1 PID: 4312 Comm: stress Not tainted 5.15.0-91-generic #101-Ubuntu", "CPU_LINE"),
        ("Pid: 2592, comm: java Not tainted 2.6.32-642.el6.x86_64 #1", "PID_LINE"),
        ("[<ffffffff810d6dd1>] ? cpuset_print_task_mems_allowed+0x91/0xb0", "FRAME"),
        ("dump_stack_lvl+0x48/0x70", "FRAME"),
        ("active_anon:12 inactive_anon:941203 isolated_anon:0", "COUNTERS"),
        ("Node 0 DMA free:13312kB min:64kB low:80kB high:96kB", "ZONE_LINE"),
        ("Node 0 DMA: 0*4kB 1*1024kB (U) 2*2048kB (M) = 13312kB", "BUDDY"),
        ("lowmem_reserve[]: 0 2929 3883 3883 3883", "LOWMEM_RESERVE"),
        ("Free swap  = 0kB", "FREE_SWAP"),
        ("1048446 pages RAM", "RAM_SUMMARY"),
        ("memory: usage 51200kB, limit 51200kB, failcnt 37", "MEMCG_COUNTER"),
        ("Memory cgroup stats for /a/b:", "MEMCG_STATS"),
        ("anon 50094080", "MEMCG_STAT"),
        (
            "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
            "TASK_HEADER",
        ),
        (
            "[   4312]  1000  4312  1012345   940512  7630848        0             0 a b (c)",
            "TASK_ROW",
        ),
        (
            "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),global_oom,task=x,pid=1,uid=0",
            "SUMMARY",
        ),
        ("Out of memory: Kill process 2592 (java) score 934 or sacrifice child", "KILL_SELECT"),
        ("Killed process 20557, UID 188, (haproxy) total-vm:8560500kB", "KILLED"),
        ("Out of Memory: Killed process 1336 (memtest).", "KILLED"),
        (
            "oom_reaper: reaped process 1 (a), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
            "REAPER",
        ),
        ("Kernel panic - not syncing: Out of memory and no killable processes...", "PANIC"),
        ("Out of memory and no killable processes...", "NO_KILLABLE"),
        ("x: page allocation failure: order:4, mode:0x40c00(GFP_NOIO|__GFP_COMP)", "ALLOC_FAILURE"),
        ("init: failsafe main process (491) killed by TERM signal", "OTHER"),
        ("OOM killer disabled.", "OTHER"),
    ],
)
def test_line_families(text: str, family: str) -> None:
    assert classify(text) == family
    assert classify_reference(text) == family


def test_parse_block_groups_runs_into_tokens() -> None:
    tree = parse_block(["Mem-Info:", "[ 1] 0 1 10 5 0 0 0 a", "[ 2] 0 2 10 5 0 0 0 b", "zzz"])
    kinds = [(token.type, token.line) for token in tree.children]  # type: ignore[union-attr]
    assert kinds == [("MEMINFO", 1), ("TASK_ROW", 2), ("OTHER", 4)]


def _report_blocks() -> list[list[str]]:
    """The lines of each report block: synthetic reports of every era and kind, and the
    corpus files cut by the splitter."""
    import io

    from oomlens.splitter import split_stream

    datas = []
    rng = random.Random(5)
    for era in synth.ERAS:
        for kind in synth.KINDS:
            datas.append("\n".join(synth.random_report(rng, era=era, kind=kind).lines()))
    if CORPUS.is_dir():
        for path in sorted(CORPUS.rglob("*")):
            if path.suffix in (".log", ".txt") and not path.name.startswith("LICENSE"):
                datas.append(path.read_text(encoding="utf-8", errors="replace"))
    blocks = []
    for data in datas:
        found, _ = split_stream(io.BytesIO(data.encode()), "x", year=2024)
        blocks.extend([line.text for line in block.lines] for block in found)
    return blocks


def test_direct_tree_equals_the_lalr_parse() -> None:
    blocks = _report_blocks()
    assert len(blocks) > 40
    for texts in blocks:
        direct = parse_block(texts)
        lalr = parse_block_lalr(texts)
        assert direct == lalr
        assert [(t.type, t.line, str(t)) for t in direct.children] == [  # type: ignore[union-attr]
            (t.type, t.line, str(t))  # type: ignore[union-attr]
            for t in lalr.children
        ]

"""Every line of every report in the real corpus is decoded by a line family, or listed.

Per corpus file the test prints how many report lines stayed unparsed (visible with ``-rP``,
and in the terminal summary of a run without ``-n``). A file whose text was not physically
damaged on its way here must have none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS_DIR

from oomlens.api import analyze_paths

# Files whose text was damaged after the kernel printed it (see the corpus PROVENANCE.md
# notes). Their lines may legitimately fail to parse; the count is still reported.
DAMAGED = {
    "002_imx6ul-arm32-5.16-no-killable-panic.log": "hard-wrapped and truncated by the mail "
    "client: lines end mid-token ('kerno', 'present:524B', '10*3B')",
    "003_centos7-3.10-aliyun-java-syslog-annotated.log": "the blog author inserted blank lines "
    "and annotations inside values ('2643608kB(2.5G)') and dropped lines",
    "007_ubuntu14.04-3.13-aws-docker-memcgv1-kernlog-line-numbered.log": "a log viewer padded "
    "mid-token wraps with spaces ('mapped_f       ile')",
    "109_opensuse-tw-6.8.0-rc3-ath11k-resume-allocfail-order4-GFP_NOIO-quoted-printable.log": (
        "quoted-printable soft breaks lost the blank between fields ('332192kBinactive_anon')"
    ),
}


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
_COUNTS: dict[str, tuple[int, int]] = {}


class _Summary:
    """Prints the per-file counts in pytest's terminal summary."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not _COUNTS:
            return
        terminalreporter.section("unparsed report lines per corpus file")
        for name, (unparsed, total) in sorted(_COUNTS.items()):
            mark = "  (damaged)" if name in DAMAGED else ""
            terminalreporter.write_line(f"{unparsed:4d} / {total:5d}  {name}{mark}")


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.has_plugin("oomlens-corpus-lines"):
        manager.register(_Summary(), "oomlens-corpus-lines")


def test_damaged_list_names_corpus_files() -> None:
    if not FILES:
        pytest.skip(f"shared corpus not found at {CORPUS_DIR}")
    names = {path.name for path in FILES}
    assert set(DAMAGED) <= names


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_report_line_is_parsed(path: Path) -> None:
    analysis = analyze_paths([str(path)])
    unparsed = [number for event in analysis.events for number in event.unparsed]
    total = sum(len(event.lines) for event in analysis.events)
    _COUNTS[path.name] = (len(unparsed), total)
    texts = {
        line.number: line.text
        for event in analysis.events
        for line in event.lines
        if line.number in unparsed
    }
    print(f"{path.name}: {len(unparsed)} unparsed of {total} report lines")
    for number in unparsed:
        print(f"  line {number}: {texts.get(number, '')[:120]!r}")
    if path.name not in DAMAGED:
        assert unparsed == [], f"{path.name}: unparsed lines {unparsed}"

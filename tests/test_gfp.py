"""GFP mask decoding (oomlens.gfp): bit tables per era, %pGg order, parsing, capabilities."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomlens.gfp import (
    GfpCapabilities,
    GfpEra,
    capabilities,
    decode,
    encode,
    era_for_release,
    flags_for,
    guess_era,
    parse_printed,
)

E = GfpEra

# A real (or realistic) `uname -r` for every era.
RELEASE_OF: dict[GfpEra, str] = {
    E.V2_6_EARLY: "2.6.28-11-generic",
    E.V2_6: "3.10.105",
    E.RHEL7: "3.10.0-1160.el7.x86_64",
    E.V4_4: "4.4.0-210-generic",
    E.V4_5: "4.7.10",
    E.V4_8: "4.9.0-gentoo",
    E.V4_10: "4.12.14",
    E.V4_13: "4.13.0-45-generic",
    E.V4_14: "4.15.0-46-generic",
    E.V4_18: "4.18.0-477.13.1.el8_8.x86_64",
    E.V5_1: "5.4.0-150-generic",
    E.V5_14: "5.15.0-91-generic",
    E.V5_18: "6.1.0-18-amd64",
    E.V6_3: "6.5.0",
    E.V6_8: "6.8.0-rc3-1.gae4495f-default",
    E.V6_15: "6.16.9+deb14-amd64",
}


def names(text: str) -> tuple[str, ...]:
    return tuple(text.split("|")) if text else ()


# --------------------------------------------------------------------------------------------
# Decoding: every era, every typical full mask of docs §7.1, and the era-specific composites
# --------------------------------------------------------------------------------------------

DECODE_CASES: list[tuple[int, GfpEra | str, str]] = [
    # <= 2.6.30: MOVABLE at 0x100000 (2.6.28 Ubuntu 9.04 log)
    (0x1201D2, E.V2_6_EARLY, "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
    (0x1200D2, "2.6.28-11-generic", "GFP_HIGHUSER_MOVABLE"),
    (0xD0, E.V2_6_EARLY, "GFP_KERNEL"),
    # 2.6.31 - 4.3 (2.6.32, RHEL6, 3.x)
    (0xD0, E.V2_6, "GFP_KERNEL"),
    (0x50, E.V2_6, "GFP_NOFS"),
    (0x10, E.V2_6, "GFP_NOIO"),
    (0x20, E.V2_6, "GFP_ATOMIC"),
    (0x200DA, E.V2_6, "GFP_HIGHUSER_MOVABLE"),
    (0x280DA, E.V2_6, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    (0x201DA, "3.10.105", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
    (0x201DA, "2.6.32-279.19.1.el6.x86_64", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
    (0x200D2, E.V2_6, "GFP_HIGHUSER"),
    (0x200D0, E.V2_6, "GFP_USER"),
    (0x800D0, E.V2_6, "GFP_TEMPORARY"),
    (0x4352DA, E.V2_6, "GFP_TRANSHUGE"),  # 2.6.38+: ... | __GFP_NO_KSWAPD
    (0x1000D0, E.V2_6, "GFP_KERNEL|__GFP_KMEMCG"),
    (0xD4, E.V2_6, "GFP_KERNEL|GFP_DMA32"),
    (0xD1, E.V2_6, "GFP_KERNEL|GFP_DMA"),
    # RHEL7: __GFP_ACCOUNT at 0x100000
    (0x201DA, "3.10.0-514.6.1.el7.x86_64", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
    (0xD0, E.RHEL7, "GFP_KERNEL"),
    (0x1000D0, E.RHEL7, "GFP_KERNEL_ACCOUNT"),
    (0x1080D0, E.RHEL7, "GFP_KERNEL_ACCOUNT|__GFP_ZERO"),
    # 4.4: __GFP_NOACCOUNT, THP = (...) & ~__GFP_KSWAPD_RECLAIM
    (0x24000C0, E.V4_4, "GFP_KERNEL"),
    (0x2400040, E.V4_4, "GFP_NOFS"),
    (0x2080020, E.V4_4, "GFP_ATOMIC"),
    (0x24200CA, E.V4_4, "GFP_HIGHUSER_MOVABLE"),
    (0x25000C0, E.V4_4, "GFP_KERNEL|__GFP_NOACCOUNT"),
    (0x4352CA, E.V4_4, "GFP_TRANSHUGE"),
    # 4.5 - 4.7: __GFP_ACCOUNT, THP = (...) & ~__GFP_RECLAIM
    (0x25000C0, E.V4_5, "GFP_KERNEL_ACCOUNT"),
    (0x352CA, E.V4_5, "GFP_TRANSHUGE"),
    (0x24000D0, E.V4_5, "GFP_TEMPORARY"),
    # 4.8 - 4.9
    (0x24000C0, E.V4_8, "GFP_KERNEL"),
    (0x2400040, E.V4_8, "GFP_NOFS"),
    (0x2080020, E.V4_8, "GFP_ATOMIC"),
    (0x2000000, E.V4_8, "GFP_NOWAIT"),
    (0x2400000, E.V4_8, "GFP_NOIO"),
    (0x24200CA, E.V4_8, "GFP_HIGHUSER_MOVABLE"),
    (0x24280CA, E.V4_8, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    (0x24201CA, "4.8.0-gentoo", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
    (0x25000C0, "4.9.0-gentoo", "GFP_KERNEL_ACCOUNT"),
    (0x27080C0, "4.9.0-gentoo", "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_NOTRACK"),
    (0x342CA, E.V4_8, "GFP_TRANSHUGE_LIGHT"),
    (0x4342CA, E.V4_8, "GFP_TRANSHUGE"),
    (0x4352CA, E.V4_8, "GFP_TRANSHUGE|__GFP_NORETRY"),
    (0x24200CA | 0x800000, E.V4_8, "GFP_HIGHUSER_MOVABLE|__GFP_OTHER_NODE"),
    # 4.10 - 4.12, 4.13, 4.14 - 4.17 (4.15 keeps the 4.10 bits)
    (0x14000C0, E.V4_10, "GFP_KERNEL"),
    (0x1400040, E.V4_10, "GFP_NOFS"),
    (0x1080020, E.V4_10, "GFP_ATOMIC"),
    (0x14200CA, E.V4_10, "GFP_HIGHUSER_MOVABLE"),
    (0x14280CA, E.V4_10, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    (0x14004C0, E.V4_10, "GFP_KERNEL|__GFP_REPEAT"),
    (0x14000D0, E.V4_10, "GFP_TEMPORARY"),
    (0x14004C0, E.V4_13, "GFP_KERNEL|__GFP_RETRY_MAYFAIL"),
    (0x14000D0, E.V4_13, "GFP_TEMPORARY"),
    (0x14000D0, E.V4_14, "GFP_KERNEL|__GFP_RECLAIMABLE"),
    (0x14000C0, "4.13.16", "GFP_KERNEL"),
    (0x14000C0, "4.15.0-46-generic", "GFP_KERNEL"),
    (0x14280CA, "4.15.8", "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    (0x15000C0, "4.15.0-108-generic", "GFP_KERNEL_ACCOUNT"),
    (0x14200CA, "4.17.19", "GFP_HIGHUSER_MOVABLE"),
    # 4.18 - 5.0, RHEL8
    (0x6000C0, E.V4_18, "GFP_KERNEL"),
    (0x600040, E.V4_18, "GFP_NOFS"),
    (0x480020, E.V4_18, "GFP_ATOMIC"),
    (0x6200CA, E.V4_18, "GFP_HIGHUSER_MOVABLE"),
    (0x6280CA, "4.18.0-477.13.1.el8_8.x86_64", "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    (0x6200CA, "4.18.0-240.el8.x86_64", "GFP_HIGHUSER_MOVABLE"),
    (0x60C0C0, "4.18.0-553.el8_10.x86_64", "GFP_KERNEL|__GFP_COMP|__GFP_ZERO"),
    (0x7080C0, "5.0.0-rc8", "GFP_KERNEL_ACCOUNT|__GFP_ZERO"),
    (0x6000C0 | 0x100, E.V4_18, "GFP_KERNEL|__GFP_WRITE"),
    # 5.1 - 5.13
    (0xCC0, E.V5_1, "GFP_KERNEL"),
    (0xC40, E.V5_1, "GFP_NOFS"),
    (0xC00, E.V5_1, "GFP_NOIO"),
    (0x800, E.V5_1, "GFP_NOWAIT"),
    (0xA20, E.V5_1, "GFP_ATOMIC"),
    (0x400CC0, E.V5_1, "GFP_KERNEL_ACCOUNT"),
    (0x100CCA, E.V5_1, "GFP_HIGHUSER_MOVABLE"),
    (0x100DCA, E.V5_1, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    (0x100CC2, E.V5_1, "GFP_HIGHUSER"),
    (0x500CC2, "5.8.2-0.g71b519a-default", "GFP_HIGHUSER|__GFP_ACCOUNT"),
    (0x100CCA, "5.4.17-2136.307.3.4.el8uek.x86_64", "GFP_HIGHUSER_MOVABLE"),
    (0x1C20CA, E.V5_1, "GFP_TRANSHUGE_LIGHT"),
    (0x1C24CA, E.V5_1, "GFP_TRANSHUGE"),
    (0x1100CCA, E.V5_1, "GFP_HIGHUSER_MOVABLE|0x1000000"),
    # 5.14 - 5.17: GFP_HIGHUSER_MOVABLE includes __GFP_SKIP_KASAN_POISON (0x1000000)
    (0x1100CCA, E.V5_14, "GFP_HIGHUSER_MOVABLE"),
    (0x1100CCA, "5.14.21-150400.24.46-default", "GFP_HIGHUSER_MOVABLE"),
    (0x1100DCA, "5.14.21-150400.24.46-default", "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    (0x1100CCA, "5.15.158-2-pve", "GFP_HIGHUSER_MOVABLE"),
    (0x100CCA, E.V5_14, "GFP_HIGHUSER|__GFP_MOVABLE"),
    (0xCC0, "5.16.0-00095-g721fb891ad0b", "GFP_KERNEL"),
    (0x800CC0, E.V5_14, "GFP_KERNEL|__GFP_ZEROTAGS"),
    # 5.18 - 6.2
    (0x100CCA, E.V5_18, "GFP_HIGHUSER_MOVABLE"),
    (0x140CCA, E.V5_18, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
    (0x140DCA, "6.1.1-arch1-1", "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO"),
    (0xCC0, "6.1.106-Unraid", "GFP_KERNEL"),
    (0xA20, E.V5_18, "GFP_ATOMIC"),
    (0x1100CCA, E.V5_18, "GFP_HIGHUSER_MOVABLE|0x1000000"),
    # 6.3 - 6.7: no __GFP_ATOMIC
    (0x820, E.V6_3, "GFP_ATOMIC"),
    (0xA20, E.V6_3, "GFP_ATOMIC|0x200"),
    (0x800, E.V6_3, "GFP_NOWAIT"),
    (0x2800, E.V6_3, "GFP_NOWAIT|__GFP_NOWARN"),
    (0xCC0, "6.5.0", "GFP_KERNEL"),
    (0x100DCA, E.V6_3, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    # 6.8 - 6.14: GFP_NOWAIT includes __GFP_NOWARN
    (0x2800, E.V6_8, "GFP_NOWAIT"),
    (0x800, E.V6_8, "__GFP_KSWAPD_RECLAIM"),
    (0x820, E.V6_8, "GFP_ATOMIC"),
    (0x40C00, "6.8.0-rc3-1.gae4495f-default", "GFP_NOIO|__GFP_COMP"),
    (0x140DCA, E.V6_8, "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO"),
    # 6.15+: single flags in bit order
    (0x140DCA, "6.16.9+deb14-amd64", "GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP"),
    (0x140CCA, E.V6_15, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
    (0xCC0, "6.18.52", "GFP_KERNEL"),
    (0xCC0, "6.17.3-arch2-1-lily", "GFP_KERNEL"),
    (0x820, E.V6_15, "GFP_ATOMIC"),
    (0xC40, E.V6_15, "GFP_NOFS"),
    (0x2800, E.V6_15, "GFP_NOWAIT"),
    (0x40C00, E.V6_15, "GFP_NOIO|__GFP_COMP"),
    (0xCC2, E.V6_15, "GFP_KERNEL|__GFP_HIGHMEM"),
    (0x100 | 0x400 | 0x40000, E.V6_15, "__GFP_ZERO|__GFP_DIRECT_RECLAIM|__GFP_COMP"),
    (0x100 | 0x400 | 0x40000, E.V6_8, "__GFP_COMP|__GFP_ZERO|__GFP_DIRECT_RECLAIM"),
    # zero
    (0, E.V2_6, ""),
    (0, E.V6_15, ""),
]


def _era(era_or_release: GfpEra | str) -> GfpEra:
    if isinstance(era_or_release, GfpEra):
        return era_or_release
    era = era_for_release(era_or_release)
    assert era is not None
    return era


@pytest.mark.parametrize(("mask", "era_or_release", "expected"), DECODE_CASES)
def test_decode(mask: int, era_or_release: GfpEra | str, expected: str) -> None:
    era = _era(era_or_release)
    assert decode(mask, era) == names(expected)
    assert encode(decode(mask, era), era) == mask


def test_every_era_is_covered() -> None:
    covered = {_era(e) for _, e, _ in DECODE_CASES}
    assert covered == set(GfpEra)


def test_decode_rejects_negative() -> None:
    with pytest.raises(ValueError):
        decode(-1, E.V5_1)


# --------------------------------------------------------------------------------------------
# Real printed headers: the decoding must reproduce what the kernel printed
# --------------------------------------------------------------------------------------------

# (printed mode string, kernel release or None when the log does not say)
REAL_HEADERS: list[tuple[str, str | None]] = [
    ("0x201da", "3.10.0-514.6.1.el7.x86_64"),  # example_rhel7 (no names before 4.6)
    ("0x201da", None),  # 003 CentOS 7, release not printed
    ("0x201da", "2.6.32-279.19.1.el6.x86_64"),  # 015 RHEL6
    ("0xd0", "3.13.0-135-generic"),  # 007
    ("0x280da", "3.13.0-27-generic"),  # 010
    ("0x200da", None),  # 016 3.2.21 arm32
    ("0x1201d2", "2.6.28-11-generic"),  # 032
    ("0x24000c0(GFP_KERNEL)", "4.8.0-gentoo"),  # 011
    ("0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD)", "4.8.17"),
    ("0x25000c0(GFP_KERNEL_ACCOUNT)", "4.9.0-gentoo"),  # 018
    ("0x27080c0(GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_NOTRACK)", "4.9.0-gentoo"),  # 018
    ("0x14000c0(GFP_KERNEL)", "4.15.0-46-generic"),  # 021
    ("0x15000c0(GFP_KERNEL_ACCOUNT)", "4.15.0-108-generic"),  # shakenfist#177
    ("0x6200ca(GFP_HIGHUSER_MOVABLE)", "4.18.0-240.el8.x86_64"),
    ("0x6280ca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO)", "4.18.0-477.13.1.el8_8.x86_64"),  # 101
    ("0x500cc2(GFP_HIGHUSER|__GFP_ACCOUNT)", "5.8.2-0.g71b519a-default"),  # 013
    ("0x100cca(GFP_HIGHUSER_MOVABLE)", "5.4.17-2136.307.3.4.el8uek.x86_64"),  # db1000n#555
    ("0xcc0(GFP_KERNEL)", "5.13.0-19-generic"),  # example_ubuntu2110
    ("0x1100cca(GFP_HIGHUSER_MOVABLE)", "5.15.158-2-pve"),  # example_proxmox_cgroup_oom
    ("0x1100cca(GFP_HIGHUSER_MOVABLE)", None),  # 025 SLES 15 SP4 (5.14)
    ("0x1100dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO)", None),  # 025
    ("0xcc0(GFP_KERNEL)", "5.16.0-00095-g721fb891ad0b"),  # 002
    ("0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO)", "6.1.1-arch1-1"),
    ("0xcc0(GFP_KERNEL)", "6.1.106-Unraid"),  # 106
    ("0xcc0(GFP_KERNEL)", "6.5.0"),  # 110
    ("0x40c00(GFP_NOIO|__GFP_COMP)", "6.8.0-rc3-1.gae4495f-default"),  # 109
    ("0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP)", "6.16.9+deb14-amd64"),
    ("0xcc0(GFP_KERNEL)", "6.17.3-arch2-1-lily"),
    ("0xcc0(GFP_KERNEL)", "6.18.52"),  # nixos-linux-6.18
    ("0x0()", "6.1.0"),
]


@pytest.mark.parametrize(("text", "release"), REAL_HEADERS)
def test_real_headers_reproduce(text: str, release: str | None) -> None:
    result = flags_for(text, release)
    assert result.mask is not None
    assert result.era is not None
    assert not result.mismatch, (result.printed, result.decoded)
    if result.printed is not None:
        assert result.decoded == result.printed
    assert result.names == result.decoded
    assert result.era_guessed == (release is None and result.mask != 0)


def test_brief_examples() -> None:
    assert flags_for("0x201da", "3.10.0-514.el7.x86_64").names == (
        "GFP_HIGHUSER_MOVABLE",
        "__GFP_COLD",
    )
    assert flags_for("0x1100cca(GFP_HIGHUSER_MOVABLE)", "5.14.21").decoded == (
        "GFP_HIGHUSER_MOVABLE",
    )
    assert flags_for("0x14000c0(GFP_KERNEL)", "4.15.0-20-generic").decoded == ("GFP_KERNEL",)
    zero = flags_for("0x0()", None)
    assert (zero.mask, zero.names, zero.mismatch) == (0, (), False)
    # GFP_NOIO|__GFP_COMP on 6.8 is 0x40c00
    noio = flags_for("GFP_NOIO|__GFP_COMP", "6.8.0-rc3")
    assert noio.mask == 0x40C00
    assert noio.decoded == ("GFP_NOIO", "__GFP_COMP")
    assert noio.capabilities is not None
    assert not noio.capabilities.can_io and not noio.capabilities.can_fs


CORPUS = Path("/work/shared/corpus")
_PRINTED_RE = re.compile(r"gfp_mask=0x[0-9a-f]+(\([^)]*\))?|mode:0x[0-9a-f]+(\([^)]*\))?")
_RELEASE_RE = re.compile(r"(?:CPU|Pid): .*?(?:Not tainted|Tainted:[^0-9\n]*?)\s+(\d+\.\d+\S*)")


def _corpus_pairs() -> list[tuple[str, str, str | None]]:
    pairs: list[tuple[str, str, str | None]] = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix == ".json":
            continue
        text = path.read_text(errors="replace")
        releases = _RELEASE_RE.findall(text)
        release: str | None = releases[0] if releases else None
        truth = path.with_suffix(".truth.json")
        if release is None and truth.exists():
            events = json.loads(truth.read_text()).get("events", [])
            versions = [e.get("kernel_version") for e in events if e.get("kernel_version")]
            release = versions[0] if versions else None
        for m in _PRINTED_RE.finditer(text):
            pairs.append((path.name, m.group(0), release))
    return pairs


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")
def test_corpus_printed_masks_decode_exactly() -> None:
    pairs = _corpus_pairs()
    assert pairs
    with_names = 0
    for name, text, release in pairs:
        result = flags_for(text, release)
        assert result.era is not None, (name, text)
        assert not result.mismatch, (name, text, release, result.decoded)
        assert "0x" not in "".join(result.decoded), (name, text, result.decoded)
        with_names += result.printed is not None
    assert with_names >= 10


# --------------------------------------------------------------------------------------------
# Eras from releases, and guesses without one
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "era"),
    [
        ("3.10.0-514.el7.x86_64", E.RHEL7),
        ("3.10.0-1160.119.1.el7.x86_64", E.RHEL7),
        ("3.10.105", E.V2_6),
        ("4.18.0-477.13.1.el8_8.x86_64", E.V4_18),
        ("5.15.0-91-generic", E.V5_14),
        ("2.6.32-279.el6", E.V2_6),
        ("2.6.32-279.19.1.el6.x86_64", E.V2_6),
        ("2.6.28-11-generic", E.V2_6_EARLY),
        ("2.6.7-bk7", E.V2_6_EARLY),
        ("2.6.31", E.V2_6),
        ("3.13.0-135-generic", E.V2_6),
        ("4.3.6", E.V2_6),
        ("4.4.0-210-generic", E.V4_4),
        ("4.5.7", E.V4_5),
        ("4.7.10", E.V4_5),
        ("4.8.0-gentoo", E.V4_8),
        ("4.9.0-gentoo", E.V4_8),
        ("4.10.17", E.V4_10),
        ("4.12.14-lp150.12-default", E.V4_10),
        ("4.13.0-45-generic", E.V4_13),
        ("4.14.67", E.V4_14),
        ("4.15.0-46-generic", E.V4_14),
        ("4.17.19", E.V4_14),
        ("4.19.108", E.V4_18),
        ("4.20.13-1.el7.elrepo.x86_64", E.V4_18),
        ("5.0.0-rc8", E.V4_18),
        ("5.1.15", E.V5_1),
        ("5.4.0-150-generic", E.V5_1),
        ("5.13.0-19-generic", E.V5_1),
        ("5.14.21-150400.24.46-default", E.V5_14),
        ("5.17.15", E.V5_14),
        ("5.18.0", E.V5_18),
        ("6.1.1-arch1-1", E.V5_18),
        ("6.2.16", E.V5_18),
        ("6.3.1", E.V6_3),
        ("6.6.87", E.V6_3),
        ("6.8.0-rc3-1.gae4495f-default", E.V6_8),
        ("6.14.2", E.V6_8),
        ("6.15.0", E.V6_15),
        ("6.19.10", E.V6_15),
        ("7.0.1", E.V6_15),
        (None, None),
        ("", None),
        ("unknown", None),
    ],
)
def test_era_for_release(release: str | None, era: GfpEra | None) -> None:
    assert era_for_release(release) == era


def test_representative_releases() -> None:
    for era, release in RELEASE_OF.items():
        assert era_for_release(release) is era


def test_aliases_and_labels() -> None:
    # the specification's provisional names are aliases (looked up by name: mypy does not
    # model enum aliases)
    members = GfpEra.__members__
    assert members["V4_16"] is members["V4_18"]
    assert members["V5_3"] is members["V5_1"]
    assert len(list(GfpEra)) == 16
    assert E.V4_14.label == "4.14-4.17"
    assert not E.V2_6.prints_names and E.V4_8.prints_names


@pytest.mark.parametrize(
    ("mask", "era"),
    [
        (0xD0, E.V2_6),
        (0x200DA, E.V2_6),
        (0x201DA, E.V2_6),
        (0x20, E.V2_6),
        (0x1201D2, E.V2_6_EARLY),
        (0x24000C0, E.V4_4),  # no names printed: 4.4 rather than 4.8
        (0x24200CA, E.V4_4),
        (0x14000C0, E.V4_14),
        (0x14280CA, E.V4_14),
        (0x6000C0, E.V4_18),
        (0x6280CA, E.V4_18),
        (0xCC0, E.V5_1),
        (0x100CCA, E.V5_1),
        (0xA20, E.V5_1),
        (0x1100CCA, E.V5_14),
        (0x1100DCA, E.V5_14),
        (0x820, E.V6_3),
        (0x2800, E.V6_8),
    ],
)
def test_guess_era_from_mask(mask: int, era: GfpEra) -> None:
    assert guess_era(mask, None) is era


@pytest.mark.parametrize(
    ("mask", "printed", "era"),
    [
        (0x24000C0, "GFP_KERNEL", E.V4_8),  # names printed: 4.6+
        (0x24200CA, "GFP_HIGHUSER_MOVABLE", E.V4_8),
        (0x24000D0, "GFP_TEMPORARY", E.V4_8),
        (0x14000D0, "GFP_KERNEL|__GFP_RECLAIMABLE", E.V4_14),
        (0x14004C0, "GFP_KERNEL|__GFP_REPEAT", E.V4_10),
        (0x140DCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO", E.V5_1),
        (0x140DCA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP", E.V6_15),
        (0x1100CCA, "GFP_HIGHUSER_MOVABLE", E.V5_14),
        (0x1100CCA, "GFP_HIGHUSER_MOVABLE|0x1000000", E.V5_1),
        (0x800, "GFP_NOWAIT", E.V5_1),
        (0x800, "__GFP_KSWAPD_RECLAIM", E.V6_8),
        (0xCC0, "GFP_KERNEL", E.V5_1),
        (0x140DCA, "GFP_HIGHUSER_MOVABLE", E.V5_1),  # truncated list: prefix match
    ],
)
def test_guess_era_from_printed(mask: int, printed: str, era: GfpEra) -> None:
    assert guess_era(mask, names(printed)) is era


def test_guess_era_nothing_to_go_on() -> None:
    assert guess_era(0, None) is None
    assert guess_era(0, ()) is None
    assert guess_era(-5, None) is None


# --------------------------------------------------------------------------------------------
# Parsing printed text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mask", "expected"),
    [
        ("0x100cca(GFP_HIGHUSER_MOVABLE)", 0x100CCA, "GFP_HIGHUSER_MOVABLE"),
        ("0x0()", 0, ""),
        ("0xd0", 0xD0, ""),
        ("GFP_NOIO|__GFP_COMP", None, "GFP_NOIO|__GFP_COMP"),
        ("gfp_mask=0x14000c0(GFP_KERNEL), order=0", 0x14000C0, "GFP_KERNEL"),
        ("mode:0x40c00(GFP_NOIO|__GFP_COMP), nodemask=(null)", 0x40C00, "GFP_NOIO|__GFP_COMP"),
        ("  0x1100cca(GFP_HIGHUSER_MOVABLE)  ", 0x1100CCA, "GFP_HIGHUSER_MOVABLE"),
        ("0x1100CCA", 0x1100CCA, ""),
        ("GFP_KERNEL|0x1000000", None, "GFP_KERNEL|0x1000000"),
        ("0x1100cca(GFP_HIGHUSER_MOVABLE|0x1000000)", 0x1100CCA, "GFP_HIGHUSER_MOVABLE|0x1000000"),
        # damage: truncated lists keep only the names that are certainly whole
        ("0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_CO", 0x140DCA, "GFP_HIGHUSER_MOVABLE"),
        ("0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|", 0x140DCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
        ("0x100cca(GFP_HIGHUSER_MOV", 0x100CCA, ""),
        ("0x100cca(", 0x100CCA, ""),
        ("0x140dca(GFP_HIGHUSER_MOVABLE|garbage|__GFP_ZERO)", 0x140DCA, "GFP_HIGHUSER_MOVABLE"),
        # quoted-printable soft break inside the value (109)
        ("mode:0x=\n40c00(GFP_NOIO|__GFP_COMP), nodemask=3D(null)", 0x40C00, "GFP_NOIO|__GFP_COMP"),
        ("", None, ""),
        ("order=0", None, ""),
        ("0x", None, ""),
    ],
)
def test_parse_printed(text: str, mask: int | None, expected: str) -> None:
    assert parse_printed(text) == (mask, names(expected))


def test_flags_for_truncated_names_use_the_decoding() -> None:
    result = flags_for("0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_CO", "6.1.0")
    assert result.printed == ("GFP_HIGHUSER_MOVABLE",)
    assert not result.mismatch
    assert result.names == ("GFP_HIGHUSER_MOVABLE", "__GFP_COMP", "__GFP_ZERO")


def test_flags_for_flags_a_wrong_era() -> None:
    # a 4.15 header read as 4.18 decodes differently: the era must be wrong
    result = flags_for("0x14000c0(GFP_KERNEL)", "4.18.0")
    assert result.mismatch
    assert result.names == ("GFP_KERNEL",)  # what the kernel printed wins
    assert guess_era(0x14000C0, result.printed) is E.V4_14
    # the 5.14 mask read with the 5.4 table leaves the KASAN bit over
    result = flags_for("0x1100cca(GFP_HIGHUSER_MOVABLE)", "5.4.0")
    assert result.mismatch
    assert result.decoded == ("GFP_HIGHUSER_MOVABLE", "0x1000000")
    # names printed for a non-zero mask cannot be empty
    assert flags_for("0x100cca()", "5.4.0").mismatch


def test_flags_for_without_anything_usable() -> None:
    result = flags_for("order=0", None)
    assert result.mask is None and result.era is None and result.capabilities is None
    assert result.names == () and not result.mismatch
    names_only = flags_for("GFP_NOIO|__GFP_COMP", None)
    assert names_only.mask == 0x40C00 and names_only.era_guessed
    unknown = flags_for("__GFP_BOGUS", "6.8.0")
    assert unknown.mask is None and unknown.printed == ("__GFP_BOGUS",)


def test_flags_for_old_kernel_without_names() -> None:
    result = flags_for("gfp_mask=0x201da", "3.10.0-514.6.1.el7.x86_64")
    assert result.era is E.RHEL7 and not result.era_guessed
    assert result.printed is None
    assert result.names == result.decoded == ("GFP_HIGHUSER_MOVABLE", "__GFP_COLD")


# --------------------------------------------------------------------------------------------
# Capabilities
# --------------------------------------------------------------------------------------------


def caps(**overrides: bool | str) -> GfpCapabilities:
    fields: dict[str, bool | str] = {
        "can_direct_reclaim": False,
        "can_wake_kswapd": False,
        "can_io": False,
        "can_fs": False,
        "nofail": False,
        "noretry": False,
        "atomic": False,
        "nowarn": False,
        "zone": "Normal",
        "hardwall": False,
        "thisnode": False,
        "account": False,
    }
    fields.update(overrides)
    return GfpCapabilities(**fields)  # type: ignore[arg-type]


KERNEL: dict[str, bool | str] = {
    "can_direct_reclaim": True,
    "can_wake_kswapd": True,
    "can_io": True,
    "can_fs": True,
}
USER_MOVABLE: dict[str, bool | str] = {**KERNEL, "hardwall": True, "zone": "Movable"}


@pytest.mark.parametrize(
    ("mask", "era", "expected"),
    [
        (0xD0, E.V2_6, caps(**KERNEL)),
        (0x20, E.V2_6, caps(can_wake_kswapd=True, atomic=True)),
        (
            0x4352DA,
            E.V2_6,
            caps(**{**USER_MOVABLE, "can_wake_kswapd": False}, noretry=True, nowarn=True),
        ),  # 3.x GFP_TRANSHUGE: __GFP_NO_KSWAPD
        (0x200DA, E.RHEL7, caps(**USER_MOVABLE)),
        (0x1000D0, E.RHEL7, caps(**KERNEL, account=True)),
        (0x1000D0, E.V2_6, caps(**KERNEL, account=True)),
        (0x24200CA, E.V4_8, caps(**USER_MOVABLE)),
        (0x25000C0, E.V4_4, caps(**KERNEL)),  # 4.4: the bit is __GFP_NOACCOUNT
        (0x25000C0, E.V4_8, caps(**KERNEL, account=True)),
        (0x14000C0, E.V4_14, caps(**KERNEL)),
        (0x1080020, E.V4_14, caps(can_wake_kswapd=True, atomic=True)),
        (0x6280CA, E.V4_18, caps(**USER_MOVABLE)),
        (0x400, E.V4_18, caps(noretry=True)),  # __GFP_RETRY_MAYFAIL
        (0x400, E.V4_10, caps()),  # __GFP_REPEAT does not avoid the OOM killer
        (0xCC0, E.V5_1, caps(**KERNEL)),
        (0xC40, E.V5_1, caps(can_direct_reclaim=True, can_wake_kswapd=True, can_io=True)),
        (0x40C00, E.V6_8, caps(can_direct_reclaim=True, can_wake_kswapd=True)),
        (0x100CC2, E.V5_1, caps(**KERNEL, hardwall=True, zone="HighMem")),
        (0x500CC2, E.V5_1, caps(**KERNEL, hardwall=True, zone="HighMem", account=True)),
        (0xCC4, E.V5_1, caps(**KERNEL, zone="DMA32")),
        (0xCC1, E.V5_1, caps(**KERNEL, zone="DMA")),
        (0xCC8, E.V5_1, caps(**KERNEL)),  # MOVABLE without HIGHMEM stays in Normal
        (0xA20, E.V5_1, caps(can_wake_kswapd=True, atomic=True)),
        (0x820, E.V6_3, caps(can_wake_kswapd=True, atomic=True)),
        (0x8CC0 | 0x2000, E.V5_1, caps(**KERNEL, nofail=True, nowarn=True)),
        (0x10CC0 | 0x200000, E.V5_1, caps(**KERNEL, noretry=True, thisnode=True)),
        (0x1100CCA, E.V5_14, caps(**USER_MOVABLE)),
        (0x1201D2, E.V2_6_EARLY, caps(**USER_MOVABLE)),
        (0, E.V6_15, caps()),
    ],
)
def test_capabilities(mask: int, era: GfpEra, expected: GfpCapabilities) -> None:
    assert capabilities(mask, era) == expected


@pytest.mark.parametrize(
    ("mask", "era", "may_oom"),
    [
        (0xCC0, E.V5_1, True),  # GFP_KERNEL
        (0xC40, E.V5_1, False),  # GFP_NOFS
        (0xA20, E.V5_1, False),  # GFP_ATOMIC: cannot reclaim
        (0x10CC0, E.V5_1, False),  # __GFP_NORETRY
        (0x4CC0, E.V5_1, False),  # __GFP_RETRY_MAYFAIL
        (0xCC4, E.V5_1, False),  # GFP_DMA32: lowmem
        (0xCC4 | 0x8000, E.V5_1, True),  # ... unless __GFP_NOFAIL
        (0x200CC0, E.V5_1, False),  # __GFP_THISNODE
        (0xD0, E.V2_6, True),
        (0x50, E.V2_6, False),
    ],
)
def test_may_invoke_global_oom(mask: int, era: GfpEra, may_oom: bool) -> None:
    assert capabilities(mask, era).may_invoke_global_oom is may_oom


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

masks = st.integers(min_value=0, max_value=0xFFFFFFFF)
eras = st.sampled_from(list(GfpEra))


@given(masks, eras)
def test_decode_accounts_for_every_bit(mask: int, era: GfpEra) -> None:
    result = decode(mask, era)
    assert (result == ()) == (mask == 0)
    assert len(set(result)) == len(result)
    hexes = [n for n in result if n.startswith("0x")]
    assert len(hexes) <= 1
    if hexes:
        assert result[-1] == hexes[0]
    # the named entries and the leftover are disjoint and together give back the mask
    values = [encode((name,), era) for name in result]
    assert all(v is not None and v > 0 for v in values)
    total = 0
    for value in values:
        assert value is not None
        assert total & value == 0
        total |= value
    assert total == mask
    capabilities(mask, era)  # never raises either


@given(masks, eras)
def test_printed_round_trip(mask: int, era: GfpEra) -> None:
    printed = f"{mask:#x}({'|'.join(decode(mask, era))})"
    assert parse_printed(printed) == (mask, decode(mask, era))
    result = flags_for(printed, RELEASE_OF[era])
    assert result.era is era and not result.mismatch
    guessed = guess_era(mask, decode(mask, era))
    if mask:
        assert guessed is not None
        assert decode(mask, guessed) == decode(mask, era) or not era.prints_names


@given(st.text(max_size=80), st.one_of(st.none(), st.text(max_size=30)))
def test_parsing_never_raises(text: str, release: str | None) -> None:
    parse_printed(text)
    flags_for(text, release)

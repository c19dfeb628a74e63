"""GFP allocation masks: decode them per kernel era, the way ``%pGg`` prints them, and say
what they allow.

The OOM header prints ``gfp_mask=%#x(%pGg)`` (4.6+); older kernels print only the hex.  The bit
values moved several times, so a mask can only be read with the bit table of the kernel that
printed it.  ``%pGg`` (lib/vsprintf.c ``format_flags``) walks a fixed name table
(include/trace/events/mmflags.h ``__def_gfpflag_names``) in order: every entry whose bits are all
still set is printed and its bits are cleared, and whatever is left is appended as ``0x...``.
The composite ``GFP_*`` names come first, so ``0x140dca`` prints as
``GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO`` on 6.1.

Eras (the member value is the first release of the era):

* ``V2_6_EARLY`` (<= 2.6.30): no GFP zone table yet, __GFP_MOVABLE is 0x100000 (read: 2.6.24).
* ``V2_6`` (2.6.31 - 4.3, incl. RHEL6 and vanilla 3.10): __GFP_WAIT 0x10, MOVABLE 0x08,
  RECLAIMABLE 0x80000; 0x100000 is __GFP_KMEMCG (3.8+; __GFP_NOACCOUNT in 4.2/4.3).
* ``RHEL7`` (3.10.0-*.el7): the V2_6 table with __GFP_ACCOUNT backported at 0x100000.
* ``V4_4`` (4.4): __GFP_WAIT split into DIRECT_RECLAIM 0x400000 and KSWAPD_RECLAIM 0x2000000;
  0x100000 is __GFP_NOACCOUNT; GFP_TRANSHUGE = ``(...) & ~__GFP_KSWAPD_RECLAIM``.
* ``V4_5`` (4.5 - 4.7): __GFP_ACCOUNT and GFP_KERNEL_ACCOUNT; names printed from 4.6;
  GFP_TRANSHUGE = ``(...) & ~__GFP_RECLAIM`` (the 4.6 definition).
* ``V4_8`` (4.8 - 4.9): GFP_TRANSHUGE_LIGHT; GFP_TRANSHUGE = _LIGHT | __GFP_DIRECT_RECLAIM.
* ``V4_10`` (4.10 - 4.12): __GFP_OTHER_NODE removed, WRITE 0x800000, KSWAPD_RECLAIM 0x1000000.
* ``V4_13`` (4.13): __GFP_REPEAT renamed __GFP_RETRY_MAYFAIL (same bit); GFP_TEMPORARY still there.
* ``V4_14`` (4.14 - 4.17): GFP_TEMPORARY removed; COLD and NOTRACK go in 4.15 but no bit moves,
  so 4.15 kernels print ``0x14000c0(GFP_KERNEL)``.
* ``V4_18`` (4.18 - 5.0, incl. RHEL8): bits compacted, GFP_KERNEL 0x6000c0.
* ``V5_1`` (5.1 - 5.13): bits shuffled, GFP_KERNEL 0xcc0, ZERO 0x100, __GFP_ATOMIC 0x200.
* ``V5_14`` (5.14 - 5.17): GFP_HIGHUSER_MOVABLE includes __GFP_SKIP_KASAN_POISON 0x1000000 on
  every config, so ``0x1100cca`` is exactly GFP_HIGHUSER_MOVABLE; __GFP_ZEROTAGS 0x800000.
  The flag came with the arm64 pull for 5.14 (c275c5c6d50a), not 5.12 as docs §7.1 says; 5.14.0
  itself printed the two single flags as hex (their names were added in 5.15).
* ``V5_18`` (5.18 - 6.2): the KASAN bits exist only with CONFIG_KASAN_HW_TAGS (0x100cca again).
* ``V6_3`` (6.3 - 6.7): __GFP_ATOMIC removed (0x200 unused), GFP_ATOMIC = 0x820.
* ``V6_8`` (6.8 - 6.14): GFP_NOWAIT includes __GFP_NOWARN (0x2800); bits enum-assigned from 6.10.
* ``V6_15`` (6.15 on): the name table lists composites and __GFP_RECLAIM, then the single flags in
  bit order, so 6.15+ prints ``GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP``.

``V4_16`` and ``V5_3`` are aliases of ``V4_18`` and ``V5_1`` (the spec's provisional names).

Verified against kernel sources and patches (see the module tests for the printed examples):
2.6.24, 2.6.32, 3.10 gfp.h; 4.6 gfp.h + mmflags.h; 5.11, 5.15, 6.1, 6.6 mmflags.h; 6.1, 6.6
gfp_types.h; the 4.4 reclaim split, the 4.10 OTHER_NODE removal (Jan 2017), the 4.13
RETRY_MAYFAIL rename, the 4.14 GFP_TEMPORARY removal (Aug 2017), the 4.18 compaction (Shakeel
Butt, May 2018), the 5.1 shuffle (Alexey Dobriyan, Jan 2019), the 5.14 KASAN flags (arm64 pull
for 5.14), the 5.18 KASAN_HW_TAGS-only bits, the 6.3 __GFP_ATOMIC removal, the 6.8 GFP_NOWAIT
change (Nov 2023), the 6.10 bit enum and the 6.15 mmflags rewrite (tracing for-next, Mar 2025).

Config-dependent bits are left as hex in the eras where their position depends on the kernel
config (NOLOCKDEP everywhere, the KASAN bits from 5.18, NO_OBJ_EXT from 6.10); the kernel's own
table only names them with the matching config, and they are rare in OOM reports.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "GfpCapabilities",
    "GfpDecoding",
    "GfpEra",
    "capabilities",
    "decode",
    "encode",
    "era_for_release",
    "flags_for",
    "guess_era",
    "parse_printed",
]


class GfpEra(StrEnum):
    """A range of kernel releases sharing one GFP bit table and one ``%pGg`` name table.

    The value is the first release of the range (``"rhel7"`` for the RHEL7 kernels).
    """

    V2_6_EARLY = "2.6.23"  # <= 2.6.30: MOVABLE 0x100000 (no GFP zone table yet)
    V2_6 = "2.6.31"  # 2.6.31 - 4.3 (2.6.32, RHEL6, 3.x incl. vanilla 3.10): __GFP_WAIT era
    RHEL7 = "rhel7"  # 3.10.0-*.el7: V2_6 plus __GFP_ACCOUNT at 0x100000
    V4_4 = "4.4"  # 4.4: DIRECT/KSWAPD_RECLAIM split, __GFP_NOACCOUNT 0x100000
    V4_5 = "4.5"  # 4.5 - 4.7: __GFP_ACCOUNT; names printed from 4.6
    V4_8 = "4.8"  # 4.8 - 4.9: GFP_TRANSHUGE_LIGHT
    V4_10 = "4.10"  # 4.10 - 4.12: OTHER_NODE gone, KSWAPD_RECLAIM 0x1000000
    V4_13 = "4.13"  # 4.13: __GFP_RETRY_MAYFAIL, still GFP_TEMPORARY
    V4_14 = "4.14"  # 4.14 - 4.17 (incl. 4.15): no GFP_TEMPORARY
    V4_18 = "4.18"  # 4.18 - 5.0 (incl. RHEL8): GFP_KERNEL 0x6000c0
    V5_1 = "5.1"  # 5.1 - 5.13: GFP_KERNEL 0xcc0
    V5_14 = "5.14"  # 5.14 - 5.17: GFP_HIGHUSER_MOVABLE 0x1100cca
    V5_18 = "5.18"  # 5.18 - 6.2: GFP_HIGHUSER_MOVABLE 0x100cca again
    V6_3 = "6.3"  # 6.3 - 6.7: no __GFP_ATOMIC, GFP_ATOMIC 0x820
    V6_8 = "6.8"  # 6.8 - 6.14: GFP_NOWAIT 0x2800
    V6_15 = "6.15"  # 6.15 and later: single flags printed in bit order
    # Aliases for the provisional names used in the specification.
    V4_16 = "4.18"
    V5_3 = "5.1"

    @property
    def label(self) -> str:
        """The releases this era covers, for display (``"4.14-4.17"``)."""
        return _SPECS[self].label

    @property
    def prints_names(self) -> bool:
        """Whether kernels of this era print ``(names)`` after the hex (4.6+)."""
        return _SPECS[self].prints_names


# --------------------------------------------------------------------------------------------
# Bit tables
# --------------------------------------------------------------------------------------------

_ZONE_BITS = {"__GFP_DMA": 0x01, "__GFP_HIGHMEM": 0x02, "__GFP_DMA32": 0x04}

# 2.6.23 - 2.6.30 (read: 2.6.24 include/linux/gfp.h)
_BITS_EARLY: dict[str, int] = {
    **_ZONE_BITS,
    "__GFP_WAIT": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_COLD": 0x100,
    "__GFP_NOWARN": 0x200,
    "__GFP_REPEAT": 0x400,
    "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000,
    "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000,
    "__GFP_NOMEMALLOC": 0x10000,
    "__GFP_HARDWALL": 0x20000,
    "__GFP_THISNODE": 0x40000,
    "__GFP_RECLAIMABLE": 0x80000,
    "__GFP_MOVABLE": 0x100000,
}

# 2.6.31 - 4.3 (read: 2.6.32 and 3.10 include/linux/gfp.h).  MEMALLOC is 3.6+, KMEMCG 3.8+,
# NO_KSWAPD/OTHER_NODE 2.6.38+, WRITE 3.2+; a bit that did not exist yet is simply never set.
_BITS_26: dict[str, int] = {
    **_ZONE_BITS,
    "__GFP_MOVABLE": 0x08,
    "__GFP_WAIT": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_COLD": 0x100,
    "__GFP_NOWARN": 0x200,
    "__GFP_REPEAT": 0x400,
    "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000,
    "__GFP_MEMALLOC": 0x2000,
    "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000,
    "__GFP_NOMEMALLOC": 0x10000,
    "__GFP_HARDWALL": 0x20000,
    "__GFP_THISNODE": 0x40000,
    "__GFP_RECLAIMABLE": 0x80000,
    "__GFP_KMEMCG": 0x100000,
    "__GFP_NOTRACK": 0x200000,
    "__GFP_NO_KSWAPD": 0x400000,
    "__GFP_OTHER_NODE": 0x800000,
    "__GFP_WRITE": 0x1000000,
}

_BITS_RHEL7 = {("__GFP_ACCOUNT" if k == "__GFP_KMEMCG" else k): v for k, v in _BITS_26.items()}

# 4.4 - 4.9 (read: 4.6 include/linux/gfp.h)
_BITS_44: dict[str, int] = {
    **_ZONE_BITS,
    "__GFP_MOVABLE": 0x08,
    "__GFP_RECLAIMABLE": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_COLD": 0x100,
    "__GFP_NOWARN": 0x200,
    "__GFP_REPEAT": 0x400,
    "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000,
    "__GFP_MEMALLOC": 0x2000,
    "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000,
    "__GFP_NOMEMALLOC": 0x10000,
    "__GFP_HARDWALL": 0x20000,
    "__GFP_THISNODE": 0x40000,
    "__GFP_ATOMIC": 0x80000,
    "__GFP_ACCOUNT": 0x100000,
    "__GFP_NOTRACK": 0x200000,
    "__GFP_DIRECT_RECLAIM": 0x400000,
    "__GFP_OTHER_NODE": 0x800000,
    "__GFP_WRITE": 0x1000000,
    "__GFP_KSWAPD_RECLAIM": 0x2000000,
}

_BITS_44_NOACCOUNT = {
    ("__GFP_NOACCOUNT" if k == "__GFP_ACCOUNT" else k): v for k, v in _BITS_44.items()
}

# 4.10 - 4.17: OTHER_NODE removed, WRITE and KSWAPD_RECLAIM moved down (NOLOCKDEP 0x2000000 from
# 4.12 is not in the name table).  COLD and NOTRACK were removed in 4.15 without moving bits.
_BITS_410 = {k: v for k, v in _BITS_44.items() if k != "__GFP_OTHER_NODE"}
_BITS_410["__GFP_WRITE"] = 0x800000
_BITS_410["__GFP_KSWAPD_RECLAIM"] = 0x1000000
_BITS_413 = {("__GFP_RETRY_MAYFAIL" if k == "__GFP_REPEAT" else k): v for k, v in _BITS_410.items()}

# 4.18 - 5.0 (Shakeel Butt's compaction; NOLOCKDEP 0x800000 unnamed)
_BITS_418: dict[str, int] = {
    **_ZONE_BITS,
    "__GFP_MOVABLE": 0x08,
    "__GFP_RECLAIMABLE": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_WRITE": 0x100,
    "__GFP_NOWARN": 0x200,
    "__GFP_RETRY_MAYFAIL": 0x400,
    "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000,
    "__GFP_MEMALLOC": 0x2000,
    "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000,
    "__GFP_NOMEMALLOC": 0x10000,
    "__GFP_HARDWALL": 0x20000,
    "__GFP_THISNODE": 0x40000,
    "__GFP_ATOMIC": 0x80000,
    "__GFP_ACCOUNT": 0x100000,
    "__GFP_DIRECT_RECLAIM": 0x200000,
    "__GFP_KSWAPD_RECLAIM": 0x400000,
}

# 5.1 - 6.2 (Alexey Dobriyan's shuffle; read: 5.15 and 6.1 headers)
_BITS_51: dict[str, int] = {
    **_ZONE_BITS,
    "__GFP_MOVABLE": 0x08,
    "__GFP_RECLAIMABLE": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_ZERO": 0x100,
    "__GFP_ATOMIC": 0x200,
    "__GFP_DIRECT_RECLAIM": 0x400,
    "__GFP_KSWAPD_RECLAIM": 0x800,
    "__GFP_WRITE": 0x1000,
    "__GFP_NOWARN": 0x2000,
    "__GFP_RETRY_MAYFAIL": 0x4000,
    "__GFP_NOFAIL": 0x8000,
    "__GFP_NORETRY": 0x10000,
    "__GFP_MEMALLOC": 0x20000,
    "__GFP_COMP": 0x40000,
    "__GFP_NOMEMALLOC": 0x80000,
    "__GFP_HARDWALL": 0x100000,
    "__GFP_THISNODE": 0x200000,
    "__GFP_ACCOUNT": 0x400000,
}
_BITS_514 = {**_BITS_51, "__GFP_ZEROTAGS": 0x800000, "__GFP_SKIP_KASAN_POISON": 0x1000000}
_BITS_518 = {**_BITS_51, "__GFP_ZEROTAGS": 0x800000}
# 6.3+: __GFP_ATOMIC removed, 0x200 left unused (6.10+: ___GFP_UNUSED_BIT)
_BITS_63 = {k: v for k, v in _BITS_518.items() if k != "__GFP_ATOMIC"}

# --------------------------------------------------------------------------------------------
# Name tables (the order ``%pGg`` walks)
# --------------------------------------------------------------------------------------------

# include/trace/events/mmflags.h, 4.6 - 6.14: composites, then single flags
_COMPOSITE_ORDER = (
    "GFP_TRANSHUGE",
    "GFP_TRANSHUGE_LIGHT",
    "GFP_HIGHUSER_MOVABLE",
    "GFP_HIGHUSER",
    "GFP_USER",
    "GFP_TEMPORARY",
    "GFP_KERNEL_ACCOUNT",
    "GFP_KERNEL",
    "GFP_NOFS",
    "GFP_ATOMIC",
    "GFP_NOIO",
    "GFP_NOWAIT",
    "GFP_DMA",
    "__GFP_HIGHMEM",
    "GFP_DMA32",
)
_SINGLE_ORDER = (
    "__GFP_HIGH",
    "__GFP_ATOMIC",
    "__GFP_IO",
    "__GFP_FS",
    "__GFP_COLD",
    "__GFP_NOWARN",
    "__GFP_REPEAT",
    "__GFP_RETRY_MAYFAIL",
    "__GFP_NOFAIL",
    "__GFP_NORETRY",
    "__GFP_COMP",
    "__GFP_ZERO",
    "__GFP_NOMEMALLOC",
    "__GFP_MEMALLOC",
    "__GFP_HARDWALL",
    "__GFP_THISNODE",
    "__GFP_RECLAIMABLE",
    "__GFP_MOVABLE",
    "__GFP_ACCOUNT",
    "__GFP_NOACCOUNT",
    "__GFP_KMEMCG",
    "__GFP_NOTRACK",
    "__GFP_WRITE",
    "__GFP_RECLAIM",
    "__GFP_DIRECT_RECLAIM",
    "__GFP_KSWAPD_RECLAIM",
    "__GFP_WAIT",
    "__GFP_NO_KSWAPD",
    "__GFP_OTHER_NODE",
    "__GFP_ZEROTAGS",
    "__GFP_SKIP_KASAN_POISON",
)
# 6.15+: composites and __GFP_RECLAIM, then TRACE_GFP_FLAGS in ___GFP_*_BIT order
_COMPOSITE_ORDER_615 = (
    "GFP_TRANSHUGE",
    "GFP_TRANSHUGE_LIGHT",
    "GFP_HIGHUSER_MOVABLE",
    "GFP_HIGHUSER",
    "GFP_USER",
    "GFP_KERNEL_ACCOUNT",
    "GFP_KERNEL",
    "GFP_NOFS",
    "GFP_ATOMIC",
    "GFP_NOIO",
    "GFP_NOWAIT",
    "GFP_DMA",
    "GFP_DMA32",
    "__GFP_RECLAIM",
)
_SINGLE_ORDER_615 = (
    "__GFP_DMA",
    "__GFP_HIGHMEM",
    "__GFP_DMA32",
    "__GFP_MOVABLE",
    "__GFP_RECLAIMABLE",
    "__GFP_HIGH",
    "__GFP_IO",
    "__GFP_FS",
    "__GFP_ZERO",
    "__GFP_DIRECT_RECLAIM",
    "__GFP_KSWAPD_RECLAIM",
    "__GFP_WRITE",
    "__GFP_NOWARN",
    "__GFP_RETRY_MAYFAIL",
    "__GFP_NOFAIL",
    "__GFP_NORETRY",
    "__GFP_MEMALLOC",
    "__GFP_COMP",
    "__GFP_NOMEMALLOC",
    "__GFP_HARDWALL",
    "__GFP_THISNODE",
    "__GFP_ACCOUNT",
    "__GFP_ZEROTAGS",
)


@dataclass(frozen=True, slots=True)
class _Spec:
    bits: Mapping[str, int]  # every single flag the era knows, "__GFP_X" -> value
    table: tuple[tuple[str, int], ...]  # the %pGg name table, in walking order
    prints_names: bool
    label: str


def _wait_composites(b: Mapping[str, int]) -> dict[str, int]:
    """Composite definitions up to 4.3 (built from __GFP_WAIT)."""
    kernel = b["__GFP_WAIT"] | b["__GFP_IO"] | b["__GFP_FS"]
    user = kernel | b["__GFP_HARDWALL"]
    highuser = user | b["__GFP_HIGHMEM"]
    hum = highuser | b["__GFP_MOVABLE"]
    comp = {
        "GFP_HIGHUSER_MOVABLE": hum,
        "GFP_HIGHUSER": highuser,
        "GFP_USER": user,
        "GFP_TEMPORARY": kernel | b["__GFP_RECLAIMABLE"],
        "GFP_KERNEL": kernel,
        "GFP_NOFS": b["__GFP_WAIT"] | b["__GFP_IO"],
        "GFP_ATOMIC": b["__GFP_HIGH"],
        "GFP_NOIO": b["__GFP_WAIT"],
        "GFP_DMA": b["__GFP_DMA"],
        "__GFP_HIGHMEM": b["__GFP_HIGHMEM"],
        "GFP_DMA32": b["__GFP_DMA32"],
    }
    if "__GFP_NO_KSWAPD" in b:  # 2.6.38+
        comp["GFP_TRANSHUGE"] = (
            hum
            | b["__GFP_COMP"]
            | b["__GFP_NOMEMALLOC"]
            | b["__GFP_NORETRY"]
            | b["__GFP_NOWARN"]
            | b["__GFP_NO_KSWAPD"]
        )
    if "__GFP_ACCOUNT" in b:  # RHEL7 backport
        comp["GFP_KERNEL_ACCOUNT"] = kernel | b["__GFP_ACCOUNT"]
    return comp


def _reclaim_composites(
    b: Mapping[str, int],
    *,
    transhuge: str,
    temporary: bool,
    kernel_account: bool,
    nowait_nowarn: bool = False,
    hum_extra: int = 0,
) -> dict[str, int]:
    """Composite definitions from 4.4 on (built from DIRECT/KSWAPD_RECLAIM).

    ``transhuge`` is ``"4.4"`` (``... & ~__GFP_KSWAPD_RECLAIM``), ``"4.6"``
    (``... & ~__GFP_RECLAIM``, no _LIGHT) or ``"4.8"`` (GFP_TRANSHUGE_LIGHT, and GFP_TRANSHUGE =
    _LIGHT | __GFP_DIRECT_RECLAIM).
    """
    direct = b["__GFP_DIRECT_RECLAIM"]
    kswapd = b["__GFP_KSWAPD_RECLAIM"]
    reclaim = direct | kswapd
    kernel = reclaim | b["__GFP_IO"] | b["__GFP_FS"]
    user = kernel | b["__GFP_HARDWALL"]
    highuser = user | b["__GFP_HIGHMEM"]
    hum = highuser | b["__GFP_MOVABLE"] | hum_extra
    comp = {
        "GFP_HIGHUSER_MOVABLE": hum,
        "GFP_HIGHUSER": highuser,
        "GFP_USER": user,
        "GFP_KERNEL": kernel,
        "GFP_NOFS": reclaim | b["__GFP_IO"],
        "GFP_ATOMIC": b["__GFP_HIGH"] | b.get("__GFP_ATOMIC", 0) | kswapd,
        "GFP_NOIO": reclaim,
        "GFP_NOWAIT": kswapd | (b["__GFP_NOWARN"] if nowait_nowarn else 0),
        "GFP_DMA": b["__GFP_DMA"],
        "__GFP_HIGHMEM": b["__GFP_HIGHMEM"],
        "GFP_DMA32": b["__GFP_DMA32"],
        "__GFP_RECLAIM": reclaim,
    }
    thp_base = hum | b["__GFP_COMP"] | b["__GFP_NOMEMALLOC"] | b["__GFP_NOWARN"]
    if transhuge == "4.4":
        comp["GFP_TRANSHUGE"] = (thp_base | b["__GFP_NORETRY"]) & ~kswapd
    elif transhuge == "4.6":
        comp["GFP_TRANSHUGE"] = (thp_base | b["__GFP_NORETRY"]) & ~reclaim
    else:
        light = thp_base & ~reclaim
        comp["GFP_TRANSHUGE_LIGHT"] = light
        comp["GFP_TRANSHUGE"] = light | direct
    if temporary:
        comp["GFP_TEMPORARY"] = kernel | b["__GFP_RECLAIMABLE"]
    if kernel_account:
        comp["GFP_KERNEL_ACCOUNT"] = kernel | b["__GFP_ACCOUNT"]
    return comp


def _spec(
    bits: Mapping[str, int],
    composites: Mapping[str, int],
    *,
    label: str,
    prints_names: bool = True,
    order: tuple[tuple[str, ...], tuple[str, ...]] = (_COMPOSITE_ORDER, _SINGLE_ORDER),
) -> _Spec:
    named = {**bits, **composites}
    table: list[tuple[str, int]] = []
    seen: set[str] = set()
    for name in (*order[0], *order[1]):
        value = named.get(name, 0)
        if value and name not in seen:  # a zero-valued entry would always "match": skip it
            seen.add(name)
            table.append((name, value))
    return _Spec(bits=dict(bits), table=tuple(table), prints_names=prints_names, label=label)


def _new(
    bits: Mapping[str, int],
    label: str,
    *,
    prints: bool = True,
    transhuge: str = "4.8",
    temporary: bool = False,
    kernel_account: bool = True,
    nowait_nowarn: bool = False,
    hum_extra: int = 0,
    order_615: bool = False,
) -> _Spec:
    comp = _reclaim_composites(
        bits,
        transhuge=transhuge,
        temporary=temporary,
        kernel_account=kernel_account,
        nowait_nowarn=nowait_nowarn,
        hum_extra=hum_extra,
    )
    order = (_COMPOSITE_ORDER_615, _SINGLE_ORDER_615) if order_615 else None
    if order is None:
        return _spec(bits, comp, label=label, prints_names=prints)
    return _spec(bits, comp, label=label, prints_names=prints, order=order)


def _build_specs() -> dict[GfpEra, _Spec]:
    new = _new  # eras from 4.4 on (DIRECT/KSWAPD_RECLAIM composites)
    return {
        GfpEra.V2_6_EARLY: _spec(
            _BITS_EARLY, _wait_composites(_BITS_EARLY), label="<=2.6.30", prints_names=False
        ),
        GfpEra.V2_6: _spec(
            _BITS_26, _wait_composites(_BITS_26), label="2.6.31-4.3", prints_names=False
        ),
        GfpEra.RHEL7: _spec(
            _BITS_RHEL7, _wait_composites(_BITS_RHEL7), label="3.10.0-*.el7", prints_names=False
        ),
        GfpEra.V4_4: new(
            _BITS_44_NOACCOUNT,
            "4.4",
            prints=False,
            transhuge="4.4",
            temporary=True,
            kernel_account=False,
        ),
        GfpEra.V4_5: new(_BITS_44, "4.5-4.7", transhuge="4.6", temporary=True),
        GfpEra.V4_8: new(_BITS_44, "4.8-4.9", temporary=True),
        GfpEra.V4_10: new(_BITS_410, "4.10-4.12", temporary=True),
        GfpEra.V4_13: new(_BITS_413, "4.13", temporary=True),
        GfpEra.V4_14: new(_BITS_413, "4.14-4.17"),
        GfpEra.V4_18: new(_BITS_418, "4.18-5.0"),
        GfpEra.V5_1: new(_BITS_51, "5.1-5.13"),
        GfpEra.V5_14: new(_BITS_514, "5.14-5.17", hum_extra=_BITS_514["__GFP_SKIP_KASAN_POISON"]),
        GfpEra.V5_18: new(_BITS_518, "5.18-6.2"),
        GfpEra.V6_3: new(_BITS_63, "6.3-6.7"),
        GfpEra.V6_8: new(_BITS_63, "6.8-6.14", nowait_nowarn=True),
        GfpEra.V6_15: new(_BITS_63, "6.15-", nowait_nowarn=True, order_615=True),
    }


_SPECS: dict[GfpEra, _Spec] = _build_specs()

# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def decode(mask: int, era: GfpEra) -> tuple[str, ...]:
    """Names for ``mask`` in ``%pGg`` order for ``era``, then any leftover bits as ``"0x..."``.

    ``()`` for 0.  Eras before 4.6 did not print names; their masks are decoded with the same
    algorithm and that era's table (composites built from ``__GFP_WAIT`` before 4.4).
    """
    if mask < 0:
        raise ValueError(f"negative GFP mask: {mask}")
    return _format(mask, _SPECS[era].table)


def _format(mask: int, table: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    names: list[str] = []
    rest = mask
    for name, value in table:
        if not rest:
            break
        if rest & value == value:
            names.append(name)
            rest &= ~value
    if rest:
        names.append(f"{rest:#x}")
    return tuple(names)


def encode(names: Sequence[str], era: GfpEra) -> int | None:
    """The mask that printed ``names`` stand for in ``era`` (leftover ``"0x..."`` included);
    ``None`` if a name does not exist in that era.  ``encode(decode(m, era), era) == m``."""
    table = dict(_SPECS[era].table)
    mask = 0
    for name in names:
        if name.startswith("0x"):
            mask |= int(name, 16)
        elif name in table:
            mask |= table[name]
        else:
            return None
    return mask


def _reproduces(names: tuple[str, ...], era: GfpEra) -> bool:
    mask = encode(names, era)
    return mask is not None and decode(mask, era) == names


# --------------------------------------------------------------------------------------------
# Picking the era
# --------------------------------------------------------------------------------------------

_RELEASE_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_EL7_RE = re.compile(r"\.el7(?![0-9])")


def era_for_release(release: str | None) -> GfpEra | None:
    """The era of a kernel release string (``uname -r`` style); ``None`` if none is recognised.

    ``3.10.0-*.el7*`` is RHEL7 (its own table); every other kernel, RHEL8's 4.18.0-*.el8
    included, goes by its upstream version.
    """
    if not release:
        return None
    m = _RELEASE_RE.search(release)
    if m is None:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    patch = int(m.group(3)) if m.group(3) is not None else None
    version = (major, minor)
    if version == (3, 10) and _EL7_RE.search(release):
        return GfpEra.RHEL7
    if major < 2 or (major == 2 and minor < 6):
        return GfpEra.V2_6_EARLY
    if major == 2:
        if minor == 6 and patch is not None and patch < 31:
            return GfpEra.V2_6_EARLY
        return GfpEra.V2_6
    bounds: tuple[tuple[tuple[int, int], GfpEra], ...] = (
        ((6, 15), GfpEra.V6_15),
        ((6, 8), GfpEra.V6_8),
        ((6, 3), GfpEra.V6_3),
        ((5, 18), GfpEra.V5_18),
        ((5, 14), GfpEra.V5_14),
        ((5, 1), GfpEra.V5_1),
        ((4, 18), GfpEra.V4_18),
        ((4, 14), GfpEra.V4_14),
        ((4, 13), GfpEra.V4_13),
        ((4, 10), GfpEra.V4_10),
        ((4, 8), GfpEra.V4_8),
        ((4, 5), GfpEra.V4_5),
        ((4, 4), GfpEra.V4_4),
    )
    for first, era in bounds:
        if version >= first:
            return era
    return GfpEra.V2_6  # 3.x and 4.0 - 4.3


# Tie-break order for guesses: among eras that decode a mask equally well, the most common
# kernels first.  RHEL7 and the pre-2.6.31 table are only chosen when they decode better.
_PREFERENCE: tuple[GfpEra, ...] = (
    GfpEra.V5_1,
    GfpEra.V5_18,
    GfpEra.V6_3,
    GfpEra.V6_8,
    GfpEra.V6_15,
    GfpEra.V5_14,
    GfpEra.V4_18,
    GfpEra.V4_14,
    GfpEra.V4_13,
    GfpEra.V4_10,
    GfpEra.V4_8,
    GfpEra.V4_5,
    GfpEra.V4_4,
    GfpEra.V2_6,
    GfpEra.RHEL7,
    GfpEra.V2_6_EARLY,
)

_PRINTING: tuple[GfpEra, ...] = tuple(e for e in _PREFERENCE if _SPECS[e].prints_names)

# Reclaim-bit signatures: a mask carrying both reclaim bits of a layout belongs to it.
_FAMILIES: tuple[tuple[int, tuple[GfpEra, ...]], ...] = (
    (0xC00, (GfpEra.V5_1, GfpEra.V5_14, GfpEra.V5_18, GfpEra.V6_3, GfpEra.V6_8, GfpEra.V6_15)),
    (0x2400000, (GfpEra.V4_4, GfpEra.V4_5, GfpEra.V4_8)),
    (0x1400000, (GfpEra.V4_10, GfpEra.V4_13, GfpEra.V4_14)),
    (0x600000, (GfpEra.V4_18,)),
)


def _quality(mask: int, era: GfpEra) -> tuple[int, int, int]:
    """How naturally ``era`` explains ``mask``: (leftover bits, single names, composite names)."""
    names = decode(mask, era)
    leftover = sum(bin(int(n, 16)).count("1") for n in names if n.startswith("0x"))
    singles = sum(1 for n in names if n.startswith("__GFP_"))
    composites = sum(1 for n in names if n.startswith("GFP_"))
    return leftover, singles, composites


def guess_era(mask: int, printed: Sequence[str] | None) -> GfpEra | None:
    """Best era for a mask whose kernel release is unknown.

    With printed names, the era whose decoding reproduces them (exactly, else as a prefix for
    truncated text, else with the most names in common).  Without, the era that explains the
    mask with the fewest leftover bits and names, after restricting to the layout whose two
    reclaim bits are both set (0xcc0 -> 5.1+, 0x24xxxxx -> 4.4-4.9, 0x14xxxxx -> 4.10-4.17,
    0x6xxxxx -> 4.18-5.0, __GFP_WAIT masks such as 0xd0 / 0x200da -> 2.6.31-4.3).  Ties go to the
    more common kernels; masks without printed names prefer eras that did not print names.
    ``None`` for 0 (nothing to go on) and negative masks.
    """
    if mask <= 0:
        return None
    names = tuple(printed) if printed else ()
    expect_printing = bool(names)

    def tiebreak(era: GfpEra) -> tuple[tuple[int, int, int], bool, int]:
        return (
            _quality(mask, era),
            _SPECS[era].prints_names != expect_printing,
            _PREFERENCE.index(era),
        )

    if names:
        exact = [e for e in _PRINTING if decode(mask, e) == names]
        if exact:
            return min(exact, key=tiebreak)
        prefix = [e for e in _PRINTING if decode(mask, e)[: len(names)] == names]
        if prefix:
            return min(prefix, key=tiebreak)

        def overlap(era: GfpEra) -> tuple[int, tuple[tuple[int, int, int], bool, int]]:
            return (-len(set(names) & set(decode(mask, era))), tiebreak(era))

        return min(_PREFERENCE, key=overlap)

    candidates: Sequence[GfpEra] = _PREFERENCE
    for signature, family in _FAMILIES:
        if mask & signature == signature:
            candidates = family
            break
    return min(candidates, key=tiebreak)


# --------------------------------------------------------------------------------------------
# Parsing printed masks
# --------------------------------------------------------------------------------------------

_PREFIX_RE = re.compile(r"^\s*(?:gfp_mask\s*=|gfp_flags\s*=|gfp\s*=|mode\s*:)\s*", re.IGNORECASE)
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]+")
_NAME_RE = re.compile(r"(?:__)?GFP_[A-Z0-9_]+|0x[0-9a-f]+")
_BARE_NAMES_RE = re.compile(r"(?:__)?GFP_[A-Za-z0-9_|]*")


@dataclass(frozen=True, slots=True)
class _Parsed:
    mask: int | None
    names: tuple[str, ...]
    has_names: bool  # a names part was present ("(...)" or bare names)
    complete: bool  # the names part is complete (not truncated or damaged)


def _undamage(text: str) -> str:
    """Undo quoted-printable soft line breaks and ``=3D``, which mail archives leave behind."""
    text = re.sub(r"=\r?\n", "", text)
    return text.replace("=3D", "=").replace("=3d", "=")


def _parse(text: str) -> _Parsed:
    s = _PREFIX_RE.sub("", _undamage(text), count=1).strip()
    mask: int | None = None
    m = _HEX_RE.match(s)
    if m is not None:
        mask = int(m.group(0), 16)
        s = s[m.end() :]
    if s.startswith("("):
        close = s.find(")")
        inner, complete = (s[1:close], True) if close >= 0 else (s[1:], False)
    elif mask is None and (bare := _BARE_NAMES_RE.match(s)) is not None:
        inner, complete = bare.group(0), True
    else:
        return _Parsed(mask=mask, names=(), has_names=False, complete=True)
    names: list[str] = []
    tokens = inner.split("|") if inner.strip() else []
    for token in tokens:
        token = token.strip()
        if not _NAME_RE.fullmatch(token):
            complete = False
            break
        names.append(token)
    else:
        if not complete and names:
            names.pop()  # the last name of a truncated list may itself be cut short
    if tokens and not names and mask is None:
        return _Parsed(mask=None, names=(), has_names=False, complete=False)
    return _Parsed(mask=mask, names=tuple(names), has_names=True, complete=complete)


def parse_printed(text: str) -> tuple[int | None, tuple[str, ...]]:
    """Split a printed mode string into (mask, names).

    ``"0x100cca(GFP_HIGHUSER_MOVABLE)"`` -> ``(0x100cca, ("GFP_HIGHUSER_MOVABLE",))``,
    ``"0x0()"`` -> ``(0, ())``, ``"0xd0"`` -> ``(0xd0, ())``, ``"GFP_NOIO|__GFP_COMP"`` ->
    ``(None, ("GFP_NOIO", "__GFP_COMP"))``.  A ``gfp_mask=`` / ``mode:`` prefix is accepted, and
    quoted-printable soft breaks are undone.  Damaged text gives what is certain: a names list
    without its closing parenthesis loses its last (possibly cut) name, and names stop at the
    first token that is not a GFP name.
    """
    parsed = _parse(text)
    return parsed.mask, parsed.names


# --------------------------------------------------------------------------------------------
# What the flags allow
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GfpCapabilities:
    """What an allocation with this mask may do (see docs §7.2).

    ``zone`` is the highest zone the allocation may use: ``"DMA"``, ``"DMA32"``, ``"Normal"``,
    ``"HighMem"`` (32-bit highmem; on 64-bit this is Normal) or ``"Movable"`` (HIGHMEM|MOVABLE).
    """

    can_direct_reclaim: bool  # __GFP_DIRECT_RECLAIM (__GFP_WAIT up to 4.3): may sleep and reclaim
    can_wake_kswapd: bool  # __GFP_KSWAPD_RECLAIM (up to 4.3: unless __GFP_NO_KSWAPD)
    can_io: bool  # __GFP_IO: reclaim may start I/O (swap-out)
    can_fs: bool  # __GFP_FS: reclaim may call into filesystems
    nofail: bool  # __GFP_NOFAIL: retries forever
    noretry: bool  # __GFP_NORETRY or __GFP_RETRY_MAYFAIL (4.13+): fails instead of OOM-killing
    atomic: bool  # __GFP_HIGH or __GFP_ATOMIC: may dip into the atomic reserves
    nowarn: bool  # __GFP_NOWARN: no "page allocation failure" report
    zone: str
    hardwall: bool  # __GFP_HARDWALL: cpuset enforced strictly
    thisnode: bool  # __GFP_THISNODE: no fallback to other nodes, no OOM kill
    account: bool  # __GFP_ACCOUNT (__GFP_KMEMCG in 3.x): charged to the memcg as kernel memory

    @property
    def may_invoke_global_oom(self) -> bool:
        """Whether a failing allocation of this mask may call the global OOM killer.

        Ignores the order (above order 3 the OOM killer is not called) and memcg OOMs (a memcg
        charge may OOM-kill without __GFP_FS from 4.19 on).
        """
        if not (self.can_direct_reclaim and self.can_fs) or self.noretry:
            return False
        return self.nofail or not (self.thisnode or self.zone in ("DMA", "DMA32"))


def capabilities(mask: int, era: GfpEra) -> GfpCapabilities:
    """The capability view of ``mask`` read with ``era``'s bit table."""
    bits = _SPECS[era].bits

    def has(name: str) -> bool:
        value = bits.get(name, 0)
        return bool(value) and mask & value == value

    if "__GFP_WAIT" in bits:
        direct = has("__GFP_WAIT")
        kswapd = not has("__GFP_NO_KSWAPD")
    else:
        direct = has("__GFP_DIRECT_RECLAIM")
        kswapd = has("__GFP_KSWAPD_RECLAIM")
    if has("__GFP_DMA"):
        zone = "DMA"
    elif has("__GFP_DMA32"):
        zone = "DMA32"
    elif has("__GFP_HIGHMEM"):
        zone = "Movable" if has("__GFP_MOVABLE") else "HighMem"
    else:
        zone = "Normal"
    return GfpCapabilities(
        can_direct_reclaim=direct,
        can_wake_kswapd=kswapd,
        can_io=has("__GFP_IO"),
        can_fs=has("__GFP_FS"),
        nofail=has("__GFP_NOFAIL"),
        noretry=has("__GFP_NORETRY") or has("__GFP_RETRY_MAYFAIL"),
        atomic=has("__GFP_HIGH") or has("__GFP_ATOMIC"),
        nowarn=has("__GFP_NOWARN"),
        zone=zone,
        hardwall=has("__GFP_HARDWALL"),
        thisnode=has("__GFP_THISNODE"),
        account=has("__GFP_ACCOUNT") or has("__GFP_KMEMCG"),
    )


# --------------------------------------------------------------------------------------------
# Convenience
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GfpDecoding:
    """A printed mask read in one go (see :func:`flags_for`)."""

    mask: int | None  # None: no hex was printed (and the names could not be re-encoded)
    era: GfpEra | None
    era_guessed: bool  # the era came from guess_era(), not from the kernel release
    printed: tuple[str, ...] | None  # the names the kernel printed; None: no names printed
    names: tuple[str, ...]  # printed names when printed, else our decoding
    decoded: tuple[str, ...]  # our decoding of mask with era
    mismatch: bool  # printed names differ from our decoding: the era is probably wrong
    capabilities: GfpCapabilities | None  # None when mask or era is unknown


@functools.lru_cache(maxsize=4096)  # a pure function of two strings; reports repeat them
def flags_for(mask_text: str, release: str | None) -> GfpDecoding:
    """Parse a printed mask, pick the era (from ``release``, else guessed) and decode it."""
    parsed = _parse(mask_text)
    mask = parsed.mask
    printed = parsed.names if parsed.has_names else None
    era = era_for_release(release)
    guessed = False
    if era is None and mask is not None:
        era = guess_era(mask, printed)
        guessed = era is not None
    if mask is None and parsed.has_names and parsed.complete and parsed.names:
        if era is None:  # names only, no release: the first era whose table reproduces them
            era = next((e for e in _PRINTING if _reproduces(parsed.names, e)), None)
            guessed = era is not None
        if era is not None:
            mask = encode(parsed.names, era)
    decoded = decode(mask, era) if mask is not None and era is not None else ()
    mismatch = False
    names = decoded
    if printed is not None:
        if mask is not None and era is not None:
            if parsed.complete:
                mismatch = decoded != printed
            else:
                mismatch = decoded[: len(printed)] != printed
        consistent_truncation = not parsed.complete and not mismatch and mask is not None
        names = decoded if consistent_truncation and era is not None else printed
    caps = capabilities(mask, era) if mask is not None and era is not None else None
    return GfpDecoding(
        mask=mask,
        era=era,
        era_guessed=guessed,
        printed=printed,
        names=names,
        decoded=decoded,
        mismatch=mismatch,
        capabilities=caps,
    )

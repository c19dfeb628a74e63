"""Sizes in words, one way for every stage (replay summaries, rule texts, reports, batch)."""

from __future__ import annotations

_UNITS = (("TiB", 1 << 30), ("GiB", 1 << 20), ("MiB", 1 << 10))


def human_kib(value: float | None, missing: str = "unknown") -> str:
    """``1572864`` -> ``"1.5 GiB"``, ``512`` -> ``"512 KiB"``; ``missing`` when the kernel did
    not print the value."""
    if value is None:
        return missing
    for unit, size in _UNITS:
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f} KiB"
    return f"{int(value)} KiB"

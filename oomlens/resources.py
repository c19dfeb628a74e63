"""The one place that finds grammars/, rules/ and reports/.

In a wheel they live in ``oomlens/_data`` (hatchling force-include); in a source checkout or an
editable install they sit at the repository root.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"oomlens data directory {name!r} not found near {_PACKAGE}")


def grammar_path(filename: str) -> Path:
    return data_dir("grammars") / filename

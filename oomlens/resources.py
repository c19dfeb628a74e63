"""The one place that finds grammars/, rules/ and reports/, and oomlens's cache directory.

In a wheel they live in ``oomlens/_data`` (hatchling force-include); in a source checkout or an
editable install they sit at the repository root.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lark import Lark

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"oomlens data directory {name!r} not found near {_PACKAGE}")


def grammar_path(filename: str) -> Path:
    return data_dir("grammars") / filename


def cache_dir(name: str) -> Path | None:
    """A writable directory ``name`` in oomlens's cache (``$OOMLENS_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/oomlens``, else ``~/.cache/oomlens``), or None when it cannot be
    made or written: everything kept there can be rebuilt."""
    base = os.environ.get("OOMLENS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "oomlens",
    )
    directory = Path(base) / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return None
    return directory


def load_lark(grammar: str, **options: Any) -> Lark:
    """``Lark(grammar, **options)``, its analysed tables kept in the cache: loading them takes
    a sixth of the time of building them, which every process otherwise paid at start.

    The file's name is a digest of the grammar, the options and the Lark and Python versions,
    so runs of other versions never share one. It is written whole or not at all (renamed
    into place), and a file that does not load is built and written again.
    """
    from lark import Lark
    from lark import __version__ as lark_version

    directory = cache_dir("grammars")
    if directory is None:
        return Lark(grammar, **options)
    key = repr((grammar, sorted(options.items()), lark_version, sys.version_info[:2]))
    path = directory / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.lark"
    try:
        with path.open("rb") as stored:
            loaded: Lark = Lark.load(stored)
            return loaded
    except Exception:  # missing, damaged or unreadable: build it (pickle errors vary)
        pass
    parser = Lark(grammar, **options)
    try:
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False) as part:
            parser.save(part)
        os.replace(part.name, path)
    except OSError:  # a full disk: the next run builds it again
        with contextlib.suppress(OSError):
            os.unlink(part.name)
    return parser

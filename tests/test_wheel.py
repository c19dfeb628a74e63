"""Build the wheel, install it in a fresh venv, and run the installed ``oomlens`` elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import EXAMPLE_LOG, ROOT, check_document

GRAMMAR = "oomlens/_data/grammars/oom_report.lark"


def _run(
    argv: list[str | Path], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )
    assert proc.returncode == 0, f"{argv}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def test_wheel_installs_and_runs_outside_the_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT], cwd=ROOT)
    wheels = list(dist.glob("oomlens-*.whl"))
    assert len(wheels) == 1, wheels
    wheel = wheels[0]

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert GRAMMAR in names, sorted(n for n in names if n.startswith("oomlens/"))
    assert "oomlens/cli.py" in names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    pip = venv / "bin" / "pip"
    _run([pip, "install", "--disable-pip-version-check", "-q", wheel], cwd=tmp_path, timeout=600)

    work = tmp_path / "elsewhere"
    work.mkdir()
    # the installed package, not the source tree, must be the one imported
    where = _run(
        [venv / "bin" / "python", "-c", "import oomlens; print(oomlens.__file__)"], cwd=work
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

    proc = _run(
        [venv / "bin" / "oomlens", "analyze", EXAMPLE_LOG.resolve(), "--format", "json"],
        cwd=work,
    )
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    check_document(doc)
    assert len(doc["events"]) == 2
    assert [e["victim"]["pid"] for e in doc["events"]] == [514, 809545]

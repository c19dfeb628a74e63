#!/usr/bin/env bash
# Set up everything the test suite needs and run it: system tools (as root, via apt),
# a virtualenv with oomlens and its test dependencies, then lint, types, rules and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v journalctl >/dev/null || need_apt+=(systemd)
[ -x /lib/systemd/systemd-journal-remote ] || [ -x /usr/lib/systemd/systemd-journal-remote ] \
    || need_apt+=(systemd-journal-remote)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v xz >/dev/null || need_apt+=(xz-utils)
command -v bzip2 >/dev/null || need_apt+=(bzip2)
command -v rg >/dev/null || need_apt+=(ripgrep)  # tests/test_hits.py compares every finder
[ -x /usr/bin/chromium ] || need_apt+=(chromium)  # tests/test_browser.py opens the HTML report
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    else
        echo "scripts/test.sh: missing system packages: ${need_apt[*]} (run as root or install them)" >&2
    fi
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/ruff check oomlens tests benchmarks
.venv/bin/mypy
.venv/bin/oomlens rules check
exec .venv/bin/python -m pytest -q -n 2 "$@"

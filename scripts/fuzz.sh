#!/usr/bin/env bash
# Long fuzzing runs (not CI): the hypothesis properties with 50x their CI budget, then each
# atheris harness for a fixed time when atheris is installed.
#   scripts/fuzz.sh            # 120 s per atheris harness
#   FUZZ_SECONDS=600 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SECONDS_EACH=${FUZZ_SECONDS:-120}

HYPOTHESIS_PROFILE=long "$PY" -m pytest -q tests/test_fuzz.py -p no:cacheprovider

if ! "$PY" -c "import atheris" 2>/dev/null; then
    echo "atheris is not installed (pip install atheris): coverage-guided runs skipped"
    exit 0
fi
mkdir -p fuzz/crashes fuzz/corpus/prefix fuzz/corpus/analyze fuzz/corpus/condition
# seeds: the example log, the shared corpus when present, the built-in rules' conditions
cp examples/kern.log fuzz/corpus/analyze/ 2>/dev/null || true
if [ -d ../shared/corpus ]; then
    find ../shared/corpus -name '*.log' -size -64k -exec cp {} fuzz/corpus/analyze/ \;
fi
head -c 4000 examples/kern.log | split -l 1 - fuzz/corpus/prefix/line-
grep -rh '^when' rules | sed 's/^when *= *//; s/^"//; s/"$//' \
    | split -l 1 - fuzz/corpus/condition/when-
for harness in prefix analyze condition; do
    echo "== fuzz_$harness ($SECONDS_EACH s)"
    "$PY" "fuzz/fuzz_$harness.py" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
        -artifact_prefix=fuzz/crashes/ "fuzz/corpus/$harness"
done

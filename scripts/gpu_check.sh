#!/usr/bin/env bash
# One GPU session in one command (the device machine has torch and triton; expecttest,
# which torch's OpInfo module imports, travels as a wheel in .whl/ when present).
#   scripts/gpu_check.sh [tests|bench|demo ...] with OUT=<dir> for the results
# Test args: TESTS="tests/test_x.py -k y" (default: the whole suite); bench args: BENCH="--ops add".
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-out}"
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:src
else
    export PYTHONPATH=src
fi
export TRIFORGE_COMMIT="${TRIFORGE_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
nvidia-smi --query-gpu=name --format=csv,noheader
# build the C++ dispatcher entry once, before test workers would each build it
( time python3 -c "from triforge.runtime import fastpath as f; print('C++ entry:', f.module())" ) 2>&1 | grep -v "^$" | head -5
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(tests bench demo)
for step in "${steps[@]}"; do
    case "$step" in
        tests) timeout "${TEST_TIMEOUT:-540}" python3 -m pytest -q -rf --tb=short -n "${NPROC:-8}" -p no:cacheprovider ${TESTS:-tests} \
                   > "$OUT/tests.txt" 2>&1; grep -E "^(FAILED|ERROR)|passed|failed" "$OUT/tests.txt" | cut -c1-220 | tail -40 ;;
        bench) timeout "${BENCH_TIMEOUT:-240}" python3 -m triforge.bench ${BENCH:---dtypes bf16,fp32} --out "$OUT" \
                   > "$OUT/bench.txt" 2>&1; grep -v "^\[" "$OUT/bench.txt" | tail -70 ;;
        demo)  timeout 60 python3 -m triforge > "$OUT/demo.txt" 2>&1; tail -4 "$OUT/demo.txt" ;;
    esac
done

#!/usr/bin/env bash
# Registers and spills (ptxas -v, sm90, on the CPU) of the long-row walk kernels at the
# nvidia table's config: the walk tests' launches recorded under the interpreter, their
# chunk C and num_warps set to the "walk" table's (32 KB chunks, 32 warps), compiled.
#   scripts/walk_registers.sh > walk-registers.txt
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
L="$(mktemp)"
TRIFORGE_RECORD_LAUNCHES="$L" PYTHONPATH=src "$PY" -m pytest -q -p no:xdist tests/test_softmax.py tests/test_norm.py \
    -k walk >/dev/null
PYTHONPATH=src "$PY" - "$L" <<'PYEOF'
import json, sys
from triforge.backends.nvidia import TABLES
walk = TABLES["hopper"]["walk"]
sizes = {"*bf16": 2, "*fp16": 2, "*fp32": 4, "*fp64": 8}
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "walk" not in r["name"]:
        continue
    ptr = next(v for v in r["signature"].values() if v.startswith("*"))
    r["constexprs"]["C"] = walk["chunk_bytes"] // sizes[ptr]
    r["num_warps"] = walk["num_warps"]
    out.append(json.dumps(r, sort_keys=True))
open(sys.argv[1], "w").write("\n".join(dict.fromkeys(out)) + "\n")
PYEOF
PYTHONPATH=src "$PY" -m triforge.runtime.compile_check "$L" --regs
rm -f "$L"

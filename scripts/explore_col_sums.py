"""Exploration (GPU): rms_norm and layer_norm backward, 16384x4096 bf16, under other
column-strip shapes of rows.col_sums (strip width, tile elements), alternating, torch in
the same run. Python entry (the C++ entry would repeat the recorded launches).
    python scripts/explore_col_sums.py > col-sums.txt

H100 at 9ef09fe: no strip shape moved either backward past noise (rms_norm 0.1502-0.1526
ms, layer_norm 0.1537-0.1547; torch 0.328 / 0.333): the defaults stay.
"""
import torch
import triton.testing

import triforge
from triforge.bench import cases  # noqa: F401 -- first: the family case modules import it
from triforge.bench import cases_norm
from triforge.ops.norm import rows
from triforge.runtime import fastpath

SETTINGS = [(32, 4096), (16, 8192), (16, 4096), (64, 8192), (8, 4096), (32, 16384)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def main():
    for case in [c for c in cases_norm.CASES if c.name in ("rms_norm bwd", "layer_norm bwd")]:
        args = case.build(case.shape, torch.bfloat16, "cuda")
        row = [f"{case.name:<16} torch {bench(lambda: case.fn(*args)):.4f}"]
        for rep in range(2):
            for bc, tile in SETTINGS:
                rows.COL_SUMS_BC, rows.COL_SUMS_TILE = bc, tile
                with triforge.use(), fastpath.python_entry():
                    t = bench(lambda: case.fn(*args))
                row.append(f"{(bc, tile)} {t:.4f}")
        rows.COL_SUMS_BC, rows.COL_SUMS_TILE = SETTINGS[0]
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()

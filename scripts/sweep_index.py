"""Sweep (GPU): the row-gather (embedding, index_select) and cat launch parameters on
the bench's cases, against torch in the same run (sweep_reduction.sweep). The best go
into backends/nvidia.py ("elementwise": rows_tile / rows_warps; cat uses BLOCK / num_warps).
    python scripts/sweep_index.py > index.txt
H100 at 3bd9182: every setting within 1% of torch and of each other (embedding 0.0991-0.1001
ms, torch 0.0993; cat dim 0 / 1 0.0497-0.0518 but 16 warps 0.055+): the defaults stay.
"""
from sweep_reduction import sweep

from triforge.bench import cases_index
from triforge.ops.index import concat, gather

ROWS = {
    # (gather.ROWS_TILE, gather.ROWS_WARPS): elements per program, 1024-column blocks
    "settings": [(2048, 4), (4096, 4), (8192, 8), (4096, 8), (16384, 8), (8192, 4)],
    "cases": [c for c in cases_index.CASES if c.name.startswith(("embedding 16384", "index_select dim 0"))],
}
CAT = {
    # (concat._BLOCK, concat._WARPS)
    "settings": [(2048, 8), (4096, 8), (8192, 8), (4096, 4), (1024, 4), (8192, 16)],
    "cases": [c for c in cases_index.CASES if c.name.startswith("cat ")],
}


def _set_rows(s):
    gather.ROWS_TILE, gather.ROWS_WARPS = s


def _set_cat(s):
    concat._BLOCK, concat._WARPS = s


if __name__ == "__main__":
    sweep("rows", ROWS, _set_rows)
    sweep("cat", CAT, _set_cat)

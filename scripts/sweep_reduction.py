"""Sweep the reduction engine's and the norm kernels' launch parameters on the GPU:
each setting timed on the bench's cases against torch in the same run. The best rows
go into backends/nvidia.py ("reduction", "norm").
    python scripts/sweep_reduction.py [reduction|split|col|staged|norm|normfwd|normsplit|loss]... > sweep.txt
"""
import sys

import torch
import triton.testing

import triforge
from triforge.bench import cases  # noqa: F401 -- first: the family case modules import it
from triforge.bench import cases_loss, cases_norm, cases_reduction
from triforge.ops.loss import cross_entropy as ce
from triforge.ops.norm import rows as norm_rows
from triforge.ops.norm import split as norm_split
from triforge.ops.reduction import engine

RED = dict(
    # (TILE, MAX_BLOCK_R, num_warps)
    settings=[(4096, 4096, 8), (8192, 4096, 8), (4096, 4096, 4), (8192, 8192, 8), (16384, 8192, 16),
              (2048, 2048, 4), (8192, 2048, 8), (16384, 4096, 16)],
    cases=cases_reduction.CASES[:8],
)
SPLIT = dict(
    # (TILE, MAX_BLOCK_R, num_warps, target_programs): cases that split rows across programs
    settings=[(4096, 4096, 4, 264), (4096, 4096, 4, 528), (4096, 4096, 4, 1056), (4096, 4096, 8, 1056),
              (8192, 4096, 8, 528), (16384, 4096, 16, 264), (16384, 4096, 16, 528), (8192, 2048, 8, 1056)],
    cases=[c for c in cases_reduction.CASES if c.name in ("sum all", "sum dim=0", "sum long rows 4x131072",
                                                          "amax 1x131072", "sum 8 rows x 1M")],
)
COL = dict(
    # (COL_BLOCK, col warps, target_programs): column tiles (sum dim=0)
    settings=[(128, 4, 1056), (256, 4, 1056), (256, 8, 1056), (512, 8, 1056), (64, 4, 1056), (128, 4, 2112),
              (256, 4, 2112), (128, 2, 1056), (512, 16, 1056), (256, 8, 528)],
    cases=[c for c in cases_reduction.CASES if c.name in ("sum dim=0",)],
)
STAGED = dict(
    # engine ROW_STAGES: the loop along unsplit rows pipelined
    settings=[1, 2, 3, 4],
    cases=[c for c in cases_reduction.CASES if c.name in ("argmax vocab", "sum dim=-1", "amax dim=-1")],
)
NORM = dict(
    # (backward row groups, num_warps, bwd_tile)
    settings=[(264, 8, 4096), (132, 16, 8192), (264, 16, 4096), (132, 16, 4096), (198, 16, 4096), (396, 16, 4096),
              (132, 16, 16384), (264, 16, 8192)],
    cases=[c for c in cases_norm.CASES if "bwd" in c.name],
)
NORM_FWD = dict(
    # rows.WARPS (one-block rows: min(WARPS, block / 256) warps; 4096 columns: WARPS)
    settings=[8, 4, 16],
    cases=[c for c in cases_norm.CASES if c.name in ("rms_norm fwd", "layer_norm fwd")],
)
NORM_SPLIT = dict(
    # (split_programs, chunk) of few long norm rows (norm/split.py); (0, _) = one program a row
    settings=[(1024, 4096), (0, 4096), (512, 4096), (2048, 4096), (1024, 2048), (2048, 2048), (512, 8192)],
    cases=[c for c in cases_norm.CASES if "long rows" in c.name],
)
LOSS = dict(
    # (block, warps) of cross_entropy's forward that writes the gradient
    settings=[(32768, 16), (4096, 16), (16384, 16), (32768, 32), (65536, 32), (8192, 16), (16384, 8)],
    cases=[c for c in cases_loss.CASES if "cross_entropy fwd+bwd" in c.name],
)


def _set_red(s):
    engine.TILE, engine.MAX_BLOCK_R, engine.WARPS = s
    engine.ROW_WARPS = engine.WARPS
    engine._plans.clear()


def _set_split(s):
    engine.TILE, engine.MAX_BLOCK_R, engine.WARPS, engine.TARGET_PROGRAMS = s
    engine.ROW_WARPS = engine.WARPS
    engine._plans.clear()


def _set_col(s):
    engine.COL_BLOCK, engine.WARPS, engine.TARGET_PROGRAMS = s
    engine._plans.clear()


def _set_staged(s):
    engine.ROW_STAGES = s
    engine._plans.clear()


def _set_norm(s):
    norm_rows.BWD_GROUPS, norm_rows.WARPS, norm_rows.BWD_TILE = s


def _set_norm_fwd(s):
    norm_rows.WARPS = s


def _set_norm_split(s):
    norm_split.SPLIT_PROGRAMS, norm_split.CHUNK = s


def _set_loss(s):
    ce.GRAD_BLOCK, ce.GRAD_WARPS = s


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=50, return_mode="median")


def sweep(kind, spec, setter):
    print(f"## {kind}")
    for case in spec["cases"]:
        args = case.build(case.shape, torch.bfloat16, "cuda")
        fn = case.fn
        t_torch = bench(lambda: fn(*args))
        row = [f"{case.name:<28} torch {t_torch:.4f}"]
        for s in spec["settings"]:
            setter(s)
            try:
                with triforge.use(include=case.include):
                    t = bench(lambda: fn(*args))
                row.append(f"{s}: {t:.4f} ({t_torch / t:.2f}x)")
            except Exception as e:   # noqa: BLE001 -- resources
                row.append(f"{s}: {type(e).__name__}")
        setter(spec["settings"][0])
        print(" | ".join(row), flush=True)


def main(kinds):
    for kind in kinds:
        if kind == "reduction":
            sweep(kind, RED, _set_red)
        elif kind == "split":
            sweep(kind, SPLIT, _set_split)
        elif kind == "norm":
            sweep(kind, NORM, _set_norm)
        elif kind == "normfwd":
            sweep(kind, NORM_FWD, _set_norm_fwd)
        elif kind == "normsplit":
            sweep(kind, NORM_SPLIT, _set_norm_split)
        elif kind == "col":
            sweep(kind, COL, _set_col)
        elif kind == "staged":
            sweep(kind, STAGED, _set_staged)
        elif kind == "loss":
            sweep(kind, LOSS, _set_loss)


if __name__ == "__main__":
    main(sys.argv[1:] or ["reduction", "norm"])

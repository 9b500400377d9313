"""Exploration (GPU): programs that take every P-th piece of the work, so that the grid
reads one moving window of memory, instead of a block of consecutive pieces each.
  - reductions: the engine's split path (few long rows, sum all, column sums), finished
    by the last split program to arrive (engine.FINISH_SPLITS) or by a second launch,
    under other split sizes (TARGET_PROGRAMS) and column tile widths (COL_BLOCK);
  - norm: layer/rms norm backward of 16384x4096 bf16, rows interleaved or in blocks
    (layer_norm.BWD_INTERLEAVE), under other program counts (rows.BWD_GROUPS).
Variants alternate over rounds with torch in each round; prints medians (us), x torch.
    python scripts/explore_interleave.py [reduction] [norm] > interleave.txt
"""
import statistics
import sys

import torch
import triton.testing

import triforge
from triforge.ops.norm import layer_norm, rows
from triforge.ops.reduction import engine

# (FINISH_SPLITS, TARGET_PROGRAMS, COL_BLOCK)
VARIANTS = [(False, 1056, 128), (True, 1056, 128), (True, 528, 128), (True, 2112, 128), (True, 1056, 256),
            (True, 1056, 64)]
ROUNDS = 3


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def compare(name, fn, variants, apply):
    """fn under each variant (apply(v) sets it), alternating with torch over ROUNDS."""
    ref = fn()
    t_torch, times = [], {v: [] for v in variants}
    for _ in range(ROUNDS):
        t_torch.append(bench(fn))
        for v in variants:
            apply(v)
            with triforge.use():
                out = fn()
                for o, r in zip(out if isinstance(out, tuple) else (out,), ref if isinstance(ref, tuple) else (ref,)):
                    assert torch.allclose(o.float(), r.float(), rtol=5e-2, atol=5e-2), name
                times[v].append(bench(fn))
    tt = statistics.median(t_torch)
    print(f"{name:16s} torch {tt * 1e3:.1f} us", flush=True)
    for v in variants:
        t = statistics.median(times[v])
        print(f"    {v}: {t * 1e3:.1f} us ({tt / t:.3f}x)", flush=True)


def reduction():
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    rows8 = torch.randn(8, 1 << 20, device="cuda", dtype=torch.bfloat16)
    rows4 = torch.randn(4, 131072, device="cuda", dtype=torch.bfloat16)
    row1 = torch.randn(1, 131072, device="cuda", dtype=torch.bfloat16)
    cases = [("sum all", lambda: x.sum()), ("sum dim=0", lambda: x.sum(0)), ("amax dim=0", lambda: x.amax(0)),
             ("argmax all", lambda: x.argmax()), ("sum 8 rows x 1M", lambda: rows8.sum(-1)),
             ("sum 4x131072", lambda: rows4.sum(-1)), ("amax 1x131072", lambda: row1.amax(-1))]
    base = (engine.FINISH_SPLITS, engine.TARGET_PROGRAMS, engine.COL_BLOCK)

    def apply(v):
        engine.FINISH_SPLITS, engine.TARGET_PROGRAMS, engine.COL_BLOCK = v
        engine._plans.clear()

    print("## reduction: (FINISH_SPLITS, TARGET_PROGRAMS, COL_BLOCK)", flush=True)
    for name, fn in cases:
        compare(name, fn, VARIANTS, apply)
    apply(base)


NORM_VARIANTS = [(False, 264), (True, 264), (True, 528), (True, 132), (True, 396)]


def norm():
    n = 4096
    x, g = (torch.randn(16384, n, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    w, b = (torch.randn(n, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    _, mean, rstd = torch.native_layer_norm(x, (n,), w, b, 1e-5)
    _, rrstd = torch.ops.aten._fused_rms_norm(x, [n], w, 1e-6)
    cases = [("layer_norm bwd", lambda: torch.ops.aten.native_layer_norm_backward(g, x, (n,), mean, rstd, w, b,
                                                                                  [True, True, True])),
             ("rms_norm bwd", lambda: torch.ops.aten._fused_rms_norm_backward(g, x, [n], rrstd, w, [True, True]))]
    base = (layer_norm.BWD_INTERLEAVE, rows.BWD_GROUPS)

    def apply(v):
        layer_norm.BWD_INTERLEAVE, rows.BWD_GROUPS = v

    print("## norm backward: (BWD_INTERLEAVE, BWD_GROUPS)", flush=True)
    for name, fn in cases:
        compare(name, fn, NORM_VARIANTS, apply)
    apply(base)


def main():
    print(torch.cuda.get_device_name(), flush=True)
    which = sys.argv[1:] or ["reduction", "norm"]
    if "reduction" in which:
        reduction()
    if "norm" in which:
        norm()


if __name__ == "__main__":
    main()

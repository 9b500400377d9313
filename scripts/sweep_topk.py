"""Sweep (GPU): group-maxima topk (ops/sort/group_select.py) configs against torch.topk
in the same run: chunk, warps, the descent fused into the maxima launch or not; then k
past the group path (the radix select) through torch.topk.
Issue 7 asks <= 0.6 ms for k=50 over 4096 x 128256 bf16 (torch 3.85 ms on an H100).
    python scripts/sweep_topk.py [--pack32] > topk.txt   # --pack32: the single-block sort's 32-bit words first
"""
import functools
import sys

import torch
import triton.testing

import triforge
from triforge.ops.sort import group_select
from triforge.ops.sort.group_select import group_topk

SHAPES = [(4096, 128256, 50, torch.bfloat16, "randn"), (4096, 128256, 50, torch.float32, "randn"),
          (4096, 128256, 50, torch.bfloat16, "ascending")]
# group_select._CFG overrides. At a5060a2 (H100, 64-bit words): bf16 best unfused 4096 /
# 4 warps / 2 descent warps 0.608 ms (fused 4096/4 0.709: the descent's registers slow
# the maxima pass; the pass alone 0.409); fp32 best fused 8192/4 0.811 (unfused 0.970)
# At 15e5198 (32-bit words): bf16 unfused 4096/4/2 0.557 ms (1 descent warp 0.568, 4:
# 0.572; fused 0.693); fp32 fused 8192/4 0.811. Now the table's rows and a neighbour each.
GROUP_CONFIGS = [{"chunk": 4096, "warps": 4, "descend_warps": 2, "fuse": False, "w32": True},
                 {"chunk": 8192, "warps": 4, "descend_warps": 2, "fuse": False, "w32": True},
                 {"chunk": 8192, "warps": 4, "fuse": True, "w32": False},
                 {"chunk": 4096, "warps": 4, "fuse": True, "w32": False}]


def report(run, x, v, i, ref, t_torch, name):
    try:
        run()
        torch.cuda.synchronize()
        ok = torch.equal(v, ref.values) and torch.equal(x.gather(-1, i), v)
        t = bench(run)
        print(f"  {name}: {t:.4f} ms {t_torch / t:.2f}x {'ok' if ok else 'MISMATCH'}", flush=True)
    except Exception as e:   # noqa: BLE001 (a config over the machine's limits)
        print(f"  {name}: {type(e).__name__} {str(e)[:100]}", flush=True)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=60, return_mode="median")


def main():
    for rows, n, k, dtype, kind in SHAPES:
        if kind == "ascending":
            x = torch.arange(n, device="cuda", dtype=torch.float32).repeat(rows, 1).to(dtype)
        else:
            x = torch.randn(rows, n, device="cuda", dtype=dtype)
        ref = torch.topk(x, k)
        t_torch = bench(lambda x=x, k=k: torch.topk(x, k))
        print(f"{rows}x{n} k={k} {dtype} {kind}: torch {t_torch:.4f} ms", flush=True)
        v = torch.empty((rows, k), dtype=dtype, device="cuda")
        i = torch.empty((rows, k), dtype=torch.int64, device="cuda")
        for cfg in GROUP_CONFIGS:
            report(functools.partial(group_topk, x, k, True, v, i, **cfg), x, v, i, ref, t_torch, f"group {cfg}")
        descend = group_select._descend
        group_select._descend = lambda *a, **kw: None
        report(functools.partial(group_topk, x, k, True, v, i, fuse=False), x, v, i, ref, t_torch,
               "group maxima pass alone")
        group_select._descend = descend
    x = torch.randn(4096, 128256, device="cuda", dtype=torch.bfloat16)
    for k in (100, 256, 600, 1024):   # 600, 1024: groups of 4, three levels of maxima
        t_torch = bench(lambda k=k: torch.topk(x, k))
        with triforge.use():
            got = torch.topk(x, k)
            t = bench(lambda k=k: torch.topk(x, k))
        ok = torch.equal(got.values, torch.topk(x, k).values)
        print(f"4096x128256 bf16 k={k} through torch.topk: torch {t_torch:.4f} ms, triforge {t:.4f} ms "
              f"{t_torch / t:.2f}x {'ok' if ok else 'MISMATCH'}", flush=True)

def pack32():
    """The single-block sort's packed words: 32 bits (keys.packed32) against 64, for rows
    of 4096 bf16 (torch 1.36 ms for 16384 rows; the 64-bit sort 6.1 ms on the H100)."""
    from triforge.ops.sort import sort as sort_mod
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    ref = torch.sort(x, stable=True)
    t_torch = bench(lambda: torch.sort(x, stable=True))
    print(f"sort 16384x4096 bf16: torch {t_torch:.4f} ms", flush=True)
    for on in (False, True):
        sort_mod._PACK32 = on
        with triforge.use():
            got = torch.sort(x, stable=True)
            t = bench(lambda: torch.sort(x, stable=True))
        ok = torch.equal(got.values, ref.values) and torch.equal(got.indices, ref.indices)
        print(f"  pack32={on}: {t:.4f} ms {t_torch / t:.2f}x {'ok' if ok else 'MISMATCH'}", flush=True)


if __name__ == "__main__":
    if "--pack32" in sys.argv:
        pack32()
    main()

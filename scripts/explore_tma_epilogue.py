"""Exploration (Hopper): the TMA GEMM's epilogue and occupancy, bf16, through gemm.py with
the tuner held to one config at a time, against torch in the same run. Variants: the
table's configs; SUB (C stored in two half-width blocks: half the shared memory for C's
staging, which lets a 4th operand stage fit at 128x256x64); PPS (persistent programs per
SM: 2 lets one program's epilogue overlap another's K loop). Cases: issue 5's prefill
shapes short of cuBLAS (4096->14336 0.95x, 14336->4096 0.97x at 434a481) and the
output-bound bmm (32x 4096x128 @ 128x4096, 0.91x).
    python scripts/explore_tma_epilogue.py > epi.txt

H100 at 3a9f445 (sweeps-*/tma-epilogue-at-3a9f445.txt): SUB on the WS+flat row gains at
14336->4096 (0.972 -> 1.090x), 4096->4096, 8192^3 and the bmm, so the table leads with it;
PPS 2 on 128x128 tiles ran 0.53-1.01x and was dropped from gemm.py (as were its rows here).
"""
import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.matmul import gemm
from triforge.runtime import fastpath

# (BM, BN, BK, G, warps, stages, ws, flat, sub)
CFGS = [(128, 256, 64, 8, 8, 3, 1, 1, 0), (128, 256, 64, 8, 8, 3, 0, 0, 0),
        (128, 256, 64, 8, 8, 3, 1, 1, 1), (128, 256, 64, 8, 8, 3, 0, 0, 1),
        (128, 256, 64, 8, 8, 4, 0, 0, 1), (128, 256, 64, 8, 8, 4, 1, 1, 1), (128, 256, 128, 8, 8, 2, 0, 0, 1)]
KEYS = ("BM", "BN", "BK", "G", "warps", "stages", "ws", "flat", "sub")


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


def main():
    r = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)   # noqa: E731
    print(torch.cuda.get_device_name(), flush=True)
    cases = [("linear 4096 tok 4096->14336", lambda: (r(4096, 4096), r(14336, 4096)), F.linear, 4096 * 4096 * 14336),
             ("linear 4096 tok 14336->4096", lambda: (r(4096, 14336), r(4096, 14336)), F.linear, 4096 * 14336 * 4096),
             ("linear 4096 tok 4096->4096", lambda: (r(4096, 4096), r(4096, 4096)), F.linear, 4096 ** 3),
             ("mm 8192^3", lambda: (r(8192, 8192), r(8192, 8192)), torch.mm, 8192 ** 3),
             ("bmm 32x4096x128x4096", lambda: (r(32, 4096, 128), r(32, 4096, 128).transpose(1, 2)), torch.bmm,
              32 * 4096 * 4096 * 128)]
    tuner = gemm._tma_tuner
    for name, make, fn, mnk in cases:
        a, b = make()
        ref = fn(a, b).float()
        t_torch = bench(lambda: fn(a, b))
        print(f"{name}: torch {t_torch:.4f} ms {2 * mnk / t_torch / 1e9:.0f} TFLOP/s", flush=True)
        for row in CFGS:
            tuner.configs, tuner._mem = [dict(zip(KEYS, row))], {}
            gemm._tma_fit.clear()
            if fastpath.module() is not None:
                fastpath.module().clear_recipes()   # else the C++ entry repeats the last config's launches
            try:
                with triforge.use():
                    out = fn(a, b).float()
                    err = ((out - ref).abs().max() / ref.abs().max()).item()
                    t = bench(lambda: fn(a, b))
                ok = "ok" if err < 1e-2 else f"WRONG {err:.3g}"
                fit = gemm._tma_fit and next(iter(gemm._tma_fit.values()))
                same = fit and fit is not False and tuple(fit.get(k, 0) for k in KEYS) == row
                ran = "" if same else " (NOT this config)"
                print(f"  {row}: {t:.4f} ms {2 * mnk / t / 1e9:.0f} TFLOP/s {t_torch / t:.3f}x {ok}{ran}", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources
                print(f"  {row}: {type(e).__name__}: {str(e)[:120]}", flush=True)


if __name__ == "__main__":
    main()

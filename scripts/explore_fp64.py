"""Exploration (GPU): float64 products. gemm.py runs them as FMA tiles (kernels._k_loop's
broadcast form); Triton 3.6 on sm80+ may lower a float64 tl.dot to the DMMA instructions
(cuBLAS's DGEMM path). Times, against torch in the same run: triforge as it is, and
gemm_kernel with tl.dot (FMA=0, float64 accumulator) under a few tiles; error against the
same product on the CPU in float64 (exact rounding order differs: ~1e-15 either way).
    python scripts/explore_fp64.py > fp64.txt
"""
import torch
import triton
import triton.language as tl
import triton.testing

import triforge
from triforge.ops.matmul.kernels import gemm_kernel

CFGS = [(32, 32, 8, 8, 4, 2), (64, 64, 16, 8, 4, 3), (128, 64, 16, 8, 4, 3), (64, 64, 32, 8, 4, 2),
        (128, 128, 16, 8, 8, 2), (64, 128, 16, 8, 4, 3)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median")


def run(a, b, c, cfg, fma):
    bm, bn, bk, g, warps, stages = cfg
    M, K = a.shape
    N = b.shape[1]
    grid = (triton.cdiv(M, bm) * triton.cdiv(N, bn), 1, 1)
    gemm_kernel[grid](a, b, c, c, c, c, M, N, K, 1, K, 0, *a.stride(), 0, *b.stride(), 0, *c.stride(), 0, 0, 0,
                      1.0, 0.0, False, False, False, False, tl.float64, "ieee", fma, False,
                      bm, bn, bk, g, False, 0, num_warps=warps, num_stages=stages)


def main():
    print(torch.cuda.get_device_name(), flush=True)
    for n, nt in ((2048, False), (4096, False), (4096, True)):
        a = torch.randn(n, n, device="cuda", dtype=torch.float64)
        b = torch.randn(n, n, device="cuda", dtype=torch.float64)
        b = b.t() if nt else b
        ref = (a.cpu() @ b.cpu()).cuda() if n <= 2048 else a @ b
        c = torch.empty(n, n, device="cuda", dtype=torch.float64)
        t = bench(lambda: a @ b)
        fl = 2 * n ** 3
        e = lambda x: ((x - ref).norm() / ref.norm()).item()   # noqa: E731
        print(f"{n}^3 {'NT' if nt else 'NN'}: torch {t:.3f} ms {fl / t / 1e9:.1f} TFLOP/s", flush=True)
        with triforge.use():
            u = bench(lambda: a @ b)
            print(f"  triforge now: {u:.3f} ms {fl / u / 1e9:.1f} TFLOP/s {t / u:.3f}x err {e(a @ b):.1e}",
                  flush=True)
        for cfg in CFGS:
            try:
                c.fill_(float("nan"))
                run(a, b, c, cfg, 0)
                u = bench(lambda: run(a, b, c, cfg, 0))
                print(f"  dot {cfg}: {u:.3f} ms {fl / u / 1e9:.1f} TFLOP/s {t / u:.3f}x err {e(c):.1e}", flush=True)
            except Exception as ex:   # noqa: BLE001
                print(f"  dot {cfg}: {type(ex).__name__} {str(ex)[:100]}", flush=True)


if __name__ == "__main__":
    main()

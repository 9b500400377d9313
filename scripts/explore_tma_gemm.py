"""Exploration (Hopper): a persistent GEMM that reads its tiles through TMA tensor
descriptors (host-side, triton.tools.tensor_descriptor), with and without Triton's
automatic warp specialisation, against torch (cuBLAS) and triforge's tiled kernel on
issue 5's prefill shapes. Decides whether the TMA path is worth wiring into gemm.py.
    python scripts/explore_tma_gemm.py > tma.txt

H100 at 97ec9b2: yes. 128x256x64, 8 warps, 3 stages, warp-specialised + flattened:
8192^3 0.97x cuBLAS (tiled kernel 0.80x), 4096->128256 1.01x, 16384x4096->14336 1.00x;
without warp specialisation 0.98x at 4096->14336 where WS reached 0.89x; so gemm.py
tunes over four of these (backends/nvidia.py "tma16"). 4 stages overflow shared memory.
The kernel explored then became kernels_tma.py (adding the bias epilogue and a transposed
A); the script now times that kernel under each config.
"""
import torch
import torch.nn.functional as F
import triton
import triton.testing
from triton.tools.tensor_descriptor import TensorDescriptor

import triforge
from triforge.ops.matmul.kernels_tma import tma_gemm_kernel


def tma_mm(a, b, c, cfg, b_t):
    """c = a @ b through kernels_tma.py's kernel (the one gemm.py runs), under `cfg`."""
    BM, BN, BK, G, warps, stages, ws, flat = cfg
    M, K = a.shape
    N = c.shape[1]
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    progs = min(sms, triton.cdiv(M, BM) * triton.cdiv(N, BN))
    a_d = TensorDescriptor.from_tensor(a, [BM, BK])
    b_d = TensorDescriptor.from_tensor(b, [BN, BK] if b_t else [BK, BN])
    c_d = TensorDescriptor.from_tensor(c, [BM, BN])
    tma_gemm_kernel[(progs,)](a_d, b_d, c_d, c, M, N, K, 0, 0, 1.0, 0.0, False, False, b_t, False, BM, BN, BK, G,
                              progs, ws, flat, False, False, num_warps=warps, num_stages=stages)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


CFGS = [(128, 256, 64, 8, 8, 3, False, False), (128, 256, 64, 8, 8, 4, False, False),
        (128, 128, 64, 8, 8, 4, False, False), (128, 128, 64, 8, 4, 4, True, True),
        (128, 256, 64, 8, 8, 3, True, True), (128, 128, 64, 8, 8, 4, True, False),
        (128, 256, 64, 8, 8, 3, True, False), (128, 128, 128, 8, 8, 3, True, True),
        (128, 256, 64, 16, 8, 3, False, True)]


def main():
    shapes = [("mm 8192^3", 8192, 8192, 8192, False), ("linear 4096x4096->4096", 4096, 4096, 4096, True),
              ("linear 4096x4096->14336", 4096, 4096, 14336, True),
              ("linear 4096x14336->4096", 4096, 14336, 4096, True),
              ("linear 4096x4096->128256", 4096, 4096, 128256, True),
              ("linear 16384x4096->14336", 16384, 4096, 14336, True)]
    for name, M, K, N, lin in shapes:
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(N, K, device="cuda", dtype=torch.bfloat16) if lin else \
            torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        f = (lambda: F.linear(a, b)) if lin else (lambda: a @ b)
        ref = f()
        t_torch = bench(f)
        with triforge.use():
            t_tri = bench(f)
        flops = 2 * M * N * K
        print(f"{name}: torch {t_torch:.4f} ms ({flops / t_torch / 1e9:.0f} TF/s), triforge tiled {t_tri:.4f} "
              f"({t_torch / t_tri:.3f}x)", flush=True)
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        for cfg in CFGS:
            try:
                g = lambda: tma_mm(a, b, c, cfg, lin)  # noqa: E731
                g()
                err = ((c.float() - ref.float()).abs().max() / ref.float().abs().max()).item()
                t = bench(g)
                print(f"  {cfg}: {t:.4f} ms ({flops / t / 1e9:.0f} TF/s, {t_torch / t:.3f}x torch) "
                      f"{'ok' if err < 1e-2 else f'WRONG {err:.3g}'}", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources, unsupported combinations
                print(f"  {cfg}: {type(e).__name__}: {str(e)[:150]}", flush=True)


if __name__ == "__main__":
    main()

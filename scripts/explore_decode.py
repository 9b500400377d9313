"""Exploration (GPU): decode-shaped products (M = 1..32 rows against a large weight) are
memory bound; which skinny config and split-K target reads the weight fastest? Times
F.linear under triforge with one skinny config forced at a time (gemm.py's tuner
offers the table's rows), against torch in the same run, and prints the weight-read
rate (GB/s). Issue 5 asks >= 1.0x torch and >= 85% of the copy ceiling.
    python scripts/explore_decode.py [narrow|wide|policy] > decode.txt
narrow: narrower N tiles and fewer splits (each split >= 4 K blocks, so the last split
finishes the tile in the kernel) on the M = 8 / 32 shapes.
A transposed tile (b^T @ a^T: the weight's rows on a 64-row wgmma, the tokens on its
narrow side, as cuBLAS's 64x8 decode tiles) was tried at 8a068d9 (a SWAP flag in
gemm_kernel; Triton emitted wgmma) and reverted: H100, 12 swapped rows against the
table's best plain ones in one run (decode-swap-at-8a068d9.txt), x torch: M=8
4096->14336 0.971 best swapped / 0.992 plain, M=16 0.971 / 0.992, M=8 14336->4096
0.979 / 0.997, M=8 4096->4096 0.963 / 1.018, M=32 4096->4096 0.828 / 0.926; only M=32
4096->14336 1.005 (64x256 K blocks, unsplit) against 0.984.
"""
import sys

import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.matmul import gemm

# (BM, BN, BK, GROUP_M, warps, stages, programs per SM to split K for)
CONFIGS = [(16, 64, 256, 1, 4, 3, 4), (16, 64, 256, 1, 4, 3, 2), (16, 64, 256, 1, 4, 3, 8),
           (16, 32, 512, 1, 4, 3, 4), (16, 32, 512, 1, 4, 3, 8), (16, 128, 128, 1, 4, 4, 4),
           (16, 64, 128, 1, 4, 4, 16), (16, 32, 256, 1, 4, 4, 8), (16, 128, 256, 1, 8, 3, 4)]
NARROW = [(16, 32, 256, 1, 4, 3, 4), (16, 32, 256, 1, 4, 3, 2), (16, 32, 128, 1, 4, 4, 4),
          (16, 64, 128, 1, 4, 4, 2), (16, 128, 128, 1, 4, 4, 2), (16, 32, 256, 1, 2, 3, 4),
          (16, 64, 256, 1, 4, 4, 2), (16, 16, 256, 1, 2, 3, 4), (16, 64, 256, 1, 4, 3, 4)]
# wide: the bf16 GEMV's lesson (gemm.py: 4 columns x 2048 K unsplit, 1.05-1.10x at M=1) tried
# on dot tiles for M = 8 / 32: narrow N, long K blocks, few splits
WIDE = [(16, 16, 1024, 1, 2, 3, 1), (16, 16, 1024, 1, 4, 3, 1), (16, 16, 512, 1, 2, 3, 1), (16, 16, 2048, 1, 4, 2, 1),
        (16, 32, 1024, 1, 4, 3, 1), (32, 16, 1024, 1, 4, 3, 1), (16, 16, 1024, 1, 2, 3, 2), (16, 32, 512, 1, 2, 3, 1),
        (32, 32, 512, 1, 4, 3, 1)]
# policy: gemm.READ_POLICY 0 / 2 (the weight's loads evict_first: a decode weight is read
# once, and L2 full of another kernel's dirty lines -- do_bench's flush -- then keeps them
# instead of writing them back during the read; see reduction.engine.READ_POLICY), each
# shape under the tuner's own choice and a few forced rows, stages 1 among them (a
# pipelined load becomes an asynchronous copy, which may drop the hint)
POLICY_ROWS = [None, (16, 32, 512, 1, 2, 3, 1), (16, 32, 512, 1, 2, 1, 1), (16, 64, 256, 1, 4, 3),
               (16, 64, 256, 1, 4, 1), (16, 16, 256, 1, 2, 3, 4)]
SHAPES = [(1, 4096, 14336), (8, 4096, 14336), (32, 4096, 14336), (1, 14336, 4096), (32, 4096, 4096),
          (1, 8192, 28672)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


def timed(x, w, ref, row):
    """(ms, relative error) of F.linear(x, w) under triforge with the skinny config `row`
    forced (None: the tuner's own choice); the tuner is restored after."""
    tuner = gemm._tuners["skinny"]
    offered = tuner.configs
    if row is not None:
        tuner.configs, tuner._mem = [dict(zip(("BM", "BN", "BK", "G", "warps", "stages", "waves"), row))], {}
    gemm._plans.clear()
    try:
        with triforge.use():
            out = F.linear(x, w)
            t = bench(lambda: F.linear(x, w))
    finally:
        tuner.configs, tuner._mem = offered, None
        gemm._plans.clear()
    return t, ((out.float() - ref.float()).abs().max() / ref.float().abs().max()).item()


def policy():
    rounds = 3
    base = gemm.READ_POLICY, gemm.STREAM_BYTES
    for m, k, n in SHAPES + [(8, 14336, 4096)]:
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        weight_bytes = w.numel() * w.element_size()
        ref = F.linear(x, w)
        tt = []
        times = {}
        rows = [None] if m == 1 else POLICY_ROWS
        for _ in range(rounds):
            tt.append(bench(lambda: F.linear(x, w)))
            for row in rows:
                for pol in (0, 2):
                    gemm.READ_POLICY, gemm.STREAM_BYTES = pol, 0
                    try:
                        t, err = timed(x, w, ref, row)
                        times.setdefault((row, pol), []).append(t if err < 1e-2 else float("nan"))
                    except Exception as e:   # noqa: BLE001 -- resources
                        times.setdefault((row, pol), []).append(float("nan"))
                        print(f"  {row}: {type(e).__name__}: {str(e)[:100]}", flush=True)
        gemm.READ_POLICY, gemm.STREAM_BYTES = base
        t_torch = sorted(tt)[len(tt) // 2]
        print(f"M={m} {k}->{n}: torch {t_torch * 1e3:.1f} us ({weight_bytes / t_torch / 1e6:.0f} GB/s)", flush=True)
        for row in rows:
            cells = []
            for pol in (0, 2):
                v = sorted(times[(row, pol)])[rounds // 2]
                cells.append(f"policy {pol}: {v * 1e3:.1f} us ({weight_bytes / v / 1e6:.0f} GB/s, {t_torch / v:.3f}x)")
            print(f"  {row or 'tuned'}: " + " | ".join(cells), flush=True)


def main(narrow):
    rows = WIDE if narrow == "wide" else NARROW if narrow else CONFIGS
    for m, k, n in SHAPES if not narrow else [s for s in SHAPES if s[0] >= 8]:
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        weight_bytes = w.numel() * w.element_size()
        ref = F.linear(x, w)
        t_torch = bench(lambda: F.linear(x, w))
        print(f"M={m} {k}->{n}: torch {t_torch * 1e3:.1f} us ({weight_bytes / t_torch / 1e6:.0f} GB/s)", flush=True)
        for row in rows:
            try:
                t, err = timed(x, w, ref, row)
                print(f"  {row}: {t * 1e3:.1f} us ({weight_bytes / t / 1e6:.0f} GB/s, {t_torch / t:.3f}x) "
                      f"{'ok' if err < 1e-2 else f'WRONG {err:.3g}'}", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources
                print(f"  {row}: {type(e).__name__}: {str(e)[:120]}", flush=True)


if __name__ == "__main__":
    if "policy" in sys.argv:
        policy()
    else:
        main("wide" if "wide" in sys.argv else "narrow" in sys.argv)

"""Exploration (GPU): mid-size 16-bit products (under gemm's tma_min_flops: the tiled
kernel and its tuner, from a fresh tuning cache) against torch in the same run.
    python scripts/explore_mid_gemm.py > mid-gemm.txt
H100 at 5a82e0c (mid-gemm-ab-at-5a82e0c.txt), two rounds each: 2048^3 0.86-0.87x, 2048x1024->2816
0.75-0.77x, 2048x1024->256 0.73x, the rest 0.91-1.03x. Adding the two configs that won
alone in sweep_matmul.py mid (64x128x64, 64x64x64: 0.906 / 0.860 there) to the Hopper
tiled16 rows moved nothing beyond the rounds' spread through the tuner (not kept).
"""
import os
import tempfile

os.environ["TRIFORGE_CACHE_DIR"] = tempfile.mkdtemp()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import triton.testing  # noqa: E402

import triforge  # noqa: E402

SHAPES = [(2048, 2048, 2048), (4096, 4096, 1024), (2048, 1024, 1024), (2048, 1024, 2816), (2048, 2816, 1024),
          (2048, 1024, 256), (1024, 4096, 4096), (512, 4096, 4096)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


def main():
    for m, k, n in SHAPES:
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        t0 = bench(lambda: F.linear(x, w))
        with triforge.use():
            y = F.linear(x, w)   # tunes
            ref = F.linear(x.float(), w.float())
            err = (y.float() - ref).abs().max() / ref.abs().max()
            t = bench(lambda: F.linear(x, w))
        print(f"{m}x{k}->{n}: torch {t0 * 1e3:7.1f} us  triforge {t * 1e3:7.1f} us  {t0 / t:.3f}x  rel err {err:.1e}",
              flush=True)
    print(torch.cuda.get_device_name(), flush=True)


if __name__ == "__main__":
    main()

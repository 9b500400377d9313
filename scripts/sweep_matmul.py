"""Sweep matmul configs on the GPU: each config timed alone (as the only tuner entry)
against torch, per shape. Prints a table; the best rows go into backends/nvidia.py.
    python scripts/sweep_matmul.py [bf16|fp32|skinny|bmm]...
"""
import os
import sys
import tempfile

os.environ["TRIFORGE_CACHE_DIR"] = tempfile.mkdtemp()
import torch  # noqa: E402
import triton.testing  # noqa: E402

import triforge  # noqa: E402
from triforge.ops.matmul import gemm as G  # noqa: E402
from triforge.runtime import fastpath  # noqa: E402
from triforge.runtime.autotune import Tuner  # noqa: E402

T = dict(
    bf16=[(128, 256, 64, 8, 8, 3), (256, 128, 64, 8, 8, 3), (128, 128, 64, 8, 4, 4), (128, 128, 64, 8, 8, 4),
          (128, 256, 64, 16, 8, 3), (128, 256, 32, 8, 8, 4), (128, 128, 128, 8, 8, 3), (64, 256, 64, 8, 4, 4),
          (256, 128, 32, 8, 8, 4), (128, 256, 64, 8, 8, 4), (256, 256, 64, 8, 8, 2), (128, 128, 64, 16, 4, 5)],
    fp32=[(128, 128, 32, 8, 8, 3), (128, 64, 32, 8, 4, 4), (64, 128, 32, 8, 4, 4), (128, 128, 16, 8, 8, 4),
          (128, 256, 16, 8, 8, 3), (64, 64, 32, 8, 4, 4), (128, 128, 32, 8, 4, 3), (256, 128, 16, 8, 8, 3)],
    skinny=[(16, 64, 128, 1, 4, 4), (16, 128, 128, 1, 4, 3), (16, 32, 256, 1, 4, 3), (16, 64, 256, 1, 4, 3),
            (16, 128, 64, 1, 4, 4), (16, 256, 64, 1, 8, 3), (16, 64, 128, 1, 8, 4), (16, 32, 512, 1, 4, 3),
            (16, 128, 256, 1, 8, 3)],
)
T["bmm"] = T["bf16"]
# mid-size products (the main job's linears, the scan's 2048^3): the table's tiled16 rows
# first, then BK 64/128 and smaller tiles
T["mid"] = [(128, 128, 32, 8, 4, 4), (128, 256, 32, 8, 8, 3), (64, 128, 32, 8, 4, 4), (128, 128, 64, 8, 4, 3),
            (128, 128, 64, 8, 8, 3), (64, 128, 64, 8, 4, 4), (128, 64, 64, 8, 4, 4), (64, 64, 64, 8, 4, 4),
            (64, 256, 64, 8, 8, 3), (128, 256, 64, 8, 8, 3), (64, 128, 128, 8, 4, 3), (128, 128, 128, 8, 8, 2)]
SHAPES = dict(
    bf16=[(8192, 8192, 8192), (4096, 4096, 4096), (4096, 4096, 14336), (4096, 14336, 4096), (4096, 4096, 128256)],
    fp32=[(8192, 8192, 8192), (4096, 4096, 4096)],
    skinny=[(1, 4096, 14336), (8, 4096, 14336), (32, 4096, 14336), (32, 14336, 4096), (8, 4096, 128256)],
    bmm=[(32, 4096, 128, 4096), (32, 4096, 4096, 128)],
    mid=[(2048, 2048, 2048), (4096, 4096, 1024), (2048, 1024, 1024), (2048, 1024, 2816), (2048, 2816, 1024),
         (2048, 1024, 256)],
)
KEY = dict(bf16=2, fp32=4, skinny="skinny", bmm=2, mid=2)


def inputs(kind, shape):
    dt = torch.float32 if kind == "fp32" else torch.bfloat16
    if kind == "bmm":
        b, m, k, n = shape
        return torch.bmm, (torch.randn(b, m, k, device="cuda", dtype=dt),
                           torch.randn(b, n, k, device="cuda", dtype=dt).transpose(1, 2))
    m, k, n = shape
    return torch.nn.functional.linear, (torch.randn(m, k, device="cuda", dtype=dt),
                                        torch.randn(n, k, device="cuda", dtype=dt))


def main(kinds):
    for kind in kinds:
        for shape in SHAPES[kind]:
            fn, args = inputs(kind, shape)
            t_torch = triton.testing.do_bench(lambda: fn(*args), warmup=25, rep=100, return_mode="median")
            rows = []
            for cfg in T[kind]:
                G._tuners[KEY[kind]] = Tuner("sweep", "x", G._cfgs("none", [cfg]))
                G._plans.clear()
                fastpath.module().clear_recipes()   # else the C++ entry repeats the last config's launch
                try:
                    with triforge.use(include=("mm", "addmm", "bmm")):
                        t = triton.testing.do_bench(lambda: fn(*args), warmup=25, rep=100, return_mode="median")
                except Exception as e:   # resources
                    t = float("inf")
                    print("  fail", cfg, type(e).__name__, str(e)[:80], flush=True)
                rows.append((t, cfg))
            rows.sort()
            print(f"{kind} {shape}: torch {t_torch:.4f} ms", flush=True)
            for t, cfg in rows[:4]:
                print(f"    {cfg}  {t:.4f} ms  {t_torch / t:.3f}x", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["bf16", "skinny", "bmm", "fp32"])

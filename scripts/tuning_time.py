"""First-call cost of a new GEMM shape (compile + tuning), with an empty triforge cache.
    TRIFORGE_CACHE_DIR=$(mktemp -d) python scripts/tuning_time.py
"""
import time

import torch
import torch.nn.functional as F

import triforge

for m, k, n in [(4096, 4096, 6144), (4096, 4096, 6160), (1024, 4096, 4096)]:
    x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
    with triforge.use():
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        F.linear(x, w)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        F.linear(x, w)
        torch.cuda.synchronize()
        t2 = time.perf_counter()
    print(f"linear {m}x{k}->{n}: first call {t1 - t0:.2f} s (compile + tuning), second {1e3 * (t2 - t1):.2f} ms")

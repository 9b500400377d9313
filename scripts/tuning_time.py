"""First-call cost of a new GEMM shape (compile + tuning), with an empty triforge cache:
bf16 (the TMA kernel's configs), float32 with TF32 off (tf32x3's), each against its second call.
    TRIFORGE_CACHE_DIR=$(mktemp -d) python scripts/tuning_time.py
"""
import time

import torch
import torch.nn.functional as F

import triforge

torch.backends.cuda.matmul.allow_tf32 = False
for dtype, (m, k, n) in [(torch.bfloat16, (4096, 4096, 6144)), (torch.bfloat16, (4096, 4096, 6160)),
                         (torch.bfloat16, (1024, 4096, 4096)), (torch.float32, (4096, 4096, 6144)),
                         (torch.float32, (32, 4096, 6144))]:
    x = torch.randn(m, k, device="cuda", dtype=dtype)
    w = torch.randn(n, k, device="cuda", dtype=dtype)
    with triforge.use():
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        F.linear(x, w)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        F.linear(x, w)
        torch.cuda.synchronize()
        t2 = time.perf_counter()
    print(f"linear {str(dtype)[6:]} {m}x{k}->{n}: first call {t1 - t0:.2f} s (compile + tuning), "
          f"second {1e3 * (t2 - t1):.2f} ms", flush=True)

"""Exploration (GPU): L2 policies on copy-like kernels -- the row gather (embedding,
index_select) and cat, (LOAD_POLICY, STORE_POLICY): loads 0 default / 2 evict_first,
stores 0 default / 2 evict_first / 3 streaming (.cs). Issue 7 asks >= 90% of the copy
ceiling for embedding and cat; both sit at 87-90% on the H100.
explore_flush.py at d8d0a90: a 128 MB clone took 94.2 us after do_bench's flush (L2
full of dirty lines) and 86.8 us with L2 left clean.
Variants alternate over rounds with torch in each round; prints medians.
    python scripts/explore_copy_policy.py > copy_policy.txt
"""
import statistics

import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.index import concat, gather

POLICIES = [(0, 0), (2, 0), (0, 2), (2, 2), (0, 3), (2, 3)]
ROUNDS = 3


def main():
    print(torch.cuda.get_device_name(), flush=True)
    table = torch.randn(128256, 4096, device="cuda", dtype=torch.bfloat16)
    ids = torch.randint(0, 128256, (16384,), device="cuda")
    p0 = [torch.randn(1024, 4096, device="cuda", dtype=torch.bfloat16) for _ in range(8)]
    p1 = [torch.randn(4096, 1024, device="cuda", dtype=torch.bfloat16) for _ in range(8)]
    cases = [("embedding 16384 x 4096", lambda: F.embedding(ids, table), 2 * 16384 * 4096 * 2),
             ("cat 8 x (1024, 4096) dim 0", lambda: torch.cat(p0, 0), 2 * 8 * 1024 * 4096 * 2),
             ("cat 8 x (4096, 1024) dim 1", lambda: torch.cat(p1, 1), 2 * 8 * 1024 * 4096 * 2)]
    base = (gather.LOAD_POLICY, gather.STORE_POLICY)

    def bench(fn):
        return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")

    for name, fn, nbytes in cases:
        ref = fn()
        tt, times = [], {p: [] for p in POLICIES}
        for _ in range(ROUNDS):
            tt.append(bench(fn))
            for p in POLICIES:
                for mod in (concat, gather):
                    mod.LOAD_POLICY, mod.STORE_POLICY = p
                with triforge.use():
                    assert torch.equal(fn(), ref), name
                    times[p].append(bench(fn))
        t = statistics.median(tt)
        cells = " | ".join(f"{p}: {statistics.median(v) * 1e3:.1f} us ({nbytes / statistics.median(v) / 1e6:.0f} GB/s, "
                           f"{t / statistics.median(v):.3f}x)" for p, v in times.items())
        print(f"{name}: torch {t * 1e3:.1f} us ({nbytes / t / 1e6:.0f} GB/s) | {cells}", flush=True)
    for mod in (concat, gather):
        mod.LOAD_POLICY, mod.STORE_POLICY = base


if __name__ == "__main__":
    main()

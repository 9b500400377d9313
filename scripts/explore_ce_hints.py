"""Exploration (GPU): cross_entropy forward+backward (4096 x 128256 bf16; issue 4 asks
<= 1.0 ms on the H100, the fused kernel takes ~1.02-1.04) with L2 cache policies on the
forward that writes the gradient (cross_entropy._ce_fwd_kernel's HINTS bits: 1 first
pass's loads evict_last, 2 gradient stores streaming, 4 second pass's loads
evict_first): the second pass re-reads each row, mostly from HBM, because more rows are
in flight than L2 holds and the gradient's stores share L2 with them.
Variants alternate over several rounds with torch in each round; prints the median.
    python scripts/explore_ce_hints.py > ce_hints.txt
"""
import statistics

import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.loss import cross_entropy as ce

# (HINTS, grad block, grad warps)
VARIANTS = [(0, 16384, 16), (7, 16384, 16), (2, 16384, 16), (5, 16384, 16), (3, 16384, 16), (1, 16384, 16),
            (7, 8192, 16), (3, 8192, 16), (7, 16384, 32), (3, 8192, 8)]
ROUNDS = 3


def main():
    rows, C = 4096, 128256
    x = torch.randn(rows, C, device="cuda", dtype=torch.bfloat16)
    t = torch.randint(0, C, (rows,), device="cuda")
    print(torch.cuda.get_device_name(), flush=True)

    def fwd_bwd():
        xr = x.detach().requires_grad_()
        F.cross_entropy(xr, t).backward()
        return xr.grad

    def bench():
        return triton.testing.do_bench(fwd_bwd, warmup=25, rep=200, return_mode="median")

    ref = fwd_bwd().float()
    base = (ce.GRAD_HINTS, ce.GRAD_BLOCK, ce.GRAD_WARPS)
    times = {v: [] for v in VARIANTS}
    torch_t = []
    for r in range(ROUNDS):
        torch_t.append(bench())
        for v in VARIANTS:
            ce.GRAD_HINTS, ce.GRAD_BLOCK, ce.GRAD_WARPS = v
            with triforge.use():
                if r == 0:
                    err = (fwd_bwd().float() - ref).abs().max().item()
                    print(f"  {v}: grad max |diff| vs torch {err:.2e}", flush=True)
                times[v].append(bench())
    ce.GRAD_HINTS, ce.GRAD_BLOCK, ce.GRAD_WARPS = base
    tt = statistics.median(torch_t)
    print(f"torch fwd+bwd {tt:.4f} ms (rounds {', '.join(f'{x:.4f}' for x in torch_t)})")
    for v in VARIANTS:
        m = statistics.median(times[v])
        print(f"  hints {v[0]} block {v[1]} warps {v[2]}: {m:.4f} ms {tt / m:.3f}x "
              f"(rounds {', '.join(f'{x:.4f}' for x in times[v])})", flush=True)


if __name__ == "__main__":
    main()

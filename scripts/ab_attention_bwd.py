"""A/B helper (GPU): forward + backward of torch SDPA under triforge on b4 h32 s4096
bf16 (d128 causal and not, d64 causal), torch in the same process; one line per shape.
Run from two checkouts alternately to compare a kernel change on one host.
    python scripts/ab_attention_bwd.py LABEL
"""
import sys

import torch
import torch.nn.functional as F
import triton.testing

import triforge


def main(label):
    for d, causal in ((128, True), (128, False), (64, True)):
        q, k, v = (torch.randn(4, 32, 4096, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                   for _ in range(3))
        g = torch.randn_like(q)

        def step():
            for t in (q, k, v):
                t.grad = None
            F.scaled_dot_product_attention(q, k, v, is_causal=causal).backward(g)
            return q.grad, k.grad, v.grad
        ref = [t.clone() for t in step()]
        t_torch = triton.testing.do_bench(step, warmup=10, rep=100, return_mode="median")
        with triforge.use():
            err = max((a.float() - b.float()).abs().max().item() for a, b in zip(step(), ref))
            t = triton.testing.do_bench(step, warmup=10, rep=100, return_mode="median")
        print(f"{label} d{d} causal={causal} fwd+bwd: torch {t_torch:.4f} ms, triforge {t:.4f} ms "
              f"({t_torch / t:.3f}x){'' if err < 5e-2 else f' WRONG {err:.3g}'}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")

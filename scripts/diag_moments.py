"""Diagnosis (GPU): blocks.centred_moments on one-tile var rows and one-block layer norm
rows -- constant rows' exactness and the time of var / var_mean / layer_norm forward,
16384x4096 bf16, torch in the same run.
    python scripts/diag_moments.py
"""
import torch
import torch.nn.functional as F

import triforge
from triforge.bench.timing import device_ms
from triforge.ops import blocks


def main():
    print("fused sums:", bool(blocks._FUSE_SUMS), flush=True)
    vals = torch.tensor([0.3, -123.456, 1.7, 1e-3], device="cuda")
    for n in (20, 300):
        x = vals[:, None].expand(4, n).contiguous()
        with triforge.use():
            v = torch.var(x, -1)
            vm, m = torch.var_mean(x, -1)
            y = F.layer_norm(x, (n,))
        print(f"constant rows n={n}: var {v.tolist()} var_mean {vm.tolist()} mean - vals {(m - vals).tolist()} "
              f"|y| max {y.abs().max().item()}", flush=True)
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    for name, fn in (("var dim=-1", lambda: torch.var(x, -1)), ("var_mean dim=-1", lambda: torch.var_mean(x, -1)),
                     ("layer_norm fwd", lambda: F.layer_norm(x, (4096,)))):
        t0 = device_ms(fn, False, None)
        with triforge.use():
            ref = fn()
            t1 = device_ms(fn, False, None)
        print(f"{name}: torch {t0 * 1e3:.1f} us, triforge {t1 * 1e3:.1f} us", flush=True)
    del ref


if __name__ == "__main__":
    main()

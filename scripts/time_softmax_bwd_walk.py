"""Timing (GPU): softmax / log_softmax backward over 1024 rows of 131072 bf16, torch and
triforge (the walk) in the same process, y computed once (sweep_walk.py's
log_softmax_bwd ran a y.log() inside each call).
    python scripts/time_softmax_bwd_walk.py
First run on the H200 at c7e76f6: sweeps-NVIDIA_H200/softmax-bwd-walk-at-c7e76f6.txt.
"""
import torch

import triforge
from triforge.bench.timing import device_ms


def main():
    x = torch.randn(1024, 131072, device="cuda", dtype=torch.bfloat16)
    g = torch.randn_like(x)
    out = torch.empty_like(x)
    t_copy = device_ms(lambda: out.copy_(x), False, None)
    print(torch.cuda.get_device_name(), f"copy {t_copy * 1e3:.1f} us", flush=True)
    for name, op, y in (("softmax", torch.ops.aten._softmax_backward_data, torch.softmax(x, -1)),
                        ("log_softmax", torch.ops.aten._log_softmax_backward_data, torch.log_softmax(x, -1))):
        def fn():
            return op(g, y, -1, torch.bfloat16)
        ref = fn().float()
        t_torch = device_ms(fn, False, None)
        with triforge.use():
            err = ((fn().float() - ref).abs().max() / ref.abs().max()).item()
            t = device_ms(fn, False, None)
        pct = 100 * 1.5 * t_copy / t
        print(f"{name} backward: torch {t_torch * 1e3:.1f} us, triforge {t * 1e3:.1f} us, {pct:.1f}% of the "
              f"ceiling, {t_torch / t:.3f}x, rel err {err:.2g}", flush=True)


if __name__ == "__main__":
    main()

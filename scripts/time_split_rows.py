"""Timing (GPU): few long rows, the split paths (softmax.py's part/split kernels,
norm/split.py), bf16, torch in the same run. Run it in two trees to compare them (the
device runs one after the other in one call), e.g. before and after the second pass took
its pieces last-read first (blocks.row_piece_last_first).
    python scripts/time_split_rows.py
"""
import torch
import torch.nn.functional as F

import triforge
from triforge.bench.timing import device_ms


def main():
    dt = torch.bfloat16
    a = torch.empty(128 << 20, device="cuda", dtype=dt).fill_(1)
    b = torch.empty_like(a)
    t_copy = device_ms(lambda: b.copy_(a), False, None)
    ceiling = 2 * a.numel() * 2 / t_copy / 1e6
    print(torch.cuda.get_device_name(), f"copy 256 MB: {t_copy * 1e3:.1f} us, {ceiling:.0f} GB/s", flush=True)
    lbwd = torch.ops.aten._log_softmax_backward_data
    for rows, n in ((4, 1 << 24), (4, 1 << 20), (8, 1 << 22), (2, 1 << 25)):
        x = torch.randn(rows, n, device="cuda", dtype=dt)
        g = torch.randn_like(x)
        w = torch.randn(n, device="cuda", dtype=dt)
        y = torch.log_softmax(x, -1)
        _, mean, rstd = torch.native_layer_norm(x, (n,), w, w, 1e-5)
        cases = {   # name: (fn, tensors read + written, counted once)
            "softmax": (lambda: torch.softmax(x, -1), 2),
            "log_softmax bwd": (lambda: lbwd(g, y, -1, dt), 3),
            "layer_norm": (lambda: F.layer_norm(x, (n,), w, w), 2),
            "layer_norm bwd dx": (lambda: torch.ops.aten.native_layer_norm_backward(
                g, x, (n,), mean, rstd, w, w, [True, False, False]), 3),
            "layer_norm bwd all": (lambda: torch.ops.aten.native_layer_norm_backward(
                g, x, (n,), mean, rstd, w, w, [True, True, True]), 3),
        }
        for name, (fn, k) in cases.items():
            t_torch = device_ms(fn, False, None)
            with triforge.use():
                t = device_ms(fn, False, None)
            pct = 100 * k * x.numel() * 2 / t / 1e6 / ceiling
            print(f"{name} {rows}x{n}: torch {t_torch * 1e3:.1f} us, triforge {t * 1e3:.1f} us "
                  f"({pct:.1f}% of the ceiling, {t_torch / t:.2f}x)", flush=True)


if __name__ == "__main__":
    main()

"""Sweep (GPU): group norm backward, bf16, the persistent (sample, group) row kernel
(group_norm._gn_row_kernel: rows of up to ONE_ELEMS, one read) at several configs
against the two-kernel path (channel sums, then dx), torch in the same run; dx checked
against torch's. (Its run at 4bec3f3+ also timed a variant walking longer rows twice,
"walk" in the results, since removed: no faster than the two kernels.)
Needs TRIFORGE_FASTPATH=0 (the C++ entry would replay the first call's launches).
    TRIFORGE_FASTPATH=0 python scripts/sweep_group_norm_bwd.py > group-norm-bwd.txt
"""
import torch

import triforge
from triforge.bench.timing import device_ms
from triforge.ops.norm import group_norm as GN


def main():
    print(torch.cuda.get_device_name(), flush=True)
    a = torch.empty(128 << 20, device="cuda", dtype=torch.bfloat16).fill_(1)
    b = torch.empty_like(a)
    t_copy = device_ms(lambda: b.copy_(a), False, None)
    ceiling = 2 * a.numel() * 2 / t_copy / 1e6
    print(f"copy 256 MB: {t_copy * 1e3:.1f} us, {ceiling:.0f} GB/s", flush=True)
    # (N, C, HW, groups): the bench's case, then Stable-Diffusion-like UNet shapes
    for n, c, hw, groups in ((64, 512, 1024, 32), (8, 320, 4096, 32), (16, 640, 1024, 32), (16, 1280, 256, 32),
                             (4, 320, 4096, 32), (32, 256, 3136, 32)):
        dt = torch.bfloat16
        x, g = torch.randn(n, c, hw, dtype=dt, device="cuda"), torch.randn(n, c, hw, dtype=dt, device="cuda")
        w = torch.randn(c, dtype=dt, device="cuda")
        _, mean, rstd = torch.native_group_norm(x, w, None, n, c, hw, groups, 1e-5)
        moved = 3 * x.numel() * 2

        def op():
            return torch.ops.aten.native_group_norm_backward(g, x, mean, rstd, w, n, c, hw, groups, [True, True, True])
        t_torch = device_ms(op, False, None)
        ref = op()[0].float()
        line = f"{n}x{c}x{hw} g{groups} ({n * groups} rows): torch {t_torch * 1e3:.1f} us"
        # (label, ROW_MIN_PER_SM, BWD_STAGES, warps of a 16384-element row or None)
        configs = [("two-kernel", 1 << 40, 3, None), ("one s2", 0, 3, None), ("one s1", 0, 1, None),
                   ("one s2 w8", 0, 3, 8)]
        for label, min_per_sm, stages, warps in configs:
            GN.ROW_MIN_PER_SM, GN.BWD_STAGES = min_per_sm, stages
            GN.BWD_WARP_ELEMS = 1024 if warps is None else 16384 // warps
            with triforge.use():
                out = op()[0].float()
                err = ((out - ref).abs().max() / ref.abs().max()).item()
                t = device_ms(op, False, None)
            bad = "" if err < 2e-2 else f" WRONG {err:.2g}"
            line += f" | {label} {t * 1e3:.1f} us {100 * moved / t / 1e6 / ceiling:.1f}% {t_torch / t:.2f}x{bad}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

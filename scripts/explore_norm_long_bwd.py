"""Exploration (GPU): split.long_backward's first pass (rows past one block, weight grads
wanted) over its step shape -- RB rows x BLOCK columns a step, warps, rows per group --
on layer_norm backward of 1024x131072 and 8x131072, and rms_norm backward of 8192x16384
(Llama-3-405B's hidden size), bf16; torch in the same run, every result checked against
torch's (dx, dw, db).
    TRIFORGE_FASTPATH=0 python scripts/explore_norm_long_bwd.py > norm_long_bwd.txt
(Without TRIFORGE_FASTPATH=0 the C++ entry replays the first setting's launches for every
later one: the first run at 6e34969 timed one setting 16 times.)

Outcome (H200, 6e34969, sweeps-NVIDIA_H200/norm-long-bwd-at-6e34969.txt), us, layer_norm
1024x131072 / rms_norm 8192x16384 (torch 585.6 / 522.7): 2 rows x 2048 columns on 4 warps,
64 rows a group 375.3 / 348.1 (the defaults since 5db41e5); 1 x 4096 on 8 warps 382.1 /
351.4; 8 x 1024 on 8 warps 490.6 / 424.7. Every setting matched torch's gradients.
"""
import torch
import triton.testing

import triforge
from triforge.ops.norm import split

STEPS = [(1, 4096, 8), (2, 2048, 8), (2, 4096, 8), (4, 1024, 4), (4, 1024, 8), (4, 2048, 8), (8, 1024, 8),
         (2, 2048, 4)]
GROUPS = (32, 64)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def cases():
    for name, (R, N), rms in (("layer_norm bwd", (1024, 131072), False), ("layer_norm bwd", (8, 131072), False),
                              ("rms_norm bwd", (8192, 16384), True)):
        x = torch.randn(R, N, device="cuda", dtype=torch.bfloat16)
        g = torch.randn_like(x)
        w = torch.randn(N, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(N, device="cuda", dtype=torch.bfloat16)
        if rms:
            _, rstd = torch.ops.aten._fused_rms_norm(x, [N], w, 1e-6)

            def fn(g=g, x=x, rstd=rstd, w=w, N=N):
                return torch.ops.aten._fused_rms_norm_backward(g, x, [N], rstd, w, [True, True])
        else:
            _, mean, rstd = torch.native_layer_norm(x, [N], w, b, 1e-5)

            def fn(g=g, x=x, mean=mean, rstd=rstd, w=w, b=b, N=N):
                return torch.ops.aten.native_layer_norm_backward(g, x, [N], mean, rstd, w, b, [True, True, True])
        moved = 3 * x.numel() * 2
        yield f"{name} {R}x{N}", fn, moved


def main():
    print(torch.cuda.get_device_name(), flush=True)
    for name, fn, moved in cases():
        ref = [t.float() for t in fn()]
        t_torch = bench(fn)
        print(f"{name}: torch {t_torch * 1e3:.1f} us", flush=True)
        for rb, block, warps in STEPS:
            for group in GROUPS:
                split.LONG_ROWS, split.LONG_BLOCK, split.LONG_WARPS, split.LONG_GROUP_ROWS = rb, block, warps, group
                with triforge.use():
                    got = fn()
                    err = max(((a.float() - e).abs().max() / e.abs().max()).item() for a, e in zip(got, ref))
                    t = bench(fn)
                flag = "" if err < 3e-2 else f" WRONG {err:.3g}"
                print(f"  rows {rb} block {block} w{warps} group {group}: {t * 1e3:.1f} us "
                      f"{moved / t / 1e6:.0f} GB/s {t_torch / t:.3f}x{flag}", flush=True)


if __name__ == "__main__":
    main()

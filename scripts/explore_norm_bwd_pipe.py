"""Exploration (GPU): layer/rms norm backward over one-block rows, H200, bf16. The served
kernel (_norm_bwd_kernel) prefetches the next step's rows into registers by hand, so a
program keeps one row of g and x in flight; at 2 programs an SM that reaches 86% / 78%
of the copy ceiling on the H200 (rms / layer, 16384x4096). Here a variant lets Triton's
pipeliner stage the loads in shared memory (tl.range num_stages), which holds more rows
in flight for no registers, against the served kernel at other grids / warps / rows a
step, for rows of 4096, 8192 and 16384 (16384 is past the served one-block limit). Every
variant's dx and weight grads are checked against the served op; its column sums of
the partials (rows.col_sums) are timed apart.
    TRIFORGE_FASTPATH=0 python scripts/explore_norm_bwd_pipe.py [N,N,...] > norm-bwd-pipe.txt
"""
import sys

import torch
import triton
import triton.language as tl

import triforge
from triforge.bench.timing import device_ms
from triforge.ops.norm import layer_norm as L
from triforge.ops.norm import rows as R
from triforge.runtime import cdiv


def bench(fn):
    return device_ms(fn, False, None)


@triton.jit
def _pipe_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, dx_ptr, dw_ptr, db_ptr, rows, N,
                 RMS: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr, ROWS: tl.constexpr,
                 STAGES: tl.constexpr, HOIST_W: tl.constexpr):
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    cm = cols < N
    if HOIST_W:
        w = tl.load(w_ptr + cols, mask=cm, other=0.0).to(ACC)[None, :]
    dw = tl.zeros([ROWS, BLOCK], ACC)
    db = tl.zeros([ROWS, BLOCK], ACC)
    step = tl.num_programs(0) * ROWS
    for r in tl.range(pid * ROWS, rows, step, num_stages=STAGES):
        row = r + tl.arange(0, ROWS)
        rm = row < rows
        mask = rm[:, None] & cm[None, :]
        offs = (row * N)[:, None] + cols[None, :]
        g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)
        rstd = tl.load(rstd_ptr + row, mask=rm, other=0.0).to(ACC)[:, None]
        if RMS:
            xhat = x * rstd
        else:
            mean = tl.load(mean_ptr + row, mask=rm, other=0.0).to(ACC)[:, None]
            xhat = tl.where(mask, (x - mean) * rstd, 0.0)
        dw += g * xhat
        if not RMS:
            db += g
        if HOIST_W:
            gw = g * w
        else:
            gw = g * tl.load(w_ptr + cols, mask=cm, other=0.0).to(ACC)[None, :]
        c1 = (tl.sum(xhat * gw, 1) / N)[:, None]
        if RMS:
            dx = (gw - xhat * c1) * rstd
        else:
            dx = (gw - (tl.sum(gw, 1) / N)[:, None] - xhat * c1) * rstd
        tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
    tl.store(dw_ptr + pid.to(tl.int64) * N + cols, tl.sum(dw, 0), mask=cm)
    if not RMS:
        tl.store(db_ptr + pid.to(tl.int64) * N + cols, tl.sum(db, 0), mask=cm)


def main():
    print(torch.cuda.get_device_name(), flush=True)
    dt = torch.bfloat16
    a = torch.empty(128 << 20, device="cuda", dtype=dt).fill_(1)
    b = torch.empty_like(a)
    t_copy = bench(lambda: b.copy_(a))
    ceiling = 2 * a.numel() * 2 / t_copy / 1e6
    print(f"copy 256 MB: {t_copy * 1e3:.1f} us, {ceiling:.0f} GB/s", flush=True)
    del a, b
    ns = [int(v) for v in sys.argv[1].split(",")] if len(sys.argv) > 1 else [4096, 8192, 16384]
    acc = tl.float32
    for n in ns:
        rows = (128 << 20) // (n * 2)
        x, g = torch.randn(rows, n, dtype=dt, device="cuda"), torch.randn(rows, n, dtype=dt, device="cuda")
        w, bias = torch.randn(n, dtype=dt, device="cuda"), torch.randn(n, dtype=dt, device="cuda")
        _, mean, rstd = torch.native_layer_norm(x, (n,), w, bias, 1e-5)
        rrstd = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6)
        moved = 3 * x.numel() * 2
        for rms in (True, False):
            name = "rms_norm" if rms else "layer_norm"
            if rms:
                def op():
                    return torch.ops.aten._fused_rms_norm_backward(g, x, (n,), rrstd, w, [True, True])
            else:
                def op():
                    return torch.ops.aten.native_layer_norm_backward(g, x, (n,), mean, rstd, w, bias,
                                                                     [True, True, True])
            t_torch = bench(op)
            with triforge.use():
                ref = [t.float() for t in op()]
                t_op = bench(op)
            m_, r_ = (rrstd, rrstd) if rms else (mean, rstd)

            def pct(t):
                return f"{t * 1e3:.1f} us {100 * moved / t / 1e6 / ceiling:.1f}% {t_torch / t:.3f}x"

            print(f"{name} {rows}x{n}: torch {t_torch * 1e3:.1f} us | served op {pct(t_op)}", flush=True)
            dx = torch.empty_like(x)
            for groups in (132, 264, 396):
                wp = torch.empty((2, groups, n), dtype=torch.float32, device="cuda")
                t_cs = bench(lambda: R.col_sums([wp[0]] if rms else [wp[0], wp[1]], dt))
                line = f"  groups {groups}: col_sums {t_cs * 1e3:.1f} us"
                per = cdiv(rows, groups)
                for warps in ((8, 16) if n <= 8192 else (16, 32)):
                    rws = (1, 2) if n <= 4096 else (1,)
                    for rw in rws:
                        if n > 8192 and warps < 16:
                            continue

                        def served():
                            L._bwd((groups,), g, x, w, m_, r_, dx, wp[0], wp[1], rows, per, n, 1, n, 1, rms, True,
                                   True, True, acc, True, n, rw, False, True, num_warps=warps)
                        try:
                            dx.fill_(float("nan"))
                            served()
                            t = bench(served)
                            line += f" | served w{warps} r{rw} {t * 1e3:.1f} ({t + t_cs:.4f} ms with sums)"
                        except Exception as e:   # out of resources at a config
                            line += f" | served w{warps} r{rw} failed {type(e).__name__}"
                        for stages in (2, 3, 4):
                            for hoist in (False, True):
                                def pipe():
                                    _pipe_kernel[(groups,)](g, x, w, m_, r_, dx, wp[0], wp[1], rows, n, rms, acc, n,
                                                            rw, stages, hoist, num_warps=warps)
                                try:
                                    dx.fill_(float("nan"))
                                    pipe()
                                    err = ((dx.float() - ref[0]).abs().max() / ref[0].abs().max()).item()
                                    dwe = ((wp[0].sum(0) - ref[1]).abs().max() / ref[1].abs().max()).item()
                                    t = bench(pipe)
                                    bad = "" if err < 1e-2 and dwe < 1e-2 else f" WRONG {err:.2g}/{dwe:.2g}"
                                    line += f" | pipe w{warps} r{rw} s{stages}{'h' if hoist else ''} {pct(t + t_cs)}{bad}"
                                except Exception as e:
                                    line += f" | pipe w{warps} r{rw} s{stages} failed {type(e).__name__}"
                print(line, flush=True)


if __name__ == "__main__":
    main()

"""Exploration (GPU): the norm backward's one-block rows (layer_norm._norm_bwd_kernel, loads
staged by the pipeliner) spill at rms rows of 16384 (16 warps: 260 B a thread, ptxas for
sm90) and sit at 254 registers at 2x4096 bf16 rows a step: g and x are held in float32
across the row sums. Here a variant loads them again for dx (RELOAD: the second read
comes from L2, what stays live across the sums is the weight-grad accumulators), against
the served kernel, both at one program an SM, rows of 4096 / 8192 / 16384 bf16, with
several warps; and the column sums of the partials at two tile sizes (rows.COL_SUMS_TILE:
4096 elements is two loads of 128 of the 132 partial rows, 8192 one). torch in the same run.
    TRIFORGE_FASTPATH=0 python scripts/explore_norm_bwd_reload.py > norm-bwd-reload.txt
"""
import torch
import triton
import triton.language as tl

import triforge
from triforge.bench.timing import device_ms
from triforge.ops.norm import layer_norm as L
from triforge.ops.norm import rows as R
from triforge.runtime import sm_count


def bench(fn):
    return device_ms(fn, False, None)


@triton.jit
def _reload_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, dx_ptr, dw_ptr, db_ptr, rows, N,
                   RMS: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr, ROWS: tl.constexpr,
                   STAGES: tl.constexpr):
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    cm = cols < N
    dw = tl.zeros([ROWS, BLOCK], ACC)
    db = tl.zeros([ROWS, BLOCK], ACC)
    for r in tl.range(pid * ROWS, rows, tl.num_programs(0) * ROWS, num_stages=STAGES):
        row = r + tl.arange(0, ROWS)
        rmask = row < rows
        mask = rmask[:, None] & cm[None, :]
        offs = (row * N)[:, None] + cols[None, :]
        rstd = tl.load(rstd_ptr + row, mask=rmask, other=0.0).to(ACC)[:, None]
        if RMS:
            mean = rstd * 0.0
        else:
            mean = tl.load(mean_ptr + row, mask=rmask, other=0.0).to(ACC)[:, None]
        g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
        xhat = tl.where(mask, (tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC) - mean) * rstd, 0.0)
        dw += g * xhat
        if not RMS:
            db += g
        gw = g * tl.load(w_ptr + cols, mask=cm, other=0.0).to(ACC)[None, :]
        c1 = (tl.sum(xhat * gw, 1) / N)[:, None]
        if not RMS:
            c2 = (tl.sum(gw, 1) / N)[:, None]
        # dx from a second load of g and x (an L2 hit), not from the registers above
        g2 = tl.load(g_ptr + offs, mask=mask, other=0.0, cache_modifier=".ca").to(ACC)
        g2 = g2 * tl.load(w_ptr + cols, mask=cm, other=0.0).to(ACC)[None, :]
        xh2 = (tl.load(x_ptr + offs, mask=mask, other=0.0, cache_modifier=".ca").to(ACC) - mean) * rstd
        if RMS:
            dx = (g2 - xh2 * c1) * rstd
        else:
            dx = (g2 - c2 - xh2 * c1) * rstd
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
    acc = tl.float32
    P = sm_count()
    for n in (4096, 8192, 16384):
        rows = (128 << 20) // (n * 2)
        x, g = torch.randn(rows, n, dtype=dt, device="cuda"), torch.randn(rows, n, dtype=dt, device="cuda")
        w, bias = torch.randn(n, dtype=dt, device="cuda"), torch.randn(n, dtype=dt, device="cuda")
        _, mean, rstd = torch.native_layer_norm(x, (n,), w, bias, 1e-5)
        rrstd = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6)
        moved = 3 * x.numel() * 2
        for rms in (True, False):
            if not rms and n > 8192:
                continue
            if rms:
                def op():
                    return torch.ops.aten._fused_rms_norm_backward(g, x, (n,), rrstd, w, [True, True])
            else:
                def op():
                    return torch.ops.aten.native_layer_norm_backward(g, x, (n,), mean, rstd, w, bias,
                                                                     [True, True, True])
            t_torch = bench(op)
            line = f"{'rms' if rms else 'layer'} {rows}x{n}: torch {t_torch * 1e3:.1f} us"
            for tile in (4096, 8192):
                R.COL_SUMS_TILE = tile
                with triforge.use():
                    ref = [t.float() for t in op()]
                    t_op = bench(op)
                line += f" | op (col_sums tile {tile}) {t_op * 1e3:.1f} us {100 * moved / t_op / 1e6 / ceiling:.1f}%"
            R.COL_SUMS_TILE = 4096
            m_, r_ = (rrstd, rrstd) if rms else (mean, rstd)
            single, block, per, progs, warps0, stages, hoist = R.bwd_plan(rows, n, rms, 2, x.device)
            dx = torch.empty_like(x)
            wp = torch.empty((2, P, n), dtype=torch.float32, device="cuda")
            for warps in sorted({warps0, 8, 16, 32}):
                if per * block // (32 * warps) < 4:
                    continue

                def served():
                    L._bwd((P,), g, x, w, m_, r_, dx, wp[0], wp[1], rows, n, 1, n, 1, rms, True, True, True, acc,
                           True, block, per, stages, hoist and block // (32 * warps) <= 16, False, num_warps=warps)

                def reload():
                    _reload_kernel[(P,)](g, x, w, m_, r_, dx, wp[0], wp[1], rows, n, rms, acc, block, per, stages,
                                         num_warps=warps)
                for label, fn in (("served", served), ("reload", reload)):
                    try:
                        dx.fill_(float("nan"))
                        fn()
                        err = ((dx.float() - ref[0]).abs().max() / ref[0].abs().max()).item()
                        dwe = ((wp[0].sum(0) - ref[1]).abs().max() / ref[1].abs().max()).item()
                        t = bench(fn)
                        bad = "" if err < 1e-2 and dwe < 1e-2 else f" WRONG {err:.2g}/{dwe:.2g}"
                        line += f" | {label} w{warps} {t * 1e3:.1f} us kernel{bad}"
                    except Exception as e:   # out of resources at a config
                        line += f" | {label} w{warps} failed {type(e).__name__}"
            print(line, flush=True)


if __name__ == "__main__":
    main()

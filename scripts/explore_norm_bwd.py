"""Exploration (GPU): where does layer_norm backward's time go at 16384x4096 bf16?
Times the whole op, its dx+partials kernel alone (with and without the bias partials),
and the column sums of the partials (dw and db apart, both in one reduction of a
stacked buffer, both through rows.col_sums), against torch in the same run.
    python scripts/explore_norm_bwd.py > norm-bwd.txt
"""
import torch
import triton.testing

import triforge
from triforge.ops.norm import layer_norm as L
from triforge.ops.norm import rows as R
from triforge.ops.reduction.engine import ID, SUM, Spec, reduce
from triforge.runtime import cdiv


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def main():
    rows, n = 16384, 4096
    dt = torch.bfloat16
    x, g = torch.randn(rows, n, dtype=dt, device="cuda"), torch.randn(rows, n, dtype=dt, device="cuda")
    w, b = torch.randn(n, dtype=dt, device="cuda"), torch.randn(n, dtype=dt, device="cuda")
    _, mean, rstd = torch.native_layer_norm(x, (n,), w, b, 1e-5)
    moved = 3 * x.numel() * x.element_size()

    def op():
        return torch.ops.aten.native_layer_norm_backward(g, x, (n,), mean, rstd, w, b, [True, True, True])

    t_torch = bench(op)
    with triforge.use():
        t_tri = bench(op)
    print(f"torch {t_torch:.4f} ms | triforge {t_tri:.4f} ms ({moved / t_tri / 1e9:.0f} GB/s)")
    for p_target in (264, 132, 528):
        per = cdiv(rows, p_target)
        p = cdiv(rows, per)
        wp = torch.empty((2, p, n), dtype=torch.float32, device="cuda")
        dx = torch.empty_like(x)
        for rms in (False, True):
            def kern():
                L._bwd((p,), g, x, w, mean if not rms else rstd, rstd, dx, wp[0], wp[1], rows, per, n, 1, n, 1,
                       rms, True, True, True, L.acc_of(dt), True, n, R.bwd_rows(n), False, num_warps=R.warps_for(n))
            t_k = bench(kern)
            print(f"groups {p}: dx+partials kernel {'rms' if rms else 'ln '} {t_k:.4f} ms "
                  f"({moved / t_k / 1e9:.0f} GB/s)")
        t_c1 = bench(lambda: R.col_sum(wp[0], dt))
        t_c2 = bench(lambda: (R.col_sum(wp[0], dt), R.col_sum(wp[1], dt)))
        t_st = bench(lambda: reduce(wp, [1], False, Spec(ID, SUM), dt))
        t_cs = bench(lambda: R.col_sums([wp[0], wp[1]], dt))
        print(f"groups {p}: col_sum one {t_c1:.4f} | two {t_c2:.4f} | stacked (2,p,n) dim 1 {t_st:.4f} | "
              f"col_sums both, one launch {t_cs:.4f} ms")


if __name__ == "__main__":
    main()

"""Exploration (GPU): cross_entropy forward+backward in two passes over the
logits instead of three. Issue 4 asks <= 1.0 ms for 4096 x 128256 bf16 on the H100; the
fused kernel (ops/loss/cross_entropy.py) reads each row twice and writes its gradient once,
1.038 ms at the copy ceiling (its second read does not come from L2).

Here P programs share a row, each holding its chunk (CH columns) in registers: each
publishes its chunk's (max, sum of exp) to a slot, counts itself in its group's arrival
counter and waits until all P have; then every program computes the row's log-sum-exp
from the P slots and writes the gradient of its own chunk from registers. The logits are
read once and the gradient written once.

The wait needs every program of a group resident at once: the grid is at most
`--per-sm` programs per SM (persistent: a group walks rows g, g + groups, ...), and the
script runs under `timeout` (a group that cannot all be resident would spin forever).
Slots are double-buffered by iteration parity: a program can only publish iteration i+2
after all its partners have arrived at i+1, i.e. after they have read iteration i's slots.
The counters climb by P per iteration; the last program of a group to leave resets them.
The Triton interpreter runs programs one after another, so only P = 1 can run there.
Outcome, H100 at 492e15f (ce-coop-at-492e15f.txt): right (loss exact, gradient 1.5e-5,
counters back to 0) but slower at all 8 layouts: best P=4, 16 warps, 1 per SM 1.215 ms
against the three-pass kernel's 1.018 (torch 3.094). Too few rows are in flight for the
read rate when each must hold a whole row in registers.
    python scripts/explore_ce_coop.py > ce_coop.txt
"""
import sys

import torch
import torch.nn.functional as F
import triton
import triton.language as tl


@triton.jit
def ce_coop_kernel(x_ptr, t_ptr, loss_ptr, dx_ptr, slot_ptr, cnt_ptr, rows, C, groups, ignore_index, scale,
                   P: tl.constexpr, CH: tl.constexpr):
    pid = tl.program_id(0)
    g = pid // P
    j = pid % P
    cols = j * CH + tl.arange(0, CH)
    cmask = cols < C
    lanes = tl.arange(0, P)
    it = 0
    for row in range(g, rows, groups):
        base = tl.cast(row, tl.int64) * C
        x = tl.load(x_ptr + base + cols, mask=cmask, other=-float("inf")).to(tl.float32)
        m = tl.max(x, 0)
        safe = tl.where(m == -float("inf"), 0.0, m)
        s = tl.sum(tl.exp(x - safe), 0)
        slots = slot_ptr + ((g * 2 + it % 2) * P) * 2
        tl.store(slots + j * 2, m)
        tl.store(slots + j * 2 + 1, s)
        tl.debug_barrier()
        tl.atomic_add(cnt_ptr + g, 1, sem="release")
        target = (it + 1) * P
        while tl.atomic_add(cnt_ptr + g, 0, sem="acquire") < target:
            pass
        pm = tl.load(slots + lanes * 2, cache_modifier=".cg")
        ps = tl.load(slots + lanes * 2 + 1, cache_modifier=".cg")
        mx = tl.max(pm, 0)
        mx_safe = tl.where(mx == -float("inf"), 0.0, mx)
        lse = mx_safe + tl.log(tl.sum(tl.where(pm == -float("inf"), 0.0, ps * tl.exp(pm - mx_safe)), 0))
        t = tl.load(t_ptr + row)
        live = t != ignore_index
        d = tl.exp(x - lse) - tl.where(cols == t, 1.0, 0.0)
        d = tl.where(live, d * scale, 0.0)
        tl.store(dx_ptr + base + cols, d.to(dx_ptr.dtype.element_ty), mask=cmask)
        if j == 0:
            xt = tl.load(x_ptr + base + tl.where(live, t, 0)).to(tl.float32)
            tl.store(loss_ptr + row, tl.where(live, lse - xt, 0.0))
        it += 1
    tl.debug_barrier()
    # leave: the last of the group resets its counters (all partners are past every wait)
    if tl.atomic_add(cnt_ptr + groups + g, 1, sem="acq_rel") == P - 1:
        tl.atomic_xchg(cnt_ptr + g, 0)
        tl.atomic_xchg(cnt_ptr + groups + g, 0)


def ce_coop(x, t, P, warps, programs, ignore_index=-100):
    """loss (mean over live rows) and dx for grad_output 1."""
    rows, C = x.shape
    CH = triton.next_power_of_2(triton.cdiv(C, P))
    groups = max(1, min(programs // P, rows))
    loss = torch.empty(rows, device=x.device, dtype=torch.float32)
    dx = torch.empty_like(x)
    slots = torch.empty(groups * 2 * P * 2, device=x.device, dtype=torch.float32)
    cnt = torch.zeros(2 * groups, device=x.device, dtype=torch.int32)
    live = (t != ignore_index).sum()
    scale = 1.0 / max(int(live), 1)   # the exploration syncs for it; the op reads it on the device
    ce_coop_kernel[(groups * P,)](x, t, loss, dx, slots, cnt, rows, C, groups, ignore_index, scale, P, CH,
                                  num_warps=warps)
    return loss.sum() * scale, dx, cnt


def check(x, t, P, warps, programs):
    xr = x.detach().float().requires_grad_()
    ref = F.cross_entropy(xr, t)
    ref.backward()
    loss, dx, cnt = ce_coop(x, t, P, warps, programs)
    err_l = abs(loss.item() - ref.item()) / abs(ref.item())
    err_g = ((dx.float() - xr.grad).norm() / xr.grad.norm()).item()
    return err_l, err_g, int(cnt.abs().sum())


def main():
    if not torch.cuda.is_available():   # the interpreter: P = 1 only (see the docstring)
        x = torch.randn(6, 100).to(torch.bfloat16)
        t = torch.randint(0, 100, (6,))
        t[2] = -100
        print("P=1:", check(x, t, 1, 4, 3))
        return
    import triton.testing
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    rows, C = 4096, 128256
    x = torch.randn(rows, C, device="cuda", dtype=torch.bfloat16)
    t = torch.randint(0, C, (rows,), device="cuda")
    print(torch.cuda.get_device_name(), flush=True)

    def fwd_bwd(fn):
        xr = x.detach().requires_grad_()
        loss = fn(xr, t)
        loss.backward()

    t_torch = triton.testing.do_bench(lambda: fwd_bwd(F.cross_entropy), warmup=25, rep=200, return_mode="median")
    print(f"torch fwd+bwd {t_torch:.4f} ms", flush=True)
    import triforge
    with triforge.use():
        t_tri = triton.testing.do_bench(lambda: fwd_bwd(F.cross_entropy), warmup=25, rep=200, return_mode="median")
    print(f"triforge (three passes) {t_tri:.4f} ms {t_torch / t_tri:.3f}x", flush=True)
    configs = [(8, 8, 2), (8, 16, 1), (4, 16, 1), (16, 4, 4), (16, 8, 2), (8, 8, 1), (16, 4, 2), (32, 4, 4)]
    for P, warps, per_sm in configs:
        programs = sms * per_sm
        try:
            e_l, e_g, left = check(x, t, P, warps, programs)
            ms = triton.testing.do_bench(lambda: ce_coop(x, t, P, warps, programs), warmup=10, rep=100,
                                         return_mode="median")
        except Exception as e:   # noqa: BLE001 -- resources
            print(f"  P={P} w{warps} {per_sm}/SM: {type(e).__name__}: {str(e)[:120]}", flush=True)
            continue
        ok = "ok" if e_l < 1e-3 and e_g < 1e-2 and left == 0 else "WRONG"
        print(f"  P={P} w{warps} {per_sm}/SM: {ms:.4f} ms {t_torch / ms:.3f}x torch, {t_tri / ms:.3f}x triforge; "
              f"loss err {e_l:.1e} grad err {e_g:.1e} counters left {left} {ok}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

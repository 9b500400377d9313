"""Exploration (GPU): do TMA (bulk tensor copy) reads beat plain loads for read-only
reductions? Issue 4 asks sum dim=-1 / sum all / sum dim=0 / amax of 16384x4096 bf16 in
<= 0.050 ms (2.68 TB/s of reads); the engine's plain 16-byte loads sit at 0.0504 /
0.0562 / 0.0598 / 0.0525 on the H100 (explore_read.py swept their grids, tiles and
stages). Here each program walks tiles of a host TensorDescriptor in a tl.range loop
that Triton pipelines as TMA copies into shared memory, STAGES deep:
  rows  sum dim=-1: a persistent program per row block, its column tiles in turn
  all   sum all: a persistent flat walk over all tiles, one partial a program + finish
  col   sum dim=0: programs = column tiles x row splits, partials (S, N) + finish
torch and the engine (triforge.use) are timed in the same run.
    python scripts/explore_tma_read.py > tma_read.txt
"""
import sys

import torch
import triton
import triton.language as tl
import triton.testing
from triton.tools.tensor_descriptor import TensorDescriptor

import triforge


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


@triton.jit
def tma_rows(desc, out_ptr, M, N: tl.constexpr, BR: tl.constexpr, BC: tl.constexpr, STAGES: tl.constexpr,
             MAX: tl.constexpr):
    NC: tl.constexpr = N // BC
    pid = tl.program_id(0)
    P = tl.num_programs(0)
    mine = tl.cdiv(tl.cdiv(M, BR) - pid, P)
    if MAX:
        acc = tl.full([BR, BC], float("-inf"), tl.float32)
    else:
        acc = tl.zeros([BR, BC], tl.float32)
    for i in tl.range(0, mine * NC, num_stages=STAGES):
        rb = pid + (i // NC) * P
        cc = i % NC
        x = desc.load([rb * BR, cc * BC]).to(tl.float32)
        if MAX:
            acc = tl.maximum(acc, x, propagate_nan=tl.PropagateNan.ALL)
        else:
            acc += x
        if cc == NC - 1:
            r = rb * BR + tl.arange(0, BR)
            if MAX:
                v = tl.max(acc, 1)
                acc = tl.full([BR, BC], float("-inf"), tl.float32)
            else:
                v = tl.sum(acc, 1)
                acc = tl.zeros([BR, BC], tl.float32)
            tl.store(out_ptr + r, v.to(out_ptr.dtype.element_ty), mask=r < M)


@triton.jit
def tma_all(desc, part_ptr, M, N: tl.constexpr, BR: tl.constexpr, BC: tl.constexpr, STAGES: tl.constexpr):
    NC: tl.constexpr = N // BC
    pid = tl.program_id(0)
    P = tl.num_programs(0)
    tiles = tl.cdiv(M, BR) * NC
    acc = tl.zeros([BR, BC], tl.float32)
    for t in tl.range(pid, tiles, P, num_stages=STAGES):
        acc += desc.load([(t // NC) * BR, (t % NC) * BC]).to(tl.float32)
    tl.store(part_ptr + pid, tl.sum(tl.sum(acc, 1), 0))


@triton.jit
def tma_all_contig(desc, part_ptr, M, N: tl.constexpr, BR: tl.constexpr, BC: tl.constexpr,
                   STAGES: tl.constexpr):
    """Each program a contiguous run of tiles."""
    NC: tl.constexpr = N // BC
    pid = tl.program_id(0)
    P = tl.num_programs(0)
    tiles = tl.cdiv(M, BR) * NC
    per = tl.cdiv(tiles, P)
    lo = pid * per
    hi = tl.minimum(lo + per, tiles)
    acc = tl.zeros([BR, BC], tl.float32)
    for t in tl.range(lo, hi, num_stages=STAGES):
        acc += desc.load([(t // NC) * BR, (t % NC) * BC]).to(tl.float32)
    tl.store(part_ptr + pid, tl.sum(tl.sum(acc, 1), 0))


@triton.jit
def finish_all(part_ptr, out_ptr, n, BLOCK: tl.constexpr):
    o = tl.arange(0, BLOCK)
    tl.store(out_ptr, tl.sum(tl.load(part_ptr + o, mask=o < n, other=0.0), 0).to(out_ptr.dtype.element_ty))


@triton.jit
def tma_col(desc, part_ptr, M, N: tl.constexpr, BR: tl.constexpr, BC: tl.constexpr, STAGES: tl.constexpr):
    NC: tl.constexpr = N // BC
    pid = tl.program_id(0)
    cc = pid % NC
    s = pid // NC
    S = tl.num_programs(0) // NC
    acc = tl.zeros([BR, BC], tl.float32)
    for rb in tl.range(s, tl.cdiv(M, BR), S, num_stages=STAGES):
        acc += desc.load([rb * BR, cc * BC]).to(tl.float32)
    tl.store(part_ptr + s * N + cc * BC + tl.arange(0, BC), tl.sum(acc, 0))


@triton.jit
def finish_col(part_ptr, out_ptr, S, N: tl.constexpr, BC: tl.constexpr):
    c = tl.program_id(0) * BC + tl.arange(0, BC)
    acc = tl.zeros([BC], tl.float32)
    for s in range(0, S):
        acc += tl.load(part_ptr + s * N + c)
    tl.store(out_ptr + c, acc.to(out_ptr.dtype.element_ty))


def main():
    quick = "quick" in sys.argv
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    print(torch.cuda.get_device_name(), sms, "SMs", flush=True)
    M, N = 16384, 4096
    x = torch.randn(M, N, device="cuda", dtype=torch.bfloat16)
    nbytes = x.numel() * 2

    def line(name, fn, t_torch, check):
        try:
            fn()
            err = check()
            if not err < 2e-2:
                print(f"  {name}: WRONG {err:.3g}", flush=True)
                return
            t = bench(fn)
        except Exception as e:   # noqa: BLE001 -- resources, compile limits
            print(f"  {name}: {type(e).__name__}: {str(e)[:120]}", flush=True)
            return
        print(f"  {name}: {t * 1e3:.1f} us {nbytes / t / 1e6:.0f} GB/s {t_torch / t:.3f}x", flush=True)

    tiles = [(32, 256, 8), (16, 256, 4), (64, 128, 8), (32, 128, 4)]
    stages_list = (3, 5)
    per_sm_list = (1, 3)
    if quick:
        tiles, stages_list, per_sm_list = tiles[:2], (4,), (2,)

    out = torch.empty(M, device="cuda", dtype=torch.bfloat16)
    for name, tfn, is_max in (("sum dim=-1", lambda: x.sum(-1), False), ("amax dim=-1", lambda: x.amax(-1), True)):
        ref = tfn().float()
        t_torch = bench(tfn)
        print(f"{name}: torch {t_torch * 1e3:.1f} us {nbytes / t_torch / 1e6:.0f} GB/s", flush=True)
        with triforge.use():
            line("engine", tfn, t_torch, lambda: 0.0)

        def err():
            return ((out.float() - ref).abs().max() / ref.abs().max()).item()
        for br, bc, w in tiles:
            desc = TensorDescriptor.from_tensor(x, [br, bc])
            for per_sm in per_sm_list:
                grid = (min(sms * per_sm, triton.cdiv(M, br)),)
                for st in stages_list:
                    line(f"tma rows [{br},{bc}] w{w} {per_sm}/SM s{st}",
                         lambda: tma_rows[grid](desc, out, M, N, br, bc, st, is_max, num_warps=w), t_torch, err)

    total = torch.empty((), device="cuda", dtype=torch.bfloat16)
    ref_all = x.double().sum()
    t_torch = bench(lambda: x.sum())
    print(f"sum all: torch {t_torch * 1e3:.1f} us", flush=True)
    with triforge.use():
        line("engine", lambda: x.sum(), t_torch, lambda: 0.0)
    for kern, kname in ((tma_all, "strided"), (tma_all_contig, "contig")):
        for br, bc, w in tiles:
            desc = TensorDescriptor.from_tensor(x, [br, bc])
            for per_sm in per_sm_list:
                G = sms * per_sm
                part = torch.empty(G, device="cuda", dtype=torch.float32)
                for st in stages_list:
                    def run():
                        kern[(G,)](desc, part, M, N, br, bc, st, num_warps=w)
                        finish_all[(1,)](part, total, G, triton.next_power_of_2(G))
                    line(f"tma all {kname} [{br},{bc}] w{w} {per_sm}/SM s{st}", run, t_torch,
                         lambda: abs(total.double() - ref_all).item() / (ref_all.abs().item() + 1e3))

    col = torch.empty(N, device="cuda", dtype=torch.bfloat16)
    ref0 = x.float().sum(0)
    t_torch = bench(lambda: x.sum(0))
    print(f"sum dim=0: torch {t_torch * 1e3:.1f} us", flush=True)
    with triforge.use():
        line("engine", lambda: x.sum(0), t_torch, lambda: 0.0)
    for br, bc, w in tiles:
        desc = TensorDescriptor.from_tensor(x, [br, bc])
        nc = N // bc
        for per_sm in per_sm_list:
            S = max(1, sms * per_sm // nc)
            part = torch.empty(S, N, device="cuda", dtype=torch.float32)
            for st in stages_list:
                def run():
                    tma_col[(S * nc,)](desc, part, M, N, br, bc, st, num_warps=w)
                    finish_col[(N // 256,)](part, col, S, N, 256)
                line(f"tma col [{br},{bc}] w{w} {per_sm}/SM s{st}", run, t_torch,
                     lambda: ((col.float() - ref0).abs().max() / ref0.abs().max()).item())


if __name__ == "__main__":
    main()

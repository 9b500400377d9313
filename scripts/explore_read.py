"""Exploration (GPU): how fast can a Triton kernel only read? Issue 4 asks sum dim=-1 / sum
all / sum dim=0 / amax of 16384x4096 bf16 in <= 0.050 ms (2.68 TB/s of reads); the engine
reached 0.0564 / 0.0620 / 0.0652 (2.38 TB/s at best) on the H100 at 8c76ed4, one program
per row (16384 programs of 8 KB each). Variants, torch and the engine in the same run:
  rows     BLOCK_A rows per program, one load each (no loop)
  persist  a persistent grid (programs per SM x SMs), each looping over its rows with
           tl.range(num_stages) so the next rows' loads are in flight
  flat     sum all: a persistent flat loop over 1-d blocks, partials summed by a second tiny
           kernel (timed together)
  *_contig each program a contiguous run of rows / elements (contig: only these)
    python scripts/explore_read.py [contig] > read.txt
"""
import sys

import torch
import triton
import triton.language as tl
import triton.testing

import triforge


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


@triton.jit
def rows_kernel(x_ptr, out_ptr, M, R: tl.constexpr, BA: tl.constexpr):
    r = tl.program_id(0) * BA + tl.arange(0, BA)
    x = tl.load(x_ptr + r[:, None] * R + tl.arange(0, R)[None, :], mask=(r < M)[:, None], other=0.0)
    tl.store(out_ptr + r, tl.sum(x.to(tl.float32), 1).to(out_ptr.dtype.element_ty), mask=r < M)


@triton.jit
def persist_kernel(x_ptr, out_ptr, M, R: tl.constexpr, BA: tl.constexpr, STAGES: tl.constexpr):
    step = tl.num_programs(0) * BA
    for r0 in tl.range(tl.program_id(0) * BA, M, step, num_stages=STAGES):
        r = r0 + tl.arange(0, BA)
        x = tl.load(x_ptr + r[:, None] * R + tl.arange(0, R)[None, :], mask=(r < M)[:, None], other=0.0)
        tl.store(out_ptr + r, tl.sum(x.to(tl.float32), 1).to(out_ptr.dtype.element_ty), mask=r < M)


@triton.jit
def flat_kernel(x_ptr, part_ptr, n, BLOCK: tl.constexpr, STAGES: tl.constexpr):
    acc = tl.zeros([BLOCK], tl.float32)
    step = tl.num_programs(0) * BLOCK
    for b in tl.range(tl.program_id(0) * BLOCK, n, step, num_stages=STAGES):
        o = b + tl.arange(0, BLOCK)
        acc += tl.load(x_ptr + o, mask=o < n, other=0.0).to(tl.float32)
    tl.store(part_ptr + tl.program_id(0), tl.sum(acc, 0))


@triton.jit
def flat_finish(part_ptr, out_ptr, n, BLOCK: tl.constexpr):
    o = tl.arange(0, BLOCK)
    tl.store(out_ptr, tl.sum(tl.load(part_ptr + o, mask=o < n, other=0.0), 0).to(out_ptr.dtype.element_ty))


@triton.jit
def rows_contig_kernel(x_ptr, out_ptr, M, per, R: tl.constexpr, BA: tl.constexpr, STAGES: tl.constexpr):
    """Each program a contiguous run of rows (DRAM pages stay open, as in a long-row pass)."""
    r_lo = tl.program_id(0) * per
    r_hi = tl.minimum(r_lo + per, M)
    for r0 in tl.range(r_lo, r_hi, BA, num_stages=STAGES):
        r = r0 + tl.arange(0, BA)
        x = tl.load(x_ptr + r[:, None] * R + tl.arange(0, R)[None, :], mask=(r < r_hi)[:, None], other=0.0)
        tl.store(out_ptr + r, tl.sum(x.to(tl.float32), 1).to(out_ptr.dtype.element_ty), mask=r < r_hi)


@triton.jit
def flat_contig_kernel(x_ptr, part_ptr, n, chunk, BLOCK: tl.constexpr, STAGES: tl.constexpr):
    lo = tl.program_id(0).to(tl.int64) * chunk
    hi = tl.minimum(lo + chunk, n)
    acc = tl.zeros([BLOCK], tl.float32)
    for b in tl.range(lo, hi, BLOCK, num_stages=STAGES):
        o = b + tl.arange(0, BLOCK)
        acc += tl.load(x_ptr + o, mask=o < hi, other=0.0).to(tl.float32)
    tl.store(part_ptr + tl.program_id(0), tl.sum(acc, 0))


@triton.jit
def col_contig_kernel(x_ptr, part_ptr, M, per, R: tl.constexpr, BA: tl.constexpr, STAGES: tl.constexpr):
    """sum dim=0: each program whole rows of a contiguous run, column partials [R]."""
    r_lo = tl.program_id(0) * per
    r_hi = tl.minimum(r_lo + per, M)
    acc = tl.zeros([BA, R], tl.float32)
    for r0 in tl.range(r_lo, r_hi, BA, num_stages=STAGES):
        r = r0 + tl.arange(0, BA)
        acc += tl.load(x_ptr + r[:, None] * R + tl.arange(0, R)[None, :], mask=(r < r_hi)[:, None],
                       other=0.0).to(tl.float32)
    tl.store(part_ptr + tl.program_id(0) * R + tl.arange(0, R), tl.sum(acc, 0))


@triton.jit
def col_finish(part_ptr, out_ptr, G, R: tl.constexpr, BC: tl.constexpr):
    c = tl.program_id(0) * BC + tl.arange(0, BC)
    acc = tl.zeros([BC], tl.float32)
    for g in range(0, G):
        acc += tl.load(part_ptr + g * R + c)
    tl.store(out_ptr + c, acc.to(out_ptr.dtype.element_ty))


def contig(sms, line, x, bench_torch):
    M, R = x.shape
    out = torch.empty(M, device="cuda", dtype=torch.bfloat16)
    ref = x.float().sum(1)
    t_torch = bench_torch(lambda: x.sum(-1))
    print(f"contig sum dim=-1: torch {t_torch * 1e3:.1f} us", flush=True)
    for per_sm in (1, 2, 4, 8):
        for ba, warps in ((1, 4), (2, 8), (4, 8), (4, 16)):
            for stages in (2, 3, 4):
                G = sms * per_sm
                per = triton.cdiv(M, G)
                line(f"rows_contig {per_sm}/SM BA={ba} w{warps} s{stages}",
                     lambda: rows_contig_kernel[(G,)](x, out, M, per, R, ba, stages, num_warps=warps), t_torch,
                     lambda: ((out.float() - ref).abs().max() / ref.abs().max()).item())
    flat = x.view(-1)
    n = flat.numel()
    total = torch.empty((), device="cuda", dtype=torch.bfloat16)
    ref_all = x.double().sum()
    t_torch = bench_torch(lambda: x.sum())
    print(f"contig sum all: torch {t_torch * 1e3:.1f} us", flush=True)
    for per_sm in (1, 2, 4, 8):
        for block, warps in ((4096, 4), (8192, 8), (16384, 16)):
            for stages in (2, 3, 4):
                G = sms * per_sm
                chunk = triton.cdiv(triton.cdiv(n, G), block) * block
                part = torch.empty(G, device="cuda", dtype=torch.float32)

                def run():
                    flat_contig_kernel[(G,)](flat, part, n, chunk, block, stages, num_warps=warps)
                    flat_finish[(1,)](part, total, G, triton.next_power_of_2(G))
                line(f"flat_contig {per_sm}/SM B={block} w{warps} s{stages}", run, t_torch,
                     lambda: abs(total.double() - ref_all).item() / (ref_all.abs().item() + 1e3))
    col = torch.empty(R, device="cuda", dtype=torch.bfloat16)
    ref0 = x.float().sum(0)
    t_torch = bench_torch(lambda: x.sum(0))
    print(f"contig sum dim=0: torch {t_torch * 1e3:.1f} us", flush=True)
    for per_sm in (1, 2, 4):
        for ba, warps in ((1, 8), (2, 8), (2, 16), (4, 16)):
            for stages in (2, 3):
                G = sms * per_sm
                per = triton.cdiv(M, G)
                part = torch.empty(G, R, device="cuda", dtype=torch.float32)

                def run():
                    col_contig_kernel[(G,)](x, part, M, per, R, ba, stages, num_warps=warps)
                    col_finish[(R // 256,)](part, col, G, R, 256)
                line(f"col_contig {per_sm}/SM BA={ba} w{warps} s{stages}", run, t_torch,
                     lambda: ((col.float() - ref0).abs().max() / ref0.abs().max()).item())


def main():
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    print(torch.cuda.get_device_name(), sms, "SMs", flush=True)
    M, R = 16384, 4096
    x = torch.randn(M, R, device="cuda", dtype=torch.bfloat16)
    nbytes = x.numel() * 2
    only_contig = "contig" in sys.argv
    ref = x.float().sum(1)
    out = torch.empty(M, device="cuda", dtype=torch.bfloat16)

    def line(name, fn, t_torch, check=None):
        try:
            fn()
            if check is not None:
                err = check()
                if err > 2e-2:
                    print(f"  {name}: WRONG {err:.3g}", flush=True)
                    return
            t = bench(fn)
        except Exception as e:   # noqa: BLE001 -- resources
            print(f"  {name}: {type(e).__name__}: {str(e)[:100]}", flush=True)
            return
        print(f"  {name}: {t * 1e3:.1f} us {nbytes / t / 1e6:.0f} GB/s {t_torch / t:.3f}x", flush=True)

    def row_err():
        return ((out.float() - ref).abs().max() / ref.abs().max()).item()

    if only_contig:
        contig(sms, line, x, bench)
        return
    t_torch = bench(lambda: x.sum(-1))
    print(f"sum dim=-1: torch {t_torch * 1e3:.1f} us {nbytes / t_torch / 1e6:.0f} GB/s", flush=True)
    with triforge.use():
        line("engine", lambda: x.sum(-1), t_torch)
    for ba in (1, 2, 4, 8):
        for warps in (4, 8, 16):
            if ba * R // (32 * warps) < 8:
                continue
            line(f"rows BA={ba} w{warps}", lambda: rows_kernel[(triton.cdiv(M, ba),)](x, out, M, R, ba, num_warps=warps),
                 t_torch, row_err)
    for per_sm in (2, 4, 8, 16):
        for ba, warps in ((1, 4), (2, 8), (4, 8)):
            for stages in (2, 3, 4):
                grid = (min(sms * per_sm, triton.cdiv(M, ba)),)
                line(f"persist {per_sm}/SM BA={ba} w{warps} s{stages}",
                     lambda: persist_kernel[grid](x, out, M, R, ba, stages, num_warps=warps), t_torch, row_err)

    flat = x.view(-1)
    n = flat.numel()
    total = torch.empty((), device="cuda", dtype=torch.bfloat16)
    ref_all = x.double().sum()
    t_torch = bench(lambda: x.sum())
    print(f"sum all: torch {t_torch * 1e3:.1f} us {nbytes / t_torch / 1e6:.0f} GB/s", flush=True)
    with triforge.use():
        line("engine", lambda: x.sum(), t_torch)
    for per_sm in (2, 4, 8, 16):
        for block, warps in ((4096, 4), (8192, 8), (16384, 8), (16384, 16)):
            for stages in (2, 3, 4):
                progs = sms * per_sm
                part = torch.empty(progs, device="cuda", dtype=torch.float32)

                def run():
                    flat_kernel[(progs,)](flat, part, n, block, stages, num_warps=warps)
                    flat_finish[(1,)](part, total, progs, triton.next_power_of_2(progs))
                line(f"flat {per_sm}/SM B={block} w{warps} s{stages}", run, t_torch,
                     lambda: abs(total.double() - ref_all).item() / (ref_all.abs().item() + 1e3))

    t_torch = bench(lambda: x.sum(0))
    print(f"sum dim=0: torch {t_torch * 1e3:.1f} us {nbytes / t_torch / 1e6:.0f} GB/s", flush=True)
    with triforge.use():
        line("engine", lambda: x.sum(0), t_torch)
    t_torch = bench(lambda: x.amax(-1))
    print(f"amax dim=-1: torch {t_torch * 1e3:.1f} us", flush=True)
    with triforge.use():
        line("engine", lambda: x.amax(-1), t_torch)


if __name__ == "__main__":
    main()

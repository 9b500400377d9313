"""Exploration (GPU): long rows that need two reads (softmax, layer_norm forward) at
1024 x 131072 bf16 (256 MB). Issue 4 asks >= 80% of the copy ceiling; at 31a21a7 on an
H200 one program a row (1024 programs, all resident) reached 55.6% (softmax) and 47.1%
(layer_norm): every program's second read of its 256 KB row misses L2, since the
resident rows hold 256 MB. Here a persistent grid (k programs an SM) walks the rows, so
the rows being read at once hold k x SMs x 256 KB (33 MB at k = 1) and the second read
can come from L2. Variants:
  k       programs per SM
  w       warps per program
  C       chunk (elements a step)
  rev     the second pass walks the row backwards (the most recent chunks first)
  hint    first-pass loads evict_last, second-pass loads and stores evict_first
  lane    softmax's first pass: per-lane online max/sum (two exps an element) instead
          of a chunk max then one exp an element
  coop    one program a piece of L columns, kept in registers; the row's S programs
          exchange partials through a workspace and wait on an arrival counter (tickets
          taken in start order, so no piece waits on one that cannot start): x read once
torch and triforge (triforge.use) in the same run; each variant checked against torch.
    python scripts/explore_long_rows.py [quick] [coop [small]] > long_rows.txt

Outcome (H200, 31a21a7; copy of x 129.4 us = the ceiling at this size; triforge 227.6 /
268.5 us = 56.9% / 48.1%; sweeps-NVIDIA_H200/long-rows-*-at-31a21a7.txt):
- persist: best 215.4 us softmax (60.1%), 213.8 us layer_norm (60.6%), k = 2 programs an
  SM; k = 1 is latency-bound (25-52%), and at k = 2 the resident rows (67 MB) outgrow L2
  again. Hints and a backward second pass help a little, not enough.
- coop: best 207.5 us softmax (62.4%, L8192 w8) and 237.5 us layer_norm (54.4%); smaller
  pieces are slower (L2048: 34%): waiting for the row's pieces costs more than the
  second read saved. Neither reaches issue 4's 80%; not served (the coop kernel also
  cannot run under the interpreter, whose programs run one after another).
"""
import itertools
import sys

import torch
import triton
import triton.language as tl
import triton.testing

try:
    import triforge
except RuntimeError:   # compiled on a CPU machine (no interpreter wanted)
    triforge = None


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


@triton.jit
def _ld(p, mask, other, HINT: tl.constexpr, FIRST: tl.constexpr):
    if HINT:
        if FIRST:
            x = tl.load(p, mask=mask, other=other, eviction_policy="evict_last")
        else:
            x = tl.load(p, mask=mask, other=other, eviction_policy="evict_first")
    else:
        x = tl.load(p, mask=mask, other=other)
    return x.to(tl.float32)


@triton.jit
def _st(p, v, mask, HINT: tl.constexpr):
    if HINT:
        tl.store(p, v, mask=mask, eviction_policy="evict_first")
    else:
        tl.store(p, v, mask=mask)


@triton.jit
def softmax_persist(x_ptr, y_ptr, R, N, C: tl.constexpr, REV: tl.constexpr, HINT: tl.constexpr,
                    LANE: tl.constexpr):
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N   # (134M elements: int32 holds it)
        if LANE:
            m = tl.full([C], float("-inf"), tl.float32)
            s = tl.zeros([C], tl.float32)
            for start in range(0, N, C):
                c = start + cols
                x = _ld(x_ptr + base + c, c < N, float("-inf"), HINT, True)
                mn = tl.maximum(m, x)
                s = tl.where(mn == float("-inf"), 0.0, s * tl.exp(m - mn) + tl.exp(x - mn))
                m = mn
            row_max = tl.max(m, 0)
            total = tl.sum(tl.where(m == float("-inf"), 0.0, s * tl.exp(m - row_max)), 0)
        else:
            M = float("-inf")
            s = tl.zeros([C], tl.float32)
            for start in range(0, N, C):
                c = start + cols
                x = _ld(x_ptr + base + c, c < N, float("-inf"), HINT, True)
                Mn = tl.maximum(M, tl.max(x, 0))
                s = s * tl.exp(M - Mn) + tl.exp(x - Mn)
                M = Mn
            row_max = M
            total = tl.sum(s, 0)
        inv = 1.0 / total
        for i in range(0, nch):
            if REV:
                start = (nch - 1 - i) * C
            else:
                start = i * C
            c = start + cols
            x = _ld(x_ptr + base + c, c < N, float("-inf"), HINT, False)
            _st(y_ptr + base + c, (tl.exp(x - row_max) * inv).to(y_ptr.dtype.element_ty), c < N, HINT)


@triton.jit
def layer_norm_persist(x_ptr, w_ptr, b_ptr, y_ptr, R, N, eps, C: tl.constexpr, REV: tl.constexpr,
                       HINT: tl.constexpr):
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N   # (134M elements: int32 holds it)
        # shifted sums (shift = the row's first element) keep E[x^2] - E[x]^2 from cancelling
        k = tl.load(x_ptr + base).to(tl.float32)
        s1 = tl.zeros([C], tl.float32)
        s2 = tl.zeros([C], tl.float32)
        for start in range(0, N, C):
            c = start + cols
            d = tl.where(c < N, _ld(x_ptr + base + c, c < N, 0.0, HINT, True) - k, 0.0)
            s1 += d
            s2 += d * d
        t1 = tl.sum(s1, 0) / N
        var = tl.maximum(tl.sum(s2, 0) / N - t1 * t1, 0.0)
        mean = k + t1
        rstd = 1.0 / tl.sqrt(var + eps)
        for i in range(0, nch):
            if REV:
                start = (nch - 1 - i) * C
            else:
                start = i * C
            c = start + cols
            msk = c < N
            x = _ld(x_ptr + base + c, msk, 0.0, HINT, False)
            w = tl.load(w_ptr + c, mask=msk, other=0.0).to(tl.float32)
            b = tl.load(b_ptr + c, mask=msk, other=0.0).to(tl.float32)
            _st(y_ptr + base + c, ((x - mean) * rstd * w + b).to(y_ptr.dtype.element_ty), msk, HINT)


@triton.jit
def _ticket(tk_ptr, S):
    """(row, piece) of this program in the order programs start, so every piece a program
    waits for has started or will start once a slot frees (no reliance on launch order);
    the last ticket's holder sets the counter back to zero."""
    t = tl.atomic_add(tk_ptr, 1)
    if t == tl.num_programs(0) - 1:
        tl.atomic_xchg(tk_ptr, 0)
    return t // S, t % S


@triton.jit
def _wait_all(cnt_ptr, S):
    """Count this piece in, then wait until the row's S pieces have published."""
    tl.debug_barrier()   # every thread's partial stores before the release
    tl.atomic_add(cnt_ptr, 1, sem="release")
    while tl.atomic_add(cnt_ptr, 0, sem="acquire") < S:
        pass


@triton.jit
def _depart(cnt_ptr, S):
    if tl.atomic_add(cnt_ptr, 1) == 2 * S - 1:
        tl.atomic_xchg(cnt_ptr, 0)


@triton.jit
def softmax_coop(x_ptr, y_ptr, part_ptr, cnt_ptr, tk_ptr, N, S, L: tl.constexpr, SP: tl.constexpr):
    """A row of S pieces of L columns, one program a piece; the piece stays in registers
    while the row's programs exchange (max, sum) through part: x is read once."""
    row, s = _ticket(tk_ptr, S)
    c = s * L + tl.arange(0, L)
    mask = c < N
    x = tl.load(x_ptr + row * N + c, mask=mask, other=float("-inf")).to(tl.float32)
    m = tl.max(x, 0)
    e = tl.exp(x - m)
    tl.store(part_ptr + (row * S + s) * 2, m)
    tl.store(part_ptr + (row * S + s) * 2 + 1, tl.sum(e, 0))
    _wait_all(cnt_ptr + row, S)
    k = tl.arange(0, SP)
    pm = tl.load(part_ptr + (row * S + k) * 2, mask=k < S, other=float("-inf"), cache_modifier=".cg")
    ps = tl.load(part_ptr + (row * S + k) * 2 + 1, mask=k < S, other=0.0, cache_modifier=".cg")
    M = tl.max(pm, 0)
    T = tl.sum(ps * tl.exp(pm - M), 0)
    tl.store(y_ptr + row * N + c, (e * (tl.exp(m - M) / T)).to(y_ptr.dtype.element_ty), mask=mask)
    _depart(cnt_ptr + row, S)


@triton.jit
def layer_norm_coop(x_ptr, w_ptr, b_ptr, y_ptr, part_ptr, cnt_ptr, tk_ptr, N, S, eps, L: tl.constexpr,
                    SP: tl.constexpr):
    row, s = _ticket(tk_ptr, S)
    c = s * L + tl.arange(0, L)
    mask = c < N
    x = tl.load(x_ptr + row * N + c, mask=mask, other=0.0).to(tl.float32)
    n = tl.minimum(N - s * L, L).to(tl.float32)
    mu = tl.sum(x, 0) / n
    d = tl.where(mask, x - mu, 0.0)
    tl.store(part_ptr + (row * S + s) * 3, mu)
    tl.store(part_ptr + (row * S + s) * 3 + 1, tl.sum(d * d, 0))
    tl.store(part_ptr + (row * S + s) * 3 + 2, n)
    _wait_all(cnt_ptr + row, S)
    k = tl.arange(0, SP)
    pmu = tl.load(part_ptr + (row * S + k) * 3, mask=k < S, other=0.0, cache_modifier=".cg")
    pm2 = tl.load(part_ptr + (row * S + k) * 3 + 1, mask=k < S, other=0.0, cache_modifier=".cg")
    pn = tl.load(part_ptr + (row * S + k) * 3 + 2, mask=k < S, other=0.0, cache_modifier=".cg")
    mean = tl.sum(pn * pmu, 0) / N
    dm = pmu - mean
    var = tl.sum(pm2 + pn * dm * dm, 0) / N
    rstd = 1.0 / tl.sqrt(var + eps)
    w = tl.load(w_ptr + c, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(b_ptr + c, mask=mask, other=0.0).to(tl.float32)
    tl.store(y_ptr + row * N + c, ((x - mean) * rstd * w + b).to(y_ptr.dtype.element_ty), mask=mask)
    _depart(cnt_ptr + row, S)


COOP = ([(8192, 8), (8192, 4), (4096, 8), (4096, 4), (2048, 4), (2048, 2)] if "small" in sys.argv
        else [(8192, 8), (16384, 16), (16384, 8), (32768, 16), (32768, 32), (8192, 4)])   # (L, warps)


def setup():
    """(SMs, R, N, x, w, b, y, line) at 1024 x 131072 bf16; line(name, fn, t_torch, ref,
    tol) checks and times one variant against this size's copy ceiling (timed_line)."""
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    print(torch.cuda.get_device_name(), sms, "SMs", flush=True)
    R, N = 1024, 131072
    x = torch.randn(R, N, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(N, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(N, device="cuda", dtype=torch.bfloat16)
    y = torch.empty_like(x)
    moved = 2 * x.numel() * 2
    t_copy = bench(lambda: y.copy_(x))
    ceiling = moved / t_copy / 1e6
    print(f"copy of x: {t_copy * 1e3:.1f} us {ceiling:.0f} GB/s (this size's ceiling)", flush=True)

    def line(name, fn, t_torch, ref, tol):
        timed_line(name, fn, y, moved, ceiling, t_torch, ref, tol)
    return sms, R, N, x, w, b, y, line


def torch_and_triforge(name, fn, ref, line):
    """torch's time for fn (printed), then triforge's line; returns torch's time."""
    t_torch = bench(fn)
    print(f"{name}: torch {t_torch * 1e3:.1f} us", flush=True)
    with triforge.use():
        line("triforge", fn, t_torch, ref, 2e-2)
    return t_torch


def timed_line(name, fn, y, moved, ceiling, t_torch, ref, tol):
    """One variant: run into a NaN-poisoned y, checked against ref, then timed; prints
    time, GB/s, % of the ceiling and x torch (or why not)."""
    try:
        y.fill_(float("nan"))
        res = fn()
        out = res if isinstance(res, torch.Tensor) else y
        err = ((out.float() - ref).abs().max() / ref.abs().max()).item()
        if not err < tol:
            print(f"  {name}: WRONG {err:.3g}", flush=True)
            return
        t = bench(fn)
    except Exception as e:   # noqa: BLE001 -- resources, compile limits
        print(f"  {name}: {type(e).__name__}: {str(e)[:120]}", flush=True)
        return
    gbs = moved / t / 1e6
    print(f"  {name}: {t * 1e3:.1f} us {gbs:.0f} GB/s {100 * gbs / ceiling:.1f}% {t_torch / t:.3f}x", flush=True)


def variants(quick):
    ks, ws, cs = (1, 2), (8, 16), (4096, 8192)
    if quick:
        ks, ws, cs = (1,), (8,), (4096,)
    return list(itertools.product(ks, ws, cs, (False, True), (False, True)))


def main():
    quick = "quick" in sys.argv
    sms, R, N, x, w, b, y, line = setup()
    ref = torch.softmax(x.float(), -1)
    t_torch = torch_and_triforge(f"softmax {R}x{N}", lambda: torch.softmax(x, -1), ref, line)
    for k, wp, c, rev, hint in variants(quick) if "coop" not in sys.argv else []:
        for lane in (False, True):
            grid = (min(R, sms * k),)
            line(f"persist k{k} w{wp} C{c} rev{int(rev)} hint{int(hint)} lane{int(lane)}",
                 lambda: softmax_persist[grid](x, y, R, N, c, rev, hint, lane, num_warps=wp), t_torch, ref, 2e-2)

    cnt = torch.zeros(R + 1, device="cuda", dtype=torch.int32)
    tk = cnt[R:]
    part = torch.empty(R * 128 * 3, device="cuda", dtype=torch.float32)
    for L, wp in COOP:
        S = triton.cdiv(N, L)
        line(f"coop L{L} w{wp} S{S}",
             lambda: softmax_coop[(R * S,)](x, y, part, cnt, tk, N, S, L, triton.next_power_of_2(S), num_warps=wp),
             t_torch, ref, 2e-2)
    print("  counters left at zero:", bool((cnt == 0).all()), flush=True)

    ref = torch.nn.functional.layer_norm(x.float(), (N,), w.float(), b.float())
    t_torch = torch_and_triforge(f"layer_norm {R}x{N}", lambda: torch.nn.functional.layer_norm(x, (N,), w, b), ref,
                                 line)
    for k, wp, c, rev, hint in variants(quick) if "coop" not in sys.argv else []:
        grid = (min(R, sms * k),)
        line(f"persist k{k} w{wp} C{c} rev{int(rev)} hint{int(hint)}",
             lambda: layer_norm_persist[grid](x, w, b, y, R, N, 1e-5, c, rev, hint, num_warps=wp), t_torch, ref,
             2e-2)
    for L, wp in COOP:
        S = triton.cdiv(N, L)
        line(f"coop L{L} w{wp} S{S}",
             lambda: layer_norm_coop[(R * S,)](x, w, b, y, part, cnt, tk, N, S, 1e-5, L, triton.next_power_of_2(S),
                                               num_warps=wp), t_torch, ref, 2e-2)
    print("  counters left at zero:", bool((cnt == 0).all()), flush=True)


if __name__ == "__main__":
    main()

"""Exploration (GPU): the persistent row walk of explore_long_rows.py, with its loads
kept in flight. There, one program an SM (k = 1, 33 MB of rows resident, so the second
read can come from L2) was latency-bound at 25-52% of the copy ceiling: each step's load
was waited for before the next was issued. Here the walk keeps the next chunk's load in
flight while the current one is reduced:
  pipe=pref   the next chunk is loaded into registers before the current one is used
  pipe=sN     tl.range(num_stages=N): Triton's pipeliner stages the loads (cp.async)
  pipe=none   as explore_long_rows.py
Fixed from that sweep's best: first-pass loads evict_last, second-pass loads and stores
evict_first, the second pass walks the row backwards, softmax's first pass keeps a
per-lane online max/sum. 1024 x 131072 bf16 (256 MB); torch and triforge in the same run.
    python scripts/explore_long_rows_pipe.py [quick | round2] > long_rows_pipe.txt
"""
import itertools
import sys

import torch
import triton
import triton.language as tl

from explore_long_rows import _ld, _st, bench, setup, timed_line, torch_and_triforge

try:
    import triforge
except RuntimeError:
    triforge = None


@triton.jit
def _sm_first(x_ptr, base, N, cols, C: tl.constexpr, PIPE: tl.constexpr):
    m = tl.full([C], float("-inf"), tl.float32)
    s = tl.zeros([C], tl.float32)
    if PIPE == 1:
        nxt = _ld(x_ptr + base + cols, cols < N, float("-inf"), True, True)
        for start in range(0, N, C):
            x = nxt
            c = start + C + cols
            nxt = _ld(x_ptr + base + c, c < N, float("-inf"), True, True)
            mn = tl.maximum(m, x)
            s = tl.where(mn == float("-inf"), 0.0, s * tl.exp(m - mn) + tl.exp(x - mn))
            m = mn
    else:
        for start in tl.range(0, N, C, num_stages=PIPE):
            c = start + cols
            x = _ld(x_ptr + base + c, c < N, float("-inf"), True, True)
            mn = tl.maximum(m, x)
            s = tl.where(mn == float("-inf"), 0.0, s * tl.exp(m - mn) + tl.exp(x - mn))
            m = mn
    row_max = tl.max(m, 0)
    total = tl.sum(tl.where(m == float("-inf"), 0.0, s * tl.exp(m - row_max)), 0)
    return row_max, total


@triton.jit
def softmax_pipe(x_ptr, y_ptr, R, N, C: tl.constexpr, PIPE: tl.constexpr):
    """PIPE: 1 = register prefetch, 0 = none, >= 2 = tl.range stages."""
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N
        row_max, total = _sm_first(x_ptr, base, N, cols, C, PIPE)
        inv = 1.0 / total
        if PIPE == 1:
            c = (nch - 1) * C + cols
            nxt = _ld(x_ptr + base + c, c < N, float("-inf"), True, False)
            for i in range(0, nch):
                x = nxt
                cc = (nch - 1 - i) * C + cols
                c = cc - C
                nxt = _ld(x_ptr + base + c, (c >= 0) & (c < N), float("-inf"), True, False)
                _st(y_ptr + base + cc, (tl.exp(x - row_max) * inv).to(y_ptr.dtype.element_ty), cc < N, True)
        else:
            for i in tl.range(0, nch, num_stages=PIPE):
                c = (nch - 1 - i) * C + cols
                x = _ld(x_ptr + base + c, c < N, float("-inf"), True, False)
                _st(y_ptr + base + c, (tl.exp(x - row_max) * inv).to(y_ptr.dtype.element_ty), c < N, True)


@triton.jit
def layer_norm_pipe(x_ptr, w_ptr, b_ptr, y_ptr, R, N, eps, C: tl.constexpr, PIPE: tl.constexpr):
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N
        k = tl.load(x_ptr + base).to(tl.float32)
        s1 = tl.zeros([C], tl.float32)
        s2 = tl.zeros([C], tl.float32)
        if PIPE == 1:
            nxt = _ld(x_ptr + base + cols, cols < N, 0.0, True, True)
            for start in range(0, N, C):
                c = start + cols
                x = nxt
                cn = c + C
                nxt = _ld(x_ptr + base + cn, cn < N, 0.0, True, True)
                d = tl.where(c < N, x - k, 0.0)
                s1 += d
                s2 += d * d
        else:
            for start in tl.range(0, N, C, num_stages=PIPE):
                c = start + cols
                d = tl.where(c < N, _ld(x_ptr + base + c, c < N, 0.0, True, True) - k, 0.0)
                s1 += d
                s2 += d * d
        t1 = tl.sum(s1, 0) / N
        var = tl.maximum(tl.sum(s2, 0) / N - t1 * t1, 0.0)
        mean = k + t1
        rstd = 1.0 / tl.sqrt(var + eps)
        if PIPE == 1:
            c = (nch - 1) * C + cols
            nxt = _ld(x_ptr + base + c, c < N, 0.0, True, False)
            for i in range(0, nch):
                x = nxt
                cc = (nch - 1 - i) * C + cols
                c = cc - C
                nxt = _ld(x_ptr + base + c, (c >= 0) & (c < N), 0.0, True, False)
                msk = cc < N
                w = tl.load(w_ptr + cc, mask=msk, other=0.0).to(tl.float32)
                b = tl.load(b_ptr + cc, mask=msk, other=0.0).to(tl.float32)
                _st(y_ptr + base + cc, ((x - mean) * rstd * w + b).to(y_ptr.dtype.element_ty), msk, True)
        else:
            for i in tl.range(0, nch, num_stages=PIPE):
                c = (nch - 1 - i) * C + cols
                msk = c < N
                x = _ld(x_ptr + base + c, msk, 0.0, True, False)
                w = tl.load(w_ptr + c, mask=msk, other=0.0).to(tl.float32)
                b = tl.load(b_ptr + c, mask=msk, other=0.0).to(tl.float32)
                _st(y_ptr + base + c, ((x - mean) * rstd * w + b).to(y_ptr.dtype.element_ty), msk, True)


def variants(quick):
    ks, ws, cs, pipes = (1, 2), (8, 16, 32), (4096, 8192, 16384), (0, 1, 3)
    if quick:
        ks, ws, cs, pipes = (1,), (16,), (8192,), (0, 1)
    return [v for v in itertools.product(ks, ws, cs, pipes) if v[2] // (32 * v[1]) >= 8]


def main():
    quick = "quick" in sys.argv
    sms, R, N, x, w, b, y, line = setup()
    ref = torch.softmax(x.float(), -1)
    t_torch = torch_and_triforge(f"softmax {R}x{N}", lambda: torch.softmax(x, -1), ref, line)
    for k, wp, c, pipe in variants(quick):
        grid = (min(R, sms * k),)
        line(f"pipe k{k} w{wp} C{c} pipe{pipe}",
             lambda: softmax_pipe[grid](x, y, R, N, c, pipe, num_warps=wp), t_torch, ref, 2e-2)

    ref = torch.nn.functional.layer_norm(x.float(), (N,), w.float(), b.float())
    t_torch = torch_and_triforge(f"layer_norm {R}x{N}", lambda: torch.nn.functional.layer_norm(x, (N,), w, b), ref,
                                 line)
    for k, wp, c, pipe in variants(quick):
        grid = (min(R, sms * k),)
        line(f"pipe k{k} w{wp} C{c} pipe{pipe}",
             lambda: layer_norm_pipe[grid](x, w, b, y, R, N, 1e-5, c, pipe, num_warps=wp), t_torch, ref, 2e-2)


if __name__ == "__main__" and "round2" not in sys.argv:
    main()


# ---- round 2: the row head held in registers across the two passes ----------------------
# Round 1 (H200, d3693e4): best softmax 185.9 us (69.6%, k1-2 w32 C16384 pref), layer_norm
# 186.0 us (69.5%, k1 w32 C16384): 768 MB / 186 us = 4.13 TB/s, i.e. the second read comes
# from DRAM almost entirely (the resident rows, 33 MB, plus the writes outgrow L2). Holding
# the first H columns in registers leaves (N - H) to read again: 2.5 units of traffic at H =
# N/2 (80% with no L2 hit at all).
@triton.jit
def softmax_hold(x_ptr, y_ptr, R, N, C: tl.constexpr, H: tl.constexpr):
    cols = tl.arange(0, C)
    hc = tl.arange(0, H)
    nrest = tl.cdiv(N - H, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N
        xh = tl.load(x_ptr + base + hc, mask=hc < N, other=float("-inf"), eviction_policy="evict_first")
        m = tl.full([C], float("-inf"), tl.float32)
        s = tl.zeros([C], tl.float32)
        c = H + cols
        nxt = _ld(x_ptr + base + c, c < N, float("-inf"), True, True)
        for i in range(0, nrest):
            x = nxt
            c = H + (i + 1) * C + cols
            nxt = _ld(x_ptr + base + c, c < N, float("-inf"), True, True)
            mn = tl.maximum(m, x)
            s = tl.where(mn == float("-inf"), 0.0, s * tl.exp(m - mn) + tl.exp(x - mn))
            m = mn
        mh = tl.max(xh, 0).to(tl.float32)
        row_max = tl.maximum(tl.max(m, 0), mh)
        total = tl.sum(tl.exp(xh.to(tl.float32) - row_max), 0)
        total += tl.sum(tl.where(m == float("-inf"), 0.0, s * tl.exp(m - row_max)), 0)
        inv = 1.0 / total
        c = H + (nrest - 1) * C + cols
        nxt = _ld(x_ptr + base + c, (c >= H) & (c < N), float("-inf"), True, False)
        for i in range(0, nrest):
            x = nxt
            cc = H + (nrest - 1 - i) * C + cols
            c = cc - C
            nxt = _ld(x_ptr + base + c, (c >= H) & (c < N), float("-inf"), True, False)
            _st(y_ptr + base + cc, (tl.exp(x - row_max) * inv).to(y_ptr.dtype.element_ty), cc < N, True)
        _st(y_ptr + base + hc, (tl.exp(xh.to(tl.float32) - row_max) * inv).to(y_ptr.dtype.element_ty), hc < N, True)


def round2():
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    print(torch.cuda.get_device_name(), sms, "SMs (round 2: held head)", flush=True)
    for R, N in ((1024, 131072), (8192, 16384), (256, 524288)):
        x = torch.randn(R, N, device="cuda", dtype=torch.bfloat16)
        y = torch.empty_like(x)
        moved = 2 * x.numel() * 2
        t_copy = bench(lambda: y.copy_(x))
        ceiling = moved / t_copy / 1e6
        ref = torch.softmax(x.float(), -1)
        t_torch = bench(lambda: torch.softmax(x, -1))
        print(f"softmax {R}x{N}: copy {t_copy * 1e3:.1f} us, torch {t_torch * 1e3:.1f} us", flush=True)

        def line(name, fn):
            timed_line(name, fn, y, moved, ceiling, t_torch, ref, 2e-2)

        with triforge.use():
            line("triforge", lambda: torch.softmax(x, -1))
        for wp, c in ((32, 16384), (32, 8192), (16, 8192)):
            g = (min(R, sms),)
            line(f"pipe k1 w{wp} C{c}", lambda: softmax_pipe[g](x, y, R, N, c, 1, num_warps=wp))
            for h in (16384, 32768, 65536):
                if h < N:
                    line(f"hold k1 w{wp} C{c} H{h}", lambda: softmax_hold[g](x, y, R, N, c, h, num_warps=wp))


if __name__ == "__main__" and "round2" in sys.argv:
    round2()

"""Exploration (GPU): can a persistent, pipelined row kernel read 16384x4096 bf16 rows
faster than the engine's one-row-per-program grid? Times standalone sum/max row
kernels against torch and the engine in one run.
    python scripts/explore_rows.py > rows.txt

H100 at 05b8f8a: no. Every variant (1-16 programs per SM, 2-8 warps, 1-2 rows a step,
pipeline stages 1-4, a hand-written prefetch) read 2.30-2.39 TB/s (sum 0.0562-0.0585
ms, amax 0.0561-0.0587); the engine 0.0565 / 0.0593, torch 0.0588 / 0.0645. A plain
read of 128 MB stays near 2.4 TB/s on that card whatever the grid.
"""
import torch
import triton
import triton.language as tl
import triton.testing

import triforge


@triton.jit
def _rows(x_ptr, out_ptr, M, N, BLOCK: tl.constexpr, ROWS: tl.constexpr, STAGES: tl.constexpr,
          MAX: tl.constexpr, MANUAL: tl.constexpr):
    cols = tl.arange(0, BLOCK)
    cmask = (cols < N)[None, :]
    n_tiles = tl.cdiv(M, ROWS)
    if MANUAL:   # next tile's loads issued by hand before this tile's reduction
        t = tl.program_id(0)
        rows = t * ROWS + tl.arange(0, ROWS)
        x_n = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=(rows < M)[:, None] & cmask, other=0)
        for t in range(tl.program_id(0), n_tiles, tl.num_programs(0)):
            x = x_n
            rows_c = rows
            rows = (t + tl.num_programs(0)) * ROWS + tl.arange(0, ROWS)
            x_n = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=(rows < M)[:, None] & cmask, other=0)
            if MAX:
                v = tl.max(x.to(tl.float32), 1)
            else:
                v = tl.sum(x.to(tl.float32), 1)
            tl.store(out_ptr + rows_c, v, mask=rows_c < M)
    else:
        for t in tl.range(tl.program_id(0), n_tiles, tl.num_programs(0), num_stages=STAGES):
            rows = t * ROWS + tl.arange(0, ROWS)
            x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=(rows < M)[:, None] & cmask, other=0)
            if MAX:
                v = tl.max(x.to(tl.float32), 1)
            else:
                v = tl.sum(x.to(tl.float32), 1)
            tl.store(out_ptr + rows, v, mask=rows < M)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=50, return_mode="median")


def main():
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    M, N = x.shape
    out = torch.empty(M, device="cuda", dtype=torch.float32)
    for mx in (False, True):
        name = "amax" if mx else "sum"
        ref = x.float().amax(-1) if mx else x.float().sum(-1)
        t_torch = bench(lambda: x.amax(-1) if mx else x.sum(-1))
        with triforge.use():
            t_eng = bench(lambda: x.amax(-1) if mx else x.sum(-1))
        print(f"{name} dim=-1 16384x4096: torch {t_torch:.4f} engine {t_eng:.4f}", flush=True)
        # (programs per SM, warps, ROWS, STAGES, MANUAL)
        for per, w, r, st, man in [(4, 4, 1, 1, False), (8, 4, 1, 1, False), (8, 4, 1, 2, False), (8, 4, 1, 3, False),
                                   (8, 4, 1, 4, False), (4, 4, 1, 3, False), (16, 4, 1, 3, False), (4, 8, 2, 3, False),
                                   (8, 8, 2, 2, False), (8, 4, 1, 1, True), (16, 4, 1, 1, True), (4, 8, 1, 1, True),
                                   (8, 8, 2, 1, True), (4, 8, 2, 1, True), (16, 2, 1, 3, False), (16, 2, 1, 1, True)]:
            grid = (min(sms * per, triton.cdiv(M, r)),)
            try:
                f = lambda: _rows[grid](x, out, M, N, 4096, r, st, mx, man, num_warps=w)  # noqa: E731
                f()
                ok = torch.allclose(out, ref, rtol=1e-3, atol=1e-2)
                t = bench(f)
                print(f"  per_sm {per} warps {w} rows {r} stages {st} manual {man}: {t:.4f} "
                      f"({t_torch / t:.2f}x torch, {2 * x.numel() / t / 1e6:.0f} GB/s) {'ok' if ok else 'WRONG'}",
                      flush=True)
            except Exception as e:   # noqa: BLE001 -- resources
                print(f"  per_sm {per} warps {w} rows {r} stages {st} manual {man}: {type(e).__name__} {e}"[:200])


if __name__ == "__main__":
    main()

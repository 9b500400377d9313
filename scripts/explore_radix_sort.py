"""Exploration (GPU): the segmented LSD radix sort (ops/sort/radix_sort.py) over its
launch settings (digit bits, tile, warps), each checked against torch's stable sort and
timed against torch.sort in the same run; the histogram pass timed alone too.
    python scripts/explore_radix_sort.py [quick] [few] [profile] > radix.txt
"""
import sys

import torch
import triton
import triton.testing

import radix_sort_kernels as rs

# (digit bits, tile, warps, row-major tickets); digits other than 4 last: at 492e15f on the
# H100 the first of them, (6, 512, 8), hit an illegal address (and the context with it)
# one- and two-warp programs: every scan, sum and gather of a tile stays inside a warp
# (no shared-memory round trip), and more programs fit on an SM to hide the latency
FEW_WARPS = [(4, 256, 1, False), (4, 512, 1, False), (3, 256, 1, False), (3, 512, 1, False), (4, 512, 2, False),
             (4, 1024, 2, False), (3, 1024, 2, False), (2, 512, 1, False)]
SETTINGS = [(4, 1024, 4, False), (4, 512, 4, False), (4, 2048, 8, False), (4, 256, 4, False), (4, 1024, 8, False),
            (4, 2048, 4, False), (3, 1024, 4, False), (5, 1024, 4, False), (6, 512, 4, False)]
CASES = [((4096, 128256), torch.bfloat16, False), ((16384, 4096), torch.bfloat16, False),
         ((64, 128256), torch.bfloat16, True), ((4096, 128256), torch.float32, False),
         ((4096, 128256), torch.bfloat16, True)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=5, rep=40, return_mode="median")


def profile(x, desc, v, i):
    rs.DIGIT, rs.TILE, rs.WARPS, rs.ROW_MAJOR = SETTINGS[0]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        rs.radix_sort(x, desc, v, i)
        torch.cuda.synchronize()
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            print(f"    {e.name[:40]}: {e.device_time / 1e3:.3f} ms", flush=True)


def main():
    quick = "quick" in sys.argv
    for shape, dtype, desc in CASES[:2] if quick or "few" in sys.argv else CASES:
        x = torch.randn(shape, device="cuda").to(dtype)
        rv, ri = torch.sort(x, dim=-1, descending=desc, stable=True)
        t_torch = bench(lambda: torch.sort(x, dim=-1, descending=desc))
        print(f"{tuple(shape)} {dtype} descending={desc}: torch {t_torch:.3f} ms", flush=True)
        v = torch.empty_like(x)
        i = torch.empty(shape, dtype=torch.int64, device="cuda")
        settings = FEW_WARPS if "few" in sys.argv else SETTINGS[:3] if quick else SETTINGS
        for d, c, w, rm in settings:
            rs.DIGIT, rs.TILE, rs.WARPS, rs.ROW_MAJOR = d, c, w, rm
            try:
                v.zero_()
                i.fill_(-1)
                rs.radix_sort(x, desc, v, i)
                ok = torch.equal(i, ri) and torch.equal(v, rv)
                t = bench(lambda: rs.radix_sort(x, desc, v, i))
                passes = -(-x.element_size() * 8 // d)
                hist = torch.zeros((x.numel() // shape[-1], passes, 1 << d), dtype=torch.int32, device="cuda")
                T = -(-shape[-1] // c)
                tpp = max(1, (1 << 15) // c)
                th = bench(lambda: rs._hist((hist.shape[0] * -(-T // tpp),), x, hist, shape[-1], T, hist.shape[0], tpp,
                                            desc, x.element_size() * 8, d, passes, triton.next_power_of_2(passes),
                                            c, num_warps=w))
            except Exception as e:  # noqa: BLE001 -- resources
                print(f"  ({d}, {c}, {w}, {rm}): {type(e).__name__}: {str(e)[:120]}", flush=True)
                continue
            print(f"  ({d}, {c}, {w}, {'row-major' if rm else 'tile-major'}): {t:.3f} ms {t_torch / t:.3f}x torch (histogram {th:.3f} ms) "
                  f"{'ok' if ok else 'WRONG'}", flush=True)
        if "profile" in sys.argv and shape == CASES[0][0]:
            profile(x, desc, v, i)
        x = rv = ri = v = i = None
        torch.cuda.empty_cache()
    print(torch.cuda.get_device_name(), flush=True)


if __name__ == "__main__":
    main()

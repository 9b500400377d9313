"""Exploration (GPU): the radix sort of scripts/radix_walk_kernels.py -- one program walks its row, G elements a
step -- over its group size and warps, each setting checked against torch's stable sort
and timed against torch.sort in the same run; with a profile of one sort's kernels.
    python scripts/explore_radix_walk.py [quick] > radix-walk.txt
"""
import sys

import torch
import triton.testing

import radix_walk_kernels as rs   # (scripts/ is on sys.path when run as a script)

SETTINGS = [(32, 1), (16, 1), (64, 1), (64, 2), (128, 4)]
CASES = [((4096, 128256), torch.bfloat16, False), ((16384, 4096), torch.bfloat16, False),
         ((4096, 128256), torch.bfloat16, True), ((64, 128256), torch.bfloat16, False),
         ((4096, 128256), torch.float32, False), ((16384, 4096), torch.float32, False)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=5, rep=40, return_mode="median")


def profile(x, desc, v, i):
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        rs.radix_sort(x, x.shape[0], x.shape[1], desc, v, i)
        torch.cuda.synchronize()
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            print(f"    {e.name[:40]}: {e.device_time / 1e3:.3f} ms", flush=True)


def main():
    quick = "quick" in sys.argv
    for shape, dtype, desc in CASES[:2] if quick else CASES:
        x = torch.randn(shape, device="cuda").to(dtype)
        rv, ri = torch.sort(x, dim=-1, descending=desc, stable=True)
        t_torch = bench(lambda: torch.sort(x, dim=-1, descending=desc))
        print(f"{tuple(shape)} {dtype} descending={desc}: torch {t_torch:.3f} ms", flush=True)
        v = torch.empty_like(x)
        i = torch.empty(shape, dtype=torch.int64, device="cuda")
        for g, w in SETTINGS[:2] if quick else SETTINGS:
            rs._G, rs._WARPS = g, w
            try:
                v.zero_()
                i.fill_(-1)
                rs.radix_sort(x, shape[0], shape[1], desc, v, i)
                ok = torch.equal(i, ri) and torch.equal(v, rv)
                t = bench(lambda: rs.radix_sort(x, shape[0], shape[1], desc, v, i))
            except Exception as e:  # noqa: BLE001 -- resources
                print(f"  G={g} warps={w}: {type(e).__name__}: {str(e)[:160]}", flush=True)
                continue
            print(f"  G={g} warps={w}: {t:.3f} ms {t_torch / t:.3f}x torch {'ok' if ok else 'WRONG'}", flush=True)
        rs._G, rs._WARPS = SETTINGS[0]
        profile(x, desc, v, i)
        x = rv = ri = v = i = None
        torch.cuda.empty_cache()
    print(torch.cuda.get_device_name(), flush=True)


if __name__ == "__main__":
    main()

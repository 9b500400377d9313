"""Profile (GPU): where a decode-shaped F.linear's time goes under triforge -- the split-K
GEMM, its reduce launch, and the gap between them -- against torch's kernels, by
torch.profiler's device times (cold L2: a 256 MB buffer is cleared before each call, as
triton.testing.do_bench does; the clearing kernel is listed too).
    python scripts/profile_decode.py > decode_profile.txt
"""
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

import triforge

SHAPES = [(1, 4096, 14336), (32, 4096, 4096), (1, 8192, 28672)]
CALLS = 20


def kernels(fn, flush):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(CALLS):
            flush.zero_()
            fn()
        torch.cuda.synchronize()
    events = [e for e in prof.events() if e.device_type.name == "CUDA"]
    per = {}
    for e in events:
        per.setdefault(e.name[:70], []).append(e.device_time)
    gemm = sorted(e.time_range.end for e in events if e.name.startswith("gemm_kernel"))
    red = sorted(e.time_range.start for e in events if e.name.startswith("splitk_reduce"))
    gaps = sorted(b - a for a, b in zip(gemm, red))
    return {k: (len(v) / CALLS, sum(v) / len(v)) for k, v in per.items()}, gaps


def main():
    flush = torch.empty(256 << 20, dtype=torch.int8, device="cuda")
    for m, k, n in SHAPES:
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        print(f"M={m} {k}->{n}", flush=True)
        for name, ctx in (("torch", None), ("triforge", triforge.use)):
            if ctx is None:
                per, spans = kernels(lambda: F.linear(x, w), flush)
            else:
                with ctx():
                    per, spans = kernels(lambda: F.linear(x, w), flush)
            for kname, (count, us) in per.items():
                print(f"  {name}: {kname}: {count:.0f} per call, {us:.1f} us", flush=True)
            if spans:
                print(f"  {name}: gemm_kernel's end to splitk_reduce's start, median {spans[len(spans) // 2]:.1f} us",
                      flush=True)


if __name__ == "__main__":
    main()

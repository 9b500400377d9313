"""Diagnosis (GPU): the kernels behind scan_vs_torch.py cases, torch against triforge --
each case run a few times under torch.profiler, every kernel's mean device time per call
listed, so a slow ratio in the scan points at the kernel that costs it.
    python scripts/profile_scan_cases.py --dtype float64 huber bce ... > profile.txt
"""
import contextlib
import sys
from collections import defaultdict

import torch

import triforge
import scan_vs_torch as scan   # (scripts/ is on sys.path when run as a script)

CALLS = 5


def kernels(fn):
    fn()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(CALLS):
            fn()
        torch.cuda.synchronize()
    t = defaultdict(float)
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            t[e.name[:70]] += e.device_time / CALLS
    return sorted(t.items(), key=lambda kv: -kv[1])


def main():
    args = sys.argv[1:]
    if "--dtype" in args:
        i = args.index("--dtype")
        scan.B = getattr(torch, args[i + 1])
        del args[i:i + 2]
    print(torch.cuda.get_device_name(), scan.B, flush=True)
    for name, fn in scan.cases():
        if args and not any(a in name for a in args):
            continue
        print(f"## {name}", flush=True)
        for who in ("torch", "triforge"):
            with triforge.use() if who == "triforge" else contextlib.nullcontext():
                ks = kernels(fn)
            total = sum(v for _, v in ks)
            print(f"  {who}: {total:8.1f} us in {len(ks)} kernels", flush=True)
            for k, v in ks[:6]:
                print(f"    {v:8.1f} us  {k}", flush=True)


if __name__ == "__main__":
    main()

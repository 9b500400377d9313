"""Exploration (GPU): do memory-bound kernels read faster with fewer programs resident
per SM? Caps the programs a kernel may keep on an SM by launching it with more dynamic
shared memory than it uses (k programs: just over 1/(k+1) of an SM's shared memory
each, up to 48 KB), then times the op against torch in the same run.
Why: at 3ffd0af the engine's sum dim=-1 compiled into 32 registers (8 programs of 8
warps per SM) instead of c7b792d's 39 (6 programs) and read 16384x4096 bf16 in 0.0518
ms instead of 0.0500 (H100); amax (32 registers) stays at 0.052.
The C++ entry is off here (TRIFORGE_FASTPATH=0): it would repeat the recorded launch.
    python scripts/explore_occupancy.py > occupancy.txt
"""
import os
import statistics

os.environ["TRIFORGE_FASTPATH"] = "0"

import torch  # noqa: E402
import triton.testing  # noqa: E402

import triforge  # noqa: E402
from triforge.ops import softmax  # noqa: E402
from triforge.ops.norm import layer_norm  # noqa: E402
from triforge.ops.reduction import engine  # noqa: E402

CAPS = [None, 7, 6, 5, 4]
ROUNDS = 3


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def shared_for(cap):
    """Dynamic shared memory that lets at most `cap` programs share an SM (1 KB of it is
    reserved per program on sm80+)."""
    per_sm = torch.cuda.get_device_properties(0).shared_memory_per_multiprocessor
    return per_sm // (cap + 1) - 1024 + 128


def set_cap(launchers, cap, orig):
    for ln in launchers:
        for key, d in ln._cache.items():
            if len(d.prefix) != 4:
                continue
            fn, threads, shared, types = d.prefix
            base = orig.setdefault((id(ln), key), shared)
            d.prefix = (fn, threads, base if cap is None else max(base, shared_for(cap)), types)


def main():
    print(torch.cuda.get_device_name(), flush=True)
    print("shared per program:", {c: shared_for(c) for c in CAPS if c}, flush=True)
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    big = torch.randn(4096, 128256, device="cuda", dtype=torch.bfloat16)
    w, b = (torch.randn(4096, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    red = [engine._launch]
    cases = [("sum dim=-1", red, lambda: x.sum(-1)), ("amax dim=-1", red, lambda: x.amax(-1)),
             ("argmax vocab", red, lambda: big.argmax(-1)), ("var dim=-1", red, lambda: x.var(-1)),
             ("sum all", red, lambda: x.sum()),
             ("layer_norm fwd", [layer_norm._fwd], lambda: torch.nn.functional.layer_norm(x, (4096,), w, b)),
             ("rms_norm fwd", [layer_norm._fwd], lambda: torch.nn.functional.rms_norm(x, (4096,), w)),
             ("softmax fwd", [softmax._fwd], lambda: torch.softmax(x, -1))]
    orig = {}
    for name, launchers, fn in cases:
        ref = fn()
        with triforge.use():
            out = fn()
        assert torch.allclose(out.float(), ref.float(), rtol=2e-2, atol=2e-2), name
        t_torch, times = [], {c: [] for c in CAPS}
        for _ in range(ROUNDS):
            t_torch.append(bench(fn))
            for c in CAPS:
                set_cap(launchers, c, orig)
                with triforge.use():
                    times[c].append(bench(fn))
        set_cap(launchers, None, orig)
        tt = statistics.median(t_torch)
        row = " | ".join(f"{c or 'none'}: {statistics.median(times[c]) * 1e3:.1f} us" for c in CAPS)
        print(f"{name:16s} torch {tt * 1e3:.1f} us | {row}", flush=True)


if __name__ == "__main__":
    main()

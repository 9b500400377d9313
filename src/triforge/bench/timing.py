"""Measurement helpers: device time per call, the copy ceiling, host time per call.

On a GPU, device time is the median of triton.testing.do_bench (which also flushes L2
before every timed call). Under Triton's interpreter do_bench cannot run (no device
events), so a few wall-clock calls stand in: those numbers only show the runner works.
"""
from __future__ import annotations

import itertools
import statistics
import time

import torch

WARMUP_MS, REP_MS = 25, 200          # PERF_TARGETS.md was measured with these
L2_SAFE_BYTES = 64 << 20             # H100 L2 is 50 MB; a buffer set at least this big
MAX_SETS = 64                        # rotation cap: a few MB sets are then still >> L2
INTERP_ITERS = 2                     # interpreted calls are ~1 ms per program instance


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def device_ms(fn, interpreted: bool, device) -> float:
    if not interpreted:
        import triton.testing
        return triton.testing.do_bench(fn, warmup=WARMUP_MS, rep=REP_MS, return_mode="median")
    fn()  # first call compiles/specialises: not part of the time
    times = []
    for _ in range(INTERP_ITERS):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def n_sets(set_bytes: int, rotate: bool) -> int:
    """Input sets to rotate among so the L2 holds none of them between calls."""
    if not rotate or set_bytes >= L2_SAFE_BYTES:
        return 1
    return min(MAX_SETS, -(-L2_SAFE_BYTES // max(set_bytes, 1)))


def rotating(fn, sets):
    """A no-argument callable running fn on the next input set; one set: no rotation cost."""
    if len(sets) == 1:
        args = sets[0]
        return lambda: fn(*args)
    nxt = itertools.cycle(sets).__next__
    return lambda: fn(*nxt())


def copy_ceiling(device, interpreted: bool, nbytes: int) -> dict:
    """GB/s of dst.copy_(src) counting bytes read + written; call with triforge disabled."""
    n = nbytes // 2
    src = torch.empty(n, dtype=torch.bfloat16, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    ms = device_ms(lambda: dst.copy_(src), interpreted, device)
    moved = 2 * src.numel() * src.element_size()
    del src, dst
    return {"bytes": moved, "ms": ms, "GB_s": moved / ms / 1e6}


def host_us(fn, device, calls: int, rounds: int, warmup: int) -> dict:
    """Wall-clock microseconds per call: `calls` back-to-back calls per round, the clock
    read after a synchronize so queued kernels are paid for; median over rounds."""
    for _ in range(warmup):
        fn()
    per_call = []
    for _ in range(rounds):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync(device)
        per_call.append((time.perf_counter() - t0) * 1e6 / calls)
    return {"us": statistics.median(per_call), "min_us": min(per_call), "rounds": per_call}

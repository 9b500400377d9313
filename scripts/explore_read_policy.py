"""Exploration (GPU): L2 eviction policy of the reduction engine's input loads (engine.
READ_POLICY: 0 default, 1 evict_last, 2 evict_first) on issue 4's reductions of
16384x4096 bf16 (<= 0.050 ms asked) and argmax over 4096x128256.
explore_flush.py at d8d0a90 (H100): after do_bench's flush (a 256 MB zero_) L2 holds
~50 MB of dirty lines, and a 128 MB read that evicts them pays their write-back -- sum
dim=-1 54.6 us under do_bench, 45.6 us when L2 is left clean. Reads marked evict_first
recycle their own lines first and may leave the dirty ones in place.
Variants alternate over rounds with torch in each round; prints medians.
    python scripts/explore_read_policy.py > read_policy.txt
"""
import statistics

import torch
import triton.testing

import triforge
from triforge.ops.reduction import engine

# (READ_POLICY, ROW_STAGES): at 52f0763 evict_first gained on the split and column sums
# (sum all 59.6 -> 55.6 us, dim=0 63.2 -> 59.6) but not on the pipelined row loop
# (ROW_STAGES 3: its loads become asynchronous copies, which may drop the hint)
POLICIES = [(0, 3), (2, 3), (2, 1)]
ROUNDS = 3


def main():
    print(torch.cuda.get_device_name(), flush=True)
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    big = torch.randn(4096, 128256, device="cuda", dtype=torch.bfloat16)
    cases = [("sum dim=-1", lambda: x.sum(-1)), ("sum all", lambda: x.sum()), ("sum dim=0", lambda: x.sum(0)),
             ("amax dim=-1", lambda: x.amax(-1)), ("argmax vocab", lambda: big.argmax(-1)),
             ("mean dim=-1", lambda: x.mean(-1))]
    base = (engine.READ_POLICY, engine.STREAM_BYTES, engine.ROW_STAGES)

    def bench(fn):
        return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")

    for name, fn in cases:
        ref = fn()
        t_torch, times = [], {p: [] for p in POLICIES}
        for _ in range(ROUNDS):
            t_torch.append(bench(fn))
            for p in POLICIES:
                engine.READ_POLICY, engine.ROW_STAGES = p
                engine.STREAM_BYTES = 0
                engine._plans.clear()
                with triforge.use():
                    out = fn()
                    assert torch.equal(out.float(), ref.float()) or torch.allclose(out.float(), ref.float(),
                                                                                   rtol=1e-2, atol=1e-2), name
                    times[p].append(bench(fn))
        tt = statistics.median(t_torch)
        row = " | ".join(f"policy {p}: {statistics.median(times[p]) * 1e3:.1f} us "
                         f"({tt / statistics.median(times[p]):.3f}x)" for p in POLICIES)
        print(f"{name:14s} torch {tt * 1e3:.1f} us | {row}", flush=True)
    engine.READ_POLICY, engine.STREAM_BYTES, engine.ROW_STAGES = base
    engine._plans.clear()


if __name__ == "__main__":
    main()

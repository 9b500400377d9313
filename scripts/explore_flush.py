"""Exploration (GPU): why do reads of ~128 MB top out near 2.4 TB/s on the H100 when the
1 GB reads of cross_entropy's forward reach 2.8? Hypothesis: triton.testing.do_bench
flushes L2 before each timed call by zeroing a 256 MB buffer, so the timed kernel starts
with L2 full of dirty lines, and its reads first write ~50 MB back to HBM.
Times each op after (a) do_bench's own flush, (b) the same zeroing by hand, (c) the
zeroing followed by a read of another 256 MB buffer (L2 left clean), with CUDA events
around the op alone; torch and triforge in the same run.
    python scripts/explore_flush.py > flush.txt
"""
import contextlib
import statistics

import torch
import triton.testing

import triforge


def timed(fn, clean, reps=100):
    flush = torch.empty(256 << 20, dtype=torch.int8, device="cuda")
    other = torch.ones(64 << 20, dtype=torch.float32, device="cuda")
    out = []
    for _ in range(reps + 10):
        flush.zero_()
        if clean:
            other.sum()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        out.append(a.elapsed_time(b))
    return statistics.median(out[10:])


def main():
    print(torch.cuda.get_device_name(), flush=True)
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    big = torch.randn(4096, 128256, device="cuda", dtype=torch.bfloat16)
    cases = [("sum dim=-1 16384x4096", lambda: x.sum(-1), x.numel() * 2),
             ("sum all 16384x4096", lambda: x.sum(), x.numel() * 2),
             ("amax dim=-1 16384x4096", lambda: x.amax(-1), x.numel() * 2),
             ("clone 16384x4096", lambda: x.clone(), x.numel() * 4),
             ("amax dim=-1 4096x128256", lambda: big.amax(-1), big.numel() * 2)]
    for name, fn, nbytes in cases:
        for who in ("torch", "triforge"):
            with triforge.use() if who == "triforge" else contextlib.nullcontext():
                fn()
                a = triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")
                b = timed(fn, False)
                c = timed(fn, True)
            print(f"{name:26s} {who:8s}: do_bench {a * 1e3:6.1f} us ({nbytes / a / 1e6:4.0f} GB/s) | "
                  f"zeroed {b * 1e3:6.1f} us ({nbytes / b / 1e6:4.0f}) | zeroed+clean {c * 1e3:6.1f} us "
                  f"({nbytes / c / 1e6:4.0f})", flush=True)


if __name__ == "__main__":
    main()

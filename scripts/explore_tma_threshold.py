"""Exploration (Hopper): which products should take the TMA GEMM (gemm.py's
table["tma_min_flops"])? The threshold kept small products on the tiled kernel while
TMA launches could not be repeated by the C++ entry (host descriptors); since dd4f013
they are. Times the main job's products (forward and both backward products of each
linear at 2048 tokens, and at 16384) on the tiled kernel and on the TMA kernel, against
torch, alternating over rounds; then the main job's train step under each threshold,
alternating steps.
    python scripts/explore_tma_threshold.py [rounds] > tma-threshold.txt
"""
import statistics
import sys

import torch
import triton.testing

import triforge
from triforge.demo import train_step
from triforge.models.llama import Llama, LlamaConfig, make_batch
from triforge.ops.matmul import gemm
from triforge.runtime import fastpath

TILED, TMA = 1 << 62, 0
LINEARS = [(1024, 1024), (1024, 256), (1024, 2816), (2816, 1024), (1024, 32000)]   # (in, out)


def products(tokens):
    """(name, a, b) of y = x W^T, dX = dY W, dW = dY^T X for each linear."""
    dt, dev = torch.bfloat16, "cuda"
    out = []
    for fin, fout in LINEARS:
        x = torch.randn(tokens, fin, device=dev, dtype=dt)
        w = torch.randn(fout, fin, device=dev, dtype=dt)
        dy = torch.randn(tokens, fout, device=dev, dtype=dt)
        out += [(f"{tokens}x{fin}->{fout} fwd", x, w.t()), (f"{tokens}x{fin}->{fout} dX", dy, w),
                (f"{tokens}x{fin}->{fout} dW", dy.t(), x)]
    return out


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=60, return_mode="median") * 1e3


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(torch.cuda.get_device_name(), flush=True)
    for tokens in (2048, 16384):
        for name, a, b in products(tokens):
            flops = a.shape[0] * a.shape[1] * b.shape[1]
            t = {"torch": [], "tiled": [], "tma": []}
            for _ in range(rounds):
                t["torch"].append(bench(lambda: a @ b))
                for k, v in (("tiled", TILED), ("tma", TMA)):
                    gemm._TMA_MIN = v
                    fastpath.module().clear_recipes()   # the C++ key does not hold the threshold
                    with triforge.use():
                        a @ b   # tuning, compiling
                        t[k].append(bench(lambda: a @ b))
            m = {k: statistics.median(v) for k, v in t.items()}
            print(f"{name:28s} 2^{flops.bit_length() - 1:<3d} torch {m['torch']:8.1f} us  tiled {m['tiled']:8.1f} "
                  f"({m['torch'] / m['tiled']:.3f}x)  tma {m['tma']:8.1f} ({m['torch'] / m['tma']:.3f}x)", flush=True)
    # the train step under thresholds, alternating steps (recorded calls cleared at each
    # switch, then recorded again by an untimed step)
    for bs, sl in ((4, 512), (16, 1024)):
        cfg = LlamaConfig.gpu(batch_size=bs, seq_len=sl)
        model = Llama(cfg).to(device="cuda", dtype=torch.bfloat16)
        ids, labels = make_batch(cfg, "cuda")
        ths = {"2^34 (table)": 1 << 34, "2^30": 1 << 30, "0": 0}
        times = {k: [] for k in ths}
        with triforge.use():
            for v in ths.values():
                gemm._TMA_MIN = v
                fastpath.module().clear_recipes()
                for _ in range(3):
                    train_step(model, ids, labels)
            for _ in range(7):
                for k, v in ths.items():
                    gemm._TMA_MIN = v
                    fastpath.module().clear_recipes()
                    train_step(model, ids, labels)   # records again
                    times[k].append(train_step(model, ids, labels).seconds * 1e3)
        print(f"train step {bs}x{sl}: " + "  ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in times.items()),
              flush=True)


if __name__ == "__main__":
    main()

"""Which ops the C++ entry repeats: run each case a few times, print its hits, and the
host time per call of a few with the entry's repeat on and off.
python scripts/fastpath_hits.py (GPU)."""
import sys
import time

import torch

import triforge
from triforge.runtime import fastpath

sys.path.insert(0, "tests")
from test_fastpath import REPEAT_OPS

m = fastpath.module()
triforge.enable()
dev = "cuda"
x = torch.randn(4, 64, 64, device=dev, dtype=torch.bfloat16)
w = torch.randn(64, device=dev, dtype=torch.bfloat16)
i = torch.randint(0, 64, (40,), device=dev)


def us(fn, n=300):
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1e6


for name, fn in REPEAT_OPS:
    for _ in range(2):
        fn(x, w, i)
    h = m.hits()
    for _ in range(5):
        fn(x, w, i)
    rep = m.hits() - h
    c = us(lambda: fn(x, w, i))
    with fastpath.python_entry():
        p = us(lambda: fn(x, w, i))
    with triforge.use(include=()):
        t = us(lambda: fn(x, w, i))
    print(f"{name:16s} repeated {rep:2d} of 5 calls; us/call: C++ entry {c:6.1f}  Python {p:6.1f}  torch {t:6.1f}")

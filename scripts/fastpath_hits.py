"""Which ops the C++ entry repeats: run each case a few times, print its hits.
python scripts/fastpath_hits.py (GPU)."""
import sys

import torch

import triforge
from triforge.runtime import fastpath

sys.path.insert(0, "tests")
from test_fastpath import REPEAT_OPS

m = fastpath.module()
triforge.enable()
dev = "cuda"
for name, fn in REPEAT_OPS:
    x = torch.randn(4, 64, 64, device=dev, dtype=torch.bfloat16)
    w = torch.randn(64, device=dev, dtype=torch.bfloat16)
    i = torch.randint(0, 64, (40,), device=dev)
    for _ in range(2):
        fn(x, w, i)
    h = m.hits()
    for _ in range(5):
        fn(x, w, i)
    print(f"{name:16s} repeated {m.hits() - h} of 5")

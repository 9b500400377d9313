"""Sorting and selection benchmark cases (issue 7; shapes from the issue / PERF_TARGETS).

Both return the values only (the runner compares one tensor); bytes default to the
input read plus the values written. sort of 128256-long rows is still ATen's in
triforge (rows past one block fall back): the case shows it as such until a multi-pass
row sort lands.
"""
from __future__ import annotations

import torch

from .cases import Case, one

CASES = [
    Case("topk k=50 vocab", "topk", (4096, 128256), one, lambda x: torch.topk(x, 50).values, quick=(8, 300)),
    Case("sort vocab rows", "sort", (4096, 128256), one, lambda x: torch.sort(x, -1).values, quick=(8, 64)),
    Case("sort 4096-long rows", "sort", (16384, 4096), one, lambda x: torch.sort(x, -1).values, quick=(8, 64)),
    Case("median 4096-long rows", "sort", (16384, 4096), one, lambda x: torch.median(x, -1).values, ops=("median",),
         quick=(8, 64)),
    Case("kthvalue k=100 of 4096-long rows", "sort", (16384, 4096), one,
         lambda x: torch.kthvalue(x, min(100, x.shape[-1]), -1).values, ops=("kthvalue",), quick=(8, 64)),
]

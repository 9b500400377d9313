"""Small float64 tensors of Python constants, made once per (values, device).

Triton passes Python floats to a kernel as float32, so a float64 op that needs its
scalar arguments exactly reads them from a float64 tensor. Making that tensor each call
copies from pageable host memory, which waits for the stream to drain: the host stops
running ahead of the GPU (H100, scan_vs_torch.py float64 at 03b9080: huber 0.81x torch
and bce 0.83x with device times equal to torch's, profile_scan_cases.py). Kernels only
read these tensors; none is ever dropped once made (a CUDA graph may hold it), so past
CAP distinct constants new ones are made per call instead of kept.
"""
from __future__ import annotations

import struct

import torch

CAP = 4096
_made: dict = {}


def f64_tensor(values, device) -> torch.Tensor:
    """A float64 tensor of `values` (exact bits: -0.0 and NaN kept) on `device`."""
    key = (struct.pack(f"{len(values)}d", *values), device)
    t = _made.get(key)
    if t is None:
        t = torch.tensor(values, dtype=torch.float64, device=device)
        if len(_made) < CAP:
            _made[key] = t
    return t

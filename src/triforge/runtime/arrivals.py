"""Arrival counters: programs that each do part of a piece of work count themselves in,
and the last to arrive finishes it (split-K's sum, topk's descent) in the same launch.
Every kernel using them leaves them at zero, so kernels of one stream share a buffer.
"""
from __future__ import annotations

import torch

from .fastpath import held

_arrivals: dict = {}


def arrivals(device, n):
    """n int32 arrival counters on the current stream, all zero between calls (a kernel's
    last program to arrive at a count sets it back), or None under CUDA
    graph capture: a new buffer's zeroing would only be recorded, not run, and a graph
    replayed on another stream would share an old one. One buffer per stream, so
    concurrent streams never share counts (the C++ entry keys on the stream too)."""
    if device.type == "cuda":
        if torch.cuda.is_current_stream_capturing():
            return None
        key = (device.index, torch.cuda.current_stream(device).cuda_stream)
    else:
        key = (device.type, device.index)
    t = _arrivals.get(key)
    if t is None or t.numel() < n:
        t = _arrivals[key] = torch.zeros(max(n, 4096, 2 * (t.numel() if t is not None else 0)), dtype=torch.int32,
                                         device=device)
    return held(t)

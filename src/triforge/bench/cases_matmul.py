"""Matmul benchmark cases (issue 5; shapes from PERF_TARGETS.md).

Prefill/square cases report TFLOP/s (flops=); decode cases are memory bound and report
GB/s against the copy ceiling (bytes counted from the tensors: the weight dominates).
"mm 8192^3" is also the float32 case: run it with --dtypes fp32 (torch's default keeps
TF32 off, and so does triforge, following torch.backends.cuda.matmul.allow_tf32).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .cases import Case, _randn

OPS = ("mm", "addmm", "bmm", "baddbmm", "mv")


def mm_inputs(shape, dtype, device):
    m, k, n = shape
    return _randn((m, k), dtype, device), _randn((k, n), dtype, device)


def linear_inputs(shape, dtype, device):
    """(tokens, in, out): activations and an nn.Linear weight (out, in), read as W.T."""
    m, k, n = shape
    return _randn((m, k), dtype, device), _randn((n, k), dtype, device)


def bmm_inputs(shape, dtype, device):
    """(batch, M, K, N): attention-like q @ k^T, k^T a transposed view."""
    b, m, k, n = shape
    return _randn((b, m, k), dtype, device), _randn((b, n, k), dtype, device).transpose(1, 2)


def _mnk_flops(shape):
    m, k, n = shape
    return 2 * m * n * k


def _bmm_flops(shape):
    b, m, k, n = shape
    return 2 * b * m * n * k


def _linear(name, tokens, k, n, flops=True):
    return Case(name, "matmul", (tokens, k, n), linear_inputs, F.linear, ops=OPS,
                flops=_mnk_flops if flops else None)


CASES = [
    Case("mm 8192^3", "matmul", (8192, 8192, 8192), mm_inputs, torch.mm, ops=OPS, flops=_mnk_flops),
    _linear("linear 4096 tok 4096->4096", 4096, 4096, 4096),
    _linear("linear 4096 tok 4096->14336", 4096, 4096, 14336),
    _linear("linear 4096 tok 14336->4096", 4096, 14336, 4096),
    _linear("linear 4096 tok 4096->128256", 4096, 4096, 128256),
    _linear("linear 4096 tok 4096->6144", 4096, 4096, 6144),
    _linear("linear 16384 tok 4096->14336", 16384, 4096, 14336),
    _linear("linear 16384 tok 14336->4096", 16384, 14336, 4096),
    _linear("linear 4096 tok 8192->28672", 4096, 8192, 28672),
    _linear("linear 4096 tok 28672->8192", 4096, 28672, 8192),
    _linear("decode M=1 4096->14336", 1, 4096, 14336, flops=False),
    _linear("decode M=8 4096->14336", 8, 4096, 14336, flops=False),
    _linear("decode M=32 4096->14336", 32, 4096, 14336, flops=False),
    _linear("decode M=1 14336->4096", 1, 14336, 4096, flops=False),
    _linear("decode M=32 4096->4096", 32, 4096, 4096, flops=False),
    _linear("decode M=8 4096->128256", 8, 4096, 128256, flops=False),
    _linear("decode M=1 8192->28672", 1, 8192, 28672, flops=False),
    Case("bmm 32x4096x128x4096", "matmul", (32, 4096, 128, 4096), bmm_inputs, torch.bmm, ops=OPS,
         flops=_bmm_flops, quick=(2, 64, 32, 64)),
]

"""Norm cases (shapes from PERF_TARGETS.md and issue 4): rms_norm and layer_norm
16384x4096 bf16, forward and backward, plus a long-row case."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .cases import Case


def _x_w_b(shape, dtype, device):
    return (torch.randn(shape, dtype=dtype, device=device), torch.randn(shape[-1:], dtype=dtype, device=device),
            torch.randn(shape[-1:], dtype=dtype, device=device))


def _ln_bwd_inputs(shape, dtype, device):
    """(grad, x, mean, rstd, weight, bias) of a real forward (stats as the backend keeps them)."""
    x, w, b = _x_w_b(shape, dtype, device)
    _, mean, rstd = torch.native_layer_norm(x, shape[-1:], w, b, 1e-5)
    return torch.randn(shape, dtype=dtype, device=device), x, mean, rstd, w, b


def _ln_bwd(g, x, mean, rstd, w, b):
    # all three grads are computed; dx is the one checked (the bench compares one tensor)
    return torch.ops.aten.native_layer_norm_backward(g, x, x.shape[-1:], mean, rstd, w, b, [True, True, True])[0]


def _rms_bwd_inputs(shape, dtype, device):
    x, w, _ = _x_w_b(shape, dtype, device)
    rstd = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6)
    return torch.randn(shape, dtype=dtype, device=device), x, rstd, w


def _rms_bwd(g, x, rstd, w):
    return torch.ops.aten._fused_rms_norm_backward(g, x, x.shape[-1:], rstd, w, [True, True])[0]


def _gn_bwd_inputs(shape, dtype, device):
    """(grad, x, mean, rstd, weight) of a real 32-group forward."""
    x = torch.randn(shape, dtype=dtype, device=device)
    w = torch.randn(shape[1], dtype=dtype, device=device)
    _, mean, rstd = torch.native_group_norm(x, w, None, shape[0], shape[1], shape[2], 32, 1e-5)
    return torch.randn(shape, dtype=dtype, device=device), x, mean, rstd, w


def _gn_bwd(g, x, mean, rstd, w):
    n, c, hw = x.shape
    return torch.ops.aten.native_group_norm_backward(g, x, mean, rstd, w, n, c, hw, 32, [True, True, True])[0]


_Q = (8, 128)
CASES = [
    Case("rms_norm fwd", "norm", (16384, 4096), _x_w_b, lambda x, w, b: F.rms_norm(x, x.shape[-1:], w, 1e-6),
         ops=("_fused_rms_norm",), quick=_Q),
    Case("rms_norm bwd", "norm", (16384, 4096), _rms_bwd_inputs, _rms_bwd, ops=("_fused_rms_norm_backward",),
         quick=_Q),
    Case("layer_norm fwd", "norm", (16384, 4096), _x_w_b, lambda x, w, b: F.layer_norm(x, x.shape[-1:], w, b),
         ops=("native_layer_norm",), quick=_Q),
    Case("layer_norm bwd", "norm", (16384, 4096), _ln_bwd_inputs, _ln_bwd, ops=("native_layer_norm_backward",),
         quick=_Q),
    Case("layer_norm fwd long rows 8x131072", "norm", (8, 131072), _x_w_b,
         lambda x, w, b: F.layer_norm(x, x.shape[-1:], w, b), ops=("native_layer_norm",), quick=(2, 512)),
    Case("layer_norm bwd long rows 8x131072", "norm", (8, 131072), _ln_bwd_inputs, _ln_bwd,
         ops=("native_layer_norm_backward",), quick=(2, 512)),
    # Llama-3-405B's hidden size: rows past one block (streamed, long_backward)
    Case("rms_norm fwd 8192x16384", "norm", (8192, 16384), _x_w_b,
         lambda x, w, b: F.rms_norm(x, x.shape[-1:], w, 1e-6), ops=("_fused_rms_norm",), quick=(2, 512)),
    Case("rms_norm bwd 8192x16384", "norm", (8192, 16384), _rms_bwd_inputs, _rms_bwd,
         ops=("_fused_rms_norm_backward",), quick=(2, 512)),
    Case("layer_norm fwd long rows 1024x131072", "norm", (1024, 131072), _x_w_b,
         lambda x, w, b: F.layer_norm(x, x.shape[-1:], w, b), ops=("native_layer_norm",), quick=(2, 512)),
    Case("layer_norm bwd long rows 1024x131072", "norm", (1024, 131072), _ln_bwd_inputs, _ln_bwd,
         ops=("native_layer_norm_backward",), quick=(2, 512)),
    Case("batch_norm train fwd", "norm", (32, 64, 3136), _x_w_b,
         lambda x, w, b: F.batch_norm(x, None, None, x.new_ones(x.shape[1]), x.new_zeros(x.shape[1]), training=True),
         ops=("native_batch_norm",), quick=(4, 8, 16)),
    Case("group_norm fwd 32 groups", "norm", (64, 512, 1024), _x_w_b,
         lambda x, w, b: F.group_norm(x, 32, x.new_ones(x.shape[1]), x.new_zeros(x.shape[1])),
         ops=("native_group_norm",), quick=(2, 64, 16)),
    Case("group_norm bwd 32 groups", "norm", (64, 512, 1024), _gn_bwd_inputs, _gn_bwd,
         ops=("native_group_norm_backward",), quick=(2, 64, 16)),
]

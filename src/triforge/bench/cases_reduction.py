"""Reduction and log_softmax cases (shapes from PERF_TARGETS.md and issue 4)."""
from __future__ import annotations

import torch

from .cases import Case, one


def _log_softmax_grad(shape, dtype, device):
    """(grad_output, output) of a real log_softmax."""
    y = torch.log_softmax(torch.randn(shape, dtype=torch.float32, device=device), -1).to(dtype)
    return torch.randn(shape, dtype=dtype, device=device), y


def _log_softmax_bwd(g, y):
    return torch.ops.aten._log_softmax_backward_data(g, y, -1, g.dtype)


CASES = [
    Case("sum dim=-1", "reduction", (16384, 4096), one, lambda x: x.sum(-1), ops=("sum",)),
    Case("sum all", "reduction", (16384, 4096), one, lambda x: x.sum(), ops=("sum",)),
    Case("sum dim=0", "reduction", (16384, 4096), one, lambda x: x.sum(0), ops=("sum",)),
    Case("amax dim=-1", "reduction", (16384, 4096), one, lambda x: x.amax(-1), ops=("amax",)),
    Case("argmax vocab", "reduction", (4096, 128256), one, lambda x: x.argmax(-1), ops=("argmax",),
         quick=(4, 256)),
    Case("sum long rows 4x131072", "reduction", (4, 131072), one, lambda x: x.sum(-1), ops=("sum",),
         quick=(4, 256)),
    Case("amax 1x131072", "reduction", (1, 131072), one, lambda x: x.amax(-1), ops=("amax",), quick=(1, 256)),
    Case("sum 8 rows x 1M", "reduction", (8, 1 << 20), one, lambda x: x.sum(-1), ops=("sum",), quick=(8, 256)),
    Case("var dim=-1", "reduction", (16384, 4096), one, lambda x: x.var(-1), ops=("var",)),
    Case("logsumexp dim=-1", "reduction", (16384, 4096), one, lambda x: torch.logsumexp(x, -1), ops=("logsumexp",)),
    # two-output reductions (the runner compares one of them) and var over columns
    Case("aminmax dim=-1", "reduction", (16384, 4096), one, lambda x: torch.aminmax(x, dim=-1).max, ops=("aminmax",)),
    Case("var_mean dim=-1", "reduction", (16384, 4096), one, lambda x: torch.var_mean(x, -1)[1], ops=("var_mean",)),
    Case("var dim=0", "reduction", (16384, 4096), one, lambda x: x.var(0), ops=("var",)),
    # dtype=float32: torch's CUDA cumsum of bf16 rounds every partial sum to bf16 (22 units
    # off ours on H100, ours being the one that matches float64: test_reduction
    # test_cumsum_bf16_real_size), so a bf16-out case cannot be checked against torch
    Case("cumsum dim=-1 (fp32 out)", "reduction", (4096, 4096), one, lambda x: x.cumsum(-1, dtype=torch.float32),
         ops=("cumsum",)),
    Case("log_softmax fwd dim=-1", "reduction", (16384, 4096), one, lambda x: torch.log_softmax(x, -1),
         ops=("_log_softmax",), quick=(8, 128)),
    Case("log_softmax bwd dim=-1", "reduction", (16384, 4096), _log_softmax_grad, _log_softmax_bwd,
         ops=("_log_softmax_backward_data",), quick=(8, 128)),
    Case("log_softmax fwd long rows 8x131072", "reduction", (8, 131072), one, lambda x: torch.log_softmax(x, -1),
         ops=("_log_softmax",), quick=(2, 256)),
    Case("softmax fwd few rows 4x1M", "reduction", (4, 1048576), one, lambda x: torch.softmax(x, -1),
         ops=("_softmax",), quick=(2, 256)),
    Case("log_softmax bwd long rows 8x131072", "reduction", (8, 131072), _log_softmax_grad, _log_softmax_bwd,
         ops=("_log_softmax_backward_data",), quick=(2, 256)),
    # the same strategies at sizes where a copy itself reaches the ceiling (256 MB read):
    # the cases above move 1-16 MB, a few microseconds that launch and ramp dominate
    Case("sum long rows 1024x131072", "reduction", (1024, 131072), one, lambda x: x.sum(-1), ops=("sum",),
         quick=(4, 256)),
    Case("sum 4 rows x 32M", "reduction", (4, 1 << 25), one, lambda x: x.sum(-1), ops=("sum",), quick=(4, 256)),
    Case("amax 1 row x 128M", "reduction", (1, 1 << 27), one, lambda x: x.amax(-1), ops=("amax",), quick=(1, 256)),
    Case("softmax fwd long rows 1024x131072", "reduction", (1024, 131072), one, lambda x: torch.softmax(x, -1),
         ops=("_softmax",), quick=(2, 256)),
    Case("softmax fwd vocab rows 2048x128256", "reduction", (2048, 128256), one, lambda x: torch.softmax(x, -1),
         ops=("_softmax",), quick=(2, 256)),
    Case("softmax fwd few rows 4x16M", "reduction", (4, 1 << 24), one, lambda x: torch.softmax(x, -1),
         ops=("_softmax",), quick=(2, 256)),
    Case("log_softmax bwd long rows 1024x131072", "reduction", (1024, 131072), _log_softmax_grad, _log_softmax_bwd,
         ops=("_log_softmax_backward_data",), quick=(2, 256)),
    Case("softmax fwd dim=0", "reduction", (4096, 4096), one, lambda x: torch.softmax(x, 0),
         ops=("_softmax",), quick=(64, 64)),
]

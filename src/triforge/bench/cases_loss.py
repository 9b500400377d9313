"""Loss cases: the fused cross entropy over a 128256 vocabulary (PERF_TARGETS.md),
forward and forward+backward, and an elementwise loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .cases import Case, two


def _logits_targets(shape, dtype, device):
    return (torch.randn(shape, dtype=dtype, device=device),
            torch.randint(0, shape[-1], shape[:1], device=device))


def _ce_fwd_bwd(x, t):
    x = x.detach().requires_grad_()
    (g,) = torch.autograd.grad(F.cross_entropy(x, t), x)
    return g


def _fwd_bwd_bytes(inputs, out):
    # The least a fused implementation moves: the logits read once, their grad written once.
    return 2 * inputs[0].numel() * inputs[0].element_size()


CASES = [
    Case("cross_entropy fwd vocab", "loss", (4096, 128256), _logits_targets, lambda x, t: F.cross_entropy(x, t),
         ops=("cross_entropy_loss",), quick=(4, 256)),
    Case("cross_entropy fwd+bwd vocab", "loss", (4096, 128256), _logits_targets, _ce_fwd_bwd,
         ops=("cross_entropy_loss",), bytes=_fwd_bwd_bytes, quick=(4, 256)),
    Case("mse_loss mean", "loss", (8192, 8192), two, lambda a, b: F.mse_loss(a, b), ops=("mse_loss",)),
]

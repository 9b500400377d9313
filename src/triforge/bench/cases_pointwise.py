"""Benchmark cases for the pointwise ops of issue 3 that are not in bench/cases.py's
table: the general pow, the inverse trig/special functions, the exponentials written out
in float32 (explog.py), shifts, glu backward, round(decimals). Memory-bound at 8192 x 8192,
as the table's unary/binary cases."""
from __future__ import annotations

import torch

from .cases import Case, one, two


def _positive_and_exponent(shape, dtype, device):
    return torch.rand(shape, dtype=dtype, device=device) * 3 + 0.1, torch.randn(shape, dtype=dtype, device=device)


def _unit(shape, dtype, device):
    return (torch.rand(shape, dtype=dtype, device=device) * 1.98 - 0.99,)


def _shift_operands(shape, dtype, device):
    a = torch.randint(-2**30, 2**30, shape, dtype=torch.int32, device=device)
    return a, torch.randint(0, 40, shape, dtype=torch.int32, device=device)


def _glu_grad(shape, dtype, device):
    x = torch.randn(shape, dtype=dtype, device=device)
    return torch.randn(shape[:-1] + (shape[-1] // 2,), dtype=dtype, device=device), x


CASES = [
    Case("pow x ** 2.5", "pow", (8192, 8192), _positive_and_exponent, lambda a, b: a ** 2.5,
         ops=("pow.Tensor_Scalar",)),
    Case("pow x ** y", "pow", (8192, 8192), _positive_and_exponent, torch.pow, ops=("pow.Tensor_Tensor",)),
    Case("atan2", "atan2", (8192, 8192), two, torch.atan2),
    Case("asin", "asin", (8192, 8192), _unit, torch.asin),
    Case("erfinv", "erfinv", (8192, 8192), _unit, torch.erfinv),
    Case("erfc", "erfc", (8192, 8192), one, torch.erfc),
    Case("exp", "exp", (8192, 8192), one, torch.exp),
    Case("expm1", "expm1", (8192, 8192), one, torch.expm1),
    Case("elu", "elu", (8192, 8192), one, torch.nn.functional.elu),
    Case("sinh", "sinh", (8192, 8192), one, torch.sinh),
    Case("tanh", "tanh", (8192, 8192), one, torch.tanh),
    Case("glu backward dim=-1", "glu_backward", (8192, 8192), _glu_grad,
         lambda g, x: torch.ops.aten.glu_backward(g, x, -1)),
    Case("round(decimals=2)", "round", (8192, 8192), one, lambda x: torch.round(x, decimals=2),
         ops=("round.decimals",)),
    # dtype ignored: shifts take integers
    Case("x << y int32", "shift", (8192, 8192), _shift_operands, lambda a, b: a << b, ops=("__lshift__.Tensor",)),
]

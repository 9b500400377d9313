"""Arithmetic: add, sub, mul, div (true division) -- every overload, on the pointwise
generator (broadcasting, strides, scalars, torch's type promotion, out=, in-place)."""
from __future__ import annotations

import triton
import triton.language as tl  # noqa: F401  (the interpreter needs tl visible to the kernels)

from ...codegen.pointwise import Pointwise
from .family import binary


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _add_alpha(a, b, alpha):
    return a + b * alpha


@triton.jit
def _sub(a, b):
    return a - b


@triton.jit
def _sub_alpha(a, b, alpha):
    return a - b * alpha


@triton.jit
def _mul(a, b):
    return a * b


@triton.jit
def _div(a, b):
    return a / b


binary("add", Pointwise(_add, 2), alpha=Pointwise(_add_alpha, 2))
binary("sub", Pointwise(_sub, 2), alpha=Pointwise(_sub_alpha, 2), bool_ok=False)
binary("mul", Pointwise(_mul, 2))
binary("div", Pointwise(_div, 2, promotion="INT_TO_FLOAT"))

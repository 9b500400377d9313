"""Comparisons (bool results, torch's promotion of the operands) and maximum/minimum."""
from __future__ import annotations

import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import binary


@triton.jit
def _eq(a, b):
    return a == b


@triton.jit
def _ne(a, b):
    return a != b


@triton.jit
def _lt(a, b):
    return a < b


@triton.jit
def _le(a, b):
    return a <= b


@triton.jit
def _gt(a, b):
    return a > b


@triton.jit
def _ge(a, b):
    return a >= b


@triton.jit
def _maximum(a, b):
    return tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)


@triton.jit
def _minimum(a, b):
    return tl.minimum(a, b, propagate_nan=tl.PropagateNan.ALL)


for _name, _fn in (("eq", _eq), ("ne", _ne), ("lt", _lt), ("le", _le), ("gt", _gt), ("ge", _ge)):
    binary(_name, Pointwise(_fn, 2, promotion="ALWAYS_BOOL"))
binary("maximum", Pointwise(_maximum, 2))
binary("minimum", Pointwise(_minimum, 2))

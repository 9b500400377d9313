"""bitwise_left_shift / bitwise_right_shift and the __lshift__ / __rshift__ operator
overloads, with torch's results for every shift count (a GPU shift by >= the bit width
is undefined, so those counts are selected explicitly):
    left:  a count < 0 or >= the width gives 0;
    right: a count < 0 or >= the width gives the sign fill (-1 or 0; 0 for unsigned).
The width is the computation dtype's (int8 << 9 is 0, as torch: the count is converted
to the promoted dtype first, so int8 << 260 shifts by 4)."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import declare


@triton.jit
def _lshift(a, b):
    ok = (b >= 0) & (b < a.dtype.primitive_bitwidth)
    return tl.where(ok, a << tl.where(ok, b, 0), 0)


@triton.jit
def _rshift(a, b):
    big = (b < 0) | (b >= a.dtype.primitive_bitwidth)
    r = a >> tl.where(big, a.dtype.primitive_bitwidth - 1, b)   # arithmetic for signed types
    if a.dtype.is_int_unsigned():
        r = tl.where(big, 0, r)
    return r


_SHIFT = {"left": Pointwise(_lshift, 2), "right": Pointwise(_rshift, 2)}


def _integral(o) -> bool:
    if isinstance(o, torch.Tensor):
        return not (o.dtype.is_floating_point or o.is_complex())
    return type(o) in (int, bool)


def _is_bool(o) -> bool:
    return o.dtype is torch.bool if isinstance(o, torch.Tensor) else type(o) is bool


def _shift(pw, self, other, out=None):
    # floats, and bool with bool: torch raises ("not implemented for 'Bool'")
    if not (_integral(self) and _integral(other)) or (_is_bool(self) and _is_bool(other)):
        return NotImplemented
    return pw(self, other, out=out)


for _dir, _op in (("left", "lshift"), ("right", "rshift")):
    _pw = _SHIFT[_dir]
    _fn = f"bitwise_{_dir}_shift"
    declare(lambda s, o, _pw=_pw: _shift(_pw, s, o), f"{_fn}.Tensor", f"{_fn}.Tensor_Scalar",
            f"{_fn}.Scalar_Tensor", f"__{_op}__.Tensor", f"__{_op}__.Scalar", pw=_pw)
    declare(lambda s, o, *, out, _pw=_pw: _shift(_pw, s, o, out), f"{_fn}.Tensor_out", f"{_fn}.Tensor_Scalar_out",
            f"{_fn}.Scalar_Tensor_out", f"__{_op}__.Tensor_out", f"__{_op}__.Scalar_out", pw=_pw)
    declare(lambda s, o, _pw=_pw: _shift(_pw, s, o, s), f"{_fn}_.Tensor", f"{_fn}_.Tensor_Scalar",
            f"__i{_op}__.Tensor", f"__i{_op}__.Scalar", pw=_pw)

"""Declaring the overload family of an elementwise op in one line.

binary("add", pw, alpha=pw_alpha) declares add.Tensor, add.Scalar, add.out,
add.Scalar_out, add_.Tensor, add_.Scalar; unary("exp", pw) declares exp, exp_, exp.out
-- only the overloads this torch has. Each calls the generator with torch's argument
conventions; what the generator does not handle returns NotImplemented and the
registry calls ATen (which also raises torch's errors: alpha rules, bad casts...).
"""
from __future__ import annotations

import torch

from ...registry import impl


_dispatcher_ops: set = set()


def exists(overload: str) -> bool:
    """Whether the dispatcher has aten::<overload> (torch.ops also lists TorchScript-only
    overloads such as aten::le(Scalar, Scalar) that cannot take a kernel)."""
    if not _dispatcher_ops:
        _dispatcher_ops.update(torch._C._dispatch_get_all_op_names())
    return "aten::" + overload in _dispatcher_ops


def declare(fn, *overloads, pw=None):
    """impl() for the overloads of `overloads` that this torch version has; the module
    listed is the one holding the op's scalar function. Repeatable by the C++ entry:
    one generator launch, decided by dtypes, shapes, strides and numbers alone (0-dim
    CPU tensors are read per call, and the entry never repeats calls holding them)."""
    have = [ov for ov in overloads if exists(ov)]
    if have:
        mod = getattr(getattr(pw.fn, "fn", pw.fn), "__module__", None) if pw is not None else None
        impl(*have, module=mod, repeat=True)(fn)


def _is_bool(t) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype is torch.bool


def _is_int(t) -> bool:
    return isinstance(t, torch.Tensor) and not t.dtype.is_floating_point


def unary(name: str, pw, bool_ok=True, float_only=False):
    """Declare name, name_ and name.out. float_only: torch rejects integer inputs
    (silu, ...); bool_ok=False: torch rejects bool (neg). ATen raises then."""
    def call(self, out=None):
        if (float_only and _is_int(self)) or (not bool_ok and _is_bool(self)):
            return NotImplemented
        return pw(self, out=out)

    declare(lambda self: call(self), name, pw=pw)
    declare(lambda self: call(self, self), f"{name}_", pw=pw)
    declare(lambda self, *, out: call(self, out), f"{name}.out", pw=pw)


def _alpha_ok(self, other, alpha) -> bool:
    """torch's alpha rules, checked cheaply: ints and bools need an integral alpha, and
    bool tensors take no alpha at all (both raise in ATen, which the fallback reaches)."""
    if alpha == 1 and type(alpha) is int:
        return True
    for o in (self, other):
        dt = o.dtype if isinstance(o, torch.Tensor) else None
        if dt is torch.bool or (dt is not None and not dt.is_floating_point and type(alpha) is float):
            return False
    return type(alpha) in (int, float, bool)


def _has_bool(self, other) -> bool:
    return ((isinstance(self, torch.Tensor) and self.dtype is torch.bool)
            or (isinstance(other, torch.Tensor) and other.dtype is torch.bool) or type(other) is bool)


def _has_float(self, other) -> bool:
    return ((isinstance(self, torch.Tensor) and (self.dtype.is_floating_point or self.is_complex()))
            or (isinstance(other, torch.Tensor) and (other.dtype.is_floating_point or other.is_complex()))
            or type(other) in (float, complex))


def _has_nonfloat(self, other) -> bool:
    return any(isinstance(o, torch.Tensor) and not o.dtype.is_floating_point for o in (self, other)) or \
        type(other) is bool


def binary(name: str, pw, alpha=None, bool_ok=True, ints_only=False, floats_only=False):
    """Declare every overload of a binary op `name` (with an alpha multiplier if given).
    bool_ok=False: torch rejects bool operands (sub); ints_only: torch rejects floats
    (bitwise ops); floats_only: integer operands are ATen's (division by zero raises
    there). ATen decides then."""
    if alpha is None:
        def call(self, other, out=None):
            if ((not bool_ok and _has_bool(self, other)) or (ints_only and _has_float(self, other))
                    or (floats_only and _has_nonfloat(self, other))):
                return NotImplemented
            return pw(self, other, out=out)

        # torch names a scalar operand's overloads in three ways (.Scalar_Tensor,
        # .Scalar_Self / .Scalar_Other, .OutScalar_*): declare whichever this op has.
        declare(lambda self, other: call(self, other), f"{name}.Tensor", f"{name}.Scalar", name,
                f"{name}.Scalar_Tensor", f"{name}.Scalar_Self", f"{name}.Scalar_Other", pw=pw)
        declare(lambda self, other, *, out: call(self, other, out),
                f"{name}.out", f"{name}.Tensor_out", f"{name}.Scalar_out", f"{name}.Scalar_Tensor_out",
                f"{name}.OutTensor", f"{name}.OutScalar_Self", f"{name}.OutScalar_Other", pw=pw)
        declare(lambda self, other: call(self, other, self), f"{name}_.Tensor", f"{name}_.Scalar", f"{name}_",
                f"{name}_.Scalar_Other", pw=pw)
        return

    def call(self, other, a, out=None):
        if not _alpha_ok(self, other, a) or (not bool_ok and _has_bool(self, other)):
            return NotImplemented
        if a == 1 and type(a) is not float:
            return pw(self, other, out=out)
        return alpha(self, other, params=(a,), out=out)

    declare(lambda self, other, *, alpha=1: call(self, other, alpha), f"{name}.Tensor", pw=pw)
    declare(lambda self, other, alpha=1: call(self, other, alpha), f"{name}.Scalar", pw=pw)
    declare(lambda self, other, *, alpha=1, out: call(self, other, alpha, out), f"{name}.out", pw=pw)
    declare(lambda self, other, alpha=1, *, out: call(self, other, alpha, out), f"{name}.Scalar_out", pw=pw)
    declare(lambda self, other, *, alpha=1: call(self, other, alpha, self), f"{name}_.Tensor", pw=pw)
    declare(lambda self, other, alpha=1: call(self, other, alpha, self), f"{name}_.Scalar", pw=pw)

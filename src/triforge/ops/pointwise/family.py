"""Declaring the overload family of an elementwise op in one line.

binary("add", pw, alpha=pw_alpha) declares add.Tensor, add.Scalar, add.out,
add.Scalar_out, add_.Tensor, add_.Scalar, each calling the generator with torch's
argument conventions; what the generator does not handle returns NotImplemented and
the registry calls ATen (which also raises torch's errors: alpha rules, bad casts...).
"""
from __future__ import annotations

import torch

from ...registry import impl


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


def binary(name: str, pw, alpha=None, bool_ok=True):
    """Declare every overload of a binary op `name` (with an alpha multiplier if given).
    bool_ok=False: torch rejects bool operands (sub); ATen raises its error."""
    if alpha is None:
        def call(self, other, out=None):
            if not bool_ok and _has_bool(self, other):
                return NotImplemented
            return pw(self, other, out=out)

        impl(f"{name}.Tensor", f"{name}.Scalar")(lambda self, other: call(self, other))
        impl(f"{name}.out")(lambda self, other, *, out: call(self, other, out))
        impl(f"{name}.Scalar_out")(lambda self, other, *, out: call(self, other, out))
        impl(f"{name}_.Tensor", f"{name}_.Scalar")(lambda self, other: call(self, other, self))
        return

    def call(self, other, a, out=None):
        if not _alpha_ok(self, other, a) or (not bool_ok and _has_bool(self, other)):
            return NotImplemented
        if a == 1 and type(a) is not float:
            return pw(self, other, out=out)
        return alpha(self, other, params=(a,), out=out)

    impl(f"{name}.Tensor")(lambda self, other, *, alpha=1: call(self, other, alpha))
    impl(f"{name}.Scalar")(lambda self, other, alpha=1: call(self, other, alpha))
    impl(f"{name}.out")(lambda self, other, *, alpha=1, out: call(self, other, alpha, out))
    impl(f"{name}.Scalar_out")(lambda self, other, alpha=1, *, out: call(self, other, alpha, out))
    impl(f"{name}_.Tensor")(lambda self, other, *, alpha=1: call(self, other, alpha, self))
    impl(f"{name}_.Scalar")(lambda self, other, alpha=1: call(self, other, alpha, self))

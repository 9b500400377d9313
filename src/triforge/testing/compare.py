"""Comparison against a float64 reference with per-dtype tolerances.

|actual - ref| <= atol + rtol * |ref| elementwise, with ref the float64 reference
rounded to the result dtype; NaN where the reference has NaN (and nowhere else),
equal infinities. Integer and bool results compare exactly.

Default tolerances (the result dtype's rounding, with a little room for a kernel
that computes in float32 as torch's opmath does):
    float16   rtol 1e-3  (2^-10, two half ulps)   atol 1e-5
    bfloat16  rtol 8e-3  (2^-7, two bf16 ulps)    atol 1e-5
    float32   rtol 1e-5                            atol 1e-6
    float64   rtol 1e-10                           atol 1e-12
Ops whose error grows with the reduction length pass their own rtol/atol.
"""
from __future__ import annotations

import torch

TOLERANCES = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (8e-3, 1e-5),
    torch.float32: (1e-5, 1e-6),
    torch.float64: (1e-10, 1e-12),
}


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    return TOLERANCES.get(dtype, (0.0, 0.0))


def assert_close(actual, expected, dtype=None, rtol=None, atol=None, msg: str = ""):
    """Compare `actual` (any device, any dtype) with `expected` (usually float64 CPU).

    `dtype` picks the tolerance (default: actual's dtype). Structures (tuples/lists)
    are compared element by element.
    """
    if isinstance(actual, (tuple, list)):
        assert isinstance(expected, (tuple, list)) and len(actual) == len(expected), \
            f"{msg}: structure differs ({type(actual)} of {len(actual)} vs {len(expected)})"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, dtype, rtol, atol, f"{msg}[{i}]")
        return
    if not isinstance(actual, torch.Tensor):
        assert actual == expected, f"{msg}: {actual!r} != {expected!r}"
        return
    assert tuple(actual.shape) == tuple(expected.shape), \
        f"{msg}: shape {tuple(actual.shape)} != reference {tuple(expected.shape)}"
    dtype = dtype or actual.dtype
    a = actual.detach().cpu()
    e = expected.detach().cpu()
    if not (dtype.is_floating_point or dtype.is_complex):
        if not torch.equal(a.to(e.dtype), e):
            bad = (a.to(e.dtype) != e).nonzero()
            raise AssertionError(f"{msg}: {len(bad)} integer/bool mismatches, first at {bad[0].tolist()}: "
                                 f"{a[tuple(bad[0])].item()} != {e[tuple(bad[0])].item()}")
        return
    r_tol, a_tol = tolerance(dtype)
    rtol = r_tol if rtol is None else rtol
    atol = a_tol if atol is None else atol
    a = a.to(torch.float64)
    # The reference rounded to the result dtype: a value past that dtype's range is inf
    # there, as torch's own result would be.
    e = e.to(dtype).to(torch.float64) if dtype.is_floating_point else e.to(torch.float64)
    a_nan, e_nan = a.isnan(), e.isnan()
    if not torch.equal(a_nan, e_nan):
        where = (a_nan != e_nan).nonzero()[0].tolist()
        raise AssertionError(f"{msg}: NaN pattern differs at {where}: actual {a[tuple(where)].item()}, "
                             f"reference {e[tuple(where)].item()}")
    a = a.masked_fill(a_nan, 0)
    e = e.masked_fill(e_nan, 0)
    a_inf, e_inf = a.isinf(), e.isinf()
    if not torch.equal(a_inf, e_inf) or not torch.equal(a[a_inf], e[e_inf]):
        where = ((a_inf != e_inf) | (a_inf & (a != e))).nonzero()[0].tolist()
        raise AssertionError(f"{msg}: infinities differ at {where}: actual {a[tuple(where)].item()}, "
                             f"reference {e[tuple(where)].item()}")
    fin = ~e_inf
    err = (a - e).abs().masked_fill(~fin, 0)
    bound = atol + rtol * e.abs().masked_fill(~fin, 0)
    over = err > bound
    if over.any():
        i = (err - bound).argmax()
        idx = tuple(int(v) for v in torch.unravel_index(i, err.shape)) if err.dim() else ()
        raise AssertionError(
            f"{msg}: {int(over.sum())} of {err.numel()} elements outside rtol={rtol:g} atol={atol:g} "
            f"({dtype}); worst at {list(idx)}: actual {a[idx].item()!r}, reference {e[idx].item()!r}, "
            f"|diff| {err[idx].item():.3g}")

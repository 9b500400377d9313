"""The reference: the same torch call with triforge off, on float64-upcast CPU copies."""
from __future__ import annotations

import contextlib

import torch

import triforge
from .compare import assert_close


@contextlib.contextmanager
def triforge_off():
    with triforge.use(include=()):
        yield


@contextlib.contextmanager
def poisoned_allocations():
    """Every torch.empty* inside returns NaN (floats) or the max value (integers), so an
    output element a kernel never wrote fails the comparison."""
    import torch.utils.deterministic as det
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_fill = det.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True, warn_only=True)
    det.fill_uninitialized_memory = True
    try:
        yield
    finally:
        det.fill_uninitialized_memory = prev_fill
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)


def _map(obj, f):
    if isinstance(obj, torch.Tensor):
        return f(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map(o, f) for o in obj)
    if isinstance(obj, dict):
        return {k: _map(v, f) for k, v in obj.items()}
    return obj


def _upcast(t: torch.Tensor) -> torch.Tensor:
    c = t.detach().cpu()
    if c.is_floating_point():
        c = c.to(torch.float64)
    return c.requires_grad_(t.requires_grad)


def _clone(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone().requires_grad_(t.requires_grad)


def reference(fn, *args, **kwargs):
    """fn(*args) with triforge off, float tensors upcast to float64 on the CPU."""
    with triforge_off():
        return fn(*_map(args, _upcast), **_map(kwargs, _upcast))


def check(fn, *args, served=(), rtol=None, atol=None, msg="", **kwargs):
    """Run `fn` with triforge on (allocations poisoned) and compare with the float64
    reference; also check dtype and shape against torch at the original dtype. Every
    overload in `served` must have run on triforge. Returns triforge's result."""
    with triforge_off():
        same = fn(*_map(args, _clone), **_map(kwargs, _clone))
    expected = reference(fn, *args, **kwargs)
    with poisoned_allocations(), triforge.use(), triforge.coverage() as cov:
        actual = fn(*_map(args, _clone), **_map(kwargs, _clone))
    _check_meta(actual, same, msg)
    dtype = first_dtype(same)
    assert_close(actual, expected, dtype=dtype, rtol=rtol, atol=atol, msg=msg or getattr(fn, "__name__", "op"))
    missing = [ov for ov in ([served] if isinstance(served, str) else served) if ov not in cov.served()]
    assert not missing, f"{msg}: {missing} did not run on triforge; coverage:\n{cov}"
    return actual


def first_dtype(obj):
    """The dtype of the first tensor in obj (nested tuples/lists; None entries skipped)."""
    if isinstance(obj, torch.Tensor):
        return obj.dtype
    if isinstance(obj, (tuple, list)):
        return next((d for d in map(first_dtype, obj) if d is not None), None)
    return None


def _check_meta(actual, same, msg):
    if isinstance(same, torch.Tensor):
        assert isinstance(actual, torch.Tensor), f"{msg}: expected a tensor, got {type(actual)}"
        assert actual.dtype == same.dtype, f"{msg}: dtype {actual.dtype} != torch's {same.dtype}"
        assert actual.shape == same.shape, f"{msg}: shape {tuple(actual.shape)} != torch's {tuple(same.shape)}"
        assert actual.device == same.device, f"{msg}: device {actual.device} != torch's {same.device}"
    elif isinstance(same, (tuple, list)):
        for a, s in zip(actual, same):
            _check_meta(a, s, msg)

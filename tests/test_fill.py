"""fill_, zero_, full, full_like, zeros_like, ones_like."""
import pytest
import torch

import triforge
from triforge.testing import check, layouts, make

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32, torch.int64,
          torch.uint8, torch.bool]


def _value(dtype):
    return True if dtype is torch.bool else (7 if not dtype.is_floating_point else -2.75)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_and_zero(dtype):
    v = _value(dtype)
    x = make((5, 33), dtype)
    check(lambda t: t.clone().fill_(v), x, served="fill_.Scalar")
    check(lambda t: t.clone().fill_(torch.tensor(v)), x, served="fill_.Tensor")
    check(lambda t: t.clone().zero_(), x, served="zero_")
    for layout, y in layouts((4, 6), dtype).items():
        if layout != "expanded":   # filling an expanded tensor: internal overlap, ATen's case
            check(lambda t: t.fill_(v), y, msg=layout)


@pytest.mark.parametrize("dtype", DTYPES)
def test_creation(dtype):
    v = _value(dtype)
    x = make((3, 4), dtype)
    check(lambda t: torch.full_like(t, v), x, served="full_like")
    check(lambda t: torch.zeros_like(t), x, served="zeros_like")
    check(lambda t: torch.ones_like(t, dtype=torch.float32), x, served="ones_like")
    dev = x.device
    check(lambda: torch.full((2, 5), v, dtype=dtype, device=dev), served="full")
    check(lambda: torch.full((2, 5), v, device=dev), served="full")    # dtype inferred from the value


def test_special_values_and_overflow():
    x = make((6,))
    for v in (float("nan"), float("inf"), -float("inf"), -0.0, 1e-40):
        check(lambda t: t.clone().fill_(v), x, served="fill_.Scalar")
    u = make((4,), torch.uint8)
    with triforge.use(), pytest.raises(RuntimeError):
        u.fill_(300)   # torch: overflow error, not a wrapped value
    h = make((4,), torch.float16)
    with triforge.use(), pytest.raises(RuntimeError):
        h.fill_(1e6)

"""softmax forward and backward against the float64 reference."""
import pytest
import torch

import triforge
from triforge.ops.softmax import softmax as softmax_impl
from triforge.testing import assert_close, check, layouts, make, on_gpu, sizes

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _long_row():
    """A row longer than one block: exercises the streamed (online max+sum) path."""
    return triforge.backend().table("softmax")["max_single_block"] + 37


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", sizes("rows"))
def test_softmax_rows(dtype, shape):
    x = make(shape, dtype)
    check(lambda t: torch.softmax(t, -1), x, served="_softmax")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_softmax_long_rows(dtype):
    x = make((2, _long_row()), dtype) * 4
    check(lambda t: torch.softmax(t, -1), x, served="_softmax")
    g = make(x.shape, dtype)
    y = torch.softmax(x.float(), -1).to(dtype)
    check(lambda gg, yy: torch.ops.aten._softmax_backward_data(gg, yy, -1, dtype), g, y,
          served="_softmax_backward_data", atol=1e-5 if dtype is torch.float32 else 1e-4)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_softmax_any_dim(dim):
    x = make((3, 5, 7))
    check(lambda t: torch.softmax(t, dim), x, served="_softmax")


@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_softmax_strided_inputs(layout):
    x = layouts((6, 40), torch.float32)[layout]
    check(lambda t: torch.softmax(t, -1), x, served="_softmax")
    check(lambda t: torch.softmax(t, 0), x, served="_softmax")


def test_half_to_float():
    """ATen serves half_to_float for float16 on CUDA only; triforge follows, so elsewhere
    torch's error stands. The kernel path itself is checked directly."""
    x = make((4, 33), torch.float16)
    ref = torch.softmax(x.cpu().double(), -1)
    if on_gpu():
        with triforge.use(), triforge.coverage() as cov:
            out = torch.ops.aten._softmax(x, -1, True)
        assert cov.served() == {"_softmax": 1}
    else:   # ATen's CPU kernel raises for half_to_float; so must triforge there
        with triforge.use(), pytest.raises(RuntimeError, match="half to float"):
            torch.ops.aten._softmax(x, -1, True)
        out = softmax_impl(x, -1, True)
    assert out.dtype == torch.float32
    assert_close(out, ref, dtype=torch.float32, rtol=1e-5)
    xb = make((4, 33), torch.bfloat16)
    with triforge.use(), pytest.raises(RuntimeError):
        torch.ops.aten._softmax(xb, -1, True)    # torch raises for bfloat16; so do we
    assert_close(softmax_impl(xb, -1, True), torch.softmax(xb.cpu().double(), -1), dtype=torch.float32,
                 rtol=1e-5)


def test_nan_and_inf_rows():
    inf, nan = float("inf"), float("nan")
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0],
                      [-inf, -inf, -inf, -inf],      # all -inf: NaN row, as torch
                      [-inf, 0.0, 1.0, -inf],        # some -inf: zeros there
                      [nan, 1.0, 2.0, 3.0],          # NaN poisons the row
                      [inf, 1.0, 2.0, 3.0]], device=make((1,)).device)
    check(lambda t: torch.softmax(t, -1), x, served="_softmax")
    long = torch.full((3, _long_row()), -inf, device=x.device)
    long[1, 5] = 0.0
    long[2, -1] = nan
    check(lambda t: torch.softmax(t, -1), long, served="_softmax")


def test_empty_and_zero_dim():
    check(lambda t: torch.softmax(t, -1), make((0, 7)))
    check(lambda t: torch.softmax(t, 0), make((0, 7)))
    check(lambda t: torch.softmax(t, 0), make(()), served="_softmax")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("dim", [-1, 0])
def test_softmax_autograd(dtype, dim):
    x = make((5, 67), dtype)
    g = make((5, 67), dtype)

    def fwd_bwd(t, gg):
        t = t.detach().requires_grad_(True)
        y = torch.softmax(t, dim)
        (gx,) = torch.autograd.grad(y, t, gg)
        return y, gx

    # half types: the backward reads the rounded forward output, so its error is the
    # forward's relative rounding (2^-9 for bf16) times |g - <g, y>|, as in torch.
    tol = {torch.float16: (4e-3, 1e-3), torch.bfloat16: (3e-2, 8e-3)}.get(dtype, (None, 1e-5))
    check(fwd_bwd, x, g, served=("_softmax", "_softmax_backward_data"), rtol=tol[0], atol=tol[1])


def test_log_softmax_not_claimed():
    """log_softmax is issue 4's: it must still run (on ATen) and be counted as missing."""
    x = make((3, 9))
    with triforge.use(), triforge.coverage() as cov:
        y = torch.log_softmax(x, -1)
    assert "_log_softmax" in cov.missing()
    torch.testing.assert_close(y, torch.log_softmax(x, -1))

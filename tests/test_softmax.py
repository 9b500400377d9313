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


@pytest.fixture
def small_columns(monkeypatch):
    """Column kernels with 4 inner columns and 16-element steps: the looped column path at
    tiny sizes (plans are cleared so the patched sizes take effect)."""
    from triforge.ops import softmax as sm
    monkeypatch.setattr(sm, "_plans", {})
    if not on_gpu():
        monkeypatch.setattr(sm, "_COL_I", 4)
        monkeypatch.setattr(sm, "_COL_TILE", 16)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", sizes("rows"))
def test_log_softmax_rows(dtype, shape):
    x = make(shape, dtype)
    check(lambda t: torch.log_softmax(t, -1), x, served="_log_softmax")


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True])
def test_non_innermost_dims_read_columns(dim, log, small_columns):
    x = make((3, 13, 7)) * 3
    x[1, 4, 2] = float("nan")
    x[2, :, 3] = -float("inf")
    fn = torch.log_softmax if log else torch.softmax
    check(lambda t: fn(t, dim), x, served="_log_softmax" if log else "_softmax")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [0, -1])
def test_log_softmax_autograd(dtype, dim, small_columns):
    x = make((5, 67), dtype)
    g = make((5, 67), dtype)

    def fwd_bwd(t, gg):
        t = t.detach().requires_grad_(True)
        y = torch.log_softmax(t, dim)
        (gx,) = torch.autograd.grad(y, t, gg)
        return y, gx
    tol = {torch.bfloat16: (3e-2, 3e-2)}.get(dtype, (None, 1e-5))
    check(fwd_bwd, x, g, served=("_log_softmax", "_log_softmax_backward_data"), rtol=tol[0], atol=tol[1])


def test_log_softmax_long_rows_and_specials():
    inf, nan = float("inf"), float("nan")
    x = make((3, _long_row()), torch.float32) * 4
    x[1] = -inf
    x[1, 7] = 0.0
    x[2, 100] = nan
    check(lambda t: torch.log_softmax(t, -1), x, served="_log_softmax")
    g = make(x.shape)
    y = torch.log_softmax(make(x.shape), -1)
    check(lambda gg, yy: torch.ops.aten._log_softmax_backward_data(gg, yy, -1, torch.float32), g, y,
          served="_log_softmax_backward_data", atol=1e-5)
    with triforge.use(), pytest.raises(RuntimeError):
        torch.ops.aten._log_softmax(make((4, 3), torch.bfloat16), -1, True)   # as torch


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_walk(dtype, log, monkeypatch):
    """Many long rows take the persistent walk (its threshold lowered here): more rows
    than programs, the last chunk short; an all -inf row, a one-hot row, a NaN, and a NaN
    in a lane (one column of every chunk) that otherwise sees only -inf."""
    from triforge.ops import softmax as S
    from triforge.runtime import sm_count
    monkeypatch.setattr(S, "_WALK_MIN_BYTES", 1)
    monkeypatch.setattr(S, "_plans", {})
    walks, orig = [], S._walk
    monkeypatch.setattr(S, "_walk", lambda *a, **k: (walks.append(1), orig(*a, **k))[1])
    if dtype is torch.float32:   # 64-bit offsets, as past 2**31 elements
        monkeypatch.setattr(S, "needs_int64", lambda *a, **k: True)
    inf, nan = float("inf"), float("nan")
    x = make((sm_count() + 2, _long_row()), dtype) * 4
    x[1] = -inf
    x[2] = -inf
    x[2, 7] = 0.0
    x[3, 100] = nan
    x[-1, -1] = 30.0
    lanes = triforge.backend().table("walk")["chunk_bytes"] // x.element_size()
    x[4, 5::lanes] = -inf
    x[4, 5 + lanes] = nan
    fn = torch.log_softmax if log else torch.softmax
    check(lambda t: fn(t, -1), x, served="_log_softmax" if log else "_softmax")
    assert walks


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_backward_walk(dtype, log, monkeypatch):
    """The backward's walk over many long rows (threshold lowered): torch's gradients."""
    from triforge.ops import softmax as S
    from triforge.runtime import sm_count
    monkeypatch.setattr(S, "_WALK_BWD_MIN_BYTES", 1)
    monkeypatch.setattr(S, "_plans", {})
    walks, orig = [], S._bwalk
    monkeypatch.setattr(S, "_bwalk", lambda *a, **k: (walks.append(1), orig(*a, **k))[1])
    if dtype is torch.float32:
        monkeypatch.setattr(S, "needs_int64", lambda *a, **k: True)
    shape = (sm_count() + 2, _long_row())
    g = make(shape, dtype)
    fn = torch.log_softmax if log else torch.softmax
    y = fn(make(shape, torch.float64) * 4, -1).to(dtype)
    op = torch.ops.aten._log_softmax_backward_data if log else torch.ops.aten._softmax_backward_data
    tol = {torch.bfloat16: 3e-2}.get(dtype)
    check(lambda gg, yy: op(gg, yy, -1, dtype), g, y, rtol=tol, atol=tol if tol else 1e-5,
          served="_log_softmax_backward_data" if log else "_softmax_backward_data")
    assert walks


def test_out_variants():
    x = make((4, 33))

    def fn(t):
        y, ly = torch.empty_like(t), torch.empty_like(t)
        torch.ops.aten._softmax.out(t, -1, False, out=y)
        torch.ops.aten._log_softmax.out(t, 0, False, out=ly)
        g = torch.empty_like(t)
        torch.ops.aten._log_softmax_backward_data.out(t, ly, 0, t.dtype, out=g)
        return y, ly, g
    check(fn, x, served=("_softmax.out", "_log_softmax.out", "_log_softmax_backward_data.out"))


@pytest.mark.gpu_only
@pytest.mark.parametrize("shape,dim", [((16384, 4096), -1), ((4096, 16384), 0), ((8, 131072), -1)])
def test_log_softmax_real_sizes(shape, dim):
    x = make(shape, torch.bfloat16)
    check(lambda t: torch.log_softmax(t, dim), x, served="_log_softmax")
    check(lambda t: torch.softmax(t, dim), x, served="_softmax")

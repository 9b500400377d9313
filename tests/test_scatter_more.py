"""scatter_reduce prod/amax/amin, scatter(reduce="multiply"), unfold_copy and
unfold_backward against the float64 reference; NaN and signed-zero order as torch's
CPU kernel; results identical run to run."""
import warnings

import pytest
import torch

import triforge
from triforge.testing import check, device, interpreted, layouts, make

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64]
REDS = ["prod", "amax", "amin"]

warnings.filterwarnings("ignore", message="The reduce argument of torch.scatter")


def _idx(shape, hi, dtype=torch.int64):
    return torch.randint(0, hi, shape, dtype=dtype, device=device())


def _served(fn):
    with triforge.use(), triforge.coverage() as cov:
        out = fn()
    return out, cov.served()


def _torch_raises(fn, exc=RuntimeError):
    """ATen raises torch's error (its CUDA kernels assert on the device instead: CPU only)."""
    if not interpreted():
        return
    with triforge.use(), pytest.raises(exc):
        fn()


def _torch_raises_anywhere(fn, exc):
    """An error ATen raises on the host (a dtype it lacks): safe on a GPU too."""
    with triforge.use(), pytest.raises(exc):
        fn()


# -- scatter_reduce prod / amax / amin ---------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + INTS + [torch.bool])
@pytest.mark.parametrize("red", REDS)
def test_scatter_reduce_dtypes(dtype, red):
    x, src = make((4, 6, 3), dtype), make((7, 5, 2), dtype)
    idx = _idx((7, 5, 2), 4)   # duplicates along dim 0; self and src larger than index
    if dtype is torch.bool and device() != "cpu":   # torch's CUDA kernels have no bool here
        return _torch_raises_anywhere(lambda: x.scatter_reduce(0, idx, src, red), NotImplementedError)
    for inc in (True, False):
        check(lambda x, i, s, inc=inc: x.scatter_reduce(0, i, s, red, include_self=inc), x, idx, src,
              served="scatter_reduce.two", msg=f"{red} include_self={inc}")


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_reduce_dims_out_inplace(red, dim):
    x, src = make((5, 6, 4)), make((5, 6, 4))
    idx = _idx((3, 4, 2), x.shape[dim])
    for inc in (True, False):
        check(lambda x, i, s, inc=inc: x.scatter_reduce(dim, i, s, red, include_self=inc), x, idx, src,
              served="scatter_reduce.two")
        check(lambda x, i, s, inc=inc: x.clone().scatter_reduce_(dim, i, s, red, include_self=inc), x, idx, src,
              served="scatter_reduce_.two")
        out = torch.empty_like(x)
        check(lambda x, i, s, o, inc=inc: torch.scatter_reduce(x, dim, i, s, red, include_self=inc, out=o),
              x, idx, src, out, served="scatter_reduce.two_out")


@pytest.mark.parametrize("red", REDS)
def test_scatter_reduce_layouts(red):
    x = layouts((6, 5))["transposed"]
    src = layouts((6, 5))["stepped"]
    idx = _idx((5, 6), 5).t()   # a transposed index
    for inc in (True, False):
        check(lambda x, i, s, inc=inc: x.scatter_reduce(1, i, s, red, include_self=inc), x, idx, src,
              served="scatter_reduce.two")
        check(lambda x, i, s, inc=inc: x.scatter_reduce(1, i, s, red, include_self=inc), x,
              idx, layouts((6, 5))["expanded"], served="scatter_reduce.two")
        # in place into a strided self: the result lands in self's own layout
        check(lambda x, i, s, inc=inc: x.clone().t().scatter_reduce_(0, i.t(), s.t(), red, include_self=inc).t(),
              x, idx, src, served="scatter_reduce_.two")
    check(lambda x, i, s: x.scatter_reduce(1, i, s, red), layouts((6, 5))["offset"], idx, src,
          served="scatter_reduce.two")


def test_scatter_reduce_int_amax_strided_inplace():
    """int32/int64 amax/amin take the atomic path: strided self, include_self=False."""
    for dt in (torch.int32, torch.int64):
        x = layouts((6, 5), dt)["transposed"]
        src = layouts((6, 5), dt)["stepped"]
        idx = _idx((6, 5), 6)
        for red in ("amax", "amin"):
            check(lambda x, i, s, red=red: x.clone().scatter_reduce_(0, i, s, red, include_self=False), x, idx, src,
                  served="scatter_reduce_.two")


def test_scatter_reduce_high_rank():
    """Five non-trivial dims: the sorted path has no rank limit for dense tensors."""
    x, src = make((3, 2, 3, 2, 4)), make((3, 2, 3, 2, 4))
    idx = _idx((3, 2, 3, 2, 4), 2)
    for red in REDS:
        check(lambda x, i, s, red=red: x.scatter_reduce(1, i, s, red, include_self=False), x, idx, src,
              served="scatter_reduce.two")
    xi, si = make((3, 2, 3, 2, 4), torch.int64), make((3, 2, 3, 2, 4), torch.int64)
    check(lambda x, i, s: x.scatter_reduce(1, i, s, "amax", include_self=False), xi, idx, si,
          served="scatter_reduce.two")


def test_scatter_reduce_empty_scalar_int32_index():
    x, src = make((4, 3)), make((4, 3))
    for red in REDS:
        check(lambda x, i, s, red=red: x.scatter_reduce(0, i, s, red), x, _idx((0, 3), 4), src,
              served="scatter_reduce.two")
        check(lambda x, i, s, red=red: x.scatter_reduce(0, i, s, red, include_self=False), x,
              _idx((4, 3), 4, torch.int32), src, served="scatter_reduce.two")   # torch takes int32 indices
        check(lambda x, i, s, red=red: x.scatter_reduce(0, i, s, red, include_self=False), make(()),
              _idx((), 1), make(()), served="scatter_reduce.two")
    check(lambda x, i, s: x.scatter_reduce(0, i, s, "amax"), make((0, 3)), _idx((0, 3), 1), make((0, 3)))


def test_scatter_reduce_nan_and_signed_zero():
    """NaN as torch has it: a NaN source wins, a NaN already there stays. prod combines
    in torch's CPU order, so its results match bit for bit (sign of zero included)."""
    nan = float("nan")
    x = torch.tensor([1.0, nan, 3.0, 0.0, -0.0, 5.0], device=device())
    src = torch.tensor([nan, 2.0, 7.0, -0.0, 0.0, 0.0, -0.0, -1.0, 9.0], device=device())
    idx = torch.tensor([0, 1, 2, 3, 4, 4, 3, 5, 5], device=device())
    for dtype in FLOATS:
        for red in REDS:
            for inc in (True, False):
                got, served = _served(lambda dt=dtype, r=red, i=inc: x.to(dt).scatter_reduce(0, idx, src.to(dt), r, include_self=i))
                with triforge.use(include=()):
                    exp = x.cpu().to(dtype).scatter_reduce(0, idx.cpu(), src.cpu().to(dtype), red, include_self=inc)
                assert served.get("scatter_reduce.two"), served
                torch.testing.assert_close(got.cpu(), exp, equal_nan=True, rtol=0, atol=0)
                num = ~exp.isnan()   # a NaN's sign bit is not specified
                if red == "prod":
                    assert torch.equal(got.cpu().signbit()[num], exp.signbit()[num]), (dtype, red, inc, got, exp)


@pytest.mark.parametrize("dtype", FLOATS)
def test_scatter_reduce_zero_ties(dtype):
    """amax/amin order -0.0 below 0.0 whatever the order they arrive in (torch's CPU
    kernel keeps the first of the two, its CUDA kernel whichever thread wins)."""
    x = torch.tensor([0.0, -0.0, 0.0, -0.0], device=device(), dtype=dtype)
    src = torch.tensor([-0.0, 0.0, 0.0, -0.0], device=device(), dtype=dtype)
    idx = torch.tensor([0, 1, 2, 3], device=device())
    for red, want in (("amax", [False, False, False, True]), ("amin", [True, True, False, True])):
        got, _ = _served(lambda r=red: x.scatter_reduce(0, idx, src, r))
        assert got.signbit().tolist() == want, (red, got)
        pairs = torch.tensor([0, 1, 0, 1], device=device())   # (-0.0, 0.0) into 0, (0.0, -0.0) into 1
        got, _ = _served(lambda r=red, p=pairs: x.scatter_reduce(0, p, src, r, include_self=False))
        assert got.signbit().tolist() == [red == "amin"] * 2 + [False, True], (red, got)   # 2, 3: self's


def test_scatter_reduce_deterministic():
    """Many duplicates per destination: the float product does not depend on thread order."""
    x = make((3, 40), torch.float32, low=0.5, high=1.5)
    src = make((3, 600), torch.float32, low=0.5, high=1.5)
    idx = _idx((3, 600), 40)
    runs = [_served(lambda: x.scatter_reduce(1, idx, src, "prod"))[0] for _ in range(3)]
    assert all(torch.equal(runs[0], r) for r in runs[1:])
    check(lambda x, i, s: x.scatter_reduce(1, i, s, "prod"), x, idx, src, served="scatter_reduce.two")


def test_scatter_reduce_served_in_deterministic_mode():
    """No float atomics here, so torch.use_deterministic_algorithms does not send the
    reductions to ATen (unlike scatter_add of floats)."""
    from triforge.ops.index import scatter
    x, src, idx = make((4, 3)), make((4, 3)), _idx((4, 3), 4)
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        for red in REDS:
            assert scatter.scatter_reduce(x, 0, idx, src, red) is not NotImplemented
    finally:
        torch.use_deterministic_algorithms(prev)


def test_scatter_reduce_errors_go_to_aten():
    x, src = make((4, 3)), make((4, 3))
    bad = _idx((4, 3), 4)
    bad[1, 1] = 4
    _torch_raises(lambda: x.scatter_reduce(0, bad, src, "prod"))
    _torch_raises(lambda: x.scatter_reduce(0, _idx((4, 3), 4), src, "multiply"))   # not a scatter_reduce name
    _torch_raises(lambda: x.scatter_reduce(0, _idx((4, 3), 4), src.double(), "amax"))
    _torch_raises(lambda: x.scatter_reduce(0, _idx((4, 3), 4, torch.int16), src, "amax"))


def test_scatter_reduce_overlaps_go_to_aten():
    from triforge.ops.index import scatter
    x, src, idx = make((4, 3)), make((4, 3)), _idx((4, 3), 4)
    e = make((1, 3)).expand(4, 3)
    assert scatter.scatter_reduce_(e, 0, idx, src, "amax") is NotImplemented   # torch raises on self overlap
    assert scatter.scatter_reduce(x, 0, idx, src, "amax", out=e.clone().expand(4, 3)) is not NotImplemented
    assert scatter.scatter_reduce(x, 0, idx, x, "prod", out=x) is NotImplemented   # out aliases src
    _torch_raises(lambda: e.scatter_reduce_(0, idx, src, "amax"))


# -- scatter(reduce="multiply") ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8,
                                   torch.int32, torch.int64, torch.bool])
def test_scatter_multiply(dtype):
    x, src = make((5, 4), dtype), make((6, 4), dtype)
    idx = _idx((6, 3), 5)
    if dtype is torch.bool and device() != "cpu":
        _torch_raises_anywhere(lambda: x.scatter(0, idx, 2, reduce="multiply"), NotImplementedError)
        return _torch_raises_anywhere(lambda: x.scatter(0, idx, src, reduce="multiply"), NotImplementedError)
    check(lambda x, i, s: x.scatter(0, i, s, reduce="multiply"), x, idx, src, served="scatter.reduce")
    check(lambda x, i: x.scatter(0, i, 3, reduce="multiply"), x, idx, served="scatter.value_reduce")
    check(lambda x, i, s: x.clone().scatter_(0, i, s, reduce="multiply"), x, idx, src, served="scatter_.reduce")
    check(lambda x, i: x.clone().scatter_(0, i, 2, reduce="multiply"), x, idx, served="scatter_.value_reduce")
    out = torch.empty_like(x)
    check(lambda x, i, s, o: torch.scatter(x, 0, i, s, reduce="multiply", out=o), x, idx, src, out,
          served="scatter.reduce_out")
    check(lambda x, i, o: torch.scatter(x, 0, i, 3, reduce="multiply", out=o), x, idx, out,
          served="scatter.value_reduce_out")


def test_scatter_multiply_values_and_layouts():
    x = layouts((6, 5), torch.float64)["transposed"]
    idx = _idx((6, 5), 5).t()
    check(lambda x, i: x.scatter(1, i, 0.1, reduce="multiply"), x, idx, served="scatter.value_reduce")
    check(lambda x, i: x.scatter(1, i, -1.5, reduce="multiply"), x.float(), idx, served="scatter.value_reduce")
    check(lambda x, i: x.scatter(1, i, float("nan"), reduce="multiply"), x.half(), idx, served="scatter.value_reduce")
    xi = make((4, 3), torch.uint8)
    check(lambda x, i: x.scatter(0, i, 7, reduce="multiply"), xi, _idx((4, 3), 4), served="scatter.value_reduce")
    # values torch's checked conversion rejects: ATen raises
    _torch_raises(lambda: make((4, 3), torch.int8).scatter(0, _idx((4, 3), 4), 300, reduce="multiply"))
    _torch_raises(lambda: make((4, 3), torch.float16).scatter(0, _idx((4, 3), 4), 1e6, reduce="multiply"))
    _torch_raises(lambda: x.scatter(1, idx, 2.0, reduce="max"))


# -- unfold_copy / unfold_backward ------------------------------------------------------------
UNFOLDS = [(0, 2, 1), (1, 3, 2), (1, 2, 3), (2, 5, 5), (-1, 1, 1), (1, 6, 1), (1, 0, 2)]


@pytest.mark.parametrize("dtype", FLOATS + [torch.int8, torch.int64, torch.bool])
def test_unfold_copy(dtype):
    x = make((3, 6, 5), dtype)
    for d, size, step in UNFOLDS:
        check(lambda x, d=d, size=size, step=step: torch.ops.aten.unfold_copy(x, d, size, step), x,
              served="unfold_copy", msg=f"{d, size, step}")


def test_unfold_copy_layouts_out():
    for name, x in layouts((4, 7)).items():
        check(lambda x: torch.ops.aten.unfold_copy(x, 1, 3, 2), x, served="unfold_copy", msg=name)
        check(lambda x: torch.ops.aten.unfold_copy(x, 0, 2, 1), x, served="unfold_copy", msg=name)
    x = make((4, 7))
    out = torch.empty(4, 3, 3, device=x.device)
    check(lambda x, o: torch.ops.aten.unfold_copy.out(x, 1, 3, 2, out=o), x, out, served="unfold_copy.out")
    out_t = torch.empty(3, 3, 4, device=x.device).permute(2, 0, 1)   # a strided out
    check(lambda x, o: torch.ops.aten.unfold_copy.out(x, 1, 3, 2, out=o), x, out_t, served="unfold_copy.out")
    _torch_raises(lambda: torch.ops.aten.unfold_copy(x, 1, 8, 1))
    _torch_raises(lambda: torch.ops.aten.unfold_copy(x, 1, 2, 0))


def _ub(g, sizes, d, size, step):
    return torch.ops.aten.unfold_backward(g, sizes, d, size, step)


@pytest.mark.parametrize("dtype", FLOATS + [torch.int8, torch.int32, torch.int64, torch.bool])
def test_unfold_backward(dtype):
    sizes = [3, 7, 4]
    for d, size, step in [(0, 2, 1), (1, 3, 2), (1, 2, 3), (2, 4, 5), (-1, 1, 1), (1, 7, 2), (1, 0, 2), (1, 3, 1)]:
        dd = d % 3
        nw = (sizes[dd] - size) // step + 1
        shape = sizes[:dd] + [nw] + sizes[dd + 1:] + [size]
        g = make(shape, dtype)
        check(lambda g, d=d, size=size, step=step: _ub(g, sizes, d, size, step), g,
              served="unfold_backward", msg=f"{d, size, step}")


def test_unfold_backward_layouts_out():
    x = make((5, 9, 3))
    g = x.unfold(1, 4, 2)   # a strided grad: (5, 3, 3, 4)
    check(lambda g: _ub(g, [5, 9, 3], 1, 4, 2), g, served="unfold_backward")
    gt = make((5, 3, 4, 3)).transpose(2, 3)   # grad's window dims swapped in memory
    check(lambda g: _ub(g, [5, 9, 3], 1, 4, 2), gt, served="unfold_backward")
    ge = make((1, 3, 1, 3)).expand(5, 3, 3, 3)
    check(lambda g: _ub(g, [5, 9, 3], 1, 3, 3), ge, served="unfold_backward")
    gs = make((2, 6, 2, 4, 2))[:, :3]   # outer dims that do not merge into one stride
    check(lambda g: _ub(g, [2, 3, 5, 4], 2, 2, 2), gs, served="unfold_backward")
    out = torch.empty(5, 9, 3, device=x.device)
    check(lambda g, o: torch.ops.aten.unfold_backward.out(g, [5, 9, 3], 1, 4, 2, out=o), make((5, 3, 3, 4)), out,
          served="unfold_backward.out")
    out_t = torch.empty(3, 9, 5, device=x.device).permute(2, 1, 0)
    check(lambda g, o: torch.ops.aten.unfold_backward.out(g, [5, 9, 3], 1, 4, 2, out=o), make((5, 3, 3, 4)), out_t,
          served="unfold_backward.out")
    check(lambda g: _ub(g, [0, 9, 3], 1, 4, 2), make((0, 3, 3, 4)))
    bad = make((5, 4, 3, 4))   # one window too many: ATen's own business (it does not raise)
    got, served = _served(lambda: _ub(bad, [5, 9, 3], 1, 4, 2))
    assert not served.get("unfold_backward")
    torch.testing.assert_close(got, _ub(bad, [5, 9, 3], 1, 4, 2))


@pytest.mark.parametrize("d,size,step", [(0, 2, 1), (1, 3, 2), (2, 4, 1), (-1, 2, 3)])
def test_unfold_autograd_reaches_unfold_backward(d, size, step):
    """A plain x.unfold(...) view; its backward is aten::unfold_backward, served here."""
    x = make((4, 6, 5), torch.float32).requires_grad_()
    w = make(tuple(x.unfold(d, size, step).shape))
    check(lambda x, w: torch.autograd.grad((x.unfold(d, size, step) * w).sum(), x)[0], x, w,
          served="unfold_backward")
    xb = make((4, 6, 5), torch.bfloat16).requires_grad_()
    check(lambda x: torch.autograd.grad(x.unfold(d, size, step).sum(), x)[0], xb, served="unfold_backward")


# -- larger sizes (GPU) ------------------------------------------------------------------------
@pytest.mark.gpu_only
def test_scatter_reduce_large():
    n = 1 << 20
    for dtype in (torch.bfloat16, torch.float32):
        x, src = make((1000,), dtype, low=0.99, high=1.01), make((n,), dtype, low=0.99, high=1.01)
        idx = _idx((n,), 1000)
        for red in REDS:
            check(lambda x, i, s, red=red: x.scatter_reduce(0, i, s, red, include_self=False), x, idx, src,
                  served="scatter_reduce.two")
    x, src = make((512, 4096), torch.bfloat16), make((512, 4096), torch.bfloat16)
    check(lambda x, i, s: x.scatter_reduce(1, i, s, "amax"), x, _idx((512, 4096), 4096), src,
          served="scatter_reduce.two")
    g = make((8, 1023, 16, 4), torch.bfloat16)
    check(lambda g: _ub(g, [8, 2048, 16], 1, 4, 2), g, served="unfold_backward")

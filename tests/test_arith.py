"""add / sub / mul / div on the pointwise generator, against the float64 reference."""
import pytest
import torch

import triforge
from triforge.testing import check, layouts, make, on_gpu, sizes, tolerance

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.uint8, torch.int8, torch.int32, torch.int64]
OPS = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


def _served(name, overload="Tensor"):
    return f"{name}.{overload}"


def _nonzero(shape, dtype):
    """Divisors: no zeros for integer division checks (float zeros are tested apart)."""
    x = make(shape, dtype)
    return torch.where(x == 0, torch.ones_like(x), x)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("n", sizes("1d"))
def test_same_shape(name, dtype, n):
    a, b = make((n,), dtype), _nonzero((n,), dtype)
    check(OPS[name], a, b, served=_served(name))


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.int32])
@pytest.mark.parametrize("shapes", [((4, 1, 6), (5, 1)), ((3, 4), (4,)), ((2, 3, 4), ()), ((1,), (3, 1, 2))])
def test_broadcasting(name, dtype, shapes):
    a, b = make(shapes[0], dtype), _nonzero(shapes[1], dtype)
    check(OPS[name], a, b, served=_served(name))
    check(OPS[name], b, a, served=_served(name)) if name != "div" or dtype.is_floating_point else None


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_layouts(name, layout):
    x = layouts((6, 40), torch.float32)[layout]
    y = make((6, 40))
    got = check(OPS[name], x, y, served=_served(name))
    check(OPS[name], y, x, served=_served(name))
    if layout == "transposed":   # output follows the input's memory order, as torch's
        assert got.stride() == OPS[name](x.cpu(), y.cpu()).stride()


def test_channels_last_in_channels_last_out():
    x = make((2, 3, 4, 5)).to(memory_format=torch.channels_last)
    got = check(torch.add, x, x, served="add.Tensor")
    assert got.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("pair", [(torch.bfloat16, torch.float32), (torch.float16, torch.bfloat16),
                                  (torch.int32, torch.float16), (torch.uint8, torch.int8),
                                  (torch.bool, torch.int64), (torch.int64, torch.float64)])
@pytest.mark.parametrize("name", OPS)
def test_type_promotion(name, pair):
    a, b = make((5, 7), pair[0]), _nonzero((5, 7), pair[1])
    if name == "sub" and torch.bool in pair:
        pytest.skip("torch rejects bool subtraction (tested in test_errors_match_torch)")
    check(OPS[name], a, b, served=_served(name))


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", FLOATS + INTS + [torch.bool])
@pytest.mark.parametrize("scalar", [3, 1.5, True, 0.1])
def test_scalar_operands(name, dtype, scalar):
    a = make((5, 37), dtype)
    if name == "sub" and (dtype is torch.bool or type(scalar) is bool):
        pytest.skip("torch rejects bool subtraction")
    check(lambda x: OPS[name](x, scalar), a, served=_served(name))
    check(lambda x: getattr(torch.ops.aten, name).Scalar(x, scalar), a, served=_served(name, "Scalar"))
    if not (name == "div" and dtype is torch.bool):
        check(lambda x: OPS[name](x, torch.tensor(scalar)), a, served=_served(name))   # 0-dim operand


@pytest.mark.parametrize("name", ["add", "sub"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64, torch.int32])
def test_alpha(name, dtype):
    a, b = make((4, 33), dtype), make((4, 33), dtype)
    alpha = 3 if not dtype.is_floating_point else 0.1
    check(lambda x, y: OPS[name](x, y, alpha=alpha), a, b, served=_served(name))
    check(lambda x: OPS[name](x, 2, alpha=alpha), a, served=_served(name))


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_out_and_inplace(name, dtype):
    a, b = make((7, 129), dtype), _nonzero((129,), dtype)

    def with_out(x, y):
        out = torch.full((7, 129), float("nan"), dtype=dtype, device=x.device)
        r = OPS[name](x, y, out=out)
        assert r is out
        return out

    def wider_out(x, y):   # out of a wider dtype: computed, then cast, as torch
        out = torch.empty((7, 129), dtype=torch.float64, device=x.device)
        return OPS[name](x, y, out=out)

    def inplace(x, y):
        r = getattr(x, name + "_")(y)
        assert r is x
        return x

    def inplace_scalar(x):   # Python's x.add_(2.5) arrives as add_.Tensor: call the overload
        return getattr(torch.ops.aten, name + "_").Scalar(x, 2.5)

    check(with_out, a, b, served=_served(name, "out"))
    rtol, atol = tolerance(dtype)   # computed in `dtype`, stored wider
    check(wider_out, a, b, served=_served(name, "out"), rtol=rtol, atol=atol)
    check(inplace, a, b, served=f"{name}_.Tensor")
    check(inplace_scalar, a, served=f"{name}_.Scalar")


def test_inplace_aliasing_and_errors():
    x = make((8, 8))
    check(lambda t: t.add_(t), x, served="add_.Tensor")           # self + self: same elements
    with triforge.use(), pytest.raises(RuntimeError):              # result float into int: torch raises
        make((4,), torch.int32).div_(2)
    with triforge.use(), pytest.raises(RuntimeError):              # broadcasting would grow self
        make((1, 4)).add_(make((3, 4)))
    with triforge.use(), pytest.raises(RuntimeError):              # internal overlap
        make((1, 4)).expand(3, 4).add_(1)
    base = make((10,))
    with triforge.use(), triforge.coverage() as cov, pytest.raises(RuntimeError, match="memory location"):
        base[1:].add_(base[:-1])                                   # partial overlap: ATen raises
    assert cov.fell_back() == {"add_.Tensor": 1}


def test_nan_inf_and_division_by_zero():
    inf, nan = float("inf"), float("nan")
    a = torch.tensor([1.0, nan, inf, -inf, inf, 2.0, 0.0, -1.0]).to(make((1,)).device)
    b = torch.tensor([nan, 1.0, -inf, -inf, 1.0, 0.0, 0.0, 0.0]).to(a.device)
    for dt in (torch.float16, torch.bfloat16, torch.float32):
        for name in OPS:
            check(OPS[name], a.to(dt), b.to(dt), served=_served(name))
    i = make((6,), torch.int32)
    check(torch.div, i, torch.zeros_like(i), served="div.Tensor")   # int / 0 -> inf/nan floats


def test_empty_and_zero_dim():
    e = make((0, 5))
    for name in OPS:
        check(OPS[name], e, make((5,)))
        z = make(())
        check(OPS[name], z, z, served=_served(name))
        check(OPS[name], z, 2.0)
        check(OPS[name], make((3,)), z, served=_served(name))


def test_bool_arithmetic():
    t = torch.tensor([True, True, False, False], device=make((1,)).device)
    f = torch.tensor([True, False, True, False], device=t.device)
    check(torch.add, t, f, served="add.Tensor")    # True + True is True, not a wrap to False
    check(torch.mul, t, f, served="mul.Tensor")
    check(torch.div, t, f, served="div.Tensor")


def test_errors_match_torch():
    a, b = make((4, 8)), make((5, 8))
    with pytest.raises(RuntimeError) as ref:
        torch.add(a, b)
    with triforge.use(), pytest.raises(RuntimeError) as got:
        torch.add(a, b)
    assert str(got.value) == str(ref.value)
    ai = make((4,), torch.int32)
    with triforge.use(), pytest.raises(RuntimeError, match="alpha"):
        torch.add(ai, ai, alpha=0.5)
    bt = make((4,), torch.bool)
    with triforge.use(), pytest.raises(RuntimeError, match="bool"):
        torch.sub(bt, bt)


@pytest.mark.gpu_only
def test_large_over_int32_offsets():
    """> 2^31 elements: the kernel must switch to int64 offsets."""
    n = 2**31 + 2**20 + 5
    a = torch.ones(n, dtype=torch.int8, device="cuda")
    b = torch.full((n,), 2, dtype=torch.int8, device="cuda")
    with triforge.use(), triforge.coverage() as cov:
        c = a + b
    assert cov.served().get("add.Tensor") == 1
    assert c[-10:].eq(3).all() and c[:10].eq(3).all() and int(c.sum(dtype=torch.int64)) == 3 * n
    del a, b, c
    torch.cuda.empty_cache()


@pytest.mark.gpu_only
def test_alignment_specialisation_not_reused():
    """A kernel compiled for 16-byte-aligned pointers must not run on unaligned ones."""
    base = make((4097,), torch.float16)
    y = make((4096,), torch.float16)
    with triforge.use():
        r1 = base[:4096] + y       # aligned first: compiles the aligned variant
        r2 = base[1:] + y          # unaligned: needs its own variant
    torch.testing.assert_close(r1, base[:4096].float().add(y.float()).half())
    torch.testing.assert_close(r2, base[1:].float().add(y.float()).half())


@pytest.mark.gpu_only
def test_cuda_graph_capture():
    a, b = make((1 << 16,), torch.bfloat16), make((1 << 16,), torch.bfloat16)
    triforge.enable()
    out = a * b + a   # compile outside the capture
    torch.softmax(out.view(64, -1), -1)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = a * b + a
        sm = torch.softmax(out.view(64, -1), -1)
    a.copy_(make(a.shape, a.dtype))
    g.replay()
    torch.cuda.synchronize()
    triforge.disable()
    ref = (a.double() * b.double() + a.double())
    torch.testing.assert_close(out.double(), ref, rtol=2e-2, atol=1e-2)
    torch.testing.assert_close(sm.double(), torch.softmax(out.double().view(64, -1), -1), rtol=2e-2, atol=1e-4)


def test_sizes_realistic_on_gpu():
    assert on_gpu() == (max(sizes("1d")) > 10**6)


@pytest.mark.parametrize("shape", [(70, 130), (64, 64), (3, 200), (130, 1)])
def test_tiled_transposed_operands(shape):
    """Operands whose fast dims disagree take the 2-d tiled kernel (edges masked)."""
    from triforge.codegen import pointwise as pw
    a = make(shape, torch.bfloat16)
    b = make(shape[::-1], torch.bfloat16).t()
    got = check(torch.add, a, b, served="add.Tensor")
    check(torch.mul, b, a, served="mul.Tensor")
    dst = torch.empty(shape[::-1], dtype=torch.float32, device=a.device).t()
    check(lambda x: dst.copy_(x), a, served="copy_")
    assert got.shape == shape
    if shape[1] > 1 and shape[0] > 1:
        assert any(k[3] for k in pw._kernels), "no tiled kernel was generated"

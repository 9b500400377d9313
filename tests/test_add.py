"""add / mul through registry, launcher and kernel, against the float64 reference."""
import pytest
import torch

import triforge
from triforge.testing import check, layouts, make, on_gpu, sizes

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.uint8, torch.int8, torch.int32, torch.int64]


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("n", sizes("1d"))
def test_add_mul_contiguous(dtype, n):
    a, b = make((n,), dtype), make((n,), dtype)
    check(torch.add, a, b, served="add.Tensor")
    check(torch.mul, a, b, served="mul.Tensor")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", sizes("2d"))
def test_add_alpha_2d(dtype, shape):
    a, b = make(shape, dtype), make(shape, dtype)
    alpha = 1 if dtype is torch.float64 else 0.75   # fp64 with alpha falls back
    check(lambda x, y: torch.add(x, y, alpha=alpha), a, b, served="add.Tensor")


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_scalar_operands(dtype):
    a = make((5, 37), dtype)
    s = 3 if not dtype.is_floating_point else 1.5
    if dtype is torch.float64:
        s = 3   # an int scalar is exact in the fp32 kernel argument
    check(lambda x: x + s, a, served="add.Tensor")
    check(lambda x: x * s, a, served="mul.Tensor")
    check(lambda x: torch.ops.aten.add.Scalar(x, s), a, served="add.Scalar")
    check(lambda x: torch.ops.aten.mul.Scalar(x, s), a, served="mul.Scalar")
    check(lambda x: x * torch.tensor(s), a, served="mul.Tensor")   # 0-dim CPU tensor operand


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_out_and_inplace(dtype):
    a, b = make((7, 129), dtype), make((7, 129), dtype)

    def add_out(x, y):
        out = torch.full_like(x, float("nan"))
        r = torch.add(x, y, alpha=2, out=out)
        assert r is out
        return out

    def add_inplace(x, y):
        r = x.add_(y, alpha=-1)
        assert r is x
        return x

    def mul_inplace(x, y):
        return x.mul_(y)

    check(add_out, a, b, served="add.out")
    check(add_inplace, a, b, served="add_.Tensor")
    check(mul_inplace, a, b, served="mul_.Tensor")
    check(lambda x, y: torch.mul(x, y, out=torch.empty_like(x)), a, b, served="mul.out")


def test_nan_inf_propagate():
    a = torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), float("inf"), 2.0]).to(make((1,)).device)
    b = torch.tensor([float("nan"), 1.0, -float("inf"), -float("inf"), 1.0, 3.0]).to(a.device)
    for dt in (torch.float16, torch.bfloat16, torch.float32):
        check(torch.add, a.to(dt), b.to(dt), served="add.Tensor")
        check(torch.mul, a.to(dt), b.to(dt), served="mul.Tensor")


def test_empty_and_zero_dim():
    e = make((0, 5))
    check(torch.add, e, e)
    z = make(())
    check(torch.add, z, z)       # two 0-dim operands: ATen decides the promotion
    check(torch.mul, z, 2.0)


@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_layouts_are_correct(layout):
    """Strided operands fall back today (the generator of issue 3 serves them); an
    unaligned data pointer ('offset') is contiguous and is served."""
    x = layouts((6, 40), torch.float32)[layout]
    y = make((6, 40))
    got = check(torch.add, x, y, served="add.Tensor" if layout == "offset" else ())
    assert got.shape == (6, 40)


def test_fallbacks_are_counted_and_correct():
    a, b = make((4, 8)), make((8,))
    with triforge.use(), triforge.coverage() as cov:
        broad = a + b                                   # broadcast
        mixed = a + b.to(torch.float16)[None].expand(4, 8).contiguous().to(torch.float64)  # promotion
    assert cov.fell_back().get("add.Tensor") == 2
    torch.testing.assert_close(broad, a.cpu().add(b.cpu()).to(broad.device))
    assert mixed.dtype == torch.float64


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
    out = a + b   # compile outside the capture
    torch.softmax(a.view(64, -1), -1)
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

"""clone / _to_copy / copy_, where, masked_fill and pow(Tensor, Scalar) on the generator."""
import pytest
import torch

from triforge.testing import check, layouts, make

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32, torch.int64,
          torch.uint8, torch.bool]


@pytest.mark.parametrize("src", DTYPES)
@pytest.mark.parametrize("dst", [torch.float32, torch.bfloat16, torch.int32, torch.bool])
def test_to_copy_conversions(src, dst):
    x = make((5, 9), src)
    if src.is_floating_point and not dst.is_floating_point and dst is not torch.bool:
        x = x * 10   # integer conversion truncates toward zero; keep values in range
    check(lambda t: t.to(dst), x, served="_to_copy" if src is not dst else ())


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "stepped", "offset", "expanded"])
def test_clone_and_copy_any_strides(layout):
    x = layouts((6, 10), torch.float32)[layout]
    got = check(torch.clone, x, served="clone")
    assert got.stride() == torch.clone(x.cpu()).stride()
    check(lambda t: t.clone(memory_format=torch.contiguous_format), x, served="clone")
    check(lambda t: t.contiguous(), x)

    def copy_into_transposed(t):
        dst = torch.empty(10, 6, dtype=torch.bfloat16, device=t.device).t()
        dst.copy_(t)
        return dst
    check(copy_into_transposed, x, served="copy_")
    check(lambda t: torch.empty(4, 6, 10, device=t.device).copy_(t), x, served="copy_")   # broadcast


def test_channels_last_clone():
    x = make((2, 3, 4, 5)).to(memory_format=torch.channels_last)
    got = check(torch.clone, x, served="clone")
    assert got.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.int64, torch.bool])
def test_where(dtype):
    c = make((4, 7), torch.bool)
    a, b = make((4, 7), dtype), make((7,), dtype)
    check(torch.where, c, a, b, served="where.self")
    check(lambda cc, aa: torch.where(cc, aa, 0), c, a)
    if dtype is torch.bfloat16:
        check(torch.where, c, a, b.float(), served="where.self")   # promotion of self/other only


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.int32, torch.bool])
def test_masked_fill(dtype):
    x, m = make((5, 8), dtype), make((5, 8), torch.bool)
    v = True if dtype is torch.bool else (3 if dtype is torch.int32 else -float("inf"))
    check(lambda t, mm: t.masked_fill(mm, v), x, m, served="masked_fill.Scalar")
    check(lambda t, mm: t.masked_fill(mm[0], v), x, m, served="masked_fill.Scalar")   # broadcast mask
    check(lambda t, mm: t.clone().masked_fill_(mm, v), x, m, served="masked_fill_.Scalar")
    check(lambda t, mm: t.masked_fill(mm, torch.tensor(v)), x, m)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64, torch.int32])
@pytest.mark.parametrize("exponent", [2, 3, 1, 0.5, -0.5, -1, 2.0, 1.7])
def test_pow_scalar(dtype, exponent):
    ints = not dtype.is_floating_point
    if ints and type(exponent) is int and exponent < 0:
        pytest.skip("torch raises for integers to negative integer powers")
    x = make((4, 9), dtype, low=1, high=9) if ints else make((4, 9), dtype, low=0.2, high=3.0)
    ours = exponent != 1.7 and not (ints and type(exponent) is float)
    check(lambda t: t.pow(exponent), x, served="pow.Tensor_Scalar" if ours else ())

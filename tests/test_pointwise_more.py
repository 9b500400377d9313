"""Rounding, sign, clamp, fmax/fmin, predicates, logical and bitwise ops on the generator."""
import math

import pytest
import torch

import triforge
from triforge.testing import check, make

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.int32, torch.int64, torch.uint8, torch.int8]
INF, NAN = float("inf"), float("nan")


def _special(dtype):
    v = torch.tensor([0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 1e9 + 0.5, INF, -INF, NAN, 3.7, -3.7])
    return v.to(dtype).to(make((1,)).device)


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "frac", "sign"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_rounding_and_sign(name, dtype):
    fn = getattr(torch, name)
    check(fn, make((4, 17), dtype) * 5, served=name)
    check(fn, _special(dtype), served=name)
    check(lambda t: getattr(t.clone(), name + "_")(), make((3, 5), dtype) * 3, served=name + "_")


@pytest.mark.parametrize("dtype", INTS)
def test_sign_and_rounding_of_integers(dtype):
    x = make((5, 6), dtype)
    check(torch.sign, x, served="sign")
    for name in ("floor", "ceil", "trunc", "round"):
        check(getattr(torch, name), x)   # integers: a copy (served or not, it must be right)


@pytest.mark.parametrize("dtype", FLOATS + [torch.int32, torch.int64])
def test_clamp_family(dtype):
    x = make((6, 11), dtype) * 3
    lo, hi = (-1, 2) if not dtype.is_floating_point else (-0.5, 1.25)
    check(lambda t: torch.clamp(t, lo, hi), x, served="clamp")
    check(lambda t: torch.clamp(t, min=lo), x, served="clamp")
    check(lambda t: torch.clamp(t, max=hi), x, served="clamp")
    check(lambda t: torch.clamp(t, hi, lo), x, served="clamp")          # min > max: all max
    check(lambda t: torch.clamp_min(t, lo), x, served="clamp_min")
    check(lambda t: torch.clamp_max(t, hi), x, served="clamp_max")
    check(lambda t: t.clone().clamp_(lo, hi), x, served="clamp_")
    lo_t, hi_t = make((11,), dtype) - 1, make((6, 1), dtype) + 1
    check(lambda t, a, b: torch.clamp(t, a, b), x, lo_t, hi_t, served="clamp.Tensor")
    if dtype.is_floating_point:
        check(lambda t: torch.clamp(t, -0.5, 0.5), _special(dtype), served="clamp")   # NaN input stays NaN


def test_clamp_promotes_and_declines_nan_bounds():
    xi = make((4, 5), torch.int32) * 3
    check(lambda t: torch.clamp(t, 0.5, 2.5), xi, served="clamp")   # int clamped by floats: float result
    x = make((4, 5))
    with triforge.use(), triforge.coverage() as cov:
        got = torch.clamp(x, NAN, 1.0)
    assert cov.fell_back() == {"clamp": 1}
    torch.testing.assert_close(got, torch.clamp(x.cpu(), NAN, 1.0).to(got.device), equal_nan=True)


@pytest.mark.parametrize("name", ["fmax", "fmin", "maximum", "minimum"])
def test_fmax_fmin_nan(name):
    a = torch.tensor([1.0, NAN, 2.0, NAN, -INF, 0.0], device=make((1,)).device)
    b = torch.tensor([NAN, 1.0, 3.0, NAN, 1.0, -0.5], device=a.device)
    for dt in (torch.bfloat16, torch.float32):
        check(getattr(torch, name), a.to(dt), b.to(dt), served=name)
    check(getattr(torch, name), make((4, 5), torch.int32), make((5,), torch.int32), served=name)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64, torch.int32])
def test_predicates(name, dtype):
    x = _special(torch.float32).to(dtype) if dtype.is_floating_point else make((9,), dtype)
    served = name if (dtype.is_floating_point or name != "isnan") and name != "isfinite" else ()
    check(getattr(torch, name), x, served=served)   # isfinite decomposes into served ops


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("pair", [(torch.bool, torch.bool), (torch.float32, torch.int32), (torch.bfloat16, torch.bool)])
def test_logical(name, pair):
    a = make((5, 8), pair[0]) * (make((5, 8), torch.bool).to(pair[0]) if pair[0] is not torch.bool else 1)
    b = make((8,), pair[1])
    check(getattr(torch, name), a, b, served=f"{name}")
    out_f = lambda x, y: getattr(torch, name)(x, y, out=torch.empty(5, 8, device=x.device))   # noqa: E731
    check(out_f, a, b, served=f"{name}.out")
    check(torch.logical_not, a, served="logical_not")


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
@pytest.mark.parametrize("dtype", [torch.bool, torch.uint8, torch.int32, torch.int64])
def test_bitwise(name, dtype):
    a, b = make((5, 8), dtype), make((8,), dtype)
    check(getattr(torch, name), a, b, served=f"{name}.Tensor")
    if dtype is not torch.bool:
        check(lambda t: getattr(torch, name)(t, 6), a, served=f"{name}.Scalar")
    check(torch.bitwise_not, a, served="bitwise_not")
    with triforge.use(), pytest.raises(RuntimeError):
        getattr(torch, name)(make((4,)), make((4,)))   # floats: torch raises


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64, torch.int32])
def test_rsub(dtype):
    a, b = make((4, 9), dtype), make((9,), dtype)
    alpha = 2 if not dtype.is_floating_point else 0.5
    check(lambda x, y: torch.rsub(x, y), a, b, served="rsub.Tensor")
    check(lambda x, y: torch.rsub(x, y, alpha=alpha), a, b, served="rsub.Tensor")
    check(lambda x: torch.ops.aten.rsub.Scalar(x, 3, alpha), a, served="rsub.Scalar")
    check(lambda x: 1 - x, a, served="rsub.Scalar")


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64, torch.int32])
def test_addcmul_addcdiv(name, dtype):
    s, t1, t2 = make((5, 8), dtype), make((8,), dtype), make((5, 1), dtype, low=1)
    t2 = torch.where(t2 == 0, torch.ones_like(t2), t2)
    value = 3 if not dtype.is_floating_point else 0.25
    fn = getattr(torch, name)
    if name == "addcdiv" and not dtype.is_floating_point:
        with triforge.use(), pytest.raises(RuntimeError):
            fn(s, t1, t2)
        return
    check(lambda a, b, c: fn(a, b, c, value=value), s, t1, t2, served=name)
    check(lambda a, b, c: getattr(a.clone(), name + "_")(b, c, value=value), s, t1, t2, served=name + "_")
    check(lambda a, b, c: fn(a, b, c, out=torch.empty_like(a)), s, t1, t2, served=name + ".out")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
def test_lerp(dtype):
    a, b = make((6, 7), dtype), make((7,), dtype)
    for w in (0.0, 0.3, 0.5, 0.9, 1.0, -0.25):
        check(lambda x, y: torch.lerp(x, y, w), a, b, served="lerp.Scalar")
    w_t = make((6, 1), dtype, low=0.0, high=1.0)
    check(torch.lerp, a, b, w_t, served="lerp.Tensor")
    check(lambda x, y: x.clone().lerp_(y, 0.7), a, b, served="lerp_.Scalar")


@pytest.mark.parametrize("name", ["log1p", "expm1", "exp2", "log2", "log10"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64, torch.int32])
def test_exp_log_family(name, dtype):
    fn = getattr(torch, name)
    rng = (-0.9, 3.0) if name in ("log1p",) else ((0.1, 5.0) if name.startswith("log") else (-5.0, 5.0))
    x = make((4, 33), dtype, low=rng[0], high=rng[1]) if dtype.is_floating_point else make((4, 33), dtype, low=1, high=9)
    check(fn, x, served=name)
    tiny = torch.tensor([1e-8, -1e-8, 1e-4, -1e-4, 0.0, -0.0, INF, -INF, NAN], device=x.device)
    if dtype is torch.float64 or dtype is torch.float32:
        check(fn, tiny.to(dtype), served=name)   # small arguments keep their relative precision


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "xlogy"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
def test_binary_logs(name, dtype):
    a, b = make((5, 8), dtype) * 4, make((8,), dtype, low=0.1, high=4.0)
    if name == "xlogy":
        a = torch.where(make((5, 8), torch.bool), torch.zeros_like(a), a)   # x == 0 gives 0
    check(getattr(torch, name), a, b, served=name if name != "xlogy" else "xlogy.Tensor")
    s = torch.tensor([INF, -INF, INF, NAN, 0.0], device=a.device, dtype=dtype)
    t = torch.tensor([INF, -INF, -INF, 1.0, NAN], device=a.device, dtype=dtype)
    check(getattr(torch, name), s, t)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rounding_division_and_remainders(dtype):
    a = (make((6, 9), dtype) * 7).round()
    b = torch.where(make((9,), dtype).abs() < 0.3, torch.full((9,), -2.0, dtype=dtype, device=a.device),
                    make((9,), dtype) * 3)
    for mode in ("trunc", "floor"):
        check(lambda x, y: torch.div(x, y, rounding_mode=mode), a, b, served="div.Tensor_mode")
        check(lambda x: torch.div(x, 3, rounding_mode=mode), a, served="div.Tensor_mode")
    check(torch.floor_divide, a, b, served="floor_divide")
    check(torch.remainder, a, b, served="remainder.Tensor")
    check(torch.fmod, a, b, served="fmod.Tensor")
    special_a = torch.tensor([5.0, -5.0, 5.0, -5.0, 0.0, -0.0, 1.0, INF, NAN, 6.0], device=a.device)
    special_b = torch.tensor([3.0, 3.0, -3.0, -3.0, 2.0, 2.0, 0.0, 2.0, 1.0, 3.0], device=a.device)
    for fn in (torch.floor_divide, torch.remainder, torch.fmod,
               lambda x, y: torch.div(x, y, rounding_mode="trunc")):
        check(fn, special_a.to(dtype), special_b.to(dtype))


def test_half_rounding_division_goes_to_aten():
    """ATen rounds a half-type quotient before truncating (trunc(bf16(6.99)) = 7): its
    semantics, so its kernel."""
    a, b = make((8,), torch.bfloat16) * 9, make((8,), torch.bfloat16)
    with triforge.use(), triforge.coverage() as cov:
        got = torch.div(a, b, rounding_mode="trunc")
    assert cov.fell_back() == {"div.Tensor_mode": 1}
    torch.testing.assert_close(got, torch.div(a, b, rounding_mode="trunc"), rtol=0, atol=0)


def test_integer_rounding_division_goes_to_aten():
    a, b = make((5,), torch.int32), make((5,), torch.int32, low=1)
    with triforge.use(), triforge.coverage() as cov:
        got = torch.div(a, b, rounding_mode="floor")
    assert cov.fell_back() == {"div.Tensor_mode": 1}
    torch.testing.assert_close(got.cpu(), torch.div(a.cpu(), b.cpu(), rounding_mode="floor"))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_nan_to_num(dtype):
    x = torch.tensor([1.0, NAN, INF, -INF, -2.5], device=make((1,)).device, dtype=dtype)
    with triforge.use(), triforge.coverage() as cov:   # defaults depend on the dtype: compare at it
        got = torch.nan_to_num(x)
    assert cov.served() == {"nan_to_num": 1}
    torch.testing.assert_close(got, torch.nan_to_num(x), rtol=0, atol=0)
    check(lambda t: torch.nan_to_num(t, nan=7.0, posinf=3.0, neginf=-1.0), x, served="nan_to_num")
    check(lambda t: t.clone().nan_to_num_(0.5, 2.0, -2.0), x, served="nan_to_num_")


@pytest.mark.parametrize("name", ["sinh", "cosh", "tan", "erf", "logit"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
def test_more_unary(name, dtype):
    rng = {"tan": (-1.2, 1.2), "logit": (0.02, 0.98)}.get(name, (-4.0, 4.0))
    check(getattr(torch, name), make((4, 33), dtype, low=rng[0], high=rng[1]), served=name)
    if dtype is not torch.bfloat16 and name != "logit":
        tiny = torch.tensor([1e-7, -1e-7, 1e-3, 0.0, -0.0, NAN], device=make((1,)).device, dtype=dtype)
        check(getattr(torch, name), tiny, served=name)


def test_logit_eps_and_signs():
    x = torch.tensor([0.0, 1e-9, 0.3, 1.0, NAN, -0.2], device=make((1,)).device)
    check(lambda t: torch.logit(t, eps=0.125), x, served="logit")   # 1 - eps exact: a well-posed reference
    v = torch.tensor([1.0, -1.0, 0.0, -0.0, INF, -INF, 2.5, -3.5], device=x.device)
    for dt in (torch.bfloat16, torch.float32, torch.float64):
        check(torch.signbit, v.to(dt), served="signbit")
        check(torch.copysign, v.to(dt), v.flip(0).to(dt), served="copysign.Tensor")
    check(torch.signbit, make((6,), torch.int32), served="signbit")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
def test_hypot(dtype):
    a, b = make((5, 9), dtype) * 3, make((9,), dtype) * 3
    check(torch.hypot, a, b, served="hypot")
    s = torch.tensor([0.0, 3.0, INF, NAN, NAN, 1e30, -0.0], device=a.device, dtype=torch.float64)
    t = torch.tensor([0.0, -4.0, NAN, INF, 1.0, 1e30, 5.0], device=a.device, dtype=torch.float64)
    check(torch.hypot, s.to(dtype), t.to(dtype), served="hypot")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_scalar_first_and_default_inplace_overloads(dtype):
    """Overloads named for a scalar operand (.Scalar_Tensor, .Scalar_Self/_Other,
    .OutScalar_*) and default-named in-place ones (hypot_)."""
    x, y = make((5, 7), dtype) + 2, make((5, 7), dtype) + 2
    check(lambda t: torch.remainder(5.5, t), x, served="remainder.Scalar_Tensor")
    check(lambda t: torch.ops.aten.remainder.Scalar_Tensor_out(5.5, t, out=torch.empty_like(t)), x, served="remainder.Scalar_Tensor_out")
    check(lambda t: torch.xlogy(2.0, t), x, served="xlogy.Scalar_Self")
    check(lambda t: torch.xlogy(t, 3.0), x, served="xlogy.Scalar_Other")
    check(lambda t, u: torch.xlogy(t, u, out=torch.empty_like(t)), x, y, served="xlogy.OutTensor")
    check(lambda t: t.clone().xlogy_(3.0), x, served="xlogy_.Scalar_Other")
    check(lambda t, u: t.clone().hypot_(u), x, y, served="hypot_")


@pytest.mark.parametrize("name,args", [("elu_backward", (1.0, 1.0, 1.0, False)), ("hardtanh_backward", (-1.0, 1.0)),
                                       ("softplus_backward", (1.0, 20.0)), ("leaky_relu_backward", (0.01, False)),
                                       ("hardsigmoid_backward", ())])
def test_activation_backward_grad_input_out(name, args):
    g, x = make((4, 9)), make((4, 9)) * 4
    op = getattr(torch.ops.aten, name)
    if name == "elu_backward":
        fn = lambda gg, xx: op(gg, *args, xx, grad_input=torch.empty_like(xx))   # noqa: E731
    else:
        fn = lambda gg, xx: op(gg, xx, *args, grad_input=torch.empty_like(xx))   # noqa: E731
    check(fn, g, x, served=name + ".grad_input")


def test_leaky_relu_backward_on_result_with_negative_slope_raises():
    g, y = make((3, 4)), make((3, 4))
    with triforge.use(), pytest.raises(RuntimeError, match="negative slope"):
        torch.ops.aten.leaky_relu_backward(g, y, -0.1, True)


@pytest.mark.parametrize("name", ["sinh", "cosh"])
def test_sinh_cosh_past_exp_overflow(name):
    # exp(x) overflows ln 2 before sinh(x) ~ cosh(x) ~ exp(x) / 2 does (float32: 88.72 against
    # 89.42): 0.5 * (exp(x) ...) gave inf at 89.0, where the value is 2.2e38 (libm's, CUDA's)
    fn = getattr(torch, name)
    dev = make((1,)).device
    x = torch.tensor([88.8, 89.0, -89.3, 89.4, 89.5, 30.0, -2.0], device=dev)
    with triforge.use(), triforge.coverage() as cov:
        got = fn(x)
    assert name in cov.served()
    torch.testing.assert_close(got.cpu(), fn(x.cpu().double()).float(), rtol=1e-5, atol=0)   # (GPU exp: a few ulps)
    x = torch.tensor([709.9, 710.2, -710.4, 711.0, 30.0], dtype=torch.float64, device=dev)
    with triforge.use():
        got = fn(x)
    # libm (torch's vectorized CPU float64 sinh is inf from 709.8, its scalar path is not)
    want = torch.tensor([getattr(math, name)(v) if abs(v) < 710.5 else math.copysign(INF, v if name == "sinh" else 1)
                         for v in x.tolist()], dtype=torch.float64)
    torch.testing.assert_close(got.cpu(), want, rtol=1e-13, atol=0)

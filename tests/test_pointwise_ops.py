"""Unary math, activations (+ the backward ops autograd calls), comparisons and
maximum/minimum on the pointwise generator, against the float64 reference."""
import pytest
import torch
import torch.nn.functional as F

import triforge
from triforge.testing import check, layouts, make

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.int32, torch.int64, torch.uint8]

# name -> (torch fn, input range or None, accepts integer input)
UNARY = {
    "neg": (torch.neg, None, True), "abs": (torch.abs, None, True),
    "reciprocal": (torch.reciprocal, (0.2, 3.0), True), "sqrt": (torch.sqrt, (0.1, 4.0), True),
    "rsqrt": (torch.rsqrt, (0.1, 4.0), True), "exp": (torch.exp, (-4.0, 4.0), True),
    "log": (torch.log, (0.1, 4.0), True), "sin": (torch.sin, (-3.0, 3.0), True),
    "cos": (torch.cos, (-3.0, 3.0), True), "sigmoid": (torch.sigmoid, (-6.0, 6.0), True),
    "tanh": (torch.tanh, (-3.0, 3.0), True), "relu": (torch.relu, None, True),
    "silu": (F.silu, (-6.0, 6.0), False),
}


def _input(shape, dtype, rng):
    if rng is None or not dtype.is_floating_point:
        return make(shape, dtype, low=1 if dtype is torch.uint8 else None)
    return make(shape, dtype, low=rng[0], high=rng[1])


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_unary(name, dtype):
    fn, rng, ints = UNARY[name]
    if not dtype.is_floating_point and (not ints or (name in ("neg", "abs") and dtype is torch.uint8)):
        pytest.skip("torch rejects or wraps this integer case")
    x = _input((3, 67), dtype, rng)
    check(fn, x, served=name)


@pytest.mark.parametrize("name", UNARY)
def test_unary_layouts_out_inplace(name):
    fn, rng, _ = UNARY[name]
    for layout, x in layouts((5, 12), torch.float32, low=rng[0] if rng else None,
                             high=rng[1] if rng else None).items():
        check(fn, x, served=name, msg=layout)
    x = _input((4, 9), torch.float32, rng)
    check(lambda t: fn(t, out=torch.empty_like(t)) if name not in ("relu", "silu") else fn(t), x)
    if name not in ("silu",):
        check(lambda t: getattr(t.clone(), name + "_")(), x, served=name + "_")


def test_unary_special_values():
    inf, nan = float("inf"), float("nan")
    v = torch.tensor([0.0, -0.0, 1.0, -1.0, inf, -inf, nan, 1e-30, 80.0, -80.0], device=make((1,)).device)
    for name, (fn, _, _) in UNARY.items():
        check(fn, v, served=name, msg=name)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("act", ["silu", "sigmoid", "tanh", "relu", "gelu", "gelu_tanh"])
def test_activation_backward(act, dtype):
    fns = {"silu": F.silu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
           "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh")}
    bwd = {"silu": "silu_backward", "sigmoid": "sigmoid_backward", "tanh": "tanh_backward",
           "relu": "threshold_backward", "gelu": "gelu_backward", "gelu_tanh": "gelu_backward"}

    def fwd_bwd(t, g):
        t = t.detach().requires_grad_(True)
        y = fns[act](t)
        (gx,) = torch.autograd.grad(y, t, g)
        return y, gx

    x, g = make((4, 33), dtype, low=-4.0, high=4.0), make((4, 33), dtype)
    # half types: sigmoid/tanh backward read the rounded forward output y; where y rounds
    # to 1, 1 - y*y is 0 (as in torch) while the float64 chain keeps ~2 ulps of |g|.
    y_based = act in ("sigmoid", "tanh")
    tol = {torch.float16: (4e-3, 4e-3 if y_based else 1e-3),
           torch.bfloat16: (3e-2, 3e-2 if y_based else 8e-3)}.get(dtype, (None, 1e-6))
    check(fwd_bwd, x, g, served=bwd[act], rtol=tol[0], atol=tol[1])


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "maximum", "minimum"])
@pytest.mark.parametrize("pair", [(torch.float32, torch.float32), (torch.bfloat16, torch.float32),
                                  (torch.int32, torch.float16), (torch.int64, torch.int64),
                                  (torch.bool, torch.bool)])
def test_compare_and_minmax(name, pair):
    fn = getattr(torch, name)
    a = make((5, 8), pair[0])
    b = a.clone().to(pair[1]) if name in ("eq", "ne") else make((5, 8), pair[1])
    if name in ("eq", "ne"):
        b[::2] = make((3, 8), pair[1])   # some equal, some not
    check(fn, a, b, served=f"{name}.Tensor" if name not in ("maximum", "minimum") else name)
    check(fn, a, make((8,), pair[1]))   # broadcast


def test_compare_scalars_nan_and_inplace():
    nan = float("nan")
    a = torch.tensor([1.0, nan, 2.0, -1.0, nan], device=make((1,)).device)
    b = torch.tensor([1.0, nan, nan, 0.0, 3.0], device=a.device)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        check(getattr(torch, name), a, b, served=f"{name}.Tensor")
        check(lambda t: getattr(torch, name)(t, 1.0), a, served=f"{name}.Scalar")
        check(lambda t: getattr(torch.ops.aten, name).Scalar(t, 1.0), a, served=f"{name}.Scalar")
        check(lambda t, u: getattr(t.clone(), name + "_")(u), a, b, served=f"{name}_.Tensor")
    check(torch.maximum, a, b, served="maximum")
    check(torch.minimum, a, b, served="minimum")


def test_rejections_match_torch():
    b = make((4,), torch.bool)
    with triforge.use(), pytest.raises(RuntimeError):
        torch.neg(b)
    with triforge.use(), pytest.raises(RuntimeError):
        F.silu(make((4,), torch.int32))


MORE = {
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.1), "leaky_relu", "leaky_relu_backward"),
    "elu": (F.elu, "elu", "elu_backward"),
    "selu": (F.selu, "elu", "elu_backward"),
    "celu": (lambda t: F.celu(t, 0.7), "celu", "elu_backward"),
    "hardtanh": (lambda t: F.hardtanh(t, -0.5, 1.5), "hardtanh", "hardtanh_backward"),
    "relu6": (F.relu6, "hardtanh", "hardtanh_backward"),
    "hardsigmoid": (F.hardsigmoid, "hardsigmoid", "hardsigmoid_backward"),
    "hardswish": (F.hardswish, "hardswish", "hardswish_backward"),
    "softplus": (lambda t: F.softplus(t, beta=2.0, threshold=5.0), "softplus", "softplus_backward"),
    "mish": (F.mish, "mish", "mish_backward"),
    "threshold": (lambda t: F.threshold(t, 0.3, -2.0), "threshold", "threshold_backward"),
}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("act", MORE)
def test_more_activations(act, dtype):
    fn, fwd, bwd = MORE[act]

    def fwd_bwd(t, g):
        t = t.detach().requires_grad_(True)
        y = fn(t)
        (gx,) = torch.autograd.grad(y, t, g)
        return y, gx

    x, g = make((4, 37), dtype, low=-5.0, high=5.0), make((4, 37), dtype)
    tol = {torch.bfloat16: (3e-2, 2e-2)}.get(dtype, (None, 1e-6))
    check(fwd_bwd, x, g, served=(fwd, bwd), rtol=tol[0], atol=tol[1])


def test_glu_on_strided_halves():
    x = make((6, 10))
    check(F.glu, x, served="glu")
    check(lambda t: F.glu(t, 0), x, served="glu")


# Where a naive formula cancels or rounds away what ATen keeps: log(1 + exp(z)) is 0 once
# exp(z) < eps/2 (softplus(-20) in float32, mish too; ATen: log1p(exp(z))), exp(x) - 1 cancels
# for small |x| (elu(-1e-8) was 0 in float32; ATen: expm1). Against the float64 result,
# relative only (atol 0: an absolute tolerance would pass the 0s).
TINY_ACT = {
    "softplus": (F.softplus, [-20.0, -30.0, -40.0, -80.0, -1e-3, 0.5], "softplus"),
    "softplus_beta": (lambda t: F.softplus(t, beta=2.0, threshold=5.0), [-10.0, -20.0, -40.0, 1.0], "softplus"),
    "mish": (F.mish, [-20.0, -30.0, -40.0, -80.0, -1e-3, 0.5], "mish"),
    "mish_backward": (lambda t: torch.ops.aten.mish_backward(torch.ones_like(t), t), [-20.0, -30.0, -80.0, -1.0],
                      "mish_backward"),
    "elu": (F.elu, [-1e-8, -1e-5, -1e-3, -0.5, 2.0], "elu"),
    "selu": (F.selu, [-1e-8, -1e-5, -1e-3, -0.5, 2.0], "elu"),
    "celu": (lambda t: F.celu(t, 0.7), [-1e-8, -1e-5, -1e-3, -0.5, 2.0], "celu"),
    # a sigmoid(b) and its kin far below 0, where exp(-b) overflows float32 (b < -88.7):
    # 1 / (1 + exp(-b)) gave 0 there
    "glu": (lambda t: F.glu(torch.cat([torch.full_like(t, 30.0), t])), [-88.8, -90.0, -40.0, -1.0, 2.0], "glu"),
    "glu_backward": (lambda t: torch.ops.aten.glu_backward(torch.full_like(t, 30.0),
                                                           torch.cat([torch.full_like(t, 0.5), t]), -1),
                     [-88.8, -90.0, -40.0, -1.0, 2.0], "glu_backward"),
    "softplus_backward": (lambda t: torch.ops.aten.softplus_backward(torch.full_like(t, 30.0), t, 1.0, 20.0),
                          [-88.8, -90.0, -40.0, -1.0, 5.0], "softplus_backward"),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("act", TINY_ACT)
def test_activations_keep_relative_accuracy(act, dtype):
    fn, vals, op = TINY_ACT[act]
    x = torch.tensor(vals, dtype=dtype, device=make((1,)).device)
    with triforge.use(), triforge.coverage() as cov:
        got = fn(x)
    assert op in cov.served()
    want = fn(x.cpu().double()).to(dtype)
    torch.testing.assert_close(got.cpu(), want, rtol={torch.float32: 1e-5, torch.float64: 1e-13}[dtype], atol=0)
    if act in ("elu", "selu", "celu"):   # expm1(-0.0) is -0.0: so is elu(-0.0), as torch's
        z = torch.tensor([-0.0, 0.0], dtype=dtype, device=x.device)
        with triforge.use():
            assert torch.signbit(fn(z)).tolist() == [True, False]

"""Inverse trig/hyperbolic, atan2, erfc, erfinv, sgn, bit shifts, glu_backward,
round(decimals) and the general pow on the generator: float64 reference, every
overload, torch's special values and errors."""
import pytest
import torch
import torch.nn.functional as F

import triforge
from triforge.testing import check, layouts, make

# numpy's divide-by-zero / invalid warnings from the interpreter: the special values are the point
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64]
INF, NAN = float("inf"), float("nan")


def _dev():
    return make((1,)).device


def _t(values, dtype):
    return torch.tensor(values, dtype=torch.float64).to(dtype).to(_dev())


# inputs per op: its domain (from where the function is steep to where it is flat), then
# values outside it and the special ones
_UNARY = {
    "asin": ((-1, 1), [1.0, -1.0, 1.5, -2.0, 0.0, -0.0, 1e-20, INF, NAN]),
    "acos": ((-1, 1), [1.0, -1.0, 0.9999999, -1.5, 0.0, INF, NAN]),
    "atan": ((-8, 8), [0.0, -0.0, 0.41421356, 0.4143, 1.0, 1e-30, 1e30, -1e30, INF, -INF, NAN]),
    "asinh": ((-8, 8), [0.0, -0.0, 1e-20, 1e-4, 6.7e7, 7e7, 1e30, -1e300, INF, -INF, NAN]),
    "acosh": ((1, 9), [1.0, 1.0000001, 2.0, 0.5, -3.0, 6.7e7, 1e30, INF, -INF, NAN]),
    "atanh": ((-1, 1), [1.0, -1.0, 0.0, 1e-20, 0.9999999, 1.5, -2.0, INF, NAN]),
    "erfc": ((-4, 9), [0.0, -0.0, 0.5, -0.5, 3.0, 9.0, 10.0, 26.0, 27.5, -30.0, INF, -INF, NAN]),
    "erfinv": ((-1, 1), [1.0, -1.0, 0.0, -0.0, 0.5, 0.5000001, 0.9999999, 1e-30, 1.5, INF, NAN]),
}


@pytest.mark.parametrize("name", sorted(_UNARY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_special_functions(name, dtype):
    (lo, hi), special = _UNARY[name]
    fn = getattr(torch, name)
    check(fn, make((3, 37), dtype, low=lo, high=hi), served=name)
    check(fn, _t(special, dtype), served=name)
    if dtype is torch.float32:
        for lay, x in layouts((5, 7), dtype, low=lo, high=hi).items():
            check(fn, x, served=name, msg=lay)
        check(lambda t: getattr(t.clone(), name + "_")(), make((4, 5), dtype, low=lo, high=hi), served=name + "_")
        check(lambda t: fn(t, out=torch.empty_like(t)), make((4, 5), dtype, low=lo, high=hi), served=name + ".out")
        # out= of another float dtype: a cast (allocated on the argument's device: the
        # reference runs the same lambda on CPU copies)
        check(lambda t: fn(t, out=torch.empty(4, 5, dtype=torch.bfloat16, device=t.device)),
              make((4, 5), dtype, low=lo, high=hi), served=name + ".out")
        check(fn, make((0, 3), dtype), served=name)
        check(fn, make((), dtype, low=lo, high=hi), served=name)


def test_float64_near_the_edges():
    """Where naive formulas cancel: asin/acos/atanh/erfinv near +-1, acosh near 1, erfc's
    tail, atan at its reduction boundary (the reference is float64 at rtol 1e-10)."""
    d = torch.float64
    near_one = 1 - torch.logspace(-15, -1, 40, dtype=d)
    for name in ("asin", "acos", "atanh", "erfinv"):
        check(getattr(torch, name), torch.cat([near_one, -near_one]).to(_dev()), served=name)
    check(torch.acosh, (1 + torch.logspace(-15, 2, 40, dtype=d)).to(_dev()), served="acosh")
    check(torch.erfc, torch.linspace(0.5, 26.5, 60, dtype=d).to(_dev()), served="erfc")
    check(torch.atan, torch.linspace(0.40, 0.43, 31, dtype=d).to(_dev()), served="atan")
    check(torch.asinh, torch.logspace(-12, 12, 40, dtype=d).to(_dev()), served="asinh")


@pytest.mark.parametrize("name", ["asin", "atan", "erfc", "erfinv", "acosh", "atan2"])
def test_integer_inputs_promote_to_float(name):
    fn = getattr(torch, name)
    x = make((4, 5), torch.int32, low=-2, high=3)
    if name == "atan2":
        check(fn, x, make((5,), torch.int64), served=name)
    else:
        check(fn, x, served=name)


def test_atan2():
    z = [0.0, -0.0]
    ys = z + [1.0, -1.0, INF, -INF, NAN, 1e-300, 3.0]
    xs = z + [1.0, -1.0, INF, -INF, NAN, 1e300, -2.0]
    y = torch.tensor([a for a in ys for _ in xs], dtype=torch.float64)
    x = torch.tensor([b for _ in ys for b in xs], dtype=torch.float64)
    for dt in FLOATS:
        check(torch.atan2, y.to(dt).to(_dev()), x.to(dt).to(_dev()), served="atan2")
        check(torch.atan2, make((6, 9), dt), make((9,), dt), served="atan2")   # broadcast
    check(torch.atan2, make((5, 4), torch.bfloat16), make((5, 4), torch.float32), served="atan2")   # promotion
    check(lambda a, b: a.clone().atan2_(b), make((5, 4)), make((4,)), served="atan2_")
    check(torch.arctan2, make((5, 4)), make((4,)), served="atan2")   # alias, decomposed above the backend
    check(torch.arcsin, make((5, 4), low=-1, high=1), served="asin")
    a = make((4, 6))
    check(lambda a, b: torch.atan2(a, b, out=torch.empty_like(a)), a.t(), make((6, 4)).t().t(), served="atan2.out")
    x = make((5, 4), torch.int32)
    with triforge.use(), pytest.raises(RuntimeError):
        x.atan2_(make((5, 4)))   # float result into an int tensor: torch's error


@pytest.mark.parametrize("dtype", FLOATS + [torch.int8, torch.int32, torch.int64])
def test_sgn_is_sign_for_real_dtypes(dtype):
    x = make((6, 7), dtype)
    if dtype.is_floating_point:
        x = torch.cat([x.flatten(), _t([0.0, -0.0, INF, -INF, NAN], dtype)])
    check(torch.sgn, x, served="sgn")
    check(lambda t: t.clone().sgn_(), x, served="sgn_")
    check(lambda t: torch.sgn(t, out=torch.empty_like(t)), x, served="sgn.out")


def test_sgn_of_complex_and_bool_falls_back():
    z = torch.tensor([3 + 4j, 0j, -2j], device=_dev())
    b = torch.tensor([True, False], device=_dev())   # outside the block: on a GPU, a host-to-device _to_copy
    with triforge.use(), triforge.coverage() as cov:
        got = torch.sgn(z)
        gb = torch.sgn(b)
    assert cov.fell_back() == {"sgn": 2}
    torch.testing.assert_close(got.cpu(), torch.sgn(z.cpu()))
    assert gb.tolist() == [True, False]


# -- shifts ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("side", ["left", "right"])
def test_shift_counts_past_the_width_and_negative(dtype, side):
    info = torch.iinfo(dtype)
    a = torch.randint(info.min, info.max, (8, 25), dtype=torch.int64).to(dtype).to(_dev())
    counts = torch.arange(-70 if info.min < 0 else 0, 70 - (0 if info.min < 0 else 70) + 130)
    b = counts[torch.randint(len(counts), (8, 25))].to(dtype).to(_dev())
    fn = getattr(torch, f"bitwise_{side}_shift")
    op = "lshift" if side == "left" else "rshift"
    check(fn, a, b, served=f"bitwise_{side}_shift.Tensor")
    check(lambda x, y: x << y if side == "left" else x >> y, a, b, served=f"__{op}__.Tensor")
    for s in (info.bits - 1, info.bits, 260):   # 260 wraps in int8/uint8, as torch
        check(lambda x: fn(x, s), a, served=f"bitwise_{side}_shift.Tensor_Scalar")
    check(lambda x: x << 3 if side == "left" else x >> 3, a, served=f"__{op}__.Scalar")
    if info.min < 0:
        check(lambda x: fn(x, -1), a, served=f"bitwise_{side}_shift.Tensor_Scalar")
    check(lambda y: fn(-5 if info.min < 0 else 5, y), b, served=f"bitwise_{side}_shift.Scalar_Tensor")


@pytest.mark.parametrize("side", ["left", "right"])
def test_shift_overloads_promotion_and_errors(side):
    fn = getattr(torch, f"bitwise_{side}_shift")
    op = "lshift" if side == "left" else "rshift"
    a8, b64 = make((4, 5), torch.int8), make((5,), torch.int64, low=0, high=20)
    check(fn, a8, b64, served=f"bitwise_{side}_shift.Tensor")                 # int8 op int64: int64
    check(fn, a8.t(), make((4,), torch.int16, low=0, high=9), served=f"bitwise_{side}_shift.Tensor")
    check(lambda x: fn(x, 3), make((4, 5), torch.bool), served=f"bitwise_{side}_shift.Tensor_Scalar")  # int64
    check(lambda x, y: getattr(x.clone(), f"bitwise_{side}_shift_")(y), a8, a8.abs() % 9,
          served=f"bitwise_{side}_shift_.Tensor")
    check(lambda x: getattr(x.clone(), f"bitwise_{side}_shift_")(2), a8, served=f"bitwise_{side}_shift_.Tensor_Scalar")
    check(lambda x, y: getattr(x.clone(), f"__i{op}__")(y), a8, a8.abs() % 9, served=f"__i{op}__.Tensor")
    check(lambda x: getattr(x.clone(), f"__i{op}__")(3), a8, served=f"__i{op}__.Scalar")
    def out(t):   # on the argument's device: the reference runs the same lambdas on CPU copies
        return torch.empty(4, 5, dtype=torch.int64, device=t.device)
    check(lambda x, y: fn(x, y, out=out(x)), a8, b64, served=f"bitwise_{side}_shift.Tensor_out")
    check(lambda x: fn(x, 2, out=out(x)), a8, served=f"bitwise_{side}_shift.Tensor_Scalar_out")
    st_out = getattr(torch.ops.aten, f"bitwise_{side}_shift").Scalar_Tensor_out   # not in Python's binding
    check(lambda y: st_out(7, y, out=out(y)), b64.expand(4, 5), served=f"bitwise_{side}_shift.Scalar_Tensor_out")
    check(lambda x: fn(x, 2), make((0, 3), torch.int32), served=f"bitwise_{side}_shift.Tensor_Scalar")
    with triforge.use():
        for bad in (lambda: fn(make((3,)), 2), lambda: fn(make((3,), torch.int32), 1.5),
                    lambda: fn(make((3,), torch.bool), make((3,), torch.bool))):
            with pytest.raises(RuntimeError):
                bad()


# -- glu_backward ------------------------------------------------------------------------
def _glu_grad(x, dim, go):
    x = x.detach().requires_grad_()
    y = F.glu(x, dim)
    return torch.autograd.grad(y, x, go)[0]


@pytest.mark.parametrize("dtype", FLOATS)
def test_glu_backward(dtype):
    for shape, dim in (((4, 6), -1), ((4, 6), 0), ((3, 8, 5), 1), ((2, 4), 1)):
        half = list(shape)
        half[dim] //= 2
        x, go = make(shape, dtype) * 2, make(half, dtype)
        check(lambda x, go: _glu_grad(x, dim, go), x, go, served="glu_backward")
    x = make((6, 10), dtype).t()                                 # non-contiguous input and grad
    check(lambda x, go: _glu_grad(x, 1, go), x, make((3, 10), dtype).t(), served="glu_backward")
    check(lambda x, go: torch.ops.aten.glu_backward(go, x, 0), make((4, 3), dtype), make((3, 2), dtype).t(),
          served="glu_backward")
    check(lambda x, go: torch.ops.aten.glu_backward(go, x, 0), make((0, 3), dtype), make((0, 3), dtype),
          served="glu_backward")


def test_glu_backward_out_and_errors():
    x, go = make((5, 8)), make((5, 4))
    check(lambda x, go: torch.ops.aten.glu_backward.grad_input(go, x, 1, grad_input=torch.empty_like(x)), x, go,
          served="glu_backward.grad_input")
    with triforge.use(), triforge.coverage() as cov:
        got = torch.ops.aten.glu_backward.grad_input(go, x, 1, grad_input=torch.empty(0, device=x.device))
    assert cov.fell_back() == {"glu_backward.grad_input": 1}   # ATen resizes out
    torch.testing.assert_close(got, torch.ops.aten.glu_backward(go, x, 1))
    with triforge.use(), pytest.raises(RuntimeError):
        torch.ops.aten.glu_backward(make((5, 3)), make((5, 7)), 1)   # odd dimension: torch's error


# -- round(decimals) ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_round_decimals(dtype):
    x = make((5, 13), dtype) * 50
    for d in (1, 2, 3, -1, -2, 0):
        check(lambda t: torch.round(t, decimals=d), x, served="round.decimals")
    ties = _t([0.125, 0.375, -0.125, 1250.0, 1350.0, -1250.0, 0.0, -0.0, INF, -INF, NAN], dtype)
    check(lambda t: torch.round(t, decimals=2), ties, served="round.decimals")   # exact ties: to even
    check(lambda t: torch.round(t, decimals=-2), ties, served="round.decimals")
    check(lambda t: t.clone().round_(decimals=1), x.t(), served="round_.decimals")
    check(lambda t: torch.round(t, decimals=1, out=torch.empty_like(t)), x, served="round.decimals_out")


def test_round_decimals_declines_integers_and_huge_scales():
    with triforge.use(), pytest.raises(RuntimeError):
        torch.round(make((3,), torch.int32), decimals=1)   # torch's error
    x = make((4,))
    with triforge.use(), triforge.coverage() as cov:
        got = torch.round(x, decimals=50)
    assert cov.fell_back() == {"round.decimals": 1}
    torch.testing.assert_close(got, torch.round(x, decimals=50), equal_nan=True)


# -- pow -----------------------------------------------------------------------------------
_PX = [NAN, 1.0, -1.0, -1.0, 0.0, -0.0, -0.0, -0.0, -INF, -INF, -2.0, -0.5, 2.0, INF, 0.5, -1.0, -2.0, -2.0, 3.0,
       1.0, 0.0, -3.0, 10.0]
_PY = [0.0, NAN, INF, -INF, -1.0, 3.0, -3.0, 0.5, 0.5, 3.0, 0.5, -INF, INF, -1.0, -INF, 2.5, 3.0, 1025.0, 0.5,
       -INF, 0.0, -2.0, 400.0]


@pytest.mark.parametrize("dtype", FLOATS)
def test_pow_tensor_tensor(dtype):
    check(torch.pow, _t(_PX, dtype), _t(_PY, dtype), served="pow.Tensor_Tensor")   # C pow's special cases
    base, e = make((6, 11), dtype, low=0.05, high=4), make((11,), dtype, low=-6, high=6)
    check(torch.pow, base, e, served="pow.Tensor_Tensor")
    check(torch.pow, -base, e.round(), served="pow.Tensor_Tensor")           # negative ** integer
    check(torch.pow, base.t(), make((11, 1), dtype, low=-3, high=3), served="pow.Tensor_Tensor")
    check(lambda a, b: a.clone().pow_(b), base, e, served="pow_.Tensor")
    check(lambda a, b: torch.pow(a, b, out=torch.empty_like(a)), base, e, served="pow.Tensor_Tensor_out")


@pytest.mark.parametrize("dtype", FLOATS)
def test_pow_scalar_exponent_and_scalar_base(dtype):
    x = torch.cat([make((40,), dtype, low=0.05, high=5), _t([0.0, -0.0, -2.0, INF, -INF, NAN, 1.0], dtype)])
    wide = dtype in (torch.float32, torch.float64)
    exponents = (2, 3, 1, 0.5, -0.5, -1, -2, 0, 2.5, -1.7, 7, 1e-3, INF, -INF, NAN, 2.0, True)
    for e in exponents if wide else (2, 0.5, -1.7, INF):
        check(lambda t: torch.pow(t, e), x, served="pow.Tensor_Scalar", msg=f"exponent {e}")
    check(lambda t: t.clone().pow_(1.5), x, served="pow_.Scalar")
    check(lambda t: torch.pow(t, 1.5, out=torch.empty_like(t)), x, served="pow.Tensor_Scalar_out")
    e = torch.cat([make((30,), dtype, low=-5, high=5), _t([0.0, INF, -INF, NAN], dtype)])
    for b in (2, 2.5, 0.5, 0, -1, -2.0, 1) if wide else (2.5, -2.0):
        check(lambda t: torch.pow(b, t), e, served="pow.Scalar", msg=f"base {b}")
    check(lambda t: torch.pow(3.0, t, out=torch.empty_like(t)), e, served="pow.Scalar_out")


def test_pow_float32_is_accurate_near_overflow():
    """exp(y log x) in float32 would be off by |y log x| ulps (5e-6 at 1e38); torch's
    powf is not."""
    x = torch.linspace(1.5, 3.0, 64)
    e = 88.0 / x.log()   # results near 1e38
    check(torch.pow, x.to(_dev()), e.to(_dev()), served="pow.Tensor_Tensor", rtol=2e-7)


@pytest.mark.parametrize("dtype", INTS)
def test_pow_integers_exact_and_wrapping(dtype):
    info = torch.iinfo(dtype)
    a = make((6, 20), dtype)
    b = make((20,), dtype, low=-4 if info.min < 0 else 0, high=70)
    check(torch.pow, a, b, served="pow.Tensor_Tensor")   # wraps; negative exponents: powi's 1 / +-1 / 0
    if info.min < 0:
        check(torch.pow, _t([1, -1, -1, 0, 2, -2, 1], dtype), _t([-3, -3, -4, -1, -1, -63, -127], dtype),
              served="pow.Tensor_Tensor")
    for e in (0, 1, 2, 3, 5, 13, info.max):
        check(lambda t: torch.pow(t, e), a, served="pow.Tensor_Scalar", msg=f"exponent {e}")
    check(lambda t: torch.pow(-3, t), b, served="pow.Scalar")
    check(lambda t: torch.pow(t, 2.5), a, served="pow.Tensor_Scalar")   # float exponent: float result
    check(lambda t: t.clone().pow_(3), a, served="pow_.Scalar")
    check(lambda t, u: torch.pow(t, u, out=torch.empty(6, 20, dtype=torch.int64, device=t.device)), a, b,
          served="pow.Tensor_Tensor_out")
    with triforge.use():
        with pytest.raises(RuntimeError):
            torch.pow(a, -1)   # integers to negative integer powers
        with pytest.raises(RuntimeError):
            a.clone().pow_(1.5)   # float result into an integer tensor
        if info.bits < 64:
            with pytest.raises(RuntimeError):
                torch.pow(a, info.max + 1)   # the exponent overflows the dtype


def test_pow_mixed_dtypes_bool_and_empty():
    check(torch.pow, make((4, 5), torch.int32, low=0, high=5), make((5,), torch.bfloat16), served="pow.Tensor_Tensor")
    check(torch.pow, make((4, 5), torch.float16), make((4, 5), torch.int64, low=-3, high=4), served="pow.Tensor_Tensor")
    check(lambda t: torch.pow(t, 2), make((4, 5), torch.bool), served="pow.Tensor_Scalar")     # bool ** int: int64
    check(lambda t: torch.pow(t, 0.5), make((0, 5)), served="pow.Tensor_Scalar")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.pow(make((3,), torch.bool), make((3,), torch.bool))   # torch: not implemented for Bool


# -- real sizes, on a GPU --------------------------------------------------------------------
@pytest.mark.gpu_only
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_gpu_sizes(dtype):
    for name, ((lo, hi), _) in sorted(_UNARY.items()):
        check(getattr(torch, name), make((1024, 4097), dtype, low=lo, high=hi), served=name)
    a, b = make((2048, 4096), dtype, low=0.1, high=3), make((2048, 4096), dtype, low=-4, high=4)
    check(torch.pow, a, b, served="pow.Tensor_Tensor")
    check(torch.atan2, a, b.t().contiguous().t(), served="atan2")
    check(lambda x, go: _glu_grad(x, -1, go), make((1024, 8192), dtype), make((1024, 4096), dtype),
          served="glu_backward")
    check(lambda t: torch.round(t, decimals=3), a, served="round.decimals")
    i = make((4096, 4096), torch.int32)
    check(lambda x, y: x << y, i, (i.abs() % 40).to(torch.int32), served="__lshift__.Tensor")
    check(torch.pow, i, (i.abs() % 9).to(torch.int32), served="pow.Tensor_Tensor")


# -- the same kernels compiled for an H100 (sm_90), without one ------------------------------
_COMPILE_FOR_SM90 = r'''
import os, sys
os.environ.pop("TRITON_INTERPRET", None)
import triton, triton.language as tl, triton.compiler.code_generator   # tl's own jit functions: GPU ones
os.environ["TRITON_INTERPRET"] = "1"
import triforge
triforge.backend()                       # the interpreter backend: only to import triforge's code
os.environ["TRITON_INTERPRET"] = "0"     # the op modules' @triton.jit: GPU functions
import torch
from triton.compiler import ASTSource
from triton.backends.compiler import GPUTarget
from triforge.codegen import pointwise as P
from triforge.ops.pointwise import activation as A, inverse_trig as IT, math as M, shift as SH, special as SP
TY = {torch.float32: ("fp32", tl.float32), torch.float64: ("fp64", tl.float64), torch.bfloat16: ("bf16", tl.float32),
      torch.int8: ("i8", tl.int8), torch.uint8: ("u8", tl.uint8), torch.int32: ("i32", tl.int32),
      torch.int64: ("i64", tl.int64)}
F, I = (torch.float32, torch.float64, torch.bfloat16), (torch.int8, torch.uint8, torch.int32, torch.int64)
jobs = [(fn, "t|", d) for fn in (IT._atan, IT._asin, IT._acos, IT._asinh, IT._acosh, IT._atanh, SP._erfc,
                                 SP._erfinv) for d in F]
jobs += [(fn, k, d) for fn in (IT._atan2, M._pow_float, M._pow_float_wide) for d in F for k in ("tt|", "ts|", "st|")]
jobs += [(fn, k, d) for fn in (M._pow_int, SH._lshift, SH._rshift) for d in I for k in ("tt|", "ti|", "it|")]
jobs += [(fn, "t|s", d) for fn in (M._round_scaled, M._round_coarse) for d in F]
jobs += [(A._glu_backward, "tttr|", d) for d in F]
bad = []
for i, (fn, kinds, dt) in enumerate(jobs):
    scalar = "d" if dt is torch.float64 else "f"
    kinds = kinds.replace("s", scalar)
    name = f"sm90_{i}"
    jf = P._load(P._source(fn, 2, kinds, name), name)
    ins, _, pars = kinds.partition("|")
    sig = {}
    for k, c in enumerate(ins):
        sig[f"in{k}"] = ("*i8" if c == "r" else "*" + TY[dt][0]) if c in "tr" else {"f": "fp32"}.get(c, "i64")
    for k, c in enumerate(pars):
        sig[f"p{k}"] = {"f": "fp32"}.get(c, "i64")
    sig.update({"out0": "*" + TY[dt][0], "n": "i32", "size0": "i32", "size1": "i32"})
    for k in range(sum(c in "tr" for c in ins) + 1):
        sig.update({f"st{k}_0": "i32", f"st{k}_1": "i32"})
    sig.update({"COMPUTE": "constexpr", "BLOCK": "constexpr", "INT64": "constexpr"})
    try:
        triton.compile(ASTSource(jf, sig, constexprs={"COMPUTE": TY[dt][1], "BLOCK": 1024, "INT64": False}),
                       target=GPUTarget("cuda", 90, 32))
    except Exception as e:
        bad.append(f"{fn.__name__} {kinds} {dt}: {e}"[-800:])
print(f"compiled {len(jobs) - len(bad)} of {len(jobs)}")
print("\n\n".join(bad))
sys.exit(1 if bad else 0)
'''


@pytest.mark.slow
def test_kernels_compile_for_sm90():
    """Compile errors the interpreter cannot see (a loop-carried value that changes from
    scalar to block, types of constants) show up here without a GPU: every scalar
    function of this file's ops, through the generator's kernel, to a cubin for sm_90."""
    import os
    import subprocess
    import sys
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    env.pop("TRITON_INTERPRET", None)
    got = subprocess.run([sys.executable, "-c", _COMPILE_FOR_SM90], env=env, capture_output=True, text=True,
                         timeout=1200)
    assert got.returncode == 0, got.stdout[-4000:] + got.stderr[-4000:]

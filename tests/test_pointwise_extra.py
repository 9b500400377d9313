"""Inverse trig/hyperbolic, atan2, erfc, erfinv, sgn, bit shifts, glu_backward,
round(decimals) and the general pow on the generator: float64 reference, every
overload, torch's special values and errors."""
import pytest
import torch
import torch.nn.functional as F

import triforge
from triforge import testing
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


# -- the float32 paths, in float32 ulps --------------------------------------------------------
# float32 (and the half types, computed in float32) have formulas of their own; their error in
# ulps of the float32 result, against the float64 reference, on a dense sweep of each domain.
# Measured under the interpreter (correctly rounded + - * / and sqrt): asin 1.1, acos 1.2,
# atan 1.5, atan2 1.5, erfinv 1.6, erfc 3.8 (float32 roundings of its Horner steps and
# products add up); asinh 3.3 (log's argument rounded, just past 1/2); exp 1.0, expm1 1.4,
# sinh 1.3, cosh 1.3 (explog.py), tanh 1.5, log1p 4.1 (numpy's float32 log).
# On a GPU, tl.sqrt and / are sqrt.approx / div.full (a few ulps of their own at worst), which
# the formulas pass on: a looser bound there.
_ULPS = {"asin": 2.0, "acos": 2.0, "atan": 2.0, "atan2": 2.0, "erfinv": 2.0, "erfc": 4.0,
         "expm1": 1.5, "log1p": 4.5, "sinh": 1.5, "cosh": 1.5, "tanh": 2.0, "exp": 1.5, "asinh": 4.0,
         "sigmoid": 2.0, "silu": 2.5}
_TORCH_FN = {"silu": F.silu}
_ULPS_GPU_EXTRA = 4.0


def _ulp_error(got, ref):
    """|got - ref| in ulps of float32 at ref (2^-149 in the subnormals); 0 where both are the
    same non-finite value (NaN, or an infinity of the same sign), inf where only one is."""
    got, ref = got.double().cpu(), ref.double().cpu()
    big = ref.abs() >= 2.0 ** 128 * (1 - 2.0 ** -25)   # rounds to a float32 infinity
    ref = torch.where(big, ref.sign() * INF, ref)
    e = torch.frexp(ref.abs())[1]   # |ref| in [2^(e-1), 2^e)
    ulp = torch.exp2((e - 24).clamp(min=-149).double()).masked_fill(ref == 0, 2.0 ** -149)
    err = (got - ref).abs() / ulp
    fin = ref.isfinite()
    same = (got == ref) | (got.isnan() & ref.isnan())
    return torch.where(fin, err.nan_to_num(nan=INF), torch.where(same, 0.0, INF))


def _f32(values):
    return torch.as_tensor(values, dtype=torch.float64).to(torch.float32).flatten()


def _around(values, n=48):
    """Nonzero float32 values and their n float32 neighbours on each side."""
    bits = _f32(values).view(torch.int32)[:, None] + torch.arange(-n, n + 1, dtype=torch.int32)
    return bits.flatten().view(torch.float32)


_TINY = [1e-45, 3e-42, 1e-39, 1.1754942e-38, 1.1754944e-38, 1e-30, 1e-20, 1e-10, 3e-4]


def _sweep(name, n=12000):
    """float32 inputs over the whole domain: a uniform grid, log-spaced approaches to the
    points where the function is steep or a formula changes (with their float32
    neighbours), subnormals, and a random spread."""
    g = torch.Generator().manual_seed(0)
    lin = lambda a, b: _f32(torch.linspace(a, b, n, dtype=torch.float64))   # noqa: E731
    up = lambda lo, hi: torch.logspace(lo, hi, n, dtype=torch.float64)      # noqa: E731
    both = lambda v: torch.cat([_f32(v), -_f32(v)])                         # noqa: E731
    if name in ("asin", "acos"):
        parts = [lin(-1, 1), both(1 - up(-8, 0)), both(up(-40, 0)), both(_TINY), _around([0.5, -0.5, 1.0, -1.0]),
                 both(0.5 + up(-8, -0.5)), _f32(torch.rand(4 * n, generator=g, dtype=torch.float64) * 2 - 1)]
    elif name == "atan":
        parts = [lin(-10, 10), both(up(-45, 38)), both(_TINY), _around([1.0, -1.0, 0.41421356]),
                 both(1 + up(-8, 0)), both(1 - up(-8, -0.5))]
    elif name == "erfinv":
        top = 1 - 2.0 ** -24 * torch.arange(1, 4097, dtype=torch.float64)   # every float32 up there
        split = (1 - 2.0 ** -9) ** 0.5   # where the central polynomial hands over to the tail
        parts = [lin(-1, 1), both(1 - up(-7.3, 0)), both(top), both(up(-40, 0)), both(_TINY),
                 _around([split, -split, 0.5, -0.5]), _f32(torch.rand(4 * n, generator=g, dtype=torch.float64))]
    elif name == "erfc":   # subnormal results from 9.2, zero from 10.06
        parts = [lin(-11, 11), both(up(-40, 1.03)), both(_TINY), _around([9.19, 9.2, 10.05, 10.06, 10.5]),
                 _f32(torch.rand(4 * n, generator=g, dtype=torch.float64) * 11)]
    elif name == "asinh":   # the polynomial below 1/2, log(x + sqrt(x^2 + 1)) to 4096, log(x) + ln 2 past it
        parts = [lin(-10, 10), both(up(-45, 38)), both(_TINY), _around([0.5, -0.5, 4096.0, -4096.0]),
                 _f32(torch.rand(4 * n, generator=g, dtype=torch.float64) * 4 - 2)]
    elif name == "log1p":   # the reduction's bounds sqrt(1/2) - 1, sqrt(2) - 1 and powers of two
        parts = [lin(-1, 10), _f32(up(-45, 38)), _f32(-up(-45, 0)), _f32(-1 + up(-7.3, 0)), _f32(_TINY),
                 _around([2 ** 0.5 - 1, 0.5 ** 0.5 - 1, -0.5, 1.0, 3.0, 2.0 ** 24, 2.0 ** 25]),
                 _f32(torch.rand(4 * n, generator=g, dtype=torch.float64) * 4 - 1)]
    else:   # exp, expm1, sinh, cosh, tanh, sigmoid, silu: the reduction's k changes every ln 2 / 2;
        # overflow near 88.7 / 89.4 (sigmoid and silu: exp(-|a|) subnormal from 87.3, 0 past 103.9)
        parts = [lin(-100, 100), both(up(-45, 1.96)), both(_TINY),
                 _around([1.0, -1.0, 0.34657359, -0.34657359, 16.6, 17.0, 88.72, 89.41, -88.72, -89.41, 0.625, -0.625]),
                 _f32(torch.rand(4 * n, generator=g, dtype=torch.float64) * 200 - 100)]
    return torch.cat(parts)


def _atan2_sweep(n=40000):
    g = torch.Generator().manual_seed(0)

    def spread(k):
        mag = 10.0 ** (torch.rand(k, generator=g, dtype=torch.float64) * 60 - 30)
        return _f32(mag * torch.randn(k, generator=g, dtype=torch.float64).sign())
    y, x = spread(n), spread(n)
    u, v = _f32(torch.rand(n, generator=g) * 2 - 1), _f32(torch.rand(n, generator=g) * 2 - 1)
    # near the diagonals |y| = |x|, where the angle of the smaller over the larger is ~1
    d = _f32(torch.randn(n, generator=g, dtype=torch.float64))
    dd = _f32(d.double() * (1 + torch.randn(n, generator=g, dtype=torch.float64) * 1e-4))
    return torch.cat([y, u, d, -dd]), torch.cat([x, v, dd, d])


@pytest.mark.parametrize("name", sorted(_ULPS))
def test_float32_error_in_ulps(name):
    fn = _TORCH_FN.get(name) or getattr(torch, name)
    args = _atan2_sweep() if name == "atan2" else (_sweep(name),)
    dev = [a.to(_dev()) for a in args]
    with triforge.use(), triforge.coverage() as cov:
        got = fn(*dev)
    assert name in cov.served(), f"{name} did not run on triforge"
    ref = fn(*[a.double() for a in args])
    err = _ulp_error(got, ref)
    bound = _ULPS[name] + (0.0 if testing.interpreted() else _ULPS_GPU_EXTRA)
    i = int(err.argmax())
    at = [a[i].item() for a in args]
    assert err[i] <= bound, f"{name}{at}: {got.cpu()[i].item()!r}, float64 {ref[i].item()!r}: {err[i]:.2f} ulps"


_SPECIAL32 = {
    "asin": [0.0, -0.0, 1.0, -1.0, 1.0000001, -1.0000001, 2.0, INF, -INF, NAN, 1e-45, -1e-45, 0.5, -0.5],
    "acos": [0.0, -0.0, 1.0, -1.0, 1.0000001, -1.0000001, -2.0, INF, -INF, NAN, 1e-45, 0.5, -0.5],
    "atan": [0.0, -0.0, 1.0, -1.0, INF, -INF, NAN, 1e-45, -1e-45, 3e38, -3e38],
    "erfinv": [0.0, -0.0, 1.0, -1.0, 1.0000001, -1.0000001, 2.0, INF, -INF, NAN, 1e-45, -1e-45,
               1 - 2.0 ** -24, -(1 - 2.0 ** -24)],
    "erfc": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, 9.3, 10.05, 10.06, 10.5, 11.0, 30.0, 3e38, -3e38, -10.0],
    "expm1": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, 88.72, 88.73, 89.0, -30.0, -104.0, 3e38, -3e38],
    "log1p": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, -1.0, -1.0000001, -2.0, -0.99999994, 3e38, 1e-8],
    "sinh": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, 89.4, -89.4, 89.42, -89.42, 3e38, -3e38],
    "cosh": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, 89.4, -89.4, 89.42, 3e38, -3e38],
    "tanh": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, 0.625, -0.625, 9.0, -9.0, 3e38, -3e38],
    "asinh": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, 0.5, -0.5, 4096.0, 3e38, -3e38],
    "exp": [0.0, -0.0, INF, -INF, NAN, 1e-45, 88.72, 88.73, -87.33, -103.9, -104.0, -110.0, 3e38, -3e38],
    "sigmoid": [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-45, 88.72, -88.73, -95.0, -103.9, -110.0, 3e38, -3e38],
    "silu": [0.0, -0.0, INF, NAN, 1e-45, -1e-45, 88.72, -88.73, -95.0, -103.9, -110.0, 3e38, -3e38],
}


@pytest.mark.parametrize("name", sorted(_SPECIAL32))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_float32_special_values(name, dtype):
    """NaN where torch has NaN, the same infinities, zeros of the same sign (asin(-0) = -0,
    acos(1) = +0, erfc(inf) = +0), and the rest within the bound; the half types compute
    in float32 and round once."""
    fn = _TORCH_FN.get(name) or getattr(torch, name)
    x = _f32(_SPECIAL32[name]).to(dtype)
    with triforge.use():
        got = fn(x.to(_dev())).cpu()
    ref = fn(x.double()).to(dtype)   # the float64 value rounded to dtype
    assert torch.equal(got.isnan(), ref.isnan()), (name, x, got, ref)
    fin = ref.isfinite() & (ref != 0)
    assert torch.equal(got[~fin & ~ref.isnan()], ref[~fin & ~ref.isnan()]), (name, x, got, ref)
    assert torch.equal(torch.signbit(got[ref == 0]), torch.signbit(ref[ref == 0])), (name, x, got, ref)
    tol = _ULPS[name] + (0.0 if testing.interpreted() else _ULPS_GPU_EXTRA)
    err = _ulp_error(got[fin].float(), fn(x.double())[fin]) if dtype is torch.float32 else None
    if err is not None:
        assert err.max() <= tol, (name, x[fin], got[fin], err)
    else:   # a float32 result within tol ulps, rounded once: the nearest half value or a neighbour
        ulp = torch.exp2(torch.frexp(ref[fin].double().abs())[1] - (11 if dtype is torch.float16 else 8))
        assert ((got[fin].double() - ref[fin].double()).abs() <= ulp).all(), (name, x[fin], got[fin], ref[fin])


# Half results of a float32 computation: functions with a cheaper form there (LOW, see
# codegen/pointwise.py) on every finite value of the half type in their domain, against the
# float64 result: within one ulp of the half type (a faithful rounding, as torch's float32
# opmath then one rounding gives); the same infinities and NaNs.
_HALF_LOW = {
    "exp": (torch.exp, -200, 200), "tanh": (torch.tanh, -200, 200), "log1p": (torch.log1p, -2, INF),
    "sinh": (torch.sinh, -200, 200), "cosh": (torch.cosh, -200, 200),
    "logaddexp": (lambda t, u: torch.logaddexp(t, u), -INF, INF),
    "softplus": (F.softplus, -200, 200), "mish": (F.mish, -200, 200),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), -200, 200),   # reference: _gelu_tanh64
    "asinh": (torch.asinh, -INF, INF), "acosh": (torch.acosh, 0.5, INF), "atanh": (torch.atanh, -2, 2),
    "erfinv": (torch.erfinv, -2, 2), "erfc": (torch.erfc, -INF, INF),
    "sigmoid": (torch.sigmoid, -INF, INF), "silu": (F.silu, -INF, INF),
}


def _gelu_tanh64(x):
    """gelu's tanh form in float64 without torch's cancellation: 0.5 x (1 + tanh(u)) =
    x / (1 + exp(-2u)) (torch's float64 1 + tanh(u) is 0 from x ~ -7.5, 2e-16 off before)."""
    return x / (1 + torch.exp(-2 * 0.7978845608028654 * (x + 0.044715 * x ** 3)))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("name", sorted(_HALF_LOW))
def test_half_results_of_float32_forms(name, dtype):
    fn, lo, hi = _HALF_LOW[name]
    x = torch.arange(-2**15, 2**15, dtype=torch.int32).to(torch.int16).view(dtype)
    x = x[(x >= lo) & (x <= hi)]
    args = [x, (x * 0.75 - 1).flip(0)] if name == "logaddexp" else [x]
    with triforge.use():
        got = fn(*[a.to(_dev()) for a in args]).cpu()
    ref = (_gelu_tanh64 if name == "gelu_tanh" else fn)(*[a.double() for a in args])
    p, emin = (8, -133) if dtype is torch.bfloat16 else (11, -24)
    ulp = torch.exp2((torch.frexp(ref.abs())[1] - p).clamp(min=emin).double())
    near = ref.to(dtype)   # float64 -> half rounds correctly
    ok = (got == near) | (got.isnan() & near.isnan()) | ((got.double() - ref).abs() <= ulp)
    bad = ~ok
    assert not bad.any(), (name, x[bad][:6].tolist(), got[bad][:6].tolist(), ref[bad][:6].tolist())


def test_low_forms_are_chosen_by_the_stored_dtype():
    """The generator passes LOW=True for a float32 computation stored in a half type only:
    float32 results (and out= float32 of half inputs) take the full form."""
    from triforge.codegen import pointwise as P
    from triforge.ops.pointwise import math as M
    pw = P.Pointwise(M._tanh, 1, promotion="INT_TO_FLOAT", low=True)

    def low_of(x, out=None):
        la = pw._plan((x,), (), out).launcher
        return next(k[-1] for k, v in P._kernels.items() if v is la)
    x = make((5, 7), torch.bfloat16)
    assert low_of(x) is True
    assert low_of(x.half()) is True
    assert low_of(x.float()) is False
    assert low_of(x.double()) is False
    assert low_of(x, out=torch.empty(x.shape, device=x.device)) is False
    assert low_of(x.float(), out=torch.empty(x.shape, dtype=torch.float16, device=x.device)) is True


def test_float32_atan2_signed_zeros_and_infinities():
    z = [0.0, -0.0]
    ys = z + [1.0, -1.0, INF, -INF, NAN, 1e-45, 3e38]
    xs = z + [1.0, -1.0, INF, -INF, NAN, 1e-45, -3e38]
    y = torch.tensor([a for a in ys for _ in xs], dtype=torch.float32)
    x = torch.tensor([b for _ in ys for b in xs], dtype=torch.float32)
    with triforge.use():
        got = torch.atan2(y.to(_dev()), x.to(_dev())).cpu()
    ref = torch.atan2(y.double(), x.double())
    assert torch.equal(got.isnan(), ref.isnan())
    assert torch.equal(torch.signbit(got[ref == 0]), torch.signbit(ref[ref == 0].float()))
    assert _ulp_error(got, ref).max() <= _ULPS["atan2"] + (0.0 if testing.interpreted() else _ULPS_GPU_EXTRA)


_ODD_AT_ZERO = {
    "neg": torch.neg, "asin": torch.asin, "atan": torch.atan, "asinh": torch.asinh, "atanh": torch.atanh,
    "erfinv": torch.erfinv, "copysign 0, x": lambda t: torch.copysign(torch.zeros_like(t), t),
    "copysign x, -1": lambda t: torch.copysign(t, torch.full_like(t, -1.0)),
    "atan2 x, 1": lambda t: torch.atan2(t, torch.ones_like(t)),
    "tanh": torch.tanh, "pow x, 5.0": lambda t: torch.pow(t, 5.0),
    "pow x, 3 (tensor)": lambda t: torch.pow(t, torch.full_like(t, 3.0)),
}


@pytest.mark.parametrize("name", sorted(_ODD_AT_ZERO))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_signed_zero_results(name, dtype):
    """f(-0.0) is -0.0 and f(+0.0) is +0.0 where torch's are: Triton's unary minus is
    0 - x, which turned -0.0 results into +0.0 (neg(+0.0) gave +0.0, copysign(0, -1)
    +0.0, float64 atan(-0.0) +0.0)."""
    fn = _ODD_AT_ZERO[name]
    x = torch.tensor([0.0, -0.0, 0.25, -0.25], dtype=dtype, device=testing.device())
    with triforge.use(), triforge.coverage() as cov:
        got = fn(x)
    want = fn(x.cpu())
    assert cov.served(), str(cov)
    assert got.dtype == want.dtype
    assert torch.equal(torch.signbit(got).cpu(), torch.signbit(want)), (got, want)
    torch.testing.assert_close(got.cpu(), want)


def _nll_grad(reduction):
    def f(x, t, w, ignore_index):
        x = x.clone().requires_grad_()
        loss = F.nll_loss(x, t, weight=w, reduction=reduction, ignore_index=ignore_index)
        g = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.5, -0.5], dtype=x.dtype, device=x.device)
        loss.backward(g if reduction == "none" else g[2])
        return x.grad
    return f


# (x, t, w) with zero losses / gradients of either sign: BCE's at x = t = 1 is -0.0 (it was
# -(0) = 0 - 0 = +0.0); nll's -x * w with a +-0.0 weight and its gradient -w * g
_LOSSES = {
    "binary_cross_entropy": ("bce", lambda x, t, w: F.binary_cross_entropy(x, t, reduction="none")),
    "binary_cross_entropy weight": ("bce", lambda x, t, w: F.binary_cross_entropy(x, t, weight=w, reduction="none")),
    "nll_loss": ("nll", lambda x, t, w, i: F.nll_loss(x, t, weight=w, reduction="none", ignore_index=i)),
    "nll_loss_backward": ("nll", _nll_grad("none")),
    "nll_loss_backward mean": ("nll", _nll_grad("mean")),
}


@pytest.mark.parametrize("name", sorted(_LOSSES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_signed_zero_losses(name, dtype):
    """Loss zeros carry torch's sign: Triton's unary minus is 0 - x, so -(...) and -w gave
    +0.0 where ATen's negation gives -0.0."""
    kind, fn = _LOSSES[name]
    if kind == "bce":
        xs, ts = [0.0, -0.0, 1.0, 0.5], [0.0, -0.0, 1.0, 0.5]
        x = _t([a for a in xs for _ in ts], dtype)
        t = _t([b for _ in xs for b in ts], dtype)
        w = _t([1.0, -1.0, 0.0, -0.0] * 4, dtype)
        args = (x, t, w)
    else:   # rows of (C = 3) log-probabilities with signed zeros; weights +-0.0
        x = _t([[0.0, -0.0, 1.0], [-0.0, 0.0, -2.0], [0.0, 0.0, 0.0], [-0.0, -0.0, -0.0], [0.5, 0.0, -0.0],
                [0.0, -0.0, 3.0]], dtype)
        t = torch.tensor([0, 0, 1, 2, 2, 1], device=_dev())
        args = (x, t, _t([0.0, -0.0, 1.0], dtype), -100)
    with triforge.use(), triforge.coverage() as cov:
        got = fn(*args)
    want = fn(*(a.cpu() if isinstance(a, torch.Tensor) else a for a in args))
    assert cov.served(), str(cov)
    assert torch.equal(torch.signbit(got).cpu(), torch.signbit(want)), (got, want)
    torch.testing.assert_close(got.cpu(), want)
    if kind == "nll":   # ignored rows and zero weights: +0.0 losses and gradients, as torch
        args = (x, t, _t([-0.0, 0.0, 2.0], dtype), 1)
        with triforge.use():
            got = fn(*args)
        want = fn(*(a.cpu() if isinstance(a, torch.Tensor) else a for a in args))
        assert torch.equal(torch.signbit(got).cpu(), torch.signbit(want)), (got, want)
        torch.testing.assert_close(got.cpu(), want)


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
jobs = [(fn, "t|", d) for fn in (IT._atan, IT._asin, IT._acos, IT._asinh, SP._erfc, SP._erfinv, M._expm1) for d in F]
# the functions with a LOW form (half results): both forms
LOWS = [(fn, "t|") for fn in (IT._acosh, IT._atanh, M._exp, M._tanh, M._log1p, M._sinh, M._cosh,
                              A._gelu_tanh, A._mish)]
LOWS += [(fn, "tt|") for fn in (M._logaddexp, M._logaddexp2, A._gelu_tanh_backward, A._mish_backward)]
LOWS += [(A._softplus, "t|ff")]
jobs += [(fn, k, d, low) for fn, k in LOWS for d in F for low in (False, True)]
jobs += [(fn, k, d) for fn in (IT._atan2, M._pow_float, M._pow_float_wide) for d in F for k in ("tt|", "ts|", "st|")]
jobs += [(fn, k, d) for fn in (M._pow_int, SH._lshift, SH._rshift) for d in I for k in ("tt|", "ti|", "it|")]
jobs += [(fn, "t|s", d) for fn in (M._round_scaled, M._round_coarse) for d in F]
jobs += [(A._glu_backward, "tttr|", d) for d in F]
bad = []
for i, (fn, kinds, dt, *low) in enumerate(jobs):
    scalar = "d" if dt is torch.float64 else "f"
    kinds = kinds.replace("s", scalar)
    name = f"sm90_{i}"
    jf = P._load(P._source(fn, 2, kinds, name, low=low[0] if low else None), name)
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
        bad.append(f"{fn.__name__} {kinds} {dt} {low}: {e}"[-800:])
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

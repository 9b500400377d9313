"""Fit the polynomials of the float32 paths of erfinv, erfc (special.py), asin, acos,
asinh, atan, atan2 (inverse_trig.py), exp, expm1, sinh, cosh (explog.py) and tanh (math.py), and
print them as they are written there (highest coefficient first, for Horner).

Method: weighted minimax by Lawson's iteratively reweighted least squares on 1000
Chebyshev-spaced points of each interval, against mpmath at 40 digits; the weight makes
the error relative to the function the kernel returns. The coefficients are then
rounded to float32 one at a time, highest degree first, refitting the lower ones after
each (so the lower ones absorb what rounding the higher ones moved), and the printed
error is that of the float32 coefficients evaluated exactly. Where an expansion point
(the constant subtracted from the variable) is searched, it is the best of a few near
the interval's middle after rounding; erfinv's central one (2) and the erfc variable
(t = 1 / (1 + z), degree 12) were chosen by emulating the kernels' float32 arithmetic
(their roundings, not the fits, dominate the final error).

    PYTHONPATH=src python scripts/fit_float32_special.py   # numpy and mpmath; ~30 s
"""
from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 40


def lawson(V, f, w, fixed, iters=300):
    """Coefficients c minimising max_i |w_i (V_i . c - f_i)|, with the columns in `fixed`
    held at the given values."""
    free = [j for j in range(V.shape[1]) if j not in fixed]
    g = f - sum((V[:, j] * v for j, v in fixed.items()), np.zeros_like(f))
    A, b = V[:, free] * w[:, None], g * w
    lam = np.full(len(f), 1.0 / len(f))
    best = (np.inf, None)
    for _ in range(iters):
        s = np.sqrt(lam)
        c = np.linalg.lstsq(A * s[:, None], b * s, rcond=None)[0]
        r = np.abs(A @ c - b)
        if r.max() < best[0]:
            best = (r.max(), c)
        lam = lam * r
        lam /= lam.sum()
    out = np.zeros(V.shape[1])
    out[free] = best[1]
    for j, v in fixed.items():
        out[j] = v
    return out


def fit32(x, f, w, deg, fixed=None):
    """Polynomial sum_k c_k x^k with float32 c_k (see the module docstring); returns the
    coefficients and the max weighted error."""
    h = np.max(np.abs(x))   # fitted in x / h for conditioning
    V = np.vander(x / h, deg + 1, increasing=True)
    sc = h ** np.arange(deg + 1)
    fx = {k: v * sc[k] for k, v in (fixed or {}).items()}
    d = lawson(V, f, w, fx)
    for k in range(deg, -1, -1):
        if k not in fx:
            fx[k] = float(np.float32(d[k] / sc[k])) * sc[k]
            if len(fx) <= deg:
                d = lawson(V, f, w, fx)
    c = np.array([float(np.float32(fx[k] / sc[k])) for k in range(deg + 1)])
    return c, float(np.max(np.abs(w * (np.vander(x, deg + 1, increasing=True) @ c - f))))


def fit32_shifted(x, f, w, deg, lo, hi, n=15):
    """fit32 in x - s for n float32 expansion points s in [lo, hi]: the best one. (Which
    one wins is mostly luck: how well the low coefficients happen to round.)"""
    best = None
    for s in np.linspace(lo, hi, n):
        s = f32(s)
        c, e = fit32(x - s, f, w, deg)
        if best is None or e < best[1]:
            best = (c, e, s)
    return best


def nodes(lo, hi, n=1000):
    return (np.cos(np.linspace(0, np.pi, n)) * 0.5 + 0.5) * (hi - lo) + lo


def show(title, c, err, var):
    print(f"# {title}: max error {err:.2e}")
    print(f"#   variable {var}; coefficients, highest degree first:")
    print("    " + ", ".join(str(np.float32(v)) for v in c[::-1]))   # shortest float32 repr
    print()


def mpf(v):
    return mp.mpf(float(v))


def f32(v):
    return float(np.float32(v))


def asin_poly():
    # asin(x) = x + x s P(s), s = x^2, x in [0, 1/2]; the error that counts is x^3 dP
    # (relative to asin(x) >= x, and to pi/2 - 2 asin(x) >= pi/6 for the other branch)
    x = nodes(0, 0.5)[:-1]
    F = np.array([float((mp.asin(mpf(v)) - mpf(v)) / mpf(v) ** 3) for v in x])
    c, e = fit32(x * x, F, x ** 3 / np.arcsin(x), 5)
    show("asin: (asin(x) - x) / x^3, relative to asin(x)", c, e, "s = x^2 in [0, 1/4]")


def asinh_poly():
    # asinh(x) = x + x s P(s), s = x^2, x in [0, 1/2] (above: log(x + sqrt(x^2 + 1)))
    x = nodes(0, 0.5)[:-1]
    F = np.array([float((mp.asinh(mpf(v)) - mpf(v)) / mpf(v) ** 3) for v in x])
    c, e = fit32(x * x, F, x ** 3 / np.arcsinh(x), 5)
    show("asinh: (asinh(x) - x) / x^3, relative to asinh(x)", c, e, "s = x^2 in [0, 1/4]")


def atan_poly():
    # atan(t) = t + t s A(s), s = t^2, t in [0, 1]
    t = nodes(0, 1)[:-1]
    F = np.array([float((mp.atan(mpf(v)) - mpf(v)) / mpf(v) ** 3) for v in t])
    c, e = fit32(t * t, F, t ** 3 / np.arctan(t), 8)
    show("atan: (atan(t) - t) / t^3, relative to atan(t)", c, e, "s = t^2 in [0, 1]")


ERFINV_SPLIT = 9.0    # central polynomial for w = -log2((1-a)(1+a)) < 9 (a < 0.999)
ERFINV_W_MAX = 23.5   # a = 1 - 2^-24 (the largest float32 below 1): w = 23


def erfinv_polys(degrees=(7, 10, 5), label=""):
    """erfinv's three polynomials at the given degrees (log2, central, tail). The LOW forms
    (special.py, half results: ~2e-4 relative rounds faithfully) are (4, 6, 3), and their
    central one is used without the K split."""
    d_log, d_central, d_tail = degrees
    # log2(m) = f R(f), f = m - 1, m in [sqrt(1/2), sqrt(2)): relative to log2(m)
    f = nodes(2 ** -0.5 - 1, 2 ** 0.5 - 1)
    f = f[np.abs(f) > 1e-12]
    F = np.array([float(mp.log(1 + mpf(v), 2) / mpf(v)) for v in f])
    c, e = fit32(f, F, 1 / F, d_log)
    show(f"{label}log2(1 + f) / f, relative", c, e, "f in [sqrt(1/2) - 1, sqrt(2) - 1]")
    # central: erfinv(a) = a + a P(w - 2), w in [0, SPLIT], P = erfinv(a) / a - 1 (the
    # kernel adds K a and P + 1 - K, K = 1 or 2, so the rounded part stays below 1/2);
    # the expansion point (picked by the float32 error of the whole kernel, emulated)
    # keeps |w - 2| and so the roundings of the Horner terms moderate at both ends
    w = nodes(0, ERFINV_SPLIT)
    a = [mp.sqrt(-mp.expm1(-mpf(v) * mp.log(2))) for v in w]
    F = np.array([float(mp.erfinv(ai) / ai) if ai > 0 else float(mp.sqrt(mp.pi) / 2) for ai in a])
    c, e = fit32(w - 2.0, F - 1, 1 / F, d_central)
    show(f"{label}erfinv(a) / a - 1, relative to erfinv(a) / a", c, e,
         f"w - 2, w = -log2((1-a)(1+a)) in [0, {ERFINV_SPLIT}]")
    # tail: erfinv(a) = Q(sqrt(w) - T0), sqrt(w) in [sqrt(SPLIT), sqrt(W_MAX)]
    r = nodes(np.sqrt(ERFINV_SPLIT), np.sqrt(ERFINV_W_MAX))
    a = [mp.sqrt(-mp.expm1(-mpf(v) ** 2 * mp.log(2))) for v in r]
    F = np.array([float(mp.erfinv(ai)) for ai in a])
    lo, hi = np.sqrt(ERFINV_SPLIT), np.sqrt(ERFINV_W_MAX)
    c, e, s = fit32_shifted(r, F, 1 / F, d_tail, lo + 0.3 * (hi - lo), lo + 0.7 * (hi - lo), n=9)
    show(f"{label}erfinv(a), relative", c, e,
         f"sqrt(w) - {np.float32(s)!s}, sqrt(w) in [sqrt({ERFINV_SPLIT}), sqrt({ERFINV_W_MAX})]")


ERFC_C = 1.0           # t = 1 / (1 + C z)
ERFC_Z_NORMAL = 9.25   # erfc(z) is subnormal in float32 past ~9.19: relative accuracy ends there


def erfc_polys():
    # exp(r) = 1 + r + r^2 (...), r in [-ln2/2 - 0.082, ln2/2 + slack] (see _erfc_pos_f32)
    r = nodes(-0.44, 0.36)
    c, e = fit32(r, np.exp(r), np.exp(-r), 6, fixed={0: 1.0, 1: 1.0})
    show("exp(r), relative", c, e, "r in [-0.44, 0.36]")
    # erfc(z) = exp(-z^2) t f(t), t = 1 / (1 + C z), z in [0, Z_NORMAL]
    t = nodes(1 / (1 + ERFC_C * ERFC_Z_NORMAL), 1)
    z = (1 / t - 1) / ERFC_C
    F = np.array([float(mp.erfc(mpf(v)) * mp.exp(mpf(v) ** 2)) for v in z]) / t
    c, e, s = fit32_shifted(t, F, 1 / F, 12, 0.4, 0.7)
    show("erfc(z) exp(z^2) / t, relative", c, e,
         f"t - {np.float32(s)!s}, t = 1 / (1 + {ERFC_C} z), z in [0, {ERFC_Z_NORMAL}]")
    c7, e7, s7 = fit32_shifted(t, F, 1 / F, 7, 0.4, 0.7, n=7)   # the LOW form (half results)
    show("LOW erfc(z) exp(z^2) / t, relative", c7, e7, f"t - {np.float32(s7)!s}")
    # past Z_NORMAL the result is subnormal: 1e-3 relative is well inside its half ulp
    t2 = nodes(1 / (1 + ERFC_C * 10.5), 1 / (1 + ERFC_C * ERFC_Z_NORMAL), 200)
    z2 = (1 / t2 - 1) / ERFC_C
    F2 = np.array([float(mp.erfc(mpf(v)) * mp.exp(mpf(v) ** 2)) for v in z2]) / t2
    P = np.polyval(c[::-1], t2 - s)
    print(f"#   extrapolated to z in [{ERFC_Z_NORMAL}, 10.5]: max relative error {np.max(np.abs(P / F2 - 1)):.1e}\n")


def explog_polys():
    # expm1(r) = r + r^2 Q(r), |r| <= ln2/2 (+ the rounding of x log2e): relative to expm1(r)
    r = nodes(-0.35, 0.35)
    r = r[np.abs(r) > 1e-9]
    F = np.array([float((mp.expm1(mpf(v)) - mpf(v)) / mpf(v) ** 2) for v in r])
    c, e = fit32(r, F, r ** 2 / np.expm1(r), 5)
    show("expm1: (expm1(r) - r) / r^2, relative to expm1(r)", c, e, "r in [-0.35, 0.35]")
    # sinh(a) = a + a z S(z), z = a^2, a < 1: relative to sinh(a)
    a = nodes(0, 1.0)[:-1]
    F = np.array([float((mp.sinh(mpf(v)) - mpf(v)) / mpf(v) ** 3) for v in a])
    c, e = fit32(a * a, F, a ** 3 / np.sinh(a), 3)
    show("sinh: (sinh(a) - a) / a^3, relative to sinh(a)", c, e, "z = a^2 in [0, 1]")
    # tanh(a) = a + a z T(z), a < 5/8 (math.tanh's float32 polynomial)
    a = nodes(0, 0.625)[:-1]
    F = np.array([float((mp.tanh(mpf(v)) - mpf(v)) / mpf(v) ** 3) for v in a])
    c, e = fit32(a * a, F, a ** 3 / np.tanh(a), 5)
    show("tanh: (tanh(a) - a) / a^3, relative to tanh(a)", c, e, "z = a^2 in [0, 25/64]")


if __name__ == "__main__":
    explog_polys()
    asin_poly()
    asinh_poly()
    atan_poly()
    erfinv_polys()
    erfinv_polys((4, 6, 3), "LOW ")
    erfc_polys()

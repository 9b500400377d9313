"""Random ops: distributions (mean, variance, Kolmogorov-Smirnov against the CDF),
reproducibility under torch.manual_seed / explicit generators, the generator advancing,
dtypes, non-contiguous and empty tensors, and torch's errors (via ATen)."""
import math

import pytest
import torch

import triforge
from triforge.testing import device, interpreted, on_gpu

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
OPS = ["uniform_", "normal_", "normal", "bernoulli_", "bernoulli", "exponential_", "geometric_", "random_",
       "native_dropout", "native_dropout_backward", "multinomial"]
N = 1 << 20 if on_gpu() else 16384
KS_CRIT = 1.95 / math.sqrt(N)   # two-sided KS critical value at alpha = 0.001


def _on(fn, served):
    with triforge.use(include=OPS), triforge.coverage() as cov:
        out = fn()
    assert served in cov.served(), cov.served()
    return out


def _ks(x, cdf):
    s, _ = x.double().flatten().sort()
    n = s.numel()
    f = cdf(s)
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return float(torch.maximum(i / n - f, f - (i - 1) / n).max())


def _empty(dtype=torch.float32, n=N):
    return torch.empty(n, dtype=dtype, device=device())


def _normal_cdf(s):
    return 0.5 * (1 + torch.erf(s / math.sqrt(2)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_uniform_distribution(dtype):
    x = _on(lambda: _empty(dtype).uniform_(-2, 3), "uniform_").cpu()
    assert x.min() >= -2 and x.max() < 3
    assert abs(x.double().mean() - 0.5) < 5 * 5 / math.sqrt(12 * N)
    assert abs(x.double().var() - 25 / 12) < 0.05 * 25 / 12
    assert _ks(x, lambda s: ((s + 2) / 5).clamp(0, 1)) < KS_CRIT


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_normal_distribution(dtype):
    x = _on(lambda: _empty(dtype).normal_(1.5, 2.0), "normal_").cpu().double()
    assert abs(x.mean() - 1.5) < 5 * 2 / math.sqrt(N)
    assert abs(x.std() - 2.0) < 0.05
    assert _ks(x, lambda s: _normal_cdf((s - 1.5) / 2)) < KS_CRIT


def test_exponential_distribution():
    x = _on(lambda: _empty().exponential_(2.0), "exponential_").cpu().double()
    assert x.min() > 0 and abs(x.mean() - 0.5) < 5 * 0.5 / math.sqrt(N)
    assert _ks(x, lambda s: 1 - torch.exp(-2 * s)) < KS_CRIT


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_geometric_distribution(dtype):
    p = 0.3
    x = _on(lambda: _empty(dtype).geometric_(p), "geometric_").cpu().double()
    assert x.min() >= 1 and (x == x.round()).all()
    assert abs(x.mean() - 1 / p) < 5 * math.sqrt((1 - p) / p**2 / N)
    # a discrete CDF: compare P(X <= k) for small k
    for k in range(1, 6):
        assert abs(float((x <= k).double().mean()) - (1 - (1 - p) ** k)) < 4 / math.sqrt(N)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool, torch.int32])
def test_bernoulli_float_p(dtype):
    x = _on(lambda: _empty(dtype).bernoulli_(0.3), "bernoulli_.float").cpu()
    assert set(x.double().unique().tolist()) == {0.0, 1.0}
    assert abs(x.double().mean() - 0.3) < 5 * math.sqrt(0.21 / N)
    assert not _on(lambda: _empty().bernoulli_(0.0), "bernoulli_.float").any()
    assert _on(lambda: _empty().bernoulli_(1.0), "bernoulli_.float").all()


def test_bernoulli_tensor_p():
    p = torch.tensor([0.0, 0.2, 0.9, 1.0], device=device()).repeat(N // 4)
    x = _on(lambda: torch.empty_like(p).bernoulli_(p), "bernoulli_.Tensor").cpu().view(-1, 4)
    m = x.mean(0)
    assert m[0] == 0 and m[3] == 1 and abs(m[1] - 0.2) < 0.03 and abs(m[2] - 0.9) < 0.03
    y = _on(lambda: torch.bernoulli(p.view(-1, 4)), "bernoulli").cpu()
    assert y[:, 0].sum() == 0 and y[:, 3].all() and abs(y[:, 1].mean() - 0.2) < 0.03
    z = _on(lambda: torch.empty(3, 4, device=device()).bernoulli_(p[:4]), "bernoulli_.Tensor")   # broadcast p
    assert (z[:, 0] == 0).all() and (z[:, 3] == 1).all()


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool, torch.float32,
                                   torch.bfloat16])
def test_random_ranges(dtype):
    n = 4096
    x = _on(lambda: _empty(dtype, n).random_(0, 2), "random_.from").cpu()
    assert set(x.double().unique().tolist()) == {0.0, 1.0}
    if dtype is not torch.bool:
        x = _on(lambda: _empty(dtype, n).random_(5), "random_.to").cpu().double()
        assert set(x.unique().tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}
        x = _on(lambda: _empty(dtype, n).random_(), "random_").cpu().double()
        hi = {torch.int64: 2**63 - 1, torch.int32: 2**31 - 1, torch.uint8: 255, torch.float32: 2**24,
              torch.bfloat16: 2**8}[dtype]
        assert x.min() >= 0 and x.max() <= hi and x.max() > hi / 2 and x.unique().numel() > 10
    if dtype.is_signed if not dtype.is_floating_point else True:
        x = _on(lambda: _empty(dtype, n).random_(-3, 3), "random_.from").cpu().double()
        assert set(x.unique().tolist()) == {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0}


def test_random_wide_range():
    x = _on(lambda: _empty(torch.int64, 4096).random_(-(2**40), 2**40 + 7), "random_.from").cpu()
    assert x.min() >= -(2**40) and x.max() < 2**40 + 7 and x.max() > 2**39 and x.min() < -(2**39)
    x = _on(lambda: _empty(torch.int64, 4096).random_(5, None), "random_.from").cpu()   # [from, int64 max]
    assert x.min() >= 5 and x.max() > 2**61


@pytest.mark.parametrize("dtype", FLOATS)
def test_dtypes_and_noncontiguous(dtype):
    base = torch.zeros(64, 40, dtype=dtype, device=device())
    view = base[:, ::2]
    _on(lambda: view.uniform_(1, 2), "uniform_")
    assert (base[:, 1::2] == 0).all() and (view >= 1).all() and (view < 2).all()
    t = torch.zeros(30, 20, dtype=dtype, device=device()).t()
    _on(lambda: t.normal_(), "normal_")
    assert t.isfinite().all() and t.std() > 0.5
    _on(lambda: t.exponential_(), "exponential_")
    assert (t >= 0).all()
    e = torch.empty(0, 3, dtype=dtype, device=device())
    assert _on(lambda: e.uniform_(), "uniform_").shape == (0, 3)


def test_float64_parameters_keep_double_precision():
    """Scalar float kernel args are float32: float64 results read their parameters from
    a float64 buffer instead (a float32 `to` here would collapse the range to nothing)."""
    lo, hi = 1.0, 1.0 + 1e-12
    x = _on(lambda: _empty(torch.float64, 4096).uniform_(lo, hi), "uniform_").cpu()
    assert (x >= lo).all() and (x < hi).all() and x.unique().numel() > 1000
    y = _on(lambda: _empty(torch.float64, 4096).normal_(1e-9, 1e-12), "normal_").cpu()
    assert abs(float(y.mean()) - 1e-9) < 1e-13 and abs(float(y.std()) - 1e-12) < 1e-13


def test_uniform_never_reaches_to():
    """float16 rounding of u * (to - from) + from may hit `to`; torch maps it to `from`."""
    x = _on(lambda: _empty(torch.float16).uniform_(0, 1), "uniform_")
    assert (x < 1).all() and (x >= 0).all()


def test_reproducible_and_advancing():
    def draw(seed=None, gen=None):
        if seed is not None:
            torch.manual_seed(seed)
        return _on(lambda: _empty(n=1000).normal_(generator=gen), "normal_").cpu()
    a, b = draw(1), draw(1)
    assert torch.equal(a, b)
    assert not torch.equal(draw(1), draw(2))
    torch.manual_seed(3)
    c1 = draw()
    c2 = draw()
    assert not torch.equal(c1, c2)   # the generator advanced between calls
    g = torch.Generator(device=device()).manual_seed(7)
    d1 = draw(gen=g)
    g.manual_seed(7)
    assert torch.equal(draw(gen=g), d1)
    torch.manual_seed(1)
    with triforge.use(include=OPS):
        r1 = torch.rand(100, device=device())
        torch.manual_seed(1)
        r2 = torch.rand(100, device=device())
    assert torch.equal(r1, r2)


@pytest.mark.parametrize("call, msg", [
    (lambda x: x.uniform_(2, 1), "from"),
    (lambda x: x.normal_(0, -1), "std"),
    (lambda x: x.exponential_(-1), "lambd|lambda"),
    (lambda x: x.geometric_(1.5), "geometric"),
    (lambda x: x.bernoulli_(1.5), "bernoulli|p"),
    (lambda x: x.random_(3, 1), "from"),
    (lambda x: torch.normal(x, -torch.ones_like(x)), "std"),
])
def test_torch_errors(call, msg):
    x = torch.empty(8, device=device())
    with triforge.use(include=OPS), pytest.raises(RuntimeError, match=msg):
        call(x)


def test_normal_tensor_overloads():
    mean = torch.tensor([0.0, 10.0, -10.0, 100.0], device=device()).repeat(2000)
    std = torch.tensor([1.0, 0.0, 2.0, 0.5], device=device()).repeat(2000)
    x = _on(lambda: torch.normal(mean, std), "normal.Tensor_Tensor").cpu().view(-1, 4)
    assert (x[:, 1] == 10).all()
    assert torch.allclose(x.mean(0), torch.tensor([0.0, 10.0, -10.0, 100.0]), atol=0.15)
    assert torch.allclose(x.std(0), torch.tensor([1.0, 0.0, 2.0, 0.5]), atol=0.1)
    y = _on(lambda: torch.normal(mean, 2.0), "normal.Tensor_float").cpu().view(-1, 4)
    assert torch.allclose(y.std(0), torch.full((4,), 2.0), atol=0.15)
    z = _on(lambda: torch.normal(3.0, std), "normal.float_Tensor").cpu().view(-1, 4)
    assert (z[:, 1] == 3).all() and abs(z[:, 0].mean() - 3) < 0.15


@pytest.mark.parametrize("dtype", FLOATS)
def test_native_dropout(dtype):
    x = torch.randn(N // 8, 8, device=device()).to(dtype)
    x[0, 0] = float("nan")
    torch.manual_seed(0)
    y, m = _on(lambda: torch.ops.aten.native_dropout(x, 0.25, True), "native_dropout")
    assert m.dtype is torch.bool and y.dtype is dtype
    keep = float(m.double().mean())
    assert abs(keep - 0.75) < 5 * math.sqrt(0.75 * 0.25 / x.numel())
    ref = (x.double() * m.double() / 0.75)
    tol = {"rtol": 1e-15, "atol": 0} if dtype is torch.float64 else {"rtol": 1e-2, "atol": 1e-3}
    torch.testing.assert_close(y.double(), ref, equal_nan=True, **tol)
    torch.manual_seed(0)
    y2, m2 = _on(lambda: torch.ops.aten.native_dropout(x, 0.25, True), "native_dropout")
    assert torch.equal(m, m2) and torch.equal(y.isnan(), y2.isnan())
    g = torch.randn_like(x)
    gi = _on(lambda: torch.ops.aten.native_dropout_backward(g, m, 1 / 0.75), "native_dropout_backward")
    torch.testing.assert_close(gi.double(), g.double() * m.double() / 0.75, **tol)


def test_dropout_edges():
    x = torch.randn(33, 7, device=device()).t()   # non-contiguous
    y, m = _on(lambda: torch.ops.aten.native_dropout(x, 1.0, True), "native_dropout")
    assert not m.any() and (y == 0).all()
    y, m = _on(lambda: torch.ops.aten.native_dropout(x, 0.0, True), "native_dropout")
    assert m.all() and torch.equal(y, x)
    y, m = _on(lambda: torch.ops.aten.native_dropout(x, 0.5, False), "native_dropout")
    assert m.all() and torch.equal(y, x)
    e = torch.empty(0, 4, device=device())
    y, m = _on(lambda: torch.ops.aten.native_dropout(e, 0.5, True), "native_dropout")
    assert y.shape == (0, 4) and m.shape == (0, 4)
    with triforge.use(include=OPS), triforge.coverage() as cov:
        out = torch.nn.functional.dropout(x, 0.5, training=True)
    # CUDA's dropout is native_dropout; CPU's composite draws a bernoulli_ mask
    assert out.shape == x.shape and {"native_dropout", "bernoulli_.float"} & set(cov.served())


@pytest.mark.parametrize("dtype", FLOATS)
def test_multinomial_one_sample(dtype):
    p = torch.tensor([0.1, 0.0, 0.6, 0.3] + [0.0] * 60, device=device()).to(dtype)
    probs = p.repeat(4000 if not on_gpu() else 100000, 1)
    s = _on(lambda: torch.multinomial(probs, 1), "multinomial").cpu().flatten()
    freq = torch.bincount(s, minlength=64).double() / s.numel()
    assert freq[1] == 0 and freq[4:].sum() == 0
    assert torch.allclose(freq[:4], torch.tensor([0.1, 0.0, 0.6, 0.3], dtype=torch.float64), atol=0.03)


def test_multinomial_with_replacement_and_errors():
    p = torch.tensor([[1.0, 2.0, 7.0], [0.0, 0.0, 5.0]], device=device())
    s = _on(lambda: torch.multinomial(p, 1500, replacement=True), "multinomial").cpu()
    assert s.shape == (2, 1500) and (s[1] == 2).all()
    f = torch.bincount(s[0], minlength=3).double() / 1500
    assert torch.allclose(f, torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64), atol=0.05)
    one = _on(lambda: torch.multinomial(p[0], 5, replacement=True), "multinomial")
    assert one.shape == (5,)
    torch.manual_seed(5)
    a = _on(lambda: torch.multinomial(p, 10, replacement=True), "multinomial")
    torch.manual_seed(5)
    assert torch.equal(a, _on(lambda: torch.multinomial(p, 10, replacement=True), "multinomial"))
    with triforge.use(include=OPS):
        # invalid rows go to ATen, which raises on CPU; its CUDA kernel asserts on the
        # device instead (poisoning the process), so only under the interpreter
        for bad in ([-1.0, 2.0], [float("nan"), 1.0], [float("inf"), 1.0], [0.0, 0.0]) if interpreted() else ():
            with pytest.raises(RuntimeError):
                torch.multinomial(torch.tensor(bad, device=device()), 1)
        with pytest.raises(RuntimeError):
            torch.multinomial(p, 0)
        # several samples without replacement: ATen serves it
        s = torch.multinomial(torch.ones(5, device=device()), 5)
        assert sorted(s.tolist()) == [0, 1, 2, 3, 4]


def test_multinomial_split_rows_draw_as_one_program(monkeypatch):
    """Long rows split into pieces (a second kernel picks among their winners) sample
    exactly what one program per row samples under the same seed, and a bad value in a
    later piece still sends the row to ATen."""
    from triforge.ops.random import multinomial as mn
    n = 64 * mn._Q + 5          # 16+ blocks of 4Q columns
    p = torch.rand(3, n, device=device()) ** 4
    draws = {}
    for waves in (0, 1 << 12):  # one piece per row / a piece per block
        monkeypatch.setattr(mn, "_WAVES", waves)
        torch.manual_seed(11)
        draws[waves] = _on(lambda: torch.multinomial(p, 4, replacement=True), "multinomial")
    assert torch.equal(draws[0], draws[1 << 12])
    assert (p.gather(1, draws[0]) > 0).all()
    if interpreted():   # ATen's CUDA kernel asserts on the device instead of raising
        bad = p.clone()
        bad[1, n - 3] = -1.0
        with triforge.use(include=OPS), pytest.raises(RuntimeError):
            torch.multinomial(bad, 1)


@pytest.mark.gpu_only
def test_gpu_large_dropout_and_multinomial():
    x = torch.randn(8192, 8192, device=device(), dtype=torch.bfloat16)
    y, m = _on(lambda: torch.ops.aten.native_dropout(x, 0.1, True), "native_dropout")
    assert abs(float(m.float().mean()) - 0.9) < 1e-3
    torch.testing.assert_close(y.float(), x.float() * m / 0.9, rtol=8e-3, atol=1e-5)
    p = torch.softmax(torch.randn(256, 128256, device=device()), -1).to(torch.bfloat16)
    s = _on(lambda: torch.multinomial(p, 1), "multinomial")
    assert s.shape == (256, 1) and (s < 128256).all()

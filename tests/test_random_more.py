"""randperm and multinomial without replacement (several samples): valid results, every
dtype and out= form, reproducibility under torch.manual_seed / explicit generators,
uniformity / the without-replacement law by chi-square bounds (fixed seeds, so a run
is deterministic; critical values at alpha = 0.001), and what goes to ATen."""
import math
from collections import Counter
from itertools import permutations

import pytest
import torch

import triforge
from triforge.ops.random import multinomial as mn
from triforge.ops.random import randperm as rp
from triforge.testing import device, interpreted

OPS = ["randperm", "multinomial"]
INT_DTYPES = [torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8]
FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _on(fn, served):
    with triforge.use(include=OPS), triforge.coverage() as cov:
        out = fn()
    assert served in cov.served(), (cov.served(), cov.fell_back())
    return out


def _chi2_crit(df, z=3.09):
    """Wilson-Hilferty upper quantile of chi-square(df) (z = 3.09: alpha 0.001)."""
    a = 2 / (9 * df)
    return df * (1 - a + z * math.sqrt(a)) ** 3


def _chi2(observed: dict, expected: dict, draws: int):
    return sum((observed.get(c, 0) - draws * p) ** 2 / (draws * p) for c, p in expected.items())


def _is_perm_of(x, n, dtype):
    """As a multiset, x is range(n) cast to dtype (bfloat16 rounds past 256, as torch)."""
    ref = torch.arange(n, dtype=torch.float64).to(dtype).double().sort().values
    return x.dtype is dtype and x.shape == (n,) and torch.equal(x.cpu().double().sort().values, ref)


# -- randperm ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", INT_DTYPES + FLOAT_DTYPES)
def test_randperm_dtypes(dtype):
    sizes = [0, 1, 2, 37]
    if dtype is torch.int64:
        sizes.append(rp._MAX)   # one block, no padding
    for n in sizes:
        x = _on(lambda n=n: torch.randperm(n, dtype=dtype, device=device()), "randperm")
        assert _is_perm_of(x, n, dtype), (n, x)
    if dtype is torch.int8:   # torch's own bound: n - 1 must fit
        assert _is_perm_of(_on(lambda: torch.randperm(128, dtype=dtype, device=device()), "randperm"), 128, dtype)


def test_randperm_default_call_served():
    """randperm is a factory (BackendSelect -> the backend key, whose kernel is
    CompositeExplicitAutograd): a plain call must reach triforge's registration."""
    x = _on(lambda: torch.randperm(20, device=device()), "randperm")
    assert x.dtype is torch.int64 and x.device.type == device() and _is_perm_of(x, 20, torch.int64)
    g = torch.Generator(device=device()).manual_seed(0)
    y = _on(lambda: torch.randperm(20, generator=g, device=device()), "randperm.generator")
    assert _is_perm_of(y, 20, torch.int64)
    # not the identity, nor a fixed pattern: two draws differ
    assert not torch.equal(x, torch.arange(20, device=device())) and not torch.equal(x, y)


def test_randperm_reproducible():
    def draw(seed=None, gen=None):
        if seed is not None:
            torch.manual_seed(seed)
        if gen is None:
            return _on(lambda: torch.randperm(50, device=device()), "randperm").cpu()
        return _on(lambda: torch.randperm(50, generator=gen, device=device()), "randperm.generator").cpu()
    assert torch.equal(draw(1), draw(1))
    assert not torch.equal(draw(1), draw(2))
    torch.manual_seed(3)
    assert not torch.equal(draw(), draw())   # the generator advances
    g = torch.Generator(device=device())
    torch.manual_seed(0)
    a = draw(gen=g.manual_seed(7))
    torch.manual_seed(1)   # the explicit generator alone decides
    assert torch.equal(draw(gen=g.manual_seed(7)), a)
    assert not torch.equal(draw(gen=g), a)


def test_randperm_uniform():
    """All 6 orders of 3 equally often, and each (position, value) cell of 5."""
    torch.manual_seed(1234)
    _on(lambda: torch.randperm(3, device=device()), "randperm")
    draws = 120
    with triforge.use(include=OPS):   # (coverage's dispatch mode would double the time)
        got = Counter(tuple(torch.randperm(3, device=device()).tolist()) for _ in range(draws))
        pos = torch.stack([torch.randperm(5, device=device()).cpu() for _ in range(draws)])
    expected = {q: 1 / 6 for q in permutations(range(3))}
    assert set(got) == set(expected)
    assert _chi2(got, expected, draws) < _chi2_crit(5)
    cells = Counter((i, int(v)) for r in pos.tolist() for i, v in enumerate(r))
    # sums of uniform permutation matrices: Pearson's statistic is about n / (n - 1)
    # times chi-square with (n - 1)^2 degrees of freedom (isotropic covariance)
    stat = _chi2(cells, {(i, v): 1 / 25 for i in range(5) for v in range(5)}, 5 * draws)
    assert stat * 4 / 5 < _chi2_crit(16)


def test_randperm_redraws_ties():
    """With IB = 62 a key has 2 random bits, so keys of 3 positions tie 5 times in 8:
    the kernel must draw again until all differ, giving uniform orders (ties ordered
    by index would not: (0, 1, 2) about twice as often as 1/6, (2, 1, 0) a quarter)."""
    out = torch.empty(4, dtype=torch.int64, device=device())
    draws = 120
    got = Counter()
    for s in range(draws):
        out.fill_(-1)
        rp._run((1,), out, 3, 1, 99, 4 * s, 4, 62, num_warps=4)
        assert out[3] == -1   # padding never written
        got[tuple(out[:3].tolist())] += 1
    assert set(got) == set(permutations(range(3)))
    assert _chi2(got, {q: 1 / 6 for q in permutations(range(3))}, draws) < _chi2_crit(5)


def test_randperm_out():
    out = torch.full((3,), -1, dtype=torch.int32, device=device())   # resized
    r = _on(lambda: torch.randperm(9, out=out), "randperm.out")
    assert r is out and _is_perm_of(out, 9, torch.int32)
    base = torch.full((20,), -1.0, device=device())
    view = base[::2]   # non-contiguous, already n elements: written in place
    _on(lambda: torch.randperm(10, out=view), "randperm.out")
    assert _is_perm_of(view, 10, torch.float32) and (base[1::2] == -1).all()
    g = torch.Generator(device=device()).manual_seed(5)
    a = _on(lambda: torch.randperm(12, generator=g, out=torch.empty(0, dtype=torch.int64, device=device())),
            "randperm.generator_out")
    g.manual_seed(5)
    b = _on(lambda: torch.randperm(12, generator=g, dtype=torch.int64, device=device()), "randperm.generator")
    assert torch.equal(a, b) and _is_perm_of(a, 12, torch.int64)
    e = torch.empty(4, dtype=torch.int16, device=device())
    assert _on(lambda: torch.randperm(0, out=e), "randperm.out").shape == (0,)


def test_randperm_aten_cases():
    with triforge.use(include=OPS), triforge.coverage() as cov:
        for call in (lambda: torch.randperm(-1, device=device()),
                     lambda: torch.randperm(129, dtype=torch.int8, device=device()),
                     lambda: torch.randperm(3, dtype=torch.bool, device=device()),
                     lambda: torch.randperm(3, dtype=torch.complex64, device=device()),
                     lambda: torch.randperm(2050, dtype=torch.float16, device=device()),
                     lambda: torch.randperm(3, out=torch.empty(3, dtype=torch.bool, device=device()))):
            with pytest.raises((RuntimeError, NotImplementedError)):
                call()
        big = torch.randperm(rp._MAX + 1, device=device())   # longer than one block: ATen
    assert _is_perm_of(big, rp._MAX + 1, torch.int64)
    assert "randperm" in cov.fell_back() and "randperm" not in cov.served()


# -- multinomial without replacement ----------------------------------------------------
def _pair_law(p, k):
    """P(first k samples == seq) for sequential sampling without replacement."""
    out = {}
    for seq in permutations(range(len(p)), k):
        prob, left = 1.0, 1.0
        for i in seq:
            prob *= p[i] / left
            left -= p[i]
        out[seq] = prob
    return out


LONG = pytest.mark.skipif(not mn._LONG_ROWS, reason="long rows go to ATen on GPUs (slower than torch)")


@pytest.mark.parametrize("long_row", [False, pytest.param(True, marks=LONG)])
def test_multinomial_without_replacement_law(long_row):
    """Ordered pairs of a 3-category row against p_a p_b / (1 - p_a); long rows cross
    chunks (and the merge kernel), with the three categories in different chunks."""
    p3 = [0.5, 0.3, 0.2]
    n = 2 * mn._MAX + 3 if long_row else 3
    at = [1, mn._MAX + 1, n - 1] if long_row else [0, 1, 2]
    row = torch.zeros(n, dtype=torch.float64)
    row[at] = torch.tensor(p3, dtype=torch.float64) * 7   # unnormalised
    rows = 3000
    torch.manual_seed(42)
    s = _on(lambda: torch.multinomial(row.to(device()).repeat(rows, 1), 2), "multinomial").cpu()
    assert s.shape == (rows, 2)
    back = {a: i for i, a in enumerate(at)}
    assert set(s.flatten().tolist()) <= set(at)
    got = Counter((back[a], back[b]) for a, b in s.tolist())
    assert _chi2(got, _pair_law(p3, 2), rows) < _chi2_crit(5)
    first = Counter(back[a] for a in s[:, 0].tolist())
    assert _chi2(first, dict(enumerate(p3)), rows) < _chi2_crit(2)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_multinomial_first_sample_and_dtypes(dtype):
    """Five samples (the bitonic topk path; up to four take repeated maxima)."""
    p = torch.tensor([0.1, 0.0, 0.35, 0.25, 0.15, 0.0, 0.15], dtype=dtype, device=device())
    rows = 1000
    torch.manual_seed(0)
    probs = p.repeat(rows, 1)
    s = _on(lambda: torch.multinomial(probs, 5), "multinomial").cpu()
    # exactly five positive categories: every row draws each of them once
    assert (s.sort(1).values == torch.tensor([0, 2, 3, 4, 6])).all()
    first = Counter(s[:, 0].tolist())
    q = p.double().cpu() / float(p.double().sum())
    assert _chi2(first, {i: float(q[i]) for i in (0, 2, 3, 4, 6)}, rows) < _chi2_crit(4)


def test_multinomial_without_replacement_layouts_and_seeds():
    base = torch.rand(9, 40, device=device()) + 0.01
    t = base.t()   # 40 x 9, non-contiguous
    torch.manual_seed(3)
    a = _on(lambda: torch.multinomial(t, 5), "multinomial")
    torch.manual_seed(3)
    b = _on(lambda: torch.multinomial(t.contiguous(), 5), "multinomial")
    assert torch.equal(a, b) and a.shape == (40, 5)
    assert all(len(set(r)) == 5 for r in a.tolist()) and a.min() >= 0 and a.max() < 9
    g = torch.Generator(device=device()).manual_seed(11)
    c = _on(lambda: torch.multinomial(t[0], 9, generator=g), "multinomial")   # 1-d: every category once
    assert c.shape == (9,) and sorted(c.tolist()) == list(range(9))
    g.manual_seed(11)
    torch.manual_seed(0)
    assert torch.equal(_on(lambda: torch.multinomial(t[0], 9, generator=g), "multinomial"), c)
    assert not torch.equal(_on(lambda: torch.multinomial(t[0], 9, generator=g), "multinomial"), c)
    long = torch.rand(3, 3 * mn._MAX + 5, device=device())   # chunked path, many samples
    if mn._LONG_ROWS:
        s = _on(lambda: torch.multinomial(long, 20), "multinomial")
        assert s.shape == (3, 20) and all(len(set(r)) == 20 for r in s.tolist())


@LONG
def test_multinomial_heavy_category_wins_across_chunks():
    """One category a million times heavier is the first sample; the rest follow."""
    n = 2 * mn._MAX + 7
    heavy = [0, mn._MAX - 1, mn._MAX, n - 1]
    p = torch.ones(len(heavy), n, device=device())
    p[range(len(heavy)), heavy] = 1e6
    s = _on(lambda: torch.multinomial(p, 3), "multinomial")
    assert s[:, 0].tolist() == heavy


def test_multinomial_without_replacement_to_aten():
    with triforge.use(include=OPS), triforge.coverage() as cov:
        # fewer positive categories than samples: ATen's behaviour, whatever it is
        few = torch.multinomial(torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]], device=device()), 2)
        assert few.shape == (2, 2) and few[0, 0] == 1
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.ones(3, device=device()), 4)   # more samples than categories
        if interpreted():   # CUDA ATen asserts on the device instead of raising
            for bad in ([-1.0, 2.0, 1.0], [float("nan"), 1.0, 1.0], [float("inf"), 1.0, 1.0], [0.0, 0.0, 0.0]):
                with pytest.raises(RuntimeError):
                    torch.multinomial(torch.tensor(bad, device=device()), 2)
    assert cov.fell_back().get("multinomial", 0) >= 2 and "multinomial" not in cov.served()

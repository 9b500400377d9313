"""unique (_unique2, _unique), unique_consecutive, unique_dim(_consecutive) and mode
against torch with triforge off."""
import pytest
import torch

import triforge
from triforge.ops.sort import rank
from triforge.ops.sort import unique as unique_mod
from triforge.testing import check, device, layouts, make

NAN, INF = float("nan"), float("inf")
FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool]


def _max_block():
    return triforge.backend().table("sort").get("max_single_block", 4096)


def _dups(shape, dtype):
    """Small integers (as `dtype`): many repeats."""
    if dtype is torch.bool:
        return make(shape, dtype)
    lo = 0 if dtype is torch.uint8 else -4
    return make(shape, torch.int64, low=lo, high=5).to(dtype)


@pytest.fixture(params=["network", "rank"])
def path(request, monkeypatch):
    """unique's sort: sort.py's network (int64/float64 by two 32-bit word passes), or
    counting places (rank.py)."""
    monkeypatch.setattr(rank, "MAX_WORK", 0 if request.param == "network" else 1 << 40)
    monkeypatch.setattr(rank, "MIN_N", 0)
    return request.param


def _all(t, **kw):
    return torch.unique(t, return_inverse=True, return_counts=True, **kw)


def _served(fn, name):
    with triforge.use(), triforge.coverage() as cov:
        out = fn()
    assert name in cov.served(), str(cov)
    return out


def _fell_back(fn, name):
    with triforge.use(), triforge.coverage() as cov:
        out = fn()
    assert name in cov.fell_back(), str(cov)
    return out


def _as_torch_here(fn, name):
    """Equal to torch on this device, shapes included: where ATen's CPU and CUDA kernels
    differ (the dim variants' unrequested inverse/counts), the float64 CPU reference can't say."""
    want = fn()
    got = _served(fn, name)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype and torch.equal(g, w), (g, w)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_unique(dtype, path):
    x = _dups((5, 7), dtype)
    check(_all, x, served="_unique2")
    check(lambda t: torch.unique(t, sorted=False, return_counts=True), x, served="_unique2")
    check(lambda t: torch.unique(t), x, served="_unique2")
    check(lambda t: torch.ops.aten._unique(t, True, True), x, served="_unique")
    check(lambda t: torch.ops.aten._unique(t, False, False), x, served="_unique")


def test_unique_wide_keys(path):
    """int64 / float64 values that differ only past 32 bits (two key words)."""
    big = 2**40
    # low words on both sides of 2**31 under one high word: the low word's order is unsigned
    i = torch.tensor([big + 1, big, -big, 1, -1, big + 1, 2**62, -(2**63), 2**63 - 1, big, 0, -big - 1,
                      2**31 + 5, 5, 2**31 - 1, 2**32 - 1, 2**32, -(2**31), -(2**31) - 1, 2**31 + 5], device=device())
    check(_all, i, served="_unique2")
    f = torch.tensor([1.0 + 1e-12, 1.0, 1e300, INF, -1e300, -INF, 5e-324, -5e-324, 0.0, 1.0, 1e300, -1.0 - 1e-12,
                      1.0 + 2**-21, 1.0 + 2**-52, -1.0 - 2**-21, -1.0 - 2**-52, 1.0 + 2**-21],
                     dtype=torch.float64, device=device())
    check(_all, f, served="_unique2")


def _nan_equal(a, b):
    return torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(0), b.nan_to_num(0))


@pytest.mark.parametrize("dtype", FLOATS)
def test_unique_nan_and_signed_zero(dtype, path):
    x = torch.tensor([3.0, NAN, 1.0, -0.0, 0.0, NAN, INF, 1.0, -INF, NAN, -0.0], device=device(), dtype=dtype)
    v, inv, cnt = _served(lambda: _all(x), "_unique2")
    rv, rinv, rcnt = _all(x)
    # every NaN is its own value (after +inf); -0.0 and 0.0 are one
    assert _nan_equal(v, rv) and torch.equal(cnt, rcnt) and v.dtype == dtype
    assert _nan_equal(v[inv], x)
    finite = ~x.isnan()
    assert torch.equal(inv[finite], rinv[finite])
    # NaNs take their slots in index order; the zero keeps its first occurrence's sign
    assert inv[x.isnan()].tolist() == [5, 6, 7]
    assert torch.signbit(v[1]).item()
    for first in (0.0, -0.0):
        z = torch.tensor([first, -first, 1.0], device=device(), dtype=dtype)
        got = _served(lambda z=z: torch.unique(z), "_unique2")
        assert torch.signbit(got[0]).item() == (str(first) == "-0.0")


@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_unique_strided(layout):
    x = layouts((6, 5), torch.int32, low=-3, high=3)[layout]
    check(_all, x, served="_unique2")
    check(lambda t: torch.unique_consecutive(t, return_inverse=True, return_counts=True), x,
          served="unique_consecutive")


def test_unique_edges():
    for x in (make((0, 3)), make((0,), torch.int64), torch.tensor(2.5, device=device()),
              torch.tensor(7, device=device()), make((1,))):
        check(_all, x, served="_unique2")
        check(lambda t: torch.unique(t), x, served="_unique2")
        check(lambda t: torch.unique_consecutive(t, return_inverse=True, return_counts=True), x,
              served="unique_consecutive")
        check(lambda t: torch.unique_consecutive(t), x, served="unique_consecutive")


def test_unique_many_blocks(monkeypatch):
    """Blocks of 8: run numbers continue across blocks through the block-offset scan."""
    monkeypatch.setattr(unique_mod, "_BLOCK", 8)
    x = _dups((45,), torch.int32)
    check(_all, x, served="_unique2")
    check(_all, x.to(torch.float64), served="_unique2")
    y = make((50,), torch.int64, low=0, high=2)   # long runs that cross blocks
    check(lambda t: torch.unique_consecutive(t, return_inverse=True, return_counts=True), y,
          served="unique_consecutive")
    m = make((20, 3), torch.int64, low=0, high=2)
    check(lambda t: _all(t, dim=0), m, served="unique_dim")
    check(lambda t: torch.unique_consecutive(t.repeat_interleave(2, 0), return_inverse=True, return_counts=True,
                                             dim=0), m, served="unique_consecutive")


@pytest.mark.parametrize("dtype", [torch.int64, torch.float64])
def test_unique_past_one_block_by_rank(dtype, monkeypatch):
    monkeypatch.setattr(rank, "MAX_WORK", 1 << 40)
    check(_all, _dups((_max_block() + 3,), dtype), served="_unique2")


def test_unique_long_falls_back(monkeypatch):
    monkeypatch.setattr(rank, "MAX_WORK", (_max_block() + 3) ** 2 - 1)   # past the place count too
    x = _dups((_max_block() + 3,), torch.int32)
    v = _fell_back(lambda: _all(x), "_unique2")
    assert torch.equal(v[0], torch.unique(x.cpu()).to(v[0].device))
    check(lambda t: torch.unique_consecutive(t, return_counts=True), x, served="unique_consecutive")  # no sort


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64, torch.uint8, torch.bool])
def test_unique_consecutive(dtype):
    x = make((40,), torch.int64, low=0, high=3).to(dtype)   # short runs
    f = lambda t, **kw: torch.unique_consecutive(t, return_inverse=True, return_counts=True, **kw)
    check(f, x, served="unique_consecutive")
    check(lambda t: torch.unique_consecutive(t, return_inverse=True), x.view(5, 8), served="unique_consecutive")
    # dim=0 of a 1-D tensor is ATen's flat path (counts empty unless asked); dim=-1 is the dim path
    check(lambda t: torch.unique_consecutive(t, return_inverse=True, dim=0), x, served="unique_consecutive")
    check(lambda t: torch.unique_consecutive(t, return_inverse=True, dim=-1), x, served="unique_consecutive")


def test_unique_consecutive_nan_and_zero():
    x = torch.tensor([0.0, -0.0, NAN, NAN, 1.0, 1.0, -0.0, 0.0, INF, INF], device=device())
    v, inv, cnt = _served(lambda: torch.unique_consecutive(x, return_inverse=True, return_counts=True),
                          "unique_consecutive")
    rv, rinv, rcnt = torch.unique_consecutive(x.cpu(), return_inverse=True, return_counts=True)
    assert _nan_equal(v.cpu(), rv) and torch.equal(inv.cpu(), rinv) and torch.equal(cnt.cpu(), rcnt)
    assert torch.equal(torch.signbit(v.cpu()), torch.signbit(rv))   # first of each run, as ATen


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32, torch.float16, torch.bool])
def test_unique_dim(dtype):
    x = make((9, 3), torch.int64, low=0, high=2).to(dtype)   # repeated rows
    for d in (0, 1, -1):
        check(lambda t, d=d: _all(t, dim=d), x, served="unique_dim")
    check(lambda t: torch.unique(t, dim=0), x, served="unique_dim")
    # inverse/counts not asked for: ATen's CPU kernel fills them anyway, CUDA's leaves them empty
    _as_torch_here(lambda: torch.ops.aten.unique_dim(x, 0, True, False, False), "unique_dim")
    _as_torch_here(lambda: torch.ops.aten.unique_dim(x, 1, True, True, False), "unique_dim")
    _as_torch_here(lambda: torch.ops.aten.unique_consecutive(x, False, True, 0), "unique_consecutive")
    y = make((2, 7, 3), torch.int64, low=0, high=2).to(dtype)
    check(lambda t: _all(t, dim=1), y, served="unique_dim")
    check(lambda t: _all(t, dim=0), make((11, 5), torch.int64, low=0, high=2).to(dtype), served="unique_dim")
    check(lambda t: _all(t, dim=0), x[:, :1], served="unique_dim")   # one column
    check(lambda t: _all(t, dim=0), layouts((6, 4), torch.int64, low=0, high=2)["transposed"].to(dtype),
          served="unique_dim")


def test_unique_dim_sorted_ranks(monkeypatch):
    """Past _PAIRS slices: column ranks by row sorts, folded pairwise (small blocks here)."""
    monkeypatch.setattr(unique_mod, "_PAIRS", 0)
    monkeypatch.setattr(unique_mod, "_BLOCK", 8)
    x = make((12, 3), torch.int32, low=0, high=2)
    check(lambda t: _all(t, dim=0), x, served="unique_dim")
    check(lambda t: _all(t, dim=0), x[:, :1], served="unique_dim")     # one column: no folds
    check(lambda t: _all(t, dim=1), x[:3].to(torch.bool), served="unique_dim")
    big = 2**40
    w = torch.tensor([[big, 1], [big + 1, 0], [big, 1], [-big, 2], [big + 1, 0]], device=device())
    check(lambda t: _all(t, dim=0), w, served="unique_dim")
    check(lambda t: _all(t, dim=0), w.to(torch.float64) + 1e-9 * (w == big + 1), served="unique_dim")
    z = torch.tensor([[0.0, 1.0], [-0.0, 1.0], [2.0, -INF], [INF, 3.0], [0.0, 1.0]], device=device())
    check(lambda t: _all(t, dim=0), z.to(torch.bfloat16), served="unique_dim")
    n = torch.tensor([[NAN, 1.0], [NAN, 1.0], [0.0, 2.0]], device=device())
    _fell_back(lambda: _all(n, dim=0), "unique_dim")
    _fell_back(lambda: _all(n[:, :1], dim=0), "unique_dim")


def test_unique_dim_keys_and_edges():
    big = 2**40
    w = torch.tensor([[big, 1], [big + 1, 0], [big, 1], [-big, 2], [big + 1, 0]], device=device())
    check(lambda t: _all(t, dim=0), w, served="unique_dim")
    check(lambda t: _all(t, dim=0), w.to(torch.float64) + 1e-9 * (w == big + 1), served="unique_dim")
    z = torch.tensor([[0.0, 1.0], [-0.0, 1.0], [2.0, -INF], [INF, 3.0]], device=device())
    check(lambda t: _all(t, dim=0), z, served="unique_dim")
    check(lambda t: _all(t, dim=0), make((0, 3)), served="unique_dim")
    check(lambda t: _all(t, dim=1), make((3, 0)), served="unique_dim")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.unique(make((3, 0)), dim=0)          # zero-sized other dim: ATen's error
    with triforge.use(), pytest.raises((RuntimeError, IndexError)):
        torch.unique(make((3, 2)), dim=2)
    n = torch.tensor([[NAN, 1.0], [NAN, 1.0], [0.0, 2.0]], device=device())
    _fell_back(lambda: _all(n, dim=0), "unique_dim")          # NaN slices have no order to match
    _fell_back(lambda: _all(n[:, :1], dim=0), "unique_dim")
    _fell_back(lambda: _all(_dups((_max_block() + 1, 2), torch.int32), dim=0), "unique_dim")


def test_unique_dim_consecutive():
    x = make((4, 3), torch.int64, low=0, high=2).repeat_interleave(2, 0)[1:]
    for d in (0, 1):
        check(lambda t, d=d: torch.unique_consecutive(t, return_inverse=True, return_counts=True, dim=d), x,
              served="unique_consecutive")
        _as_torch_here(lambda d=d: torch.ops.aten.unique_dim_consecutive(x, d, False, False),
                       "unique_dim_consecutive")
    n = torch.tensor([[NAN, 1.0], [NAN, 1.0], [0.0, 2.0], [-0.0, 2.0]], device=device())
    check(lambda t: torch.unique_consecutive(t, return_counts=True, dim=0), n, served="unique_consecutive")
    check(lambda t: torch.ops.aten.unique_dim_consecutive(t, 0, True, True), make((0, 2)),
          served="unique_dim_consecutive")
    check(lambda t: torch.ops.aten.unique_dim_consecutive(t, 1, True, True), layouts((5, 6))["transposed"],
          served="unique_dim_consecutive")
    with triforge.use(), pytest.raises((RuntimeError, IndexError)):
        torch.unique_consecutive(torch.tensor(1.0, device=device()), dim=0)


def _mode_and_pick(dim, keep=False):
    """mode's values and the elements its indices name: both must equal torch's values
    (which index torch picks among equal elements is unspecified)."""
    def f(t):
        v, i = torch.mode(t, dim, keep)
        return v, t.gather(dim, i if keep else i.unsqueeze(dim))
    return f


def _valid_index(x, dim, v, i, keepdim):
    got = x.gather(dim, i if keepdim or x.dim() == 0 else i.unsqueeze(dim))
    got = got if keepdim or x.dim() == 0 else got.squeeze(dim)
    assert torch.equal(got, v)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_mode(dtype):
    check(_mode_and_pick(1), _dups((3, 10), dtype), served="mode")


def test_mode_dims():
    x = _dups((2, 3, 3), torch.int32)
    for dim, keep in ((0, False), (1, True), (-1, False)):
        check(_mode_and_pick(dim, keep), x, served="mode")


def test_mode_ties_and_signed_zero():
    x = torch.tensor([[5, 5, 4, 4, 3], [1, 2, 3, 4, 0], [7, 7, 7, 7, 7], [9, 2, 9, 2, 2]], device=device())
    v, i = _served(lambda: torch.mode(x), "mode")
    assert v.tolist() == [4, 0, 7, 2]          # equal counts: the smallest value, as torch
    _valid_index(x, 1, v, i, False)
    assert torch.equal(v, torch.mode(x.cpu()).values.to(v.device))
    z = torch.tensor([[0.0, -0.0, -0.0, 1.0, 1.0, 1.0, 0.0]], device=device())
    v, i = _served(lambda: torch.mode(z), "mode")
    assert v.item() == 0 and i.item() == 6 and not torch.signbit(v).item()   # zeros: one value; the last one's sign
    assert torch.equal(torch.mode(z.cpu()).values, v.cpu())


def test_mode_wide_and_strided():
    big = 2**40
    w = torch.tensor([[big, big + 1, big + 1, -big, big], [3, 3, 1, 1, 1]], device=device())
    check(lambda t: torch.mode(t).values, w, served="mode")
    check(lambda t: torch.mode(t).values, w.to(torch.float64) + 1e-9 * (w == big + 1), served="mode")
    lay = layouts((4, 5), torch.int32, low=0, high=3)
    check(_mode_and_pick(0), lay["transposed"], served="mode")
    check(_mode_and_pick(1, True), lay["stepped"], served="mode")
    check(_mode_and_pick(0), lay["expanded"], served="mode")


def test_mode_edges_nan_and_out():
    s = torch.tensor(3.5, device=device())
    check(lambda t: torch.mode(t), s, served="mode")
    check(lambda t: torch.mode(t, 0, True), s, served="mode")
    check(lambda t: torch.mode(t, 1), make((0, 4)), served="mode")
    check(lambda t: torch.mode(t, 0), make((5, 1)), served="mode")
    x = _dups((3, 8), torch.float32)
    outs = (torch.empty(0, device=device()), torch.empty(0, dtype=torch.int64, device=device()))
    v, i = _served(lambda: torch.mode(x, 1, out=outs), "mode.values")
    assert v is outs[0] and i is outs[1] and torch.equal(v.cpu(), torch.mode(x.cpu(), 1).values)
    with triforge.use(), pytest.raises((RuntimeError, IndexError)):
        torch.mode(make((0, 4)), 0)
    with triforge.use(), pytest.raises(RuntimeError):
        torch.mode(x, 1, out=(torch.empty(0, dtype=torch.int64, device=device()), outs[1]))
    y = x.clone()
    y[1, 3] = NAN
    v, _ = _fell_back(lambda: torch.mode(y, 1), "mode")   # NaN: torch's answer follows its sort's internals
    assert _nan_equal(v.cpu(), torch.mode(y.cpu(), 1).values)
    _fell_back(lambda: torch.mode(_dups((2, _max_block() + 1), torch.int32)), "mode")

"""sort and topk against the float64 reference (torch with triforge off)."""
import re

import pytest
import torch

import triforge
from triforge.ops.sort import group_select, radix_select, rank
from triforge.ops.sort import radix_sort as radix_sort_mod
from triforge.ops.sort import select as select_mod
from triforge.ops.sort import sort as sort_mod
from triforge.runtime import arrivals as arrivals_mod
from triforge.testing import check, device, layouts, make, on_gpu, triforge_off

FLOATS = [torch.float16, torch.bfloat16, torch.float32]
INTS = [torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool]


def _max_block():
    return triforge.backend().table("sort").get("max_single_block", 4096)


def _distinct(shape, dtype):
    """Values without ties (topk's tie order is unspecified in torch)."""
    n = 1
    for s in shape:
        n *= s
    # 2**(j/32) steps by ~2%: distinct even in bfloat16; signs make half of them negative.
    # Past 2048 values those powers overflow float32 (ties at inf): there the integers
    # themselves, exact in float32 up to 2**24
    perm = torch.randperm(n).view(shape).to(torch.float32)
    sign = torch.where(torch.rand(shape) < 0.5, -1.0, 1.0)
    mag = 2 ** (perm / 32 - 4) if n <= 2048 else perm + 1
    return (sign * mag).to(device=device(), dtype=dtype)


def _outs(t):
    return torch.empty(0, dtype=t.dtype, device=t.device), torch.empty(0, dtype=torch.int64, device=t.device)


@pytest.fixture(params=["network", "rank"])
def path(request, monkeypatch):
    """A full sort's two paths: sort.py's bitonic network, or counting places (rank.py)."""
    monkeypatch.setattr(rank, "MAX_WORK", 0 if request.param == "network" else 1 << 40)
    monkeypatch.setattr(rank, "MIN_N", 0)
    return request.param


WIDE = [torch.int64, torch.float64]


@pytest.mark.parametrize("dtype", FLOATS + INTS + WIDE)
@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable(dtype, descending, path):
    if dtype in WIDE and path == "network":
        pytest.skip("64-bit values sort only by rank")
    x = make((5, 37), dtype, low=-4, high=4) if dtype is not torch.uint8 else make((5, 37), dtype, low=0, high=7)
    check(lambda t: torch.sort(t, stable=True, descending=descending), x, served="sort.stable")


def test_sort_warps_table(monkeypatch):
    # the entry of the largest listed block at or below the row's, per word width
    monkeypatch.setattr(sort_mod, "_SORT_WARPS", {(32, 256): 4, (32, 4096): 16, (64, 1024): 8})
    monkeypatch.setattr(sort_mod, "_WARPS", 2)
    assert [sort_mod._sort_warps(32, b) for b in (128, 256, 2048, 4096)] == [2, 4, 4, 16]
    assert [sort_mod._sort_warps(64, b) for b in (512, 1024, 4096)] == [2, 8, 8]
    x = (make((5, 37), torch.bfloat16) * 4).round()   # ties; under the table, still torch's answer
    check(lambda t: torch.sort(t, stable=True), x, served="sort.stable")


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_sort_any_dim(dim):
    x = make((3, 6, 5)).round()   # ties: stability decides the indices
    check(lambda t: torch.sort(t, dim=dim, stable=True), x, served="sort.stable")
    check(lambda t: torch.sort(t, dim, True), x, served="sort")


def test_sort_nan_inf_and_signed_zero(path):
    nan, inf = float("nan"), float("inf")
    x = torch.tensor([[3.0, nan, -0.0, 0.0, -inf, 1.0, 1.0, inf, nan, -2.0],
                      [nan] * 10], device=device())
    for dtype in FLOATS + ([torch.float64] if path == "rank" else []):
        for d in (False, True):
            check(lambda t, d=d: torch.sort(t, stable=True, descending=d), x.to(dtype), served="sort.stable")
            # the exact bits in stable order: -0.0 before 0.0 where it came first (NaN's
            # sign is left out: torch's CPU bfloat16 conversion sets it)
            xd = x.to(dtype)
            with triforge.use():
                got = torch.sort(xd, stable=True, descending=d)[0].cpu()
            want = torch.sort(xd.cpu(), stable=True, descending=d)[0]
            num = ~want.isnan()
            assert torch.equal(torch.signbit(got[num]), torch.signbit(want[num]))
        if path == "network":
            # ties (NaNs, -0.0 and 0.0): torch leaves their index order open, so values only
            for d in (False, True):
                check(lambda t, d=d: torch.topk(t, 4, largest=d).values, x.to(dtype), served="topk")


@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_sort_strided(layout):
    x = layouts((6, 40), torch.float32)[layout]
    check(lambda t: torch.sort(t, stable=True), x, served="sort.stable")
    check(lambda t: torch.sort(t, dim=0, descending=True, stable=True), x, served="sort.stable")
    if layout == "transposed":
        check(lambda t: torch.argsort(t, stable=True), x, served="sort.stable")


def test_sort_edges():
    check(lambda t: torch.sort(t, stable=True), make((0, 5)), served="sort.stable")
    check(lambda t: torch.sort(t, stable=True), make((4, 1)), served="sort.stable")
    check(lambda t: torch.sort(t), torch.tensor(2.5, device=device()), served="sort")
    x = make((3, 9))
    out = check(lambda t: torch.sort(t, stable=True, out=_outs(t)), x, served="sort.values_stable")
    assert out[0].shape == (3, 9)
    with triforge.use(), pytest.raises(IndexError):
        torch.sort(x, dim=3)


def test_sort_long_rows_fall_back(monkeypatch):
    """Rows past one block that are too many or too long to count places (rank.py) are
    ATen's where the radix sort is off (GPUs, until timed there): visible."""
    x = make((2, _max_block() + 5))
    monkeypatch.setattr(rank, "MAX_WORK", 2 * (_max_block() + 5) ** 2 - 1)
    monkeypatch.setattr(sort_mod, "RADIX_SORT", False)
    with triforge.use(), triforge.coverage() as cov:
        v, _ = torch.sort(x)
    assert "sort" in cov.fell_back() and torch.equal(v, torch.sort(x.cpu())[0].to(v.device))


def test_sort_network_limits(monkeypatch):
    """Full sorts past where the backend measured the network slower than torch go to
    ATen, visibly (sort._network_ok); rank.py and the radix sort off here."""
    monkeypatch.setattr(rank, "MAX_WORK", 0)
    monkeypatch.setattr(sort_mod, "RADIX_SORT", False)
    monkeypatch.setattr(sort_mod, "_NET_MAX_N", 16)
    monkeypatch.setattr(sort_mod, "_NET_MAX_ROWS", {(64, 16): 2})
    for shape, served in (((3, 20), False), ((3, 16), False), ((2, 16), True), ((3, 7), True)):
        x = make(shape)
        with triforge.use(), triforge.coverage() as cov:
            v, i = torch.sort(x, stable=True)
        assert ("sort.stable" in cov.served()) == served, (shape, str(cov))
        assert served or "sort.stable" in cov.fell_back()
        ref = torch.sort(x.cpu(), stable=True)
        assert torch.equal(v.cpu(), ref[0]) and torch.equal(i.cpu(), ref[1])


# one dtype a key branch (keys.key: 16-bit floats, 32-bit floats, 32-bit and narrower
# signed ints, bool): the interpreter's tl.sort and histogram cost ~60 ms a program
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.int32, torch.int8, torch.bool])
def test_radix_sort_long_rows(dtype, monkeypatch):
    """Full sorts that neither the network nor rank.py takes go through the radix sort
    (radix_sort.py: 8 bits a pass, one to four passes), stable: values (their exact bits,
    NaN last, -0.0 tied with 0.0 in index order) and indices as torch's stable sort,
    either direction, any dim, rows crossing several tiles."""
    monkeypatch.setattr(rank, "MAX_WORK", 0)
    monkeypatch.setattr(sort_mod, "RADIX_SORT", True)
    monkeypatch.setattr(sort_mod, "_NET_MAX_N", 16)   # rows past the network at tiny sizes
    calls = []
    real = radix_sort_mod.radix_sort
    monkeypatch.setattr(radix_sort_mod, "radix_sort", lambda *a: calls.append(1) or real(*a))
    n = 2 * radix_sort_mod.TILE + 3
    x = make((3, n), dtype, low=-20, high=20)   # ties in every dtype
    if dtype.is_floating_point:
        x[0, :8] = torch.tensor([float("nan"), -0.0, 0.0, float("inf"), -float("inf"), 1.0, -0.0, float("nan")])
        x[2, -5:] = float("nan")
    for desc in (False, True):
        with triforge.use(), triforge.coverage() as cov:
            v, i = torch.sort(x, stable=True, descending=desc)
            if desc:   # another dim: the rows moved last, sorted, moved back
                vt, it = torch.sort(x.t(), dim=0, descending=desc)
        assert "sort.stable" in cov.served() and not cov.fell_back(), str(cov)
        assert calls, "the radix sort ran"
        rv, ri = torch.sort(x.cpu(), stable=True, descending=desc)
        bits = {2: torch.int16, 4: torch.int32}[x.element_size()] if dtype.is_floating_point else None   # NaN bits
        same = torch.equal(v.cpu().view(bits), rv.view(bits)) if bits else torch.equal(v.cpu(), rv)
        assert same and torch.equal(i.cpu(), ri), (dtype, desc)
        if desc:
            assert torch.equal(vt.t().cpu().view(bits), rv.view(bits)) if bits else torch.equal(vt.t().cpu(), rv)
            assert torch.equal(it.t().cpu(), ri)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.int64])
def test_sort_long_few_rows_by_rank(dtype, monkeypatch):
    """A row past one block, few enough: places counted across programs (rank.py)."""
    monkeypatch.setattr(rank, "MAX_WORK", 1 << 40)
    monkeypatch.setattr(rank, "MIN_N", 0)   # the interpreter's block is shorter than MIN_N
    x = (make((2, _max_block() + 5)) * 8).round().to(dtype)   # ties: stability decides
    check(lambda t: torch.sort(t, stable=True, descending=True), x, served="sort.stable")


@pytest.mark.parametrize("dtype", FLOATS + [torch.int32, torch.uint8])
@pytest.mark.parametrize("largest", [True, False])
def test_topk(dtype, largest):
    x = _distinct((6, 50), dtype) if dtype.is_floating_point else \
        torch.randperm(300).view(6, 50).remainder(256 if dtype is torch.uint8 else 300).to(device=device(), dtype=dtype)
    if dtype is torch.uint8:
        x = torch.randperm(256)[:60].view(6, 10).to(device=device(), dtype=dtype)
    for k in ((1, 50) if dtype is torch.float32 else (5,)):
        check(lambda t, k=k: torch.topk(t, k, largest=largest), x, served="topk")
    check(lambda t: torch.topk(t, 3, dim=0, largest=largest), x, served="topk")


def test_topk_ties_and_unsorted():
    x = make((4, 40)).round()
    with triforge.use(), triforge.coverage() as cov:
        v, i = torch.topk(x, 7, sorted=False)
    assert "topk" in cov.served()
    ref = torch.topk(x.cpu(), 7).values
    torch.testing.assert_close(v.cpu().sort(-1, descending=True).values, ref)
    assert torch.equal(x.gather(-1, i), v)


def test_topk_long_rows():
    """Rows longer than one block: group maxima (group_select.py); past the k a backend's
    table lets it take, the radix select (radix_select.py) or ATen."""
    n = _max_block() + 11 if not on_gpu() else 128256
    x = _distinct((2, n), torch.float32)
    check(lambda t: torch.topk(t, 50), x, served="topk")
    check(lambda t: torch.topk(t, 9, largest=False), x, served="topk")
    x[1, 7] = float("nan")
    check(lambda t: torch.topk(t, 5), x, served="topk")
    # k past the group path's 16-element groups (8, 4 per group)
    check(lambda t: torch.topk(t, 100), x, served="topk")
    k = min(300, n - 7)   # groups of 4; on the H100 past the table's k: ATen
    check(lambda t: torch.topk(t, k, largest=False), x,
          served="topk" if group_select.group_topk_ok(n, k) or sort_mod.RADIX else ())
    if on_gpu():   # a third level of maxima (the CPU tests force one), where the table allows
        assert group_select._levels(n, 1024) == 3
        check(lambda t: torch.topk(t, 600), x, served="topk" if group_select.group_topk_ok(n, 600) else ())


def _stable_topk(x, k, largest):
    v, i = torch.sort(x.cpu(), dim=-1, descending=largest, stable=True)
    return v[:, :k], i[:, :k]


_RADIX_CASES = {
    # cap: 0 = the backend's. Distinct floats keep the running-threshold superset within
    # cap (one read); an ascending row overflows it but its final bucket fits (a second
    # read); a row of few distinct values overflows both (a read per digit).
    "randn fp32": (lambda: torch.randn(3, 450), 0),
    "randn bf16, NaN, -0.0": (lambda: torch.cat([torch.randn(2, 450), torch.zeros(1, 450)]).bfloat16(), 0),
    "ascending fp16": (lambda: torch.arange(1350.0).view(3, 450).half(), 256),
    # rows of both kernels in one call: the bound pass's and the radix select's
    "randn and ascending fp32": (lambda: torch.cat([torch.randn(2, 450), torch.arange(450.0)[None]]), 256),
    "few values int16": (lambda: torch.randint(-3, 3, (3, 450), dtype=torch.int16), 0),
    "int8": (lambda: torch.randint(-128, 128, (3, 450), dtype=torch.int8), 0),
    "int32": (lambda: torch.randint(-2**31, 2**31 - 1, (3, 450), dtype=torch.int32), 0),
    "bool": (lambda: torch.rand(3, 450) < 0.3, 0),
}


_PATHS = {
    "group": lambda x, k, largest, v, i, cap: group_select.group_topk(x, k, largest, v, i),
    # the descent as a launch of its own, as under CUDA graph capture; 64-bit words for
    # 16-bit keys too (the default there names elements by their slot in 32 bits)
    "group, two launches, 64-bit words": lambda x, k, largest, v, i, cap: group_select.group_topk(
        x, k, largest, v, i, fuse=False, w32=False),
    "group, three levels": lambda x, k, largest, v, i, cap: _three_levels(x, k, largest, v, i),
    "radix": lambda x, k, largest, v, i, cap: radix_select.radix_topk(x, k, largest, v, i, cap=cap or None),
}


def _three_levels(x, k, largest, v, i):
    """A third level of maxima, as long rows with k past 256 take: here a top level of
    one entry forces it."""
    top = group_select.MAX_TOP
    group_select.MAX_TOP = 1
    try:
        assert group_select._levels(x.shape[1], max(2, 1 << (k - 1).bit_length())) == 3
        group_select.group_topk(x, k, largest, v, i)
    finally:
        group_select.MAX_TOP = top


# the group path's variants on the cases whose keys differ most (16/32 bits, NaN, ties)
_VARIANT_CASES = ("randn fp32", "randn bf16, NaN, -0.0", "ascending fp16", "few values int16", "int32")


@pytest.mark.parametrize(("case", "path"), [(c, p) for p in _PATHS for c in _RADIX_CASES
                                            if p in ("group", "radix") or c in _VARIANT_CASES])
def test_topk_long_rows_match_stable_sort(case, path):
    """Values and indices equal a stable sort's first k, ties in index order, on each
    long-row path (the radix select's reads included); NaN counts as the largest value,
    -0.0 ties with +0.0. The fused descent leaves its arrival counters at zero."""
    make_x, cap = _RADIX_CASES[case]
    torch.manual_seed(0)
    x = make_x()
    if case.startswith("randn bf16"):
        x[0, 5], x[1, ::9] = float("nan"), float("nan")
        x[2, ::2] = -0.0
    x = x.to(device())
    for k, largest in ((50, True), (7, False)):
        v = torch.full((3, k), 7, dtype=x.dtype, device=x.device)
        i = torch.full((3, k), -1, dtype=torch.int64, device=x.device)
        _PATHS[path](x, k, largest, v, i, cap)
        rv, ri = _stable_topk(x, k, largest)
        assert torch.equal(i.cpu(), ri), (k, largest)
        torch.testing.assert_close(v.cpu(), rv, rtol=0, atol=0, equal_nan=True)
    for counts in arrivals_mod._arrivals.values():
        assert not counts.any(), "arrival counts left behind"


def test_topk_edges_and_errors():
    x = make((3, 8))
    check(lambda t: torch.topk(t, 0), x, served="topk")
    check(lambda t: torch.topk(t, 2), make((0, 8)), served="topk")
    check(lambda t: torch.topk(t, 1), torch.tensor(1.5, device=device()), served="topk")
    check(lambda t: torch.topk(t, 3), layouts((5, 8))["transposed"], served="topk")
    check(lambda t: torch.topk(t, 3, out=_outs(t)), x, served="topk.values")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.topk(x, 9)
    with triforge.use(), pytest.raises(IndexError):
        torch.topk(x, 1, dim=2)


@pytest.mark.gpu_only
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_gpu_topk_vocab(dtype):
    x = torch.randn(4096, 128256, device=device(), dtype=dtype)
    x[3] = 0.0                     # one bucket for the whole row: a read per digit
    x[5] = torch.arange(128256, device=device())   # the first read overflows its scratch
    with triforge.use(), triforge.coverage() as cov:
        v, i = torch.topk(x, 50)
    assert cov.served() == {"topk": 1}, str(cov)
    ref = torch.topk(x, 50)
    assert torch.equal(v, ref.values)
    assert torch.equal(x.gather(-1, i), v)
    assert torch.equal(i[3], torch.arange(50, device=device()))   # ties in index order


@pytest.mark.gpu_only
def test_gpu_topk_graph_capture():
    """Captured, the descent is a launch of its own (no arrival counters): replays follow
    the input and match the eager (fused) result bitwise."""
    x = torch.randn(64, 128256, device=device(), dtype=torch.bfloat16)
    with triforge.use():
        torch.topk(x, 50)   # compiled and tuned outside the capture
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            got = torch.topk(x, 50)
        for _ in range(2):
            x.copy_(torch.randn_like(x))
            g.replay()
            want = torch.topk(x, 50)
            assert torch.equal(got.values, want.values) and torch.equal(got.indices, want.indices)
    assert torch.equal(got.values, torch.topk(x, 50).values)


@pytest.mark.gpu_only
def test_gpu_sort_rows(monkeypatch):
    # the network at its largest block (sort() sends such rows to ATen, _network_ok;
    # unique's row sorts still run them)
    monkeypatch.setattr(sort_mod, "_NET_MAX_N", _max_block())
    monkeypatch.setattr(sort_mod, "_NET_MAX_ROWS", {})
    x = make((1024, _max_block()), torch.bfloat16)
    check(lambda t: torch.sort(t, stable=True, descending=True), x, served="sort.stable")


@pytest.mark.parametrize("dtype", FLOATS + [torch.float64, torch.int32, torch.int64, torch.uint8])
@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_and_bucketize(dtype, right):
    lo = 0 if dtype is torch.uint8 else -20
    seq = make((33,), dtype, low=lo, high=20).sort().values   # duplicates likely
    v = make((4, 17), dtype, low=lo - 5, high=25)
    check(lambda s, t: torch.searchsorted(s, t, right=right), seq, v, served="searchsorted.Tensor")
    check(lambda t, s: torch.bucketize(t, s, right=right, out_int32=True), v, seq, served="bucketize.Tensor")
    rows = make((4, 9), dtype, low=lo, high=20).sort(-1).values   # a sequence per row
    check(lambda s, t: torch.searchsorted(s, t, side="right" if right else "left"), rows, v,
          served="searchsorted.Tensor")


def test_searchsorted_nan_strided_out_and_errors():
    nan, inf = float("nan"), float("inf")
    seq = torch.tensor([-inf, 1.0, 2.0, 2.0, 3.0, nan], device=device())
    v = torch.tensor([[nan, -inf, inf, 2.0, 0.5, 3.0]], device=device())
    for right in (False, True):
        check(lambda s, t, right=right: torch.searchsorted(s, t, right=right), seq, v, served="searchsorted.Tensor")
    vt = layouts((6, 5))["transposed"]
    check(lambda s, t: torch.searchsorted(s, t), seq, vt, served="searchsorted.Tensor")
    check(lambda s, t: torch.searchsorted(s, t), seq, make((0, 3)), served="searchsorted.Tensor")
    check(lambda s, t: torch.searchsorted(s, t), seq[:0], v, served="searchsorted.Tensor")
    check(lambda s, t: torch.searchsorted(s, t, out=torch.empty(0, dtype=torch.int64, device=t.device)), seq, v,
          served="searchsorted.Tensor_out")
    check(lambda t, s: torch.bucketize(t, s, out=torch.empty(0, dtype=torch.int64, device=t.device)), v, seq,
          served="bucketize.Tensor_out")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.searchsorted(seq, v, side="left", right=True)
    with triforge.use(), pytest.raises(RuntimeError):
        torch.searchsorted(make((3, 4)), make((2, 4)))           # leading dims differ
    with triforge.use(), pytest.raises(RuntimeError):
        torch.bucketize(v, make((2, 3)))                          # boundaries must be 1-D


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int32])
def test_searchsorted_scalar_value(dtype):
    # A Python number as the value (the Scalar overloads). On CUDA, ATen's kernels for
    # them dispatch the Tensor overload with a wrapped-number CUDA tensor, which torch
    # cannot box for triforge's Python kernel (INTERNAL ASSERT, found on the H100).
    seq = make((33,), dtype, low=-20, high=20).sort().values
    for number in (2.0, -0.5, 7, True, 100.0):   # exact in every dtype here: the reference upcasts
        for right in (False, True):
            check(lambda s, n=number, r=right: torch.searchsorted(s, n, right=r), seq,
                  served="searchsorted.Scalar")
            check(lambda s, n=number, r=right: torch.bucketize(n, s, right=r, out_int32=True), seq,
                  served="bucketize.Scalar")
    check(lambda s: torch.searchsorted(s, 3, out=torch.empty(0, dtype=torch.int64, device=s.device)), seq,
          served="searchsorted.Scalar_out")
    x = seq[torch.randperm(33, device=seq.device)]
    check(lambda t: torch.searchsorted(t, 2.0, sorter=torch.argsort(t, stable=True)), x, served="searchsorted.Scalar")
    # a number the dtype rounds: the same answer as torch in that dtype
    got = _served(lambda: torch.searchsorted(seq, 2.001), "searchsorted.Scalar")
    assert torch.equal(got, torch.searchsorted(seq, 2.001))
    for bad in (lambda: torch.searchsorted(seq.reshape(3, 11), 2.0),   # a number needs a 1-d sequence
                lambda: torch.searchsorted(seq, 1 + 2j)):
        with pytest.raises(RuntimeError):
            bad()
        with triforge.use(), pytest.raises(RuntimeError):
            bad()


@pytest.mark.parametrize("dtype", [torch.int32, torch.bfloat16])
def test_isin_scalar_element(dtype):
    """isin(number, tensor): ATen wraps the number and runs the Tensor overload, whose
    sort path reached triforge's _unique with a bare int (AttributeError on the CPU; on
    CUDA torch's boxing asserts). triforge serves the Scalar overloads."""
    t = make((40,), dtype, low=-6, high=6)   # >= 10 test elements: ATen's sort path (_unique)
    if dtype.is_floating_point:
        t = t.round()
    for number in (3, 2.5):
        for invert in (False, True):
            check(lambda x, n=number, i=invert: torch.isin(n, x, invert=i), t, served="isin.Scalar_Tensor")
    for bad in (True, 1j):   # torch's error for these element types stands
        with triforge.use(), pytest.raises(RuntimeError, match="Unsupported input type"):
            torch.isin(bad, t)
    check(lambda x: torch.isin(1, x, out=torch.empty(0, dtype=torch.bool, device=x.device)), t,
          served="isin.Scalar_Tensor_out")


def _valid_indices(x, dim, v, i, keepdim=False):
    """Each index names an element equal to its value (NaN for NaN)."""
    got = x.gather(dim, i if keepdim or x.dim() == 0 else i.unsqueeze(dim))
    got = got if keepdim or x.dim() == 0 else got.squeeze(dim)
    assert torch.equal(got.isnan(), v.isnan()) if v.is_floating_point() else True
    assert torch.equal(got.nan_to_num(0), v.nan_to_num(0)) if v.is_floating_point() else torch.equal(got, v)


def _served(fn, name):
    with triforge.use(), triforge.coverage() as cov:
        out = fn()
    assert name in cov.served(), cov.served()
    return out


@pytest.mark.parametrize("dtype", FLOATS + [torch.int32, torch.uint8])
def test_kthvalue_and_median_dim(dtype):
    x = make((3, 7, 4), dtype, low=0, high=9)   # ties: indices only need to be valid
    if dtype.is_floating_point:
        x[1, 2, 3] = float("nan")
        x[2, :, 0] = float("nan")
    for dim, k, keep in ((1, 7, False), (-1, 2, True), (0, 3, False)):
        v, i = _served(lambda k=k, dim=dim, keep=keep: torch.kthvalue(x, k, dim, keep), "kthvalue")
        check(lambda t, k=k, dim=dim, keep=keep: torch.kthvalue(t, k, dim, keep).values, x, served="kthvalue")
        _valid_indices(x, dim, v, i, keep)
        v, i = _served(lambda dim=dim, keep=keep: torch.median(x, dim, keep), "median.dim")
        check(lambda t, dim=dim, keep=keep: torch.median(t, dim, keep).values, x, served="median.dim")
        _valid_indices(x, dim, v, i, keep)
    check(lambda t: torch.median(t), x[1], served="median")   # whole tensor: one block


def test_kthvalue_median_edges_and_errors():
    x = layouts((7, 6))["transposed"]
    check(lambda t: torch.median(t, 0).values, x, served="median.dim")
    check(lambda t: torch.kthvalue(t, 2, 1).values, x, served="kthvalue")
    s = torch.tensor(3.0, device=device())
    check(lambda t: torch.kthvalue(t, 1), s, served="kthvalue")
    check(lambda t: torch.median(t, 0), s, served="median.dim")
    outs = (torch.empty(0, device=device()), torch.empty(0, dtype=torch.int64, device=device()))
    v, _ = _served(lambda: torch.kthvalue(x, 2, 1, out=outs), "kthvalue.values")
    assert v is outs[0] and v.shape == (7,)
    with triforge.use(), pytest.raises(RuntimeError):
        torch.kthvalue(x, 7, 1)
    with triforge.use(), pytest.raises((RuntimeError, IndexError)):
        torch.median(make((3, 0)), 1)


_BITS = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32}


def _exact_select(x, dim, k=None, keepdim=False):
    """triforge's kthvalue (k) or median (k None) along dim: values exactly torch's, each
    index the first position along dim holding an equal value (NaN for NaN), each value
    the input's own bits there (-0.0, NaN payloads)."""
    def call(t):
        return torch.median(t, dim, keepdim) if k is None else torch.kthvalue(t, k, dim, keepdim)
    v, i = _served(lambda: call(x), "median.dim" if k is None else "kthvalue")
    with triforge_off():
        want = call(x).values
    torch.testing.assert_close(v, want, rtol=0, atol=0, equal_nan=True)
    vk, ik = (v, i) if keepdim else (v.unsqueeze(dim), i.unsqueeze(dim))
    eq = (x == vk) | (x.isnan() & vk.isnan()) if x.is_floating_point() else x == vk
    assert torch.equal(ik, eq.to(torch.uint8).argmax(dim, keepdim=True)), (x, k, v, i)
    if x.dtype in _BITS:   # bits gathered: the CPU's bf16 gather rewrites NaN as 0xFFFF
        x, vk = x.view(_BITS[x.dtype]), vk.view(_BITS[x.dtype])
    assert torch.equal(x.gather(dim, ik), vk)
    return v, i


@pytest.mark.parametrize("dtype", FLOATS + [d for d in INTS if d is not torch.bool])
def test_kthvalue_median_first_of_ties(dtype):
    n = 37
    if dtype.is_floating_point:
        x = make((5, n), dtype, low=-3, high=3).round()
        x[0, ::3] = -0.0   # -0.0 and 0.0 mixed: equal values, the first of either is the index
        x[0, 1::5] = 0.0
        x[1, 3], x[1, 20], x[1, 30] = float("inf"), float("-inf"), float("inf")
        x[2, 5::7] = float("nan")
        x[3, 30:] = float("nan")
        x[4, :] = -0.0
        x[4, 10:12] = float("-inf")
    else:
        x = make((5, n), dtype, low=-3 if dtype is not torch.uint8 else 0, high=4)
        x[4, :] = x[4, 0]   # one value: every k's index is 0
    for k in (1, 2, n // 2, n - 5, n - 1, n):
        _exact_select(x, 1, k)
    _exact_select(x, 1)


def test_kthvalue_median_nan():
    nan, inf = float("nan"), float("inf")
    x = torch.tensor([[1.0, nan, -inf, nan, 2.0, inf, nan],
                      [nan] * 7,
                      [3.0, 0.0, -0.0, nan, -1.0, -0.0, 5.0],
                      [inf, -inf, inf, 1.0, -0.0, 0.0, -inf]], device=device())
    for dtype in FLOATS:
        t = x.to(dtype)
        v, i = _exact_select(t, 1)   # a row holding NaN: NaN at its first NaN
        assert v[:3].isnan().all() and i[:3].tolist() == [1, 0, 3]
        for k in (1, 3, 4, 5, 7):   # past a row's finite values: NaN, the first NaN's index
            _exact_select(t, 1, k)
        v, i = _exact_select(t[[0, 2, 3]], 0)
        assert v.isnan().tolist() == [False, True, False, True, False, False, True] and i[1] == 0
        check(lambda s: torch.median(s), t, served="median")
        check(lambda s: torch.median(s), t[3], served="median")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int16])
def test_kthvalue_median_lengths_and_layouts(dtype):
    for n in (1, 5, 37, 300):
        x = make((3, n), dtype, low=-100, high=100)
        _exact_select(x, 1)
        _exact_select(x, -1, int(torch.randint(1, n + 1, ())), keepdim=True)
    x = layouts((37, 5), dtype, low=-9, high=9)["transposed"]   # columns of 5, rows of 37
    _exact_select(x, 0)
    _exact_select(x, 1, 4)
    _exact_select(x, 0, 37)
    x = make((4, 9, 3), dtype, low=-5, high=5)
    _exact_select(x, 1, keepdim=True)
    _exact_select(x, 0, 2)
    outs = (torch.empty(0, dtype=dtype, device=device()), torch.empty(0, dtype=torch.int64, device=device()))
    v, i = _served(lambda: torch.median(x, 2, out=outs), "median.dim_values")
    assert v is outs[0] and i is outs[1]
    with triforge_off():
        want = torch.median(x, 2)
    assert torch.equal(v, want.values)


def test_select_warps_table(monkeypatch):
    # the narrowest listed key width holding the dtype's, then its largest block at or below
    monkeypatch.setattr(select_mod, "_WARPS", {(16, 1): 1, (16, 1024): 2, (32, 1): 4, (32, 4096): 16})
    select_mod._warps.cache_clear()
    try:
        assert [select_mod._warps(b, 512) for b in (8, 16, 32)] == [1, 1, 4]
        assert [select_mod._warps(16, n) for n in (1024, 16384)] == [2, 2]
        assert [select_mod._warps(32, n) for n in (2048, 4096, 16384)] == [4, 16, 16]
    finally:
        select_mod._warps.cache_clear()


def test_kthvalue_median_of_bool_go_to_aten():
    """torch's CPU kernels raise for bool, its CUDA kernels answer: ATen does either."""
    x = make((3, 5), torch.bool)
    for fn in (lambda: torch.median(x, 1), lambda: torch.kthvalue(x, 2, 1), lambda: torch.median(x)):
        try:
            with triforge_off():
                want = fn()
        except RuntimeError as e:
            with triforge.use(), pytest.raises(RuntimeError, match=re.escape(str(e)[:20])):
                fn()
        else:
            with triforge.use(), triforge.coverage() as cov:
                got = fn()
            assert not cov.served()
            torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_kthvalue_median_past_one_program_go_to_aten(monkeypatch):
    monkeypatch.setattr(select_mod, "_MAX", 8)
    x = make((3, 9))
    with triforge.use(), triforge.coverage() as cov:
        got = torch.median(x, 1), torch.kthvalue(x, 2, 1), torch.median(x)
    assert not {"median.dim", "kthvalue", "median"} & set(cov.served())
    with triforge_off():
        want = torch.median(x, 1), torch.kthvalue(x, 2, 1), torch.median(x)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    _exact_select(x[:, :8], 1)


@pytest.mark.gpu_only
@pytest.mark.parametrize("shape,dtype", [((4096, 4096), torch.bfloat16), ((64, 16384), torch.float32)])
def test_kthvalue_median_large(shape, dtype):
    x = (torch.randn(shape, device=device()) * 50).to(dtype)   # bf16: many ties
    _exact_select(x, 1)
    _exact_select(x, 1, 1)
    _exact_select(x, 1, shape[1] // 3)
    _exact_select(x, 1, shape[1])


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_bincount(dtype):
    x = make((300,), dtype, low=0, high=40)
    check(lambda t: torch.bincount(t), x, served="bincount")
    check(lambda t: torch.bincount(t, minlength=60), x, served="bincount")
    for wd in (torch.float32, torch.float64, torch.float16, torch.int32):
        w = make((300,), wd)
        check(lambda t, ww: torch.bincount(t, ww), x, w, served="bincount",
              **({"rtol": 1e-4, "atol": 1e-4} if wd is torch.float32 else {}))
    check(lambda t: torch.bincount(t, minlength=3), make((0,), dtype), served="bincount")
    check(lambda t: torch.bincount(t), x[::3], served="bincount")


def test_bincount_errors():
    with triforge.use(), pytest.raises(RuntimeError):
        torch.bincount(torch.tensor([1, -1, 2], device=device()))
    with triforge.use(), pytest.raises(RuntimeError):
        torch.bincount(make((3, 3), torch.int64, low=0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_histc(dtype):
    x = make((40, 30), dtype)
    x[0, 0] = 100.0   # outside the range: ignored
    check(lambda t: torch.histc(t, bins=17, min=-2, max=2), x, served="histc")
    check(lambda t: torch.histc(t, bins=5), x.t(), served="histc")           # min == max: data range
    check(lambda t: torch.histc(t, bins=3, min=1, max=1), x[:0], served="histc")
    check(lambda t: torch.histc(t, bins=4), torch.full((5,), 2.0, dtype=dtype, device=device()), served="histc")
    check(lambda t: torch.histc(t, bins=6, min=-1, max=1, out=torch.empty(0, dtype=t.dtype, device=t.device)), x,
          served="histc.out")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.histc(x, bins=4, min=2, max=1)
    y = x.clone()
    y[1, 1] = float("nan")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.histc(y, bins=4)


def test_float64_is_never_ordered_by_its_float32_rounding():
    """Packed keys are 32 bits: float64 topk/kthvalue/median go to ATen rather than tie
    1 + 1e-12 with 1.0; a full sort of few rows compares the 64 bits (rank.py)."""
    x = torch.tensor([1 + 1e-12, 1.0, 1e300, float("inf"), -1e-300, 0.0], dtype=torch.float64, device=device())
    with triforge.use(), triforge.coverage() as cov:
        got = (torch.sort(x), torch.topk(x, 3), torch.kthvalue(x, 2), torch.median(x))
    want = (torch.sort(x), torch.topk(x, 3), torch.kthvalue(x, 2), torch.median(x))
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=0, atol=0)
    assert not {"topk", "kthvalue", "median"} & set(cov.served()) and "sort" in cov.served()

"""The reduction engine and its ops against the float64 reference.

Strategy thresholds are patched down (fixture `small_blocks`) so the looped, packed-rows,
column and split paths all run at interpreter-sized shapes."""

import pytest
import torch

import triforge
from triforge.ops.reduction import engine as E
from triforge.testing import assert_close, check, layouts, make, on_gpu

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INTS = [torch.int32, torch.int64, torch.bool]
nan, inf = float("nan"), float("inf")


@pytest.fixture
def small_blocks(monkeypatch):
    """Tiles of 256 elements, rows of 64+ split when fewer than 4 programs: every strategy
    (packed rows, looped rows, columns, split + second pass) at tiny sizes."""
    if on_gpu():
        return
    monkeypatch.setattr(E, "TILE", 256)
    monkeypatch.setattr(E, "MAX_BLOCK_R", 32)
    monkeypatch.setattr(E, "COL_BLOCK", 4)
    monkeypatch.setattr(E, "TARGET_PROGRAMS", 4)
    monkeypatch.setattr(E, "SPLIT_MIN_R", 64)
    monkeypatch.setattr(E, "_plans", {})   # plans hold the launch parameters of their config
    monkeypatch.setattr(E, "_one_tile", {})   # and so does this verdict (a row of 300: one tile of 4096)


def _tol(dtype, n):
    """Sums in float32 of n half-precision values: the result's rounding dominates."""
    return {torch.float16: (2e-3, 1e-3), torch.bfloat16: (1.6e-2, 1e-2)}.get(dtype, (None, None))


# -- geometry --------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dims,expect", [
    ((4, 5, 6), [2], (20, 6, 1)),
    ((4, 5, 6), [0], (1, 4, 30)),
    ((4, 5, 6), [1], (4, 5, 6)),
    ((4, 5, 6), [0, 1], (1, 20, 6)),
    ((4, 5, 6), [0, 2], (5, 24, 1)),     # not adjacent: gathered by a copy
    ((4, 1, 6), [0, 2], (1, 24, 1)),     # adjacent once the size-1 dim is ignored
    ((), [], (1, 1, 1)),
])
def test_geometry(shape, dims, expect):
    x = torch.zeros(shape)
    _, copy, outer, R, inner, _ = E._recipe(x, dims)
    assert (outer, R, inner) == expect
    assert copy == (dims == [0, 2] and shape == (4, 5, 6))


def test_geometry_walks_a_transposed_tensor_without_a_copy():
    x = torch.zeros(6, 5).t()            # (5, 6), storage order (6, 5)
    perm, copy, outer, R, inner, _ = E._recipe(x, [1])
    assert not copy and x.permute(perm).is_contiguous() and (outer, R, inner) == (1, 6, 5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.int64])
def test_wide_extremes_take_narrower_row_tiles(dtype, monkeypatch):
    """64-bit extremes loop over rows in tiles of MAX_BLOCK_R_64 (aminmax: _PAIR)
    columns; sums keep MAX_BLOCK_R."""
    monkeypatch.setattr(E, "MAX_BLOCK_R", 32)
    monkeypatch.setattr(E, "MAX_BLOCK_R_64", 16)
    monkeypatch.setattr(E, "MAX_BLOCK_R_64_PAIR", 4)
    monkeypatch.setattr(E, "_plans", {})
    assert [E._max_r(dtype, c) for c in (E.SUM, E.MAX, E.ARGMIN, E.MINMAX)] == [32, 16, 16, 4]
    assert E._max_r(torch.float32, E.MINMAX) == 32
    x = make((5, 37), dtype, low=-50, high=50)
    if dtype.is_floating_point:
        x[1, 7], x[3, 30] = nan, -inf
    check(lambda t: torch.aminmax(t, dim=-1), x, served="aminmax")
    check(lambda t: torch.aminmax(t), x, served="aminmax")
    check(lambda t: t.amax(-1), x, served="amax")
    check(lambda t: t.max(-1), x, served="max.dim")
    check(lambda t: t.argmin(-1), x, served="argmin")


def test_plans_are_per_argument_pattern():
    """Same shapes and strides reuse a plan; another layout of the same shape gets its own."""
    x = make((6, 5))
    with triforge.use():
        a = torch.sum(x, 1)
        n = len(E._plans)
        b = torch.sum(x.clone(), 1)
        assert len(E._plans) == n
        c = torch.sum(x.t().contiguous().t(), 1)   # same values, column-major
        assert len(E._plans) == n + 1
    assert torch.equal(a, b)
    torch.testing.assert_close(a, c)


# -- sums ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("dim", [-1, 0, (0, 2), None])
def test_sum_dims(dtype, dim, small_blocks):
    x = make((5, 7, 19), dtype)
    rtol, atol = _tol(dtype, 0)
    check(lambda t: torch.sum(t, dim) if dim is not None else torch.sum(t), x,
          served="sum.dim_IntList" if dim is not None else "sum", rtol=rtol, atol=atol)


@pytest.mark.parametrize("policy", [1, 2])
def test_read_policy(policy, small_blocks, monkeypatch):
    """Input loads under an L2 eviction policy (READ_POLICY, for inputs of STREAM_BYTES
    and up): the same results on every strategy -- rows, columns, split, argmax."""
    monkeypatch.setattr(E, "READ_POLICY", policy)
    monkeypatch.setattr(E, "STREAM_BYTES", 0)
    monkeypatch.setattr(E, "_plans", {})
    x = make((5, 7, 19), torch.bfloat16)
    rtol, atol = _tol(torch.bfloat16, 0)
    for dim in (-1, 0, None):
        check(lambda t: torch.sum(t, dim) if dim is not None else torch.sum(t), x, rtol=rtol, atol=atol)
    check(lambda t: torch.argmax(t, -1), make((3, 300), torch.float32), served="argmax")
    assert any(pl.tail[-5] == policy for pl in E._plans.values())   # EVICT


@pytest.mark.parametrize("dtype", FLOATS)
def test_mean_keepdim_and_dtype(dtype, small_blocks):
    x = make((3, 40), dtype)
    check(lambda t: torch.mean(t, 1, keepdim=True), x, served="mean.dim")
    check(lambda t: torch.mean(t), x, served="mean")
    check(lambda t: torch.sum(t, 0, dtype=torch.float64), x, served="sum.dim_IntList")
    check(lambda t: torch.mean(t, (0, 1), dtype=torch.float32), x, served="mean.dim")


def test_sum_int_into_float_and_bool():
    check(lambda t: torch.sum(t, 1, dtype=torch.float32), make((3, 9), torch.int32), served="sum.dim_IntList")
    check(lambda t: torch.sum(t, 0), make((30, 3), torch.bool), served="sum.dim_IntList")


@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_sum_strided_inputs(layout, small_blocks):
    x = layouts((6, 40), torch.float32)[layout]
    check(lambda t: torch.sum(t, -1), x, served="sum.dim_IntList")
    check(lambda t: torch.sum(t, 0, keepdim=True), x, served="sum.dim_IntList")
    check(lambda t: torch.amax(t, 0), x, served="amax")


def test_permuted_input_keeps_dim_order(small_blocks):
    """A permuted dense tensor is reduced in storage order; its kept dims come back in
    the logical order (and the per-output shift of var/logsumexp goes the other way)."""
    x = make((4, 5, 6)).permute(2, 0, 1)          # (6, 4, 5), storage (4, 5, 6)
    check(lambda t: (torch.var(t, 1), torch.logsumexp(t, 1, keepdim=True), torch.argmax(t, 1),
                     torch.sum(t, (0, 2))), x, served=("var.correction", "logsumexp", "argmax"))


def test_nansum_and_nanmean(small_blocks):
    x = make((4, 33))
    x[0, 3] = nan
    x[2] = nan
    check(lambda t: torch.nansum(t, 1), x, served="nansum")
    check(lambda t: torch.nanmean(t, 1), x, served="nansum")   # nanmean decomposes to nansum
    check(lambda t: torch.nansum(t), make((5, 7), torch.int32), served="nansum")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64])
def test_prod(dtype, small_blocks):
    x = make((4, 37), dtype, low=0.5, high=1.5) if dtype.is_floating_point else make((4, 37), dtype, low=-2, high=3)
    rtol = 3e-2 if dtype is torch.bfloat16 else 1e-4
    check(lambda t: torch.prod(t, 1), x, served="prod.dim_int", rtol=rtol)
    check(lambda t: torch.prod(t[:2, :5]), x, served="prod", rtol=rtol)


def test_empty_and_identities():
    e = make((0, 5))
    check(lambda t: torch.sum(t, 0), e, served="sum.dim_IntList")        # zeros
    check(lambda t: torch.prod(t, 0), e, served="prod.dim_int")          # ones
    check(lambda t: torch.mean(t, 0), e, served="mean.dim")              # NaN
    check(lambda t: torch.all(t, 0), e, served="all.dim")                # True
    check(lambda t: torch.any(t, 0), e, served="any.dim")                # False
    check(lambda t: torch.sum(t, 1), e)                                  # empty result
    check(lambda t: torch.sum(t), make(()), served="sum")
    with triforge.use(), triforge.coverage() as cov:
        with pytest.raises((RuntimeError, IndexError)):
            torch.amax(e, 0)
        with pytest.raises((RuntimeError, IndexError)):
            torch.argmax(e)
        with pytest.raises((RuntimeError, IndexError)):
            torch.sum(make((3, 4)), 2)
    assert not cov.served()


# -- extrema ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_amax_amin_max_min(dtype, small_blocks):
    x = make((6, 37), dtype)
    check(lambda t: (torch.amax(t, -1), torch.amin(t, 0, keepdim=True)), x, served=("amax", "amin"))
    check(lambda t: (torch.max(t), torch.min(t)), x, served=("max", "min"))
    check(lambda t: tuple(torch.max(t, 1)) + tuple(torch.min(t, 0)), x, served=("max.dim", "min.dim"))
    check(lambda t: (torch.aminmax(t, dim=1), torch.aminmax(t), torch.aminmax(t.t(), dim=0, keepdim=True)), x,
          served="aminmax")


def test_aminmax_at_the_dtype_limits(small_blocks):
    """One read gives both extremes; the max's lanes start below every int64 (not at
    -max, one above the lowest) and bool gives bool."""
    lo, hi = torch.iinfo(torch.int64).min, torch.iinfo(torch.int64).max
    x = torch.full((3, 70), lo, dtype=torch.int64, device=make((1,)).device)
    x[1, 5] = hi
    x[2] = hi
    check(lambda t: (torch.aminmax(t, dim=1), torch.aminmax(t)), x, served="aminmax")
    b = make((4, 70), torch.bool)
    b[0] = False
    b[1] = True
    check(lambda t: (torch.aminmax(t, dim=1), torch.aminmax(t, dim=0)), b, served="aminmax")


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.int32])
def test_argmax_argmin(dtype, small_blocks):
    x = make((5, 41), dtype)
    check(lambda t: (torch.argmax(t, 1), torch.argmin(t, 0)), x, served=("argmax", "argmin"))
    check(lambda t: (torch.argmax(t), torch.argmin(t, keepdim=True)), x, served=("argmax", "argmin"))


def test_nan_and_ties_in_index_ops(small_blocks):
    x = torch.zeros(4, 70, device=make((1,)).device)   # rows split in 3 chunks of 32
    x[0, [3, 60]] = 5.0                  # ties across chunks: first index
    x[1, [40, 63]] = nan                 # NaN wins, first NaN
    x[2, 21] = nan
    x[2, 22] = inf
    x[3] = -inf                          # all equal: index 0
    for dim in (1, None):
        check(lambda t, dim=dim: (torch.argmax(t, dim), torch.argmin(t, dim)), x, served=("argmax", "argmin"))
    check(lambda t: tuple(torch.max(t, 1)) + tuple(torch.min(t, 1)), x, served=("max.dim", "min.dim"))
    check(lambda t: (torch.amax(t, 1), torch.amin(t.t(), 0), torch.max(t)), x, served=("amax", "amin", "max"))
    check(lambda t: (torch.aminmax(t, dim=1), torch.aminmax(t), torch.aminmax(t.t(), dim=0)), x, served="aminmax")
    check(lambda t: tuple(torch.max(t, 0)), x.t().contiguous(), served="max.dim")   # column path


def test_split_reduction_is_deterministic(small_blocks):
    x = make((2, 301))
    with triforge.use(), triforge.coverage() as cov:
        a = torch.sum(x, 1)
        b = torch.sum(x, 1)
        c = torch.argmax(x.view(-1))
    assert torch.equal(a, b) and cov.served()["sum.dim_IntList"] == 2
    assert c.item() == torch.argmax(x.view(-1)).item()


@pytest.mark.parametrize("finish", [True, False])
def test_split_finish_or_second_launch(finish, small_blocks, monkeypatch):
    """Split reductions end in the last split program to arrive (one launch) or, as under
    CUDA graph capture, in a second launch: torch's results either way (ties in tiles of
    different splits keep the first index, NaN wins), and the arrival counts are back at
    zero after. Interpreter-sized rows under small_blocks, split-sized ones on a GPU."""
    from triforge.runtime.arrivals import arrivals
    monkeypatch.setattr(E, "FINISH_SPLITS", finish)
    monkeypatch.setattr(E, "_plans", {})
    n = 70000 if on_gpu() else 70
    x = torch.zeros(4, n, device=make((1,)).device)
    x[0, [3, n - 10]] = 5.0
    x[1, [n // 2 + 1, n - 7]] = nan
    x[2, 21] = nan
    x[2, 22] = inf
    x[3] = -inf
    for dim in (1, None):
        check(lambda t, dim=dim: (torch.argmax(t, dim), torch.argmin(t, dim)), x, served=("argmax", "argmin"))
    check(lambda t: tuple(torch.max(t, 1)) + (torch.amin(t, 1),), x, served=("max.dim", "amin"))
    check(lambda t: (torch.aminmax(t, dim=1), torch.aminmax(t)), x, served="aminmax")
    y = make((3, n))
    check(lambda t: (torch.sum(t, 1), torch.var(t, 1), torch.logsumexp(t, 1), torch.sum(t)), y,
          served=("sum.dim_IntList", "var.correction", "logsumexp", "sum"), rtol=1e-4)
    check(lambda t: (torch.sum(t, 0), torch.var(t, 0), torch.logsumexp(t, 0), torch.argmax(t, 0)), y.t().contiguous(),
          served=("sum.dim_IntList", "var.correction", "logsumexp", "argmax"), rtol=1e-4)
    # the mean out of the var launch: the finish's, the second launch's (rows, columns)
    check(lambda t: tuple(torch.var_mean(t, 1)) + tuple(torch.std_mean(t.t(), 0)), y, served=("var_mean.correction",
          "std_mean.correction"), rtol=1e-4)
    assert E._plans and all(pl.split for pl in E._plans.values())
    assert any(pl.finish for pl in E._plans.values()) == finish   # rows of sum/var/logsumexp
    assert torch.count_nonzero(arrivals(x.device, 1)).item() == 0


def test_split_columns_with_epilogues(small_blocks):
    """Column reductions split along the reduced dim: the shift of var (first pass) and of
    logsumexp (second pass) and the epilogues run on the split path too."""
    x = make((70, 5))
    check(lambda t: (torch.sum(t, 0), torch.var(t, 0), torch.logsumexp(t, 0), torch.linalg.vector_norm(t, 3, 0),
                     torch.mean(t, 0)) + tuple(torch.var_mean(t, 0, keepdim=True)),
          x, served=("sum.dim_IntList", "var.correction", "logsumexp", "linalg_vector_norm", "mean.dim",
                     "var_mean.correction"), rtol=1e-4)


def test_columns_split_by_tile_count(small_blocks, monkeypatch):
    """A column reduction whose few programs would each loop over COL_SPLIT_STEPS tiles
    or more is split although its reduced extent is short of SPLIT_MIN_R (the norms'
    weight-grad partials, a few hundred rows of 4096 columns, on the GPU)."""
    if on_gpu():
        pytest.skip("the tiny tiles of small_blocks are the interpreter's")
    monkeypatch.setattr(E, "SPLIT_MIN_R", 10**9)
    x = make((150, 6))   # 2 programs of 4 columns, 5 tiles of 32 rows each
    check(lambda t: (torch.sum(t, 0), torch.var(t, 0), torch.argmax(t, 0), torch.max(t, 0)[0], torch.aminmax(t, dim=0)),
          x, served=("sum.dim_IntList", "var.correction", "argmax", "max.dim", "aminmax"), rtol=1e-4)
    plans = [p for p in E._plans.values()]
    assert plans and all(p.split for p in plans)
    with triforge.use():
        assert torch.equal(torch.sum(x, 0), torch.sum(x, 0))


# -- logical ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.bool, torch.float32, torch.int32])
def test_all_any_count_nonzero(dtype, small_blocks):
    x = make((5, 37), dtype) if dtype is torch.bool else (make((5, 37), dtype) > 0).to(dtype)
    x[1] = 1
    x[2] = 0
    check(lambda t: (torch.all(t, 1), torch.any(t, 1), torch.all(t), torch.any(t)), x,
          served=("all.dim", "any.dim", "all", "any"))
    check(lambda t: (torch.all(t, (0, 1)), torch.any(t, 0, keepdim=True)), x, served=("all.dims", "any.dim"))
    check(lambda t: (torch.count_nonzero(t, (0, 1)), torch.count_nonzero(t, 1), torch.count_nonzero(t)), x,
          served=("count_nonzero.dim_IntList", "count_nonzero"))


def test_nonzero_of_floats():
    """NaN, fractions and tiny values count as nonzero; -0.0 does not."""
    x = torch.tensor([[0.0, nan], [0.0, -0.0], [0.25, 1e-30], [-0.5, 2.0]], device=make((1,)).device)
    check(lambda t: (torch.any(t, 1), torch.all(t, 1), torch.count_nonzero(t, 1)), x,
          served=("any.dim", "all.dim", "count_nonzero"))


# -- statistics ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std(dtype, correction, small_blocks):
    x = make((4, 37), dtype) + 3     # an offset: a one-pass formula would lose digits
    rtol, atol = _tol(dtype, 0)
    check(lambda t: (torch.var(t, 1, correction=correction), torch.std(t, 0, correction=correction, keepdim=True)),
          x, served=("var.correction", "std.correction"), rtol=rtol, atol=atol)
    check(lambda t: tuple(torch.var_mean(t, correction=correction)) + tuple(torch.std_mean(t, 1)),
          x, served=("var_mean.correction", "std_mean.correction"), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
def test_one_tile_rows_take_their_own_shift(dtype, monkeypatch):
    """var/std/logsumexp over rows that fit one tile: each program takes the mean (the
    max) from the tile it holds -- one pass, which the plans record -- with torch's
    results on packed short rows of ragged length, values far from 0, and rows with
    infinities and NaN; var_mean's mean is the shift its launch took."""
    monkeypatch.setattr(E, "_plans", {})
    rtol, atol = _tol(dtype, 0)
    x = make((6, 37), dtype) + 3
    check(lambda t: (torch.var(t, 1), torch.std(t, -1, correction=0, keepdim=True)) + tuple(torch.var_mean(t, 1)),
          x, served=("var.correction", "std.correction", "var_mean.correction"), rtol=rtol, atol=atol)
    y = make((5, 37), dtype) * 10
    y[1] = -inf
    y[2, 5] = inf
    y[3, 6] = nan
    y[4] = inf
    check(lambda t: torch.logsumexp(t, 1), y, served="logsumexp", rtol=rtol, atol=atol)
    assert sum(pl.self_shift for pl in E._plans.values()) == 4   # var, std, var_mean, logsumexp


def test_one_tile_mean_with_a_far_first_element():
    """Rows of one tile take their mean from registers in two steps (blocks.refined_mean):
    shifted by the row's first element alone, a first element of 1e4 before values near 1
    rounded every x - x[0] to 1e4's spacing, and var_mean's mean of 300 came out 6e-4 off
    (1.7e-5 relative; H200, where test_var_in_one_read's rows of 300 are one tile)."""
    x = make((4, 300), torch.float64) * 1e-2 + 1
    x[:, 0] = 1e4
    with triforge.use(), triforge.coverage() as cov:
        v, m = torch.var_mean(x.float(), 1)
    assert not cov.fell_back(), str(cov)
    rv, rm = torch.var_mean(x, 1)
    assert_close(m, rm, rtol=2e-7, atol=0)
    assert_close(v, rv, rtol=2e-6, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_var_in_one_read_of_columns_and_long_rows(dtype, small_blocks, monkeypatch):
    """Columns, split and multi-tile rows read once (MOMENT2: float64 sums of x - K, K
    the extent's first element): torch's var/std/var_mean where K is far from the mean
    (a first row 1e4 above values spread by 1e-2: float32 sums would cancel away every
    digit), with infinities and NaN; float64 reads twice. On a GPU (full-size tiles) the
    rows of 300 and the whole tensor are one tile each, read twice by design: there only
    the columns are checked for one read."""
    monkeypatch.setattr(E, "_plans", {})   # this test's plans alone
    x = (make((300, 6), torch.float64) * 1e-2 + 1)
    x[0] = 1e4                                    # K: far from the mean of the rest
    x[5:, 1] = 1 + torch.arange(295, device=x.device, dtype=torch.float64) * 1e-6
    x[7, 2], x[0, 3], x[9, 4] = inf, -inf, nan
    t = x.to(dtype)
    rtol, atol = {torch.float32: (2e-6, 1e-9)}.get(dtype, _tol(dtype, 0))
    # the means without columns 2 and 3: torch's Welford mean of values holding an
    # infinity is NaN or the infinity by its position (NaN once a finite value follows
    # it); sums give the infinity, or NaN where K is one (one-tile rows on a GPU: sums)
    m = [0, 1, 4, 5]
    def one_read(dt):
        return {k[5].comb == E.MOMENT2 for k in E._plans if k[2] is dt}

    check(lambda t: (torch.var(t, 0), torch.std(t[1:], 0, correction=0)) + tuple(torch.var_mean(t[:, m], 0, True)),
          t, served=("var.correction", "std.correction", "var_mean.correction"), rtol=rtol, atol=atol)
    assert one_read(dtype) == {True}, "columns are read once"
    check(lambda t: tuple(torch.std_mean(t[:, m].t().contiguous(), 1)) + (torch.var(t),), t,
          served=("std_mean.correction", "var.correction"), rtol=rtol, atol=atol)
    if not on_gpu():
        assert one_read(dtype) == {True}, "long rows and the whole tensor are read once"
    check(lambda t: (torch.var(t, 0), torch.var(t.t().contiguous(), 1)), x[1:], served="var.correction")
    # float64 reads twice: the mean (MOMENT2's second output: the shift plus the shifted
    # sum over n), then the squared deviations from it
    f64 = {(k[5].pre, k[5].comb) for k in E._plans if k[2] is torch.float64}
    assert f64 == {(E.ID, E.MOMENT2), (E.SQ_DEV, E.SUM)}, "float64 reads twice"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_var_of_constant_rows_is_exactly_zero(dtype):
    """Constant rows have variance exactly 0 and their exact mean, as torch gives them:
    rows of one tile take their mean from the tile with its sum shifted by the row's first
    element (unshifted, float32 rows of 20 x -123.456 gave var 6e-11, std 7.8e-6), longer
    rows and columns shift by the first element of each extent (engine MOMENT2)."""
    vals = torch.tensor([0.3, -123.456, 1.7, 1e-3], dtype=dtype, device=make((1,)).device)
    for n in (20, 300, 5000):
        x = vals[:, None].expand(4, n).contiguous()
        with triforge.use(), triforge.coverage() as cov:
            v, s = torch.var(x, -1), torch.std(x, 1)
            vm, mean = torch.var_mean(x, -1)
            vc = torch.var(x.t().contiguous(), 0)   # the same rows as columns
        assert not cov.fell_back(), str(cov)
        for t in (v, s, vm, vc):
            assert torch.equal(t, torch.zeros_like(t)), (n, t)
        assert torch.equal(mean, vals), (n, mean - vals)


def test_var_of_one_element_is_nan_or_inf():
    check(lambda t: (torch.var(t, 1), torch.std(t, 1, correction=0)), make((3, 1)), served="var.correction")


@pytest.mark.parametrize("ord", [0, 1, 2, inf, -inf, 3, 0.5, -1])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_vector_norm(ord, dtype, small_blocks):
    x = make((3, 37), dtype)
    x[0, 4] = 0
    rtol = 2e-2 if dtype is torch.bfloat16 else 1e-4
    check(lambda t: (torch.linalg.vector_norm(t, ord, 1), torch.linalg.vector_norm(t, ord)), x,
          served="linalg_vector_norm", rtol=rtol)


def test_vector_norm_dtype_arg():
    check(lambda t: torch.linalg.vector_norm(t, 2, 0, dtype=torch.float64), make((9, 4), torch.float16),
          served="linalg_vector_norm")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
def test_logsumexp(dtype, small_blocks):
    x = make((4, 37), dtype) * 10
    x[1] = -inf                           # all -inf: -inf
    x[2, 5] = inf                         # +inf wins
    x[3, 6] = nan
    check(lambda t: (torch.logsumexp(t, 1), torch.logsumexp(t, 0, keepdim=True)), x, served="logsumexp")


# -- scans -----------------------------------------------------------------------------
@pytest.fixture
def small_scan(monkeypatch):
    from triforge.ops.reduction import scan
    if not on_gpu():
        monkeypatch.setattr(scan, "_MAX_N", 8)
        monkeypatch.setattr(scan, "_TILE", 32)
        monkeypatch.setattr(scan, "_COL_I", 4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32,
                                   torch.bool])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_cumprod(dtype, dim, small_scan):
    x = make((3, 21, 5), dtype)
    rtol = {torch.float16: 4e-3, torch.bfloat16: 3e-2}.get(dtype)
    check(lambda t: torch.cumsum(t, dim), x, served="cumsum", rtol=rtol, atol=1e-2 if rtol else None)
    y = make((3, 21, 5), dtype, low=0.8, high=1.2) if dtype.is_floating_point else x.clamp(-1, 1)
    check(lambda t: torch.cumprod(t, dim), y, served="cumprod", rtol=rtol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64])
@pytest.mark.parametrize("dim", [0, 1])
def test_cummax_cummin(dtype, dim, small_scan):
    x = make((6, 23), dtype)
    if dtype.is_floating_point:
        x[1, 4] = nan
        x[1, 9] = nan
        x[4, 2] = nan
        x[2, 10:14] = 2.5                  # ties: the latest index
    else:
        x = x % 3                          # plenty of ties
    check(lambda t: tuple(torch.cummax(t, dim)) + tuple(torch.cummin(t, dim)), x, served=("cummax", "cummin"))


def test_scan_dtype_and_empty(small_scan):
    check(lambda t: torch.cumsum(t, 1, dtype=torch.float64), make((2, 17), torch.float16), served="cumsum")
    check(lambda t: torch.cumsum(t, 0, dtype=torch.float32), make((17,), torch.int32), served="cumsum")
    check(lambda t: torch.cumsum(t, 0), make((0, 3)), served="cumsum")
    check(lambda t: tuple(torch.cummax(t, 0)), make(()), served="cummax")


# -- out= and autograd ------------------------------------------------------------------
def test_out_variants(small_blocks):
    x = make((4, 37))

    def fn(t):
        f = {"device": t.device, "dtype": t.dtype}
        s, m, a = torch.empty(4, **f), torch.empty(0, **f), torch.empty(37, dtype=torch.int64, device=t.device)
        v, i = torch.empty(4, **f), torch.empty(4, dtype=torch.int64, device=t.device)
        torch.sum(t, 1, out=s)
        torch.amax(t, 1, out=m)
        torch.argmax(t, 0, out=a)
        torch.max(t, 1, out=(v, i))
        c = torch.empty(4, 37, **f)
        torch.cumsum(t, 1, out=c)
        return s, m, a, v, i, c
    check(fn, x, served=("sum.IntList_out", "amax.out", "argmax.out", "max.dim_max", "cumsum.out"))


def test_more_out_and_inplace_variants(small_scan):
    x = make((4, 37))

    def fn(t):
        f = {"device": t.device, "dtype": t.dtype}
        s, p, mx, lo, hi = (torch.empty((), **f) for _ in range(5))
        torch.ops.aten.sum.out(t, out=s)
        torch.ops.aten.prod.out(t[:, :3], out=p)
        torch.max(t, out=mx)
        torch.aminmax(t, out=(lo, hi))
        n = torch.empty(4, dtype=torch.int64, device=t.device)
        torch.ops.aten.count_nonzero.out(t > 0, 1, out=n)
        v, i = torch.empty(4, 37, **f), torch.empty(4, 37, dtype=torch.int64, device=t.device)
        torch.cummax(t, 1, out=(v, i))
        c = t.clone()
        c.cumsum_(0)
        k = (t * 10).to(torch.int32)
        k.cumsum_(1)
        return s, p, mx, lo, hi, n, v, i, c, k
    check(fn, x, served=("sum.out", "prod.out", "max.unary_out", "aminmax.out", "count_nonzero.out",
                         "cummax.out", "cumsum_"))


def test_gradients(small_blocks):
    x = make((4, 37))
    g = make((4,))

    def fn(t, gg):
        t = t.detach().requires_grad_(True)
        outs = [torch.sum(t, 1), torch.mean(t, 1), torch.amax(t, 1), torch.var(t, 1),
                torch.logsumexp(t, 1), torch.linalg.vector_norm(t, 2, 1), torch.prod(t, 1),
                torch.max(t, 1).values, torch.cumsum(t, 1)[:, -1]]
        return torch.autograd.grad(sum((o * gg).sum() for o in outs), t)[0]
    check(fn, x, g, served=("sum.dim_IntList", "amax", "var.correction", "logsumexp", "linalg_vector_norm"),
          rtol=1e-4, atol=1e-5)


# -- real sizes (GPU) --------------------------------------------------------------------
@pytest.mark.gpu_only
@pytest.mark.parametrize("shape,dim", [((16384, 4096), -1), ((16384, 4096), None), ((16384, 4096), 0),
                                       ((4, 131072), -1), ((1, 131072), -1), ((8, 1 << 20), -1)])
def test_sum_real_sizes(shape, dim):
    x = make(shape, torch.bfloat16)
    check(lambda t: torch.sum(t, dim) if dim is not None else torch.sum(t), x, rtol=1.6e-2, atol=0.5)
    check(lambda t: torch.amax(t, dim) if dim is not None else torch.amax(t), x, served="amax")
    check(lambda t: torch.aminmax(t, dim=dim), x, served="aminmax")


@pytest.mark.gpu_only
def test_argmax_vocab():
    x = make((4096, 128256), torch.bfloat16)
    check(lambda t: torch.argmax(t, -1), x, served="argmax")
    check(lambda t: torch.argmax(t[:2]), x, served="argmax")


@pytest.mark.gpu_only
def test_scans_real_sizes():
    x = make((64, 32768), torch.float32)
    check(lambda t: torch.cumsum(t, -1), x, served="cumsum", rtol=1e-3, atol=1e-2)
    check(lambda t: tuple(torch.cummax(t, 0)), x, served="cummax")


def test_scan_tiles_stay_within_the_tile():
    """Every scan tile holds at most the table's tile of elements, under the Hopper
    table's values too (4096-element tiles, 1024-long blocks, 128 inner columns)."""
    from triforge.ops.reduction import scan
    for M, n, inner in [(4096, 4096, 4096), (4096, 4096, 1), (8, 100000, 8), (3, 5, 7), (1, 1024, 64)]:
        ba, bn, programs = scan.tiles(M, n, inner, 4096, 1024, 128)
        assert ba * bn <= 4096
        assert programs == (-(-M // ba) if inner == 1 else M // inner * -(-inner // ba))   # every lane covered


@pytest.mark.gpu_only
@pytest.mark.parametrize("op", ["cumsum", "cumprod", "cummax"])
def test_scan_over_dim0_real_size(op):
    """Scans over the outer dim of 4096x4096 (column tiles): cumsum over dim 0 of this
    shape failed to compile on the H100 (256 KB of shared memory asked)."""
    x = make((4096, 4096), torch.float32)
    if op == "cumprod":
        x = 1 + x * 1e-3
    fn = {"cumsum": lambda t: torch.cumsum(t, 0), "cumprod": lambda t: torch.cumprod(t, 0),
          "cummax": lambda t: tuple(torch.cummax(t, 0))}[op]
    check(fn, x, served=op, rtol=1e-3, atol=1e-3)


@pytest.mark.gpu_only
def test_cumsum_bf16_real_size():
    """Partial sums kept in float32 and rounded once (torch's CUDA kernel rounds each one
    to bf16 and drifts: the bench compares in float32 for that reason)."""
    x = make((64, 4096), torch.bfloat16)
    check(lambda t: torch.cumsum(t, -1), x, served="cumsum")

"""layer/rms/group norm forward and backward against the float64 reference."""
import pytest
import torch
import torch.nn.functional as F

import triforge
from triforge.ops.norm import layer_norm as L
from triforge.testing import assert_close, check, layouts, make, on_gpu
from triforge.testing.inputs import device

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
LONG = triforge.backend().table("norm")["max_single_block"] + 19   # a streamed (chunked) row
# rms norm's backward keeps rows of up to twice max_single_block in one block (rows.bwd_plan):
# LONG is one there, RMS_LONG streams
RMS_LONG = 2 * triforge.backend().table("norm")["max_single_block"] + 19
# From this many long rows on, one program a row: fewer rows are split into pieces (split.py).
SPLIT = triforge.backend().table("norm").get("split_programs", 1024)
# Half types: the backward reads the rounded forward statistics and output, as torch does.
TOL = {torch.float16: {"rtol": 1e-2, "atol": 1e-2}, torch.bfloat16: {"rtol": 4e-2, "atol": 4e-2},
       torch.float32: {"rtol": 1e-4, "atol": 1e-5}, torch.float64: {}}


def _ln(x, w, b, g):
    x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
    y = F.layer_norm(x, x.shape[-1:], w, b)
    return (y,) + torch.autograd.grad(y, (x, w, b), g)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(3, 7), (2, 3, LONG)])
def test_layer_norm_fwd_bwd(dtype, shape):
    x, g = make(shape, dtype), make(shape, dtype)
    w, b = make(shape[-1:], dtype), make(shape[-1:], dtype)
    check(_ln, x, w, b, g, served=("native_layer_norm", "native_layer_norm_backward"), **TOL[dtype])


def test_layer_norm_without_affine_and_strided():
    x = layouts((5, 12))["transposed"]
    check(lambda t: F.layer_norm(t, (12,)), x, served="native_layer_norm", rtol=1e-4, atol=1e-5)
    x = make((2, 3, 4, 5))   # two normalised dims

    def f(t, gg):
        t = t.detach().requires_grad_()
        y = F.layer_norm(t, (4, 5))
        return y, torch.autograd.grad(y, t, gg)[0]
    check(f, x, make(x.shape), served=("native_layer_norm", "native_layer_norm_backward"), rtol=1e-4, atol=1e-5)


def test_layer_norm_stats_and_edge_values():
    x = make((4, 9))
    x[1, 3] = float("nan")
    check(lambda t: torch.native_layer_norm(t, (9,), None, None, 1e-5), x, served="native_layer_norm",
          rtol=1e-4, atol=1e-5)
    check(lambda t: F.layer_norm(t, (9,)), make((0, 9)))
    with triforge.use(), pytest.raises(RuntimeError):
        F.layer_norm(make((4, 9)), (8,))     # torch's shape error stands


@pytest.mark.parametrize("path", ["rows", "split", "walk"])
def test_layer_norm_nan_rows_every_path(path, monkeypatch):
    """A row holding NaN has NaN mean, rstd and y on every path (the walk's variance was
    clamped by tl.maximum, which drops NaN on a GPU: rstd came out 1/sqrt(eps))."""
    from triforge.ops.norm import walk
    if path == "walk":
        monkeypatch.setattr(walk, "MIN_BYTES", 1)
    rows = {"rows": 5, "split": 2, "walk": 9}[path]
    x = make((rows, LONG))
    x[1, 7] = float("nan")
    check(lambda t: torch.native_layer_norm(t, (LONG,), None, None, 1e-5), x, served="native_layer_norm",
          rtol=1e-4, atol=1e-5)


def test_layer_norm_mixed_dtype_falls_back():
    x = make((3, 8), torch.bfloat16)
    w = make((8,))
    with triforge.use(), triforge.coverage() as cov:
        try:
            F.layer_norm(x, (8,), w)
        except RuntimeError:
            pass   # whatever ATen does, it is ATen's answer
    assert "native_layer_norm" not in cov.served()


def _rms_ref(x, w, g, eps):
    x, w = x.detach().double().requires_grad_(), w.detach().double().requires_grad_()
    y = F.rms_norm(x, x.shape[-1:], w, eps)
    return (y,) + torch.autograd.grad(y, (x, w), g.double())


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(3, 7), (SPLIT, LONG), (SPLIT, RMS_LONG)])
def test_rms_norm_kernels(dtype, shape):
    """_fused_rms_norm has no CPU kernel to override (see layer_norm.py): the kernels
    are called directly and compared with F.rms_norm in float64."""
    x, w, g = make(shape, dtype), make(shape[-1:], dtype), make(shape, dtype)
    y, rstd = L.fused_rms_norm(x, [shape[-1]], w, 1e-6)
    dx, dw = L.fused_rms_norm_backward(g, x, [shape[-1]], rstd, w, [True, True])
    ry, rdx, rdw = _rms_ref(x, w, g, 1e-6)
    assert y.dtype == dtype and dx.dtype == dtype and dw.dtype == dtype
    for a, e in ((y, ry), (dx, rdx), (dw, rdw)):
        assert_close(a, e, dtype=dtype, **TOL[dtype])
    assert rstd.dtype == (torch.float64 if dtype is torch.float64 else torch.float32)   # as torch's
    y2, _ = L.fused_rms_norm(x, [shape[-1]], None, None)   # eps=None: eps of the computation dtype
    eps = torch.finfo(torch.float64 if dtype is torch.float64 else torch.float32).eps
    assert_close(y2, F.rms_norm(x.double(), x.shape[-1:], None, eps), dtype=dtype, **TOL[dtype])
    _, rstd0 = L.fused_rms_norm(x, [shape[-1]], None, 1e-6)
    dx2, dw2 = L.fused_rms_norm_backward(g, x, [shape[-1]], rstd0, None, [True, False])
    assert dw2 is None
    xd = x.detach().double().requires_grad_()
    (rdx2,) = torch.autograd.grad(F.rms_norm(xd, x.shape[-1:], None, 1e-6), xd, g.double())
    assert_close(dx2, rdx2, dtype=dtype, **TOL[dtype])


@pytest.mark.gpu_only
@pytest.mark.skipif(not on_gpu(), reason="F.rms_norm reaches _fused_rms_norm on CUDA only")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
# (4, 65539): rows split in pieces; (512, 16384): one block in the backward, streamed forward
@pytest.mark.parametrize("shape", [(64, 4096), (4, 65536 + 3), (512, 16384)])
def test_rms_norm_dispatch(dtype, shape):
    x, w, g = make(shape, dtype), make(shape[-1:], dtype), make(shape, dtype)

    def f(t, ww, gg):
        t, ww = t.detach().requires_grad_(), ww.detach().requires_grad_()
        y = F.rms_norm(t, shape[-1:], ww, 1e-6)
        return (y,) + torch.autograd.grad(y, (t, ww), gg)
    check(f, x, w, g, served=("_fused_rms_norm", "_fused_rms_norm_backward"), **TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_norm_forward_walk(dtype, monkeypatch):
    """Many long rows: the forward's persistent walk (its threshold lowered here), more
    rows than programs, the last chunk short, a row far from zero and an outlier (the
    walk's sums are shifted: unshifted E[x^2] - E[x]^2 fails float64 here), for layer,
    rms and group norm; torch's output and statistics."""
    from triforge.ops.norm import walk
    from triforge.runtime import sm_count
    monkeypatch.setattr(walk, "MIN_BYTES", 1)
    walks, orig = [], walk._walk
    monkeypatch.setattr(walk, "_walk", lambda *a, **k: (walks.append(1), orig(*a, **k))[1])
    if dtype is torch.float32:   # 64-bit offsets, as past 2**31 elements
        monkeypatch.setattr(L, "needs_int64", lambda *a, **k: True)
    rows = sm_count() + 2
    x = make((rows, LONG), dtype)
    if dtype is not torch.float32:   # float32 inputs near 300 round past TOL, torch's own result too
        x[1] += 300.0
    x[2, 5] = 1e3
    w, b = make((LONG,), dtype), make((LONG,), dtype)
    tol = TOL[dtype] if dtype is not torch.float64 else {"rtol": 1e-12, "atol": 1e-12}
    check(lambda t, ww, bb: torch.native_layer_norm(t, (LONG,), ww, bb, 1e-5), x, w, b,
          served="native_layer_norm", **tol)
    y, rstd = L.fused_rms_norm(x, [LONG], w, 1e-6)
    xd = x.double()
    assert_close(y, F.rms_norm(xd, (LONG,), w.double(), 1e-6), dtype=dtype, **tol)
    assert_close(rstd, torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6), dtype=rstd.dtype, **tol)
    xg = make((rows, 4, LONG // 2), dtype)   # 2 groups of 2 channels: rows of LONG elements
    wg, bg = make((4,), dtype), make((4,), dtype)
    check(lambda t, ww, bb: torch.native_group_norm(t, ww, bb, rows, 4, LONG // 2, 2, 1e-5), xg, wg, bg,
          served="native_group_norm", **tol)
    assert len(walks) == 3


def _gn(x, w, b, g, groups):
    x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
    y = F.group_norm(x, groups, w, b)
    return (y,) + torch.autograd.grad(y, (x, w, b), g)


@pytest.mark.parametrize("path", ["rows", "split", "walk"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_constant_rows_exact(path, dtype, monkeypatch):
    """A constant row normalises to exactly 0 (y = bias, weight grads exactly 0), as
    torch's CUDA kernels give it: the row sums are shifted by the row's first element, so
    the mean comes out exact. Unshifted, float32 rows of 2000 constants left y off the bias
    by 0.04 (rstd = 316 scaling the mean's rounding). One-block and streamed rows, few
    long rows split in pieces, many walked; layer norm and group norm."""
    from triforge.ops.norm import walk
    if path == "walk":
        monkeypatch.setattr(walk, "MIN_BYTES", 1)
    rows = {"rows": 5, "split": 2, "walk": 9}[path]
    vals = torch.tensor([0.3, 1.7, -123.456, 1e-3, 7.0, 0.1, -0.7, 3.3, 9.9], dtype=dtype, device=device())[:rows]
    for n in (7, 20, LONG, 7 * LONG):
        x = vals[:, None].expand(rows, n).contiguous()
        w, b, g = make((n,), dtype), make((n,), dtype), make((rows, n), dtype)
        with triforge.use(), triforge.coverage() as cov:
            y, mean, rstd = torch.native_layer_norm(x, (n,), w, b, 1e-5)
            _, dw, _ = torch.ops.aten.native_layer_norm_backward(g, x, (n,), mean, rstd, w, b, [True, True, True])
            yg, gmean, _ = torch.native_group_norm(x.view(rows, 1, n), None, b[:1], rows, 1, n, 1, 1e-5)
        assert not cov.fell_back(), str(cov)
        assert torch.equal(y, b.expand_as(y)), (n, (y - b).abs().max())
        assert torch.equal(mean.flatten(), vals) and torch.equal(gmean.flatten(), vals)
        assert torch.equal(dw, torch.zeros_like(dw))
        assert torch.equal(yg, b[:1].expand_as(yg).view_as(yg)), (n, (yg - b[0]).abs().max())


@pytest.mark.parametrize("path", ["rows", "split", "walk"])
def test_far_first_element_keeps_the_mean(path, monkeypatch):
    """The shift that makes constant rows exact must not be the row's first element
    alone: a first element of 1e4 before values near 1 rounds every x - x[0] to 1e4's
    float32 spacing (~1e-3), so the mean of 300 came out 6e-4 off (H200, var's one-tile
    rows). Float32 rows like that, every forward path, against float64; batch norm's
    channels too."""
    from triforge.ops.norm import walk
    if path == "walk":
        monkeypatch.setattr(walk, "MIN_BYTES", 1)
    rows = {"rows": 5, "split": 2, "walk": 9}[path]
    for n in (7, 300, LONG, 7 * LONG):
        x = make((rows, n), torch.float64) * 1e-2 + 1
        x[:, 0] = 1e4
        w, b = make((n,), torch.float64), make((n,), torch.float64)
        with triforge.use(), triforge.coverage() as cov:
            y, mean, rstd = torch.native_layer_norm(x.float(), (n,), w.float(), b.float(), 1e-5)
        assert not cov.fell_back(), str(cov)
        ry, rmean, rrstd = torch.native_layer_norm(x, (n,), w, b, 1e-5)
        # the mean's error in units of the row's spread (what moves y)
        err = ((mean.flatten().double() - rmean.flatten()) * rrstd.flatten()).abs().max().item()
        assert err < 2e-7, (n, err)
        assert_close(rstd.flatten(), rrstd.flatten(), rtol=2e-6, atol=0)
        assert_close(y, ry, rtol=1e-4, atol=1e-4)
    x = make((6, 3, 50), torch.float64) * 1e-2 + 1
    x[0, :, 0] = 1e4
    with triforge.use(), triforge.coverage() as cov:
        _, mean, _ = torch.native_batch_norm(x.float(), None, None, None, None, True, 0.1, 1e-5)
    assert not cov.fell_back(), str(cov)
    assert_close(mean, x.mean((0, 2)), rtol=2e-6, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_norm_constant_channels_exact(dtype):
    """Batch norm's counterpart of test_constant_rows_exact: a constant channel's mean is
    exact (its slices' sums shifted by the channel's first element), so it normalises to
    exactly its bias. Unshifted: float32 channels of 8x300 constants 0.008 off the bias."""
    vals = torch.tensor([0.3, 1.7, -123.456, 7.0], dtype=dtype, device=device())
    x = vals[None, :, None].expand(8, 4, 300).contiguous()
    w, b = make((4,), dtype), make((4,), dtype)
    with triforge.use(), triforge.coverage() as cov:
        y, save_mean, _ = torch.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)
    assert not cov.fell_back(), str(cov)
    assert torch.equal(save_mean, vals)
    assert torch.equal(y, b[None, :, None].expand_as(y))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_norm_statistics_dtypes(dtype):
    """The aten norm ops called directly, half inputs: every output (statistics included)
    in torch's dtype and shape on this device -- F.* hides the statistics, and ATen keeps
    them in float32 for layer norm on CUDA but in the input's dtype for group norm."""
    x, g = make((4, 6, 10), dtype), make((4, 6, 10), dtype)
    w, b = make((6,), dtype), make((6,), dtype)
    tol = TOL[dtype]
    check(lambda t, ww, bb: torch.native_group_norm(t, ww, bb, 4, 6, 10, 3, 1e-5), x, w, b,
          served="native_group_norm", **tol)
    _, mean, rstd = torch.native_group_norm(x, w, b, 4, 6, 10, 3, 1e-5)
    check(lambda gg, t, m, r, ww: torch.ops.aten.native_group_norm_backward(gg, t, m, r, ww, 4, 6, 10, 3,
                                                                            [True, True, True]),
          g, x, mean, rstd, w, served="native_group_norm_backward", **tol)
    wl, bl = make((10,), dtype), make((10,), dtype)
    check(lambda t, ww, bb: torch.native_layer_norm(t, (10,), ww, bb, 1e-5), x, wl, bl,
          served="native_layer_norm", **tol)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((2, 4, 3, 3), 1), ((1, 4, 80), 2), ((2, 4, 80), 1),
                                          ((1, 6, 400), 2), ((1, 2, 1100), 1)])   # 3 channels a group; 2 dx blocks
@pytest.mark.parametrize("row_walk", [False, True])
def test_group_norm_fwd_bwd(dtype, shape, groups, row_walk, monkeypatch):
    """row_walk: the backward's one program a (sample, group) row (group_norm.py's
    _gn_row_kernel) forced on, or off (channel sums, then dx)."""
    from triforge.ops.norm import group_norm
    monkeypatch.setattr(group_norm, "ROW_MIN_PER_SM", 0 if row_walk else 1 << 40)
    x, g = make(shape, dtype), make(shape, dtype)
    w, b = make(shape[1:2], dtype), make(shape[1:2], dtype)
    check(lambda *a: _gn(*a, groups), x, w, b, g,
          served=("native_group_norm", "native_group_norm_backward"), **TOL[dtype])


def _count_split_calls(monkeypatch):
    from triforge.ops.norm import split
    calls = []
    for name in ("forward", "dx", "long_backward"):
        orig = getattr(split, name)
        monkeypatch.setattr(split, name, lambda *a, _o=orig, _n=name: (calls.append(_n), _o(*a))[1])
    return calls


def _offset(shape, dtype):
    """Values around 100 where the dtype holds them finely (float32/64): joining the
    pieces' statistics as E[x^2] - E[x]^2 would lose ~0.5% of the variance in float32.
    (Rounding the mean near 100 alone costs y ~1e-5 there: float32's atol is 1e-4.)"""
    off = 100.0 if dtype in (torch.float32, torch.float64) else 0.0
    return (make(shape, torch.float64) + off).to(dtype)


@pytest.mark.skipif(on_gpu(), reason="the interpreter's split_programs makes tiny rows few")
@pytest.mark.parametrize("dtype", FLOATS)
def test_few_long_rows_split(dtype, monkeypatch):
    """Few rows longer than one block: forward and the backward (with weight grads:
    long_backward) go through pieces of each row, the last piece short, against the
    float64 reference."""
    calls = _count_split_calls(monkeypatch)
    tol = dict(TOL[dtype], atol=1e-4) if dtype is torch.float32 else TOL[dtype]
    shape = (2, 3 * LONG + 5)
    x, g = _offset(shape, dtype), make(shape, dtype)
    w, b = make(shape[-1:], dtype), make(shape[-1:], dtype)
    check(_ln, x, w, b, g, served=("native_layer_norm", "native_layer_norm_backward"), **tol)
    assert calls == ["forward", "long_backward"]
    y, rstd = L.fused_rms_norm(x, [shape[-1]], w, 1e-6)
    dx, dw = L.fused_rms_norm_backward(g, x, [shape[-1]], rstd, w, [True, True])
    for a, e in zip((y, dx, dw), _rms_ref(x, w, g, 1e-6)):
        assert_close(a, e, dtype=dtype, **tol)
    assert calls == ["forward", "long_backward"] * 2
    gshape = (1, 6, LONG)   # 3 groups of 2 channels: pieces cross channel boundaries
    x, g = _offset(gshape, dtype), make(gshape, dtype)
    w, b = make(gshape[1:2], dtype), make(gshape[1:2], dtype)
    check(lambda *a: _gn(*a, 3), x, w, b, g, served=("native_group_norm", "native_group_norm_backward"),
          **tol)
    assert calls == ["forward", "long_backward"] * 2 + ["forward"]   # group norm's dx: group_norm.py


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("mask", [(True, True, True), (False, True, True), (True, False, True),
                                  (True, True, False), (True, False, False)])
def test_long_rows_backward_output_masks(dtype, mask, monkeypatch):
    """Rows longer than one block, each output mask: weight grads go through
    long_backward (row groups of several rows, the last one short, on the interpreter's
    table), dx alone through the split pieces or streamed rows; torch's gradients."""
    calls = _count_split_calls(monkeypatch)
    shape = (11, LONG)
    x, g, w, b = make(shape, dtype), make(shape, dtype), make(shape[-1:], dtype), make(shape[-1:], dtype)
    _, mean, rstd = torch.native_layer_norm(x, shape[-1:], w, b, 1e-5)

    def f(g_, x_, m_, r_, w_, b_):
        return torch.ops.aten.native_layer_norm_backward(g_, x_, shape[-1:], m_, r_, w_, b_, list(mask))
    check(f, g, x, mean, rstd, w, b, served="native_layer_norm_backward", **TOL[dtype])
    assert calls == (["long_backward"] if mask[1] or mask[2] else ["dx"] if L.split.plan(*shape) else [])


@pytest.mark.parametrize("block, rb, max_sums", [(32, 4, 64), (128, 1, 64), (32, 2, 4)])
def test_long_backward_steps(block, rb, max_sums, monkeypatch):
    """long_backward's first pass at other step shapes: pieces narrower or wider than
    dx's (so a row's sum count differs from its piece count), several rows a step; and
    rows of more pieces than LONG_MAX_SUMS, whose sums the engine adds up first."""
    monkeypatch.setattr(L.split, "LONG_BLOCK", block)
    monkeypatch.setattr(L.split, "LONG_ROWS", rb)
    monkeypatch.setattr(L.split, "LONG_MAX_SUMS", max_sums)
    shape = (11, LONG)
    x, g, w, b = make(shape), make(shape), make(shape[-1:]), make(shape[-1:])
    check(_ln, x, w, b, g, served=("native_layer_norm", "native_layer_norm_backward"), **TOL[torch.float32])


@pytest.mark.parametrize("row_walk", [False, True])
@pytest.mark.parametrize("hw", [7, 70])   # rows of one block (the row kernel's, when on), longer rows
def test_group_norm_backward_masks_and_int64(row_walk, hw, monkeypatch):
    """Group norm's backward with each output mask (dx alone, weight grads alone) and
    64-bit offsets forced, both backward paths, more (sample, group) rows than the
    interpreter's pretend SMs."""
    from triforge.ops.norm import group_norm
    monkeypatch.setattr(group_norm, "ROW_MIN_PER_SM", 0 if row_walk else 1 << 40)
    monkeypatch.setattr(group_norm, "needs_int64", lambda *a, **k: True)
    shape, groups = (3, 12, hw), 4
    x, g, w = make(shape), make(shape), make(shape[1:2])
    _, mean, rstd = torch.native_group_norm(x, w, None, 3, 12, hw, groups, 1e-5)
    for mask in ([True, True, True], [True, False, False], [False, True, True]):
        check(lambda gg, t, m, r, ww: torch.ops.aten.native_group_norm_backward(gg, t, m, r, ww, 3, 12, hw, groups,
                                                                                mask),
              g, x, mean, rstd, w, served="native_group_norm_backward", **TOL[torch.float32])


def test_group_norm_no_affine_strided():
    x = layouts((3, 4, 6))["stepped"]

    def f(t, gg):
        t = t.detach().requires_grad_()
        y = F.group_norm(t, 2)
        return y, torch.autograd.grad(y, t, gg)[0]
    check(f, x, make(x.shape), served=("native_group_norm", "native_group_norm_backward"), rtol=1e-4, atol=1e-5)
    with triforge.use(), pytest.raises(RuntimeError):
        F.group_norm(make((2, 6, 5)), 4)     # 6 channels into 4 groups: torch's error


def test_weight_grads_deterministic():
    x, g, w, b = make((37, 20)), make((37, 20)), make((20,)), make((20,))
    a = _ln(x, w, b, g)
    with triforge.use():
        r1, r2 = _ln(x, w, b, g), _ln(x, w, b, g)
    for u, v in zip(r1, r2):
        assert torch.equal(u, v)
    assert_close(r1[2], a[2].double(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("tile", [1, 64])
def test_backward_rows_per_program(tile, monkeypatch):
    """Backward programs of several rows each, every program taking every P-th step of
    one row (tile 1) or of several rows: torch's gradients either way, for one-block rows
    and for streamed (chunked) rows, including programs left with fewer rows and a last
    step of fewer rows."""
    from triforge.ops.norm import rows
    monkeypatch.setattr(rows, "BWD_TILE", tile)
    monkeypatch.setattr(rows, "BWD_GROUPS", 3)
    monkeypatch.setattr(L.split, "plan", lambda rows_, n: None)   # long rows streamed, not split
    for shape in [(11, 20), (4, LONG)]:
        x, g, w, b = make(shape), make(shape), make(shape[-1:]), make(shape[-1:])
        check(_ln, x, w, b, g, served=("native_layer_norm", "native_layer_norm_backward"), **TOL[torch.float32])
    x, g, w = make((11, 20)), make((11, 20)), make((20,))
    y, rstd = L.fused_rms_norm(x, [20], w, 1e-6)
    dx, dw = L.fused_rms_norm_backward(g, x, [20], rstd, w, [True, True])
    for a, e in zip((y, dx, dw), _rms_ref(x, w, g, 1e-6)):
        assert_close(a, e, dtype=torch.float32, **TOL[torch.float32])


def test_backward_weight_loaded_per_step(monkeypatch):
    """The one-block backward with w loaded every step instead of once (HOIST_W off: many
    elements a thread, as rms rows of 16384 on the GPU): torch's gradients."""
    from triforge.ops.norm import rows
    monkeypatch.setattr(rows, "BWD_HOIST_ELEMS", 0)
    shape = (5, LONG)   # one block in rms norm's backward (RMS_LONG is past it)
    plan = rows.bwd_plan(shape[0], shape[1], True, 4, None)
    assert plan[0] and not plan[6]
    x, w, g = make(shape), make(shape[-1:]), make(shape)
    _, rstd = L.fused_rms_norm(x, [shape[-1]], w, 1e-6)
    dx, dw = L.fused_rms_norm_backward(g, x, [shape[-1]], rstd, w, [True, True])
    _, rdx, rdw = _rms_ref(x, w, g, 1e-6)
    assert_close(dx, rdx, dtype=torch.float32, **TOL[torch.float32])
    assert_close(dw, rdw, dtype=torch.float32, **TOL[torch.float32])


def test_backward_plan_boundaries():
    """Which rows the backward keeps in one block (rows.bwd_plan): rms norm, one
    accumulator, twice as long as layer norm, whose rows of LONG elements stream."""
    from triforge.ops.norm import rows
    from triforge.runtime import sm_count
    acc = rows.BWD_ACC_ELEMS
    assert rows.bwd_plan(8, acc, True, 4, None)[0] and not rows.bwd_plan(8, acc + 1, True, 4, None)[0]
    assert rows.bwd_plan(8, acc // 2, False, 4, None)[0] and not rows.bwd_plan(8, acc // 2 + 1, False, 4, None)[0]
    single, block, per, programs, warps, stages, _ = rows.bwd_plan(1000, 20, False, 2, None)
    assert single and block == 32 and per == max(1, rows.BWD_TILE // 32)
    assert programs == min(-(-1000 // per), sm_count(None) * rows.BWD_PER_SM)
    assert 1 <= stages <= rows.BWD_STAGES and (stages == 1 or stages * 2 * per * block * 2 <= rows.BWD_SMEM)
    assert 1 <= warps <= max(8, rows.BWD_WIDE_WARPS)


# one tile; several tiles a strip; past col_sums_max_p; few partials, strips widened past 32
# columns and several of them
@pytest.mark.parametrize("P, n", [(1, 70), (300, 70), (1100, 70), (2, 9000), (1, 9000)])
def test_col_sums_of_partials(P, n):
    """The weight-grad partials' column sums: both in one launch, each equal to the
    float64 sum within float32 rounding, and the same bits every run."""
    from triforge.ops.norm import rows
    a, b = make((P, n)), make((P, n))
    for parts in ([a, b], [a]):
        for _ in range(2):
            got = rows.col_sums(parts, torch.bfloat16 if len(parts) == 1 else torch.float32)
            assert len(got) == len(parts)
            for s_, p_ in zip(got, parts):
                assert_close(s_, p_.double().sum(0), dtype=s_.dtype, **TOL[s_.dtype])
        assert all(torch.equal(u, v) for u, v in zip(got, rows.col_sums(parts, got[0].dtype)))


@pytest.mark.gpu_only
@pytest.mark.skipif(not on_gpu(), reason="real sizes")
@pytest.mark.parametrize("shape, dtype", [((16384, 4096), torch.bfloat16), ((8192, 8192), torch.float16),
                                          ((2048, 4096), torch.float32), ((512, 8192), torch.float64),
                                          ((8, 131072), torch.bfloat16), ((4, 65536 + 3), torch.bfloat16)])
def test_layer_norm_real_sizes(shape, dtype):
    """One-block rows at the backward's real configurations (rows a step, stages per
    dtype: rows.bwd_plan), and long rows, split or streamed."""
    x, g, w, b = make(shape, dtype), make(shape, dtype), make(shape[-1:], dtype), make(shape[-1:], dtype)
    check(_ln, x, w, b, g, served=("native_layer_norm", "native_layer_norm_backward"),
          **({"rtol": 5e-2, "atol": 5e-2} if dtype.itemsize == 2 else {"rtol": 1e-3, "atol": 1e-3}
             if dtype is torch.float32 else {}))


@pytest.mark.gpu_only
@pytest.mark.skipif(not on_gpu(), reason="real sizes")
def test_group_norm_real_size():
    """ATen's CUDA group norm returns (and its backward reads) statistics in the input's
    dtype, and so does triforge's. The weight and bias grads, sums over 65536 elements of
    terms scaled by a bf16 rstd, carry that rounding: they are held to torch's own
    distance from the float64 result."""
    shape, dtype = (64, 512, 1024), torch.bfloat16
    x, g, w, b = make(shape, dtype), make(shape, dtype), make(shape[1:2], dtype), make(shape[1:2], dtype)
    check(lambda *a: _gn(*a, 32)[:2], x, w, b, g, served=("native_group_norm", "native_group_norm_backward"),
          rtol=5e-2, atol=5e-2)
    ref = _gn(x.double(), w.double(), b.double(), g.double(), 32)
    plain = _gn(x, w, b, g, 32)
    with triforge.use():
        tri = _gn(x, w, b, g, 32)
    for i in (2, 3):
        bound = (plain[i].double() - ref[i]).abs().max().item()
        err = (tri[i].double() - ref[i]).abs().max().item()
        assert err <= 2 * bound + 5e-2, (i, err, bound)


def _bn(x, w, b, rm, rv, g, training):
    # the running stats are updated in place: work on copies (check() hands float64
    # tensors to its reference run without copying them)
    rm, rv = rm.clone(), rv.clone()
    x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.2, eps=1e-5)
    return (y,) + torch.autograd.grad(y, (x, w, b), g) + (rm, rv)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(4, 3), (3, 4, 5), (2, 3, 2, 40)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(dtype, shape, training):
    """Outputs, gradients and the running stats (updated in place, unbiased var) as torch.
    cuDNN off: on CUDA torch would take cudnn_batch_norm for 3+ dims (tested below)."""
    x, g = make(shape, dtype), make(shape, dtype)
    c = shape[1]
    w, b = make((c,), dtype), make((c,), dtype)
    rm, rv = make((c,), dtype), make((c,), dtype, low=0.5, high=2.0)
    with torch.backends.cudnn.flags(enabled=False):
        check(lambda *a: _bn(*a, training), x, w, b, rm, rv, g,
              served=("native_batch_norm", "native_batch_norm_backward"), **TOL[dtype])


def test_batch_norm_variants_and_mixed_stats():
    x = make((3, 4, 5), torch.bfloat16)
    rm, rv = make((4,)), make((4,), low=0.5, high=2.0)   # float32 stats with a bf16 input (AMP)
    check(lambda t, a, v: (F.batch_norm(t, a, v, training=True), a, v), x, rm, rv, served="native_batch_norm",
          **TOL[torch.bfloat16])
    check(lambda t: torch.ops.aten._native_batch_norm_legit(t, None, None, True, 0.1, 1e-5), make((3, 4, 5)),
          served="_native_batch_norm_legit.no_stats", **TOL[torch.float32])
    check(lambda t, a, v: torch.ops.aten._native_batch_norm_legit_no_training(t, None, None, a, v, 0.1, 1e-5)[0],
          make((3, 4, 5)), rm, rv, served="_native_batch_norm_legit_no_training", **TOL[torch.float32])
    check(lambda t, a, v: torch.ops.aten._native_batch_norm_legit(t, None, None, a, v, True, 0.1, 1e-5) + (a, v),
          make((3, 4, 5)), rm, rv, served="_native_batch_norm_legit", **TOL[torch.float32])
    check(lambda t: F.batch_norm(t, None, None, training=True), layouts((6, 4))["transposed"],
          served="native_batch_norm", **TOL[torch.float32])
    with triforge.use(), pytest.raises(ValueError):
        F.batch_norm(make((1, 4)), None, None, training=True)   # torch: one value per channel


@pytest.mark.gpu_only
@pytest.mark.skipif(not on_gpu(), reason="cudnn_batch_norm exists on CUDA only")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_cudnn_route(dtype, training):
    """With float32 parameters (float64 ones for a float64 input) F.batch_norm goes
    through cudnn_batch_norm on CUDA; triforge serves it (and its backward) and nothing
    falls back."""
    shape = (8, 16, 33, 7)
    pd = torch.float64 if dtype is torch.float64 else torch.float32
    x, g = make(shape, dtype), make(shape, dtype)
    w, b = make((16,), pd), make((16,), pd)
    rm, rv = make((16,), pd), make((16,), pd, low=0.5, high=2.0)

    def f(t, ww, bb, a, v, gg):
        a, v = a.clone(), v.clone()
        t, ww, bb = (u.detach().requires_grad_() for u in (t, ww, bb))
        y = F.batch_norm(t, a, v, ww, bb, training=training, momentum=0.2, eps=1e-5)
        return (y,) + torch.autograd.grad(y, (t, ww, bb), gg) + (a, v)
    with triforge.use(), triforge.coverage() as cov:
        f(x, w, b, rm, rv, g)
    assert not cov.fell_back() and not ({"cudnn_batch_norm", "native_batch_norm"} & set(cov.missing())), str(cov)
    check(f, x, w, b, rm, rv, g, **TOL[dtype])


@pytest.mark.parametrize("shape", [(11, 20), (11, LONG), (2, 3 * LONG + 5)])
def test_int64_offsets(shape, monkeypatch):
    """The kernels' 64-bit offset paths (taken past 2^31 elements), forced at small sizes:
    one-block rows, streamed rows with long_backward's weight grads, and split rows."""
    monkeypatch.setattr(L, "needs_int64", lambda *a, **k: True)
    x, g, w, b = make(shape), make(shape), make(shape[-1:]), make(shape[-1:])
    check(_ln, x, w, b, g, served=("native_layer_norm", "native_layer_norm_backward"), **TOL[torch.float32])
    y, rstd = L.fused_rms_norm(x, [shape[-1]], w, 1e-6)
    dx, dw = L.fused_rms_norm_backward(g, x, [shape[-1]], rstd, w, [True, True])
    for a, e in zip((y, dx, dw), _rms_ref(x, w, g, 1e-6)):
        assert_close(a, e, dtype=torch.float32, **TOL[torch.float32])

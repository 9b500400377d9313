"""Losses (elementwise, nll) and the fused cross entropy against the float64 reference."""
import pytest
import torch
import torch.nn.functional as F

import triforge
from triforge.ops.loss import cross_entropy as ce_mod
from triforge.testing import check, device, interpreted, layouts, make, on_gpu

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
LONG = triforge.backend().table("norm")["chunk"] * 3 + 5   # several chunks of the online row pass
TOL = {torch.float16: {"rtol": 1e-2, "atol": 1e-3}, torch.bfloat16: {"rtol": 3e-2, "atol": 1e-2},
       torch.float32: {"rtol": 1e-4, "atol": 1e-5}, torch.float64: {}}
RED = ["none", "mean", "sum"]


def _grad_shape(shape, red):
    return shape if red == "none" else ()


def _fb(f, x, *rest, g, **kw):
    x = x.detach().requires_grad_()
    out = f(x, *rest, **kw)
    return out, torch.autograd.grad(out, x, g)[0]


ELEMENTWISE = [
    (F.mse_loss, {}, "mse_loss"),
    (F.smooth_l1_loss, {"beta": 0.5}, "smooth_l1_loss"),
    (F.huber_loss, {"delta": 0.7}, "huber_loss"),
]


@pytest.mark.parametrize("f,kw,op", ELEMENTWISE, ids=[e[2] for e in ELEMENTWISE])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("red", RED)
def test_elementwise_losses(f, kw, op, dtype, red):
    x, y = make((5, 7), dtype), make((5, 7), dtype)
    g = make(_grad_shape((5, 7), red), dtype)
    check(lambda a, b, gg: _fb(f, a, b, g=gg, reduction=red, **kw), x, y, g,
          served=(op, op + "_backward"), **TOL[dtype])


@pytest.mark.parametrize("f,kw,op", ELEMENTWISE, ids=[e[2] for e in ELEMENTWISE])
def test_elementwise_losses_layouts_empty_nan(f, kw, op):
    x = layouts((6, 9))["transposed"]
    y = layouts((6, 9))["stepped"]
    check(lambda a, b: f(a, b, **kw), x, y, served=op, **TOL[torch.float32])
    x = make((9,))
    x[3] = float("nan")
    x[4] = float("inf")
    check(lambda a, b: f(a, b, reduction="none", **kw), x, make((9,)), served=op)
    check(lambda a, b: f(a, b, **kw), x, make((9,)), served=op)
    check(lambda a, b: f(a, b, reduction="sum", **kw), make((0, 3)), make((0, 3)), served=op)
    check(lambda a, b: f(a, b, **kw), make((0, 3)), make((0, 3)), served=op)
    with triforge.use(), pytest.raises(RuntimeError):
        f(make((3, 4)), make((2, 4)), **kw)   # torch's broadcast error stands


def _nll(x, t, w, g, red, ii=-100):
    return _fb(F.nll_loss, x, t, g=g, weight=w, reduction=red, ignore_index=ii)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("red", RED)
def test_nll_loss(dtype, red):
    x = make((6, 9), dtype)
    t = torch.randint(0, 9, (6,), device=x.device)
    t[1] = -100
    g = make(_grad_shape((6,), red), dtype)
    w = make((9,), dtype).abs() + 0.1
    check(lambda a, tt, gg: _nll(a, tt, None, gg, red), x, t, g,
          served=("nll_loss_forward", "nll_loss_backward"), **TOL[dtype])
    t[1], t[2] = 2, 4
    check(lambda a, tt, gg, ww: _nll(a, tt, ww, gg, red, ii=4), x, t, g, w,
          served=("nll_loss_forward", "nll_loss_backward"), **TOL[dtype])


def _out_of_range(f):
    """A target outside [0, C): under the interpreter the host check defers to torch,
    which raises; on a GPU (no host sync) the loss is NaN."""
    with triforge.use():
        if interpreted():
            with pytest.raises((RuntimeError, IndexError)):
                f()
        else:
            assert torch.isnan(f()).all()


def test_nll_loss_1d_empty_all_ignored_and_errors():
    # targets are check() arguments (the reference moves them to the CPU with the input)
    check(lambda a, tt, gg: _nll(a, tt, None, gg, "mean"), make((9,)), torch.tensor(3, device=device()), make(()),
          served=("nll_loss_forward", "nll_loss_backward"))
    check(lambda a, tt: F.nll_loss(a, tt), make((4, 5)), torch.full((4,), -100, device=device()),
          served="nll_loss_forward")  # 0/0: NaN
    check(lambda a, tt: F.nll_loss(a, tt, reduction="sum"), make((0, 5)),
          torch.zeros((0,), dtype=torch.long, device=device()), served="nll_loss_forward")
    check(lambda a, tt: F.nll_loss(a, tt), layouts((3, 5))["transposed"], torch.tensor([0, 1, 2], device=device()),
          served="nll_loss_forward")
    _out_of_range(lambda: F.nll_loss(make((3, 5)), torch.tensor([0, 7, 1], device=device())))


def _ce(x, t, w, g, **kw):
    return _fb(F.cross_entropy, x, t, g=g, weight=w, **kw)


def _no_decomposition(fn, *args):
    """F.cross_entropy ran on the fused path: the coverage mode (below autograd) sees no
    _log_softmax / nll_loss of torch's decomposition."""
    with triforge.use(), triforge.coverage() as cov:
        fn(*args)
    seen = set(cov.counts)
    assert not seen & {"_log_softmax", "nll_loss_forward", "_log_softmax_backward_data", "nll_loss_backward"}, \
        f"cross_entropy decomposed:\n{cov}"
    assert cov.served().get("cross_entropy_loss"), f"served at the Autograd key, yet not counted:\n{cov}"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("red", RED)
@pytest.mark.parametrize("ls", [0.0, 0.3])
def test_cross_entropy_fused(dtype, red, ls):
    x = make((5, LONG), dtype) * 3
    t = torch.randint(0, LONG, (5,), device=x.device)
    t[3] = -100
    g = make(_grad_shape((5,), red), dtype)
    f = lambda a, tt, gg: _ce(a, tt, None, gg, reduction=red, label_smoothing=ls)
    check(f, x, t, g, **TOL[dtype])
    _no_decomposition(f, x, t, g)


@pytest.mark.parametrize("red", RED)
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_cross_entropy_weight_ignore(red, ls):
    x = make((6, 11))
    t = torch.tensor([0, 3, 5, 10, 5, 2], device=x.device)
    w = make((11,)).abs() + 0.1
    w[3] = 0.0   # a live row of weight 0: its smoothing term still counts, as in torch
    g = make(_grad_shape((6,), red))
    f = lambda a, tt, gg, ww: _ce(a, tt, ww, gg, reduction=red, label_smoothing=ls, ignore_index=5)
    check(f, x, t, g, w, **TOL[torch.float32])
    _no_decomposition(f, x, t, g, w)


def test_cross_entropy_shapes_and_edges():
    tol = TOL[torch.float32]
    dev = device()
    ce = lambda a, tt, **kw: F.cross_entropy(a, tt, **kw)   # noqa: E731  (targets go through check)
    check(ce, make((7,)), torch.tensor(2, device=dev), **tol)                                # 1-d
    x = make((2, 5, 3, 2))
    t = torch.randint(0, 5, (2, 3, 2), device=dev)
    check(lambda a, tt, gg: _ce(a, tt, None, gg, reduction="none"), x, t, make((2, 3, 2)), **tol)  # (N, C, d1, d2)
    check(ce, layouts((3, 4))["transposed"], torch.tensor([1, 0, 2], device=dev), **tol)
    check(ce, make((3, 4)), torch.full((3,), -100, device=dev))                              # all ignored: NaN
    check(lambda a, tt: ce(a, tt, reduction="sum"), make((0, 4)), torch.zeros((0,), dtype=torch.long, device=dev))
    inf = float("inf")
    x = torch.tensor([[0.0, 1.0, 2.0], [-inf, 0.0, 1.0], [float("nan"), 1.0, 0.0], [inf, 0.0, 1.0]], device=dev)
    check(lambda a, tt: ce(a, tt, reduction="none"), x, torch.tensor([2, 1, 0, 1], device=dev))
    _out_of_range(lambda: F.cross_entropy(make((3, 5)), torch.tensor([0, 9, 1], device=dev)))
    p = torch.softmax(make((3, 5)), -1)   # probability targets: torch's own path
    check(lambda a, pp: F.cross_entropy(a, pp, label_smoothing=0.1), make((3, 5)), p, **tol)


@pytest.mark.gpu_only
@pytest.mark.skipif(not on_gpu(), reason="real sizes")
@pytest.mark.parametrize("red", ["mean", "none"])
@pytest.mark.parametrize("hints", [0, 7])
def test_cross_entropy_vocab(red, hints, monkeypatch):
    monkeypatch.setattr(ce_mod, "GRAD_HINTS", hints)
    x = make((512, 128256), torch.bfloat16)
    t = torch.randint(0, 128256, (512,), device=x.device)
    g = make(_grad_shape((512,), red), torch.bfloat16)
    check(lambda a, tt, gg: _ce(a, tt, None, gg, reduction=red, label_smoothing=0.1), x, t, g,
          rtol=3e-2, atol=1e-2)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("red", RED)
def test_binary_cross_entropy(dtype, red):
    x = make((4, 6), dtype, low=0.02, high=0.98)
    y = make((4, 6), dtype, low=0.0, high=1.0)
    w = make((4, 6), dtype, low=0.5, high=2.0)
    g = make(_grad_shape((4, 6), red), dtype)
    ops = ("binary_cross_entropy", "binary_cross_entropy_backward")
    check(lambda a, b, gg: _fb(F.binary_cross_entropy, a, b, g=gg, reduction=red), x, y, g, served=ops, **TOL[dtype])
    check(lambda a, b, gg, ww: _fb(F.binary_cross_entropy, a, b, g=gg, weight=ww, reduction=red), x, y, g, w,
          served=ops, **TOL[dtype])


def test_binary_cross_entropy_edges():
    dev = device()
    x = torch.tensor([0.0, 1.0, 0.5, 1e-30, 1.0 - 1e-7], device=dev)   # log clamps at -100, as torch
    y = torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0], device=dev)
    check(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), x, y, served="binary_cross_entropy")
    bad = torch.tensor([1.5, -0.5, float("nan")], device=dev)
    with triforge.use():
        if interpreted():   # torch's range error (host check under the interpreter)
            for i in range(3):
                with pytest.raises(RuntimeError):
                    F.binary_cross_entropy(bad[i:i + 1], torch.ones(1, device=dev))
        else:   # no host sync on a GPU: NaN, never a finite loss
            assert torch.isnan(F.binary_cross_entropy(bad, torch.ones(3, device=dev), reduction="none")).all()


@pytest.mark.parametrize("hints", [0, 7])
@pytest.mark.parametrize("cols", [9, 150])
def test_cross_entropy_gradient_written_in_forward(cols, hints, monkeypatch):
    """sum/mean write the gradient during the forward and scale it in backward only when
    grad_output != 1; a second backward (retain_graph) and an unscaled one stay exact.
    150 columns: several chunks, the second pass walking back; hints: the cache-policy
    variants of that pass (GRAD_HINTS)."""
    monkeypatch.setattr(ce_mod, "GRAD_HINTS", hints)
    x = make((4, cols))
    t = torch.tensor([1, -100, 8, 0], device=x.device)
    ref = x.detach().double().requires_grad_()
    (r,) = torch.autograd.grad(F.cross_entropy(ref, t, label_smoothing=0.1), ref)
    with triforge.use():
        a = x.detach().requires_grad_()
        loss = F.cross_entropy(a, t, label_smoothing=0.1)
        (g1,) = torch.autograd.grad(loss, a, retain_graph=True)
        (g2,) = torch.autograd.grad(loss, a, torch.tensor(3.0, device=x.device), retain_graph=True)
        (g3,) = torch.autograd.grad(loss * 2, a)
        (g4,) = torch.autograd.grad(F.cross_entropy(a, t, label_smoothing=0.1) * 2, a)   # scales the buffer
    torch.testing.assert_close(g1.double(), r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g4.double(), 2 * r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g2.double(), 3 * r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g3.double(), 2 * r, rtol=1e-5, atol=1e-6)
    with triforge.use(), torch.no_grad():   # no grad wanted: the forward writes none
        assert torch.isfinite(F.cross_entropy(x, t))


@pytest.mark.parametrize("red", RED)
def test_nll_loss2d(red):
    x = make((2, 4, 3, 5))
    t = torch.randint(0, 4, (2, 3, 5), device=x.device)
    t[0, 1, 2] = 1
    w = make((4,)).abs() + 0.1
    g = make(_grad_shape((2, 3, 5), red))
    check(lambda a, tt, gg, ww: _nll(a, tt, ww, gg, red, ii=1), x, t, g, w,
          served=("nll_loss2d_forward", "nll_loss2d_backward"), **TOL[torch.float32])
    check(lambda a, tt, gg: _nll(a, tt, None, gg, red), make((2, 4, 3, 5), torch.bfloat16), t, g.bfloat16(),
          served=("nll_loss2d_forward", "nll_loss2d_backward"), **TOL[torch.bfloat16])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("red", RED)
def test_binary_cross_entropy_with_logits(dtype, red):
    x = make((4, 6), dtype) * 4
    x[0, 0], x[0, 1] = 60.0, -60.0     # saturated logits stay finite
    y = make((4, 6), dtype, low=0.0, high=1.0)
    w = make((6,), dtype, low=0.5, high=2.0)    # broadcast over rows
    pw = make((6,), dtype, low=0.5, high=3.0)
    g = make(_grad_shape((4, 6), red), dtype)
    f = F.binary_cross_entropy_with_logits
    check(lambda a, b, gg: _fb(f, a, b, g=gg, reduction=red), x, y, g, served="binary_cross_entropy_with_logits",
          **TOL[dtype])
    check(lambda a, b, gg, ww, pp: _fb(f, a, b, g=gg, weight=ww, pos_weight=pp, reduction=red), x, y, g, w, pw,
          served="binary_cross_entropy_with_logits", **TOL[dtype])


@pytest.mark.parametrize("red", RED)
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_cross_entropy_inference(red, ls):
    # no graph to record: the fused forward alone (no denominator, no gradient pass)
    x = make((6, 11))
    t = torch.tensor([0, 3, 5, 10, 5, 2], device=x.device)
    w = make((11,)).abs() + 0.1
    f = lambda a, tt, *ww: F.cross_entropy(a, tt, *ww, reduction=red, label_smoothing=ls, ignore_index=5)  # noqa: E731
    for args in ((x, t), (x, t, w)):
        with torch.no_grad():
            check(f, *args, **TOL[torch.float32])
            _no_decomposition(f, *args)
        check(f, *args, **TOL[torch.float32])   # grad enabled, nothing requiring it


def test_cross_entropy_weight_requiring_grad_goes_to_torch():
    # torch: the derivative for 'weight' is not implemented -- not a silent None
    x = make((4, 5)).requires_grad_()
    t = torch.tensor([0, 1, 2, 3], device=x.device)
    w = (make((5,)).abs() + 0.1).requires_grad_()
    with pytest.raises(RuntimeError):
        F.cross_entropy(x, t, weight=w).backward()
    with triforge.use(), pytest.raises(RuntimeError):
        F.cross_entropy(x, t, weight=w).backward()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bce_small_inputs_keep_log1p(dtype):
    # ATen's log1p(-x): at x = 1e-8, t = 0 the loss is 1e-8, where log(1 - x) gave 0
    x = torch.tensor([1e-8, 1e-6, 1e-30, 3e-4, 0.5], dtype=dtype, device=device())
    t = torch.zeros_like(x)
    with triforge.use(), triforge.coverage() as cov:
        got = F.binary_cross_entropy(x, t, reduction="none")
    assert cov.served()
    want = F.binary_cross_entropy(x.cpu().double(), t.cpu().double(), reduction="none").to(dtype)
    torch.testing.assert_close(got.cpu(), want, rtol=1e-5, atol=0)   # (GPU exp/log: a few ulps)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("red", RED)
def test_bce_with_logits_large_logits_keep_log1p(dtype, red):
    # ATen's log_sigmoid: log1p(exp(-|x|)); log(exp(-|x|) + 1) gave 0 for x = 20, t = 1 (not 2.1e-9)
    # in float32, and lost digits from x = 30 in float64
    x = torch.tensor([20.0, 30.0, 40.0, 80.0], dtype=dtype, device=device())
    t = torch.ones_like(x)
    pw = torch.full_like(x, 3.0)
    for kw in ({}, {"pos_weight": pw}):
        with triforge.use(), triforge.coverage() as cov:
            got = F.binary_cross_entropy_with_logits(x, t, reduction=red, **kw)
        assert cov.served()
        want = F.binary_cross_entropy_with_logits(x.cpu().double(), t.cpu().double(), reduction=red,
                                                  **{k: v.cpu().double() for k, v in kw.items()}).to(dtype)
        torch.testing.assert_close(got.cpu(), want, rtol={torch.float32: 1e-5, torch.float64: 1e-13}[dtype], atol=0)

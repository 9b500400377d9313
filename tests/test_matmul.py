"""The matmul family (mm, addmm, bmm, baddbmm, addbmm, mv, addmv, dot, vdot, addr) against
the float64 reference: dtypes, transposed/strided/broadcast operands, alpha/beta, empty
dims, out= and in-place, the split-K path, torch.matmul/F.linear and their gradients."""
import pytest
import torch
import torch.nn.functional as F

import triforge
from triforge.ops.matmul import gemm as gemm_mod
from triforge.runtime import arrivals as arrivals_mod
from triforge.testing import check, layouts, make, on_gpu

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INF, NAN = float("inf"), float("nan")
# The interpreter table uses 16x16x16 tiles, 4 "SMs" and skinny_m = 8: these sizes cross
# several tiles, a partial GROUP_M group, K tails, and (M <= 8) the split-K path.
M, N, K = 37, 21, 35


def _atol(dtype, k):
    """float32 accumulation (float64 for float64) of k products of unit-size values."""
    return k * (1e-15 if dtype is torch.float64 else 2e-7) + 1e-6


def _split_k_ran(m, n, k, dtype, b=1):
    """Whether the last plan for this problem split K (tiny shapes split under the
    interpreter's 4-"SM" table only; on a GPU the decode sizes below exercise it)."""
    splits = _plan_of(b, m, n, k, dtype)[1]
    return splits > 1 or on_gpu()


def _plan_of(b, m, n, k, dtype):
    """The last plan for this problem (gemm._plans' keys end with the dot's precision)."""
    return [v for key, v in gemm_mod._plans.items() if key[:6] == (b, m, n, k, dtype, False)][-1]


@pytest.mark.parametrize("dtype", FLOATS)
def test_mm_dtypes_and_transposes(dtype):
    a, b = make((M, K), dtype), make((K, N), dtype)
    at, bt = make((K, M), dtype).t(), make((N, K), dtype).t()
    for x, y in ((a, b), (at, bt), (a, bt), (at, b)):
        check(torch.mm, x, y, served="mm", atol=_atol(dtype, K))


@pytest.mark.parametrize("layout", ["stepped", "offset", "expanded"])
def test_mm_strided_operands(layout):
    a = layouts((M, K))[layout]
    b = layouts((K, N))[layout]
    check(torch.mm, a, b, served="mm", atol=_atol(torch.float32, K))


# m: the tiled kernel, the 3-d accumulator (float32, a few rows; the tl.dot skinny path for
# 16-bit) and the GEMV (one row)
@pytest.mark.parametrize("m", [M, 3, 1])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_mm_nan_inf_propagate(m, dtype):
    a, b = make((m, K), dtype), make((K, N), dtype)
    a[m - 1, 5], a[0, 0], b[2, 4] = NAN, INF, -INF
    check(torch.mm, a, b.t().contiguous().t(), served="mm", atol=_atol(dtype, K))


@pytest.mark.parametrize("dtype", FLOATS)
def test_addmm_bias_shapes_alpha_beta(dtype):
    a, b = make((M, K), dtype), make((K, N), dtype)
    tol = _atol(dtype, K)
    for bias in (make((N,), dtype), make((M, N), dtype), make((1, N), dtype), make((M, 1), dtype),
                 make((), dtype), make((N, M), dtype).t()):
        check(torch.addmm, bias, a, b, served="addmm", atol=tol)
    check(lambda s, x, y: torch.addmm(s, x, y, beta=0.5, alpha=-2), make((N,), dtype), a, b,
          served="addmm", atol=2 * tol)
    check(lambda s, x, y: torch.addmm(s, x, y, beta=3, alpha=1), make((M, N), dtype), a, b,
          served="addmm", atol=4 * tol)


@pytest.mark.parametrize("m", [M, 3, 1])
def test_addmm_beta_zero_ignores_bias_alpha_zero_ignores_product(m):
    a, b = make((m, K)), make((K, N))
    bias = torch.full((m, N), NAN, device=a.device)
    check(lambda s, x, y: torch.addmm(s, x, y, beta=0), bias, a, b, served="addmm", atol=_atol(torch.float32, K))
    a[0, 0] = INF
    check(lambda s, x, y: torch.addmm(s, x, y, alpha=0, beta=2), make((N,)), a, b, served="addmm")


def test_addmm_float64_alpha_needs_float32_exactness():
    """The kernels take alpha/beta as float32; a float64 alpha that float32 cannot hold
    goes to ATen (visible), one it can hold runs here."""
    s, a, b = (make(s, torch.float64) for s in ((N,), (M, K), (K, N)))
    with triforge.use(), triforge.coverage() as cov:
        got = torch.addmm(s, a, b, alpha=0.1)
    assert "addmm" not in cov.served() and cov.fell_back().get("addmm") == 1
    torch.testing.assert_close(got, torch.addmm(s, a, b, alpha=0.1))
    check(lambda x, y, z: torch.addmm(x, y, z, alpha=0.25, beta=1.5), s, a, b, served="addmm",
          atol=_atol(torch.float64, K))


def _addmm_into_self(s, x, y):
    t = s.clone()
    return torch.addmm(t, x, y, alpha=2, out=t)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_out_and_inplace_variants(dtype):
    a, b = make((M, K), dtype), make((K, N), dtype)
    tol = 3 * _atol(dtype, K)
    check(lambda x, y: torch.mm(x, y, out=torch.empty(0, dtype=x.dtype, device=x.device)), a, b,
          served="mm.out", atol=tol)
    # out= with torch's column-major layout: written through its strides
    check(lambda x, y: torch.mm(x, y, out=torch.empty(N, M, dtype=x.dtype, device=x.device).t()), a, b,
          served="mm.out", atol=tol)
    check(lambda s, x, y: torch.addmm(s, x, y, beta=0.5, out=torch.empty(M, N, dtype=x.dtype, device=x.device)),
          make((N,), dtype), a, b, served="addmm.out", atol=tol)
    check(_addmm_into_self, make((M, N), dtype), a, b, served="addmm.out", atol=tol)
    # in-place checks clone inside: the float64 reference would otherwise update the input
    check(lambda s, x, y: s.clone().addmm_(x, y, beta=-1), make((N, M), dtype).t(), a, b, served="addmm_",
          atol=tol)
    b1, b2 = make((3, M, K), dtype), make((3, K, N), dtype)
    check(lambda x, y: torch.bmm(x, y, out=torch.empty(0, dtype=x.dtype, device=x.device)), b1, b2,
          served="bmm.out", atol=tol)
    check(lambda s, x, y: s.clone().baddbmm_(x, y, alpha=0.5), make((3, M, N), dtype), b1, b2,
          served="baddbmm_", atol=tol)
    check(lambda s, x, y: torch.baddbmm(s, x, y, out=torch.empty(0, dtype=x.dtype, device=x.device)),
          make((N,), dtype), b1, b2, served="baddbmm.out", atol=tol)
    check(lambda s, x, y: s.clone().addbmm_(x, y, beta=2), make((M, N), dtype), b1, b2, served="addbmm_", atol=3 * tol)
    check(lambda s, x, y: torch.addbmm(s, x, y, out=torch.empty(0, dtype=x.dtype, device=x.device)),
          make((M, 1), dtype), b1, b2, served="addbmm.out", atol=3 * tol)


def test_out_overlapping_an_input_falls_back():
    """What torch does with an out= that is also an input is its business: ATen runs it."""
    a, b = make((8, 8)), make((8, 8))
    a2 = a.clone()
    torch.mm(a2, b, out=a2)
    with triforge.use(), triforge.coverage() as cov:
        torch.mm(a, b, out=a)
    assert "mm.out" not in cov.served() and cov.fell_back().get("mm.out") == 1
    torch.testing.assert_close(a, a2)


@pytest.mark.parametrize("dtype", FLOATS)
def test_bmm_and_baddbmm(dtype):
    tol = 2 * _atol(dtype, K)
    b1, b2 = make((3, M, K), dtype), make((3, K, N), dtype)
    check(torch.bmm, b1, b2, served="bmm", atol=tol)
    # transposed matrices and stride-0 (broadcast) batches, as torch.matmul produces
    t1 = make((3, K, M), dtype).transpose(1, 2)
    e2 = make((1, N, K), dtype).transpose(1, 2).expand(3, K, N)
    check(torch.bmm, t1, e2, served="bmm", atol=tol)
    check(lambda s, x, y: torch.baddbmm(s, x, y, beta=0.5, alpha=1.5), make((1, M, N), dtype), b1, b2,
          served="baddbmm", atol=tol)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_addbmm_sums_batches(dtype):
    b1, b2 = make((4, M, K), dtype), make((4, K, N), dtype).transpose(1, 2).contiguous().transpose(1, 2)
    check(lambda s, x, y: torch.addbmm(s, x, y, beta=0.5, alpha=2), make((N,), dtype), b1, b2,
          served="addbmm", atol=8 * _atol(dtype, 4 * K))


@pytest.mark.parametrize("dtype", FLOATS)
def test_mv_addmv(dtype):
    tol = 2 * _atol(dtype, K)
    mat, vec = make((M, K), dtype), make((K,), dtype)
    check(torch.mv, mat, vec, served="mv", atol=tol)
    check(torch.mv, make((K, M), dtype).t(), make((2 * K,), dtype)[::2], served="mv", atol=tol)
    check(lambda s, x, y: torch.addmv(s, x, y, beta=-1, alpha=0.5), make((M,), dtype), mat, vec,
          served="addmv", atol=tol)
    check(lambda s, x, y: torch.addmv(s, x, y), make((1,), dtype), mat, vec, served="addmv", atol=tol)
    check(lambda s, x, y: s.clone().addmv_(x, y, beta=2), make((M,), dtype), mat, vec, served="addmv_", atol=2 * tol)
    check(lambda x, y: torch.mv(x, y, out=torch.empty(0, dtype=x.dtype, device=x.device)), mat, vec,
          served="mv.out", atol=tol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_dot_vdot_split_k(dtype):
    k = 150
    x, y = make((k,), dtype), make((2 * k,), dtype)[::2]
    check(torch.dot, x, y, served="dot", atol=_atol(dtype, k))
    assert _split_k_ran(1, 1, k, dtype)
    check(torch.vdot, x, y, served="vdot", atol=_atol(dtype, k))
    check(lambda a, b: torch.dot(a, b, out=torch.empty(0, dtype=a.dtype, device=a.device)), x, y,
          served="dot.out", atol=_atol(dtype, k))


@pytest.mark.parametrize("m", [1, 3, 8])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_skinny_split_k(m, dtype):
    """Decode-like: few rows against a weight read as W.T (F.linear's layout)."""
    k = 100
    x, w = make((m, k), dtype), make((N, k), dtype)
    check(lambda a, b: torch.mm(a, b.t()), x, w, served="mm", atol=_atol(dtype, k))
    assert _split_k_ran(m, N, k, dtype)
    check(lambda s, a, b: torch.addmm(s, a, b.t(), beta=0.5), make((N,), dtype), x, w, served="addmm",
          atol=_atol(dtype, k))


@pytest.mark.parametrize("m", [1, 3, 8])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_skinny_read_policy(m, dtype, monkeypatch):
    """A skinny product's weight loads under an L2 eviction policy (READ_POLICY, for
    weights of STREAM_BYTES and up): GEMV, 3-d accumulator and tl.dot paths alike."""
    monkeypatch.setattr(gemm_mod, "READ_POLICY", 2)
    monkeypatch.setattr(gemm_mod, "STREAM_BYTES", 0)
    k = 100
    x, w = make((m, k), dtype), make((N, k), dtype)
    check(lambda a, b: F.linear(a, b), x, w, served="mm", atol=_atol(dtype, k))
    check(lambda s, a, b: torch.addmm(s, a, b.t(), beta=0.5), make((N,), dtype), x, w, served="addmm",
          atol=_atol(dtype, k))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_split_k_last_split_finishes(dtype, monkeypatch):
    """The split-K tile's last split to arrive sums the workspace (one launch): bitwise
    the reduce kernel's result, the arrival counts back at zero after every call, across
    batches (a count per batch and tile) and with a bias."""
    m, n, k = (3, 40, 256) if not on_gpu() else (8, 1024, 4096)
    x, w, bias = make((m, k), dtype), make((n, k), dtype), make((n,), dtype)
    a3, b3 = make((2, m, k), dtype), make((2, k, n), dtype)

    def calls():
        return (torch.mm(x, w.t()), torch.addmm(bias, x, w.t(), beta=0.5, alpha=2.0), torch.bmm(a3, b3))
    arrivals_mod._arrivals.clear()
    monkeypatch.setattr(gemm_mod, "_FINISH_STEPS", 1)   # whatever K blocks a split runs
    real_scratch = gemm_mod.scratch_buffer
    # a poisoned workspace: a finish that read a split not yet stored would give NaN
    monkeypatch.setattr(gemm_mod, "scratch_buffer", lambda *a: real_scratch(*a).fill_(float("nan")))
    with triforge.use():
        finished = calls()
    assert _split_k_ran(m, n, k, dtype) and _split_k_ran(m, n, k, dtype, b=2)
    assert arrivals_mod._arrivals, "no arrival counters: the two-launch path ran"
    for counts in arrivals_mod._arrivals.values():
        assert not counts.any(), "arrival counts left behind"
    monkeypatch.setattr(gemm_mod, "arrivals", lambda device, n: None)
    monkeypatch.setattr(gemm_mod, "scratch_buffer", real_scratch)
    with triforge.use():
        reduced = calls()
    for f, r in zip(finished, reduced):
        torch.testing.assert_close(f, r, rtol=0, atol=0)
    ref = torch.addmm(bias.double(), x.double(), w.double().t(), beta=0.5, alpha=2.0)
    torch.testing.assert_close(finished[1].double(), ref, rtol=2e-2 if dtype is torch.bfloat16 else 1e-5,
                               atol=_atol(dtype, k) * 4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_addr(dtype):
    v1, v2 = make((M,), dtype), make((2 * N,), dtype)[::2]
    check(lambda s, x, y: torch.addr(s, x, y, beta=0.5, alpha=2), make((M, N), dtype), v1, v2, served="addr")
    check(lambda s, x, y: torch.addr(s, x, y), make((N,), dtype), v1, v2, served="addr")
    check(lambda s, x, y: s.clone().addr_(x, y, alpha=-1), make((M, N), dtype), v1, v2, served="addr_")
    check(lambda s, x, y: torch.addr(s, x, y, out=torch.empty(0, dtype=x.dtype, device=x.device)),
          make((M, N), dtype), v1, v2, served="addr.out")


def test_addr_alpha_zero_propagates_nan_like_torch():
    v1, v2 = make((5,)), make((4,))
    v1[2] = INF
    check(lambda s, x, y: torch.addr(s, x, y, alpha=0), make((5, 4)), v1, v2, served="addr")


def test_empty_dims():
    check(torch.mm, make((0, K)), make((K, N)), served=())
    check(torch.mm, make((M, K)), make((K, 0)), served=())
    check(torch.mm, make((M, 0)), make((0, N)), served="mm")                 # K = 0: zeros
    check(lambda s, x, y: torch.addmm(s, x, y, beta=2), make((N,)), make((M, 0)), make((0, N)), served="addmm")
    check(torch.bmm, make((0, M, K)), make((0, K, N)), served=())
    check(torch.bmm, make((2, M, 0)), make((2, 0, N)), served="bmm")
    check(lambda s, x, y: torch.addbmm(s, x, y, beta=0.5), make((M, N)), make((0, M, K)), make((0, K, N)),
          served="addbmm")
    check(torch.mv, make((M, 0)), make((0,)), served="mv")
    check(torch.dot, make((0,)), make((0,)), served="dot")
    check(lambda s, x, y: torch.addr(s, x, y), make((0, N)), make((0,)), make((N,)), served=())


def test_torch_errors_stand():
    a, b = make((4, 5)), make((6, 3))
    with triforge.use():
        with pytest.raises(RuntimeError):
            torch.mm(a, b)                                      # shapes
        with pytest.raises(RuntimeError):
            torch.mm(a, make((5, 3), torch.float64))            # dtypes
        with pytest.raises(RuntimeError):
            torch.bmm(make((2, 4, 5)), make((3, 5, 2)))         # batch sizes
        with pytest.raises(RuntimeError):
            torch.addmm(make((3, 3)), a, make((5, 3)))          # bias does not broadcast
        with pytest.raises(RuntimeError):
            torch.dot(make((3,)), make((4,)))


def test_unsupported_dtypes_fall_back_visibly():
    a = (torch.randn(6, 5) + 1j * torch.randn(6, 5)).to(make((1,)).device)
    b = (torch.randn(5, 4) + 1j * torch.randn(5, 4)).to(a.device)
    with triforge.use(), triforge.coverage() as cov:
        got = torch.mm(a, b)
    assert "mm" not in cov.served()
    torch.testing.assert_close(got, a @ b)
    if not on_gpu():   # torch's CPU mm takes integers (its CUDA mm does not)
        i, j = make((6, 5), torch.int32), make((5, 4), torch.int32)
        with triforge.use(), triforge.coverage() as cov:
            got = torch.mm(i, j)
        assert "mm" not in cov.served()
        assert torch.equal(got, (i.long() @ j.long()).int())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_matmul_and_linear_reach_the_kernels(dtype):
    tol = 4 * _atol(dtype, K)
    x2, x3, w, bias = make((M, K), dtype), make((2, 9, K), dtype), make((N, K), dtype), make((N,), dtype)
    check(torch.matmul, x2, w.t(), served="mm", atol=tol)
    check(torch.matmul, x3, w.t(), served="mm", atol=tol)                        # folded to 2-d
    check(torch.matmul, make((2, 1, 9, K), dtype), make((3, K, N), dtype), served="bmm", atol=tol)  # broadcast
    check(torch.matmul, w, make((K,), dtype), served="mv", atol=tol)              # 2-d @ 1-d
    check(F.linear, x2, w, bias, served="addmm", atol=tol)
    check(F.linear, x3, w, bias, served="addmm", atol=tol)
    check(F.linear, x3, w, served="mm", atol=tol)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_gradients_of_linear_and_matmul(dtype):
    tol = 8 * _atol(dtype, 2 * K)
    x = make((2, 9, K), dtype).requires_grad_()
    w = make((N, K), dtype).requires_grad_()
    bias = make((N,), dtype).requires_grad_()

    def linear_grads(x, w, bias):
        y = F.linear(x, w, bias)
        return torch.autograd.grad(y, (x, w, bias), torch.ones_like(y) * 0.5)
    check(linear_grads, x, w, bias, served=("mm", "addmm"), atol=tol)

    a = make((3, M, K), dtype).requires_grad_()
    b = make((K, N), dtype).requires_grad_()

    def matmul_grads(a, b):
        y = torch.matmul(a, b)
        return torch.autograd.grad(y.sum(), (a, b))
    check(matmul_grads, a, b, served="mm", atol=8 * _atol(dtype, 3 * M))


def test_tuning_trials_never_write_the_output(monkeypatch):
    """On a GPU the tuner runs every config of a new shape; an in-place addmm_ must still
    see its own input once (trials write a scratch tensor). Forced here with a fake timer."""
    from triton.runtime.errors import OutOfResources
    timed = []

    def best(self, key, run, timer=None):
        ran = []
        for cfg in self.configs:
            try:
                run(cfg)
            except OutOfResources:   # skipped, as the real Tuner does (a row too big for this card)
                continue
            ran.append(cfg)
        assert ran, f"no config of {self.name} fits this card"
        timed.extend(ran)
        return ran[-1]
    monkeypatch.setattr(gemm_mod.Tuner, "best", best)
    monkeypatch.setattr(gemm_mod, "_plans", {})
    for m in (M, 2):     # tiled and skinny (split-K) paths
        check(lambda s, x, y: s.clone().addmm_(x, y, beta=2), make((m, N)), make((m, K)), make((K, N)),
              served="addmm_", atol=3 * _atol(torch.float32, K))
    assert len(timed) >= 2


def test_int64_offsets(monkeypatch):
    """The int64-offset variant (tensors past 2**31 elements) on small inputs."""
    monkeypatch.setattr(gemm_mod, "needs_int64", lambda *a, **k: True)
    for m, k in ((M, K), (2, 100)):      # tiled, then split-K
        check(lambda s, x, y: torch.baddbmm(s, x, y, alpha=0.5), make((N,)), make((2, m, k)),
              make((2, k, N)), served="baddbmm", atol=_atol(torch.float32, k))
    assert _split_k_ran(2, N, 100, torch.float32, b=2)


def test_float32_precision_follows_torch():
    prec = gemm_mod._precision(torch.float32)
    if not on_gpu():
        assert prec == "ieee"          # the interpreter computes float32 exactly
        return
    prev = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        assert gemm_mod._precision(torch.float32) == "ieee"
        torch.backends.cuda.matmul.allow_tf32 = True
        assert gemm_mod._precision(torch.float32) == "tf32"
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev
    assert gemm_mod._precision(torch.bfloat16) is None


# past the TMA threshold: 16x16x16 tiles under the interpreter (M/N/K tails), and
# 2^34+ multiply-adds on a GPU, M and N past a multiple of the 128-wide tiles; every
# dimension a multiple of 8, so transposed operands' rows are 16-byte aligned too (M =
# 4100 made A.T's 8200-byte rows unaddressable: 3 of the 9 products in
# test_tma_kernel_layouts_bias_alpha went to the tiled kernel, and only a cold tuner
# cache's trial launches made up its count)
_TMA_MNK = (40, 56, 24) if not on_gpu() else (4104, 4104, 1032)


def test_skinny_rows_choose_their_split():
    """A skinny config's optional "waves" sets how far K is split (the tuner tries several)."""
    base = {"BM": 16, "BN": 16, "BK": 16}
    few = gemm_mod._split(dict(base, waves=1), 1, 2, 64, 4096)
    many = gemm_mod._split(dict(base, waves=8), 1, 2, 64, 4096)
    assert few[0] < many[0] and many[0] * many[1] >= 4096 and few[0] * few[1] >= 4096
    assert gemm_mod._split(base, 1, 2, 64, 4096) == gemm_mod._split(dict(base, waves=gemm_mod._WAVES), 1, 2, 64, 4096)


class _CountTMA:
    """Counts the TMA kernel's successful launches."""

    def __init__(self, launcher):
        self.launcher, self.calls = launcher, 0

    def __call__(self, *args, **kwargs):
        out = self.launcher(*args, **kwargs)
        self.calls += 1
        return out


def _tma_epilogue(monkeypatch, dtype):
    """The TMA kernels under the table's configs with C stored whole (bfloat16) or as two
    half-width blocks (float16: kernels_tma's SUB). All of them: where a bias epilogue's
    shared memory overflows the first, the next one runs (GPU)."""
    t = gemm_mod._tma_tuner
    monkeypatch.setattr(t, "configs", [dict(c, sub=int(dtype is torch.float16)) for c in t.configs])
    monkeypatch.setattr(t, "_mem", {})
    monkeypatch.setattr(gemm_mod, "_tma_fit", {})


@pytest.mark.skipif(gemm_mod._tma_tuner is None, reason="this backend offers no TMA kernel")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_tma_kernel_layouts_bias_alpha(dtype, monkeypatch):
    """Products the TMA kernel takes (16-bit, 16-byte aligned rows, big enough): both
    orientations of A and B, bias shapes, alpha/beta; misaligned rows and a strided
    output go to the tiled kernel instead. Interpreter: 16x16x16 tiles, so these sizes
    cross M/N/K tails; GPU: sizes past the table's threshold."""
    assert _TMA_MNK[0] * _TMA_MNK[1] * _TMA_MNK[2] >= gemm_mod._TMA_MIN
    _tma_epilogue(monkeypatch, dtype)
    counter = _CountTMA(gemm_mod._tma)
    monkeypatch.setattr(gemm_mod, "_tma", counter)
    m, n, k = _TMA_MNK
    tol = dict(atol=_atol(dtype, k) * 4, rtol=None if not on_gpu() else 2e-2)
    a, b = make((m, k), dtype), make((k, n), dtype)
    at, bt = make((k, m), dtype).t(), make((n, k), dtype).t()
    for x, y in ((a, b), (at, bt), (a, bt), (at, b)):
        check(torch.mm, x, y, served="mm", **tol)
    for bias in (make((n,), dtype), make((m, n), dtype), make((m, 1), dtype)):
        check(lambda s, x, y: torch.addmm(s, x, y, beta=0.5, alpha=-2.0), bias, a, bt, served="addmm", **tol)
    # the output is the bias (in place) and an out= tensor
    check(lambda s, x, y: s.clone().addmm_(x, y, beta=2.0), make((m, n), dtype), at, b, served="addmm_", **tol)
    check(lambda x, y: torch.mm(x, y, out=torch.empty(m, n, dtype=x.dtype, device=x.device)), a, b,
          served="mm.out", **tol)
    assert counter.calls >= 9, counter.calls
    seen = counter.calls
    check(torch.mm, make((m, k + 1), dtype), make((k + 1, n), dtype), served="mm", **tol)   # rows not 16-byte aligned
    check(lambda x, y: torch.mm(x, y, out=torch.empty(n, m, dtype=x.dtype, device=x.device).t()), a, b,
          served="mm.out", **tol)                                                          # column-major output
    assert counter.calls == seen


@pytest.mark.skipif(gemm_mod._tma_tuner is None, reason="this backend offers no TMA kernel")
def test_tma_out_of_resources_falls_back_to_tiled(monkeypatch):
    """A TMA config too big for the card (the bias epilogue's shared memory) must not fail
    the op: the product runs on the tiled kernel and that key stops trying TMA."""
    from triton.runtime.errors import OutOfResources
    tries = []

    def too_big(*args, **kwargs):
        tries.append(1)
        raise OutOfResources(245784, 232448, "shared memory")
    monkeypatch.setattr(gemm_mod, "_tma", too_big)
    monkeypatch.setattr(gemm_mod, "_tma_fit", {})
    m, n, k = _TMA_MNK
    a, w, bias = make((m, k), torch.bfloat16), make((n, k), torch.bfloat16), make((n,), torch.bfloat16)
    check(F.linear, a, w, bias, served="addmm", atol=_atol(torch.bfloat16, k) * 4, rtol=None if not on_gpu() else 2e-2)
    assert tries and False in gemm_mod._tma_fit.values()
    before = len(tries)
    with triforge.use():
        F.linear(a, w, bias)
    assert len(tries) == before   # remembered: no second attempt


# batched products past the TMA threshold (B*M*N*K counted): under the interpreter 16x16x16
# tiles (M/N/K tails; 45 tiles over its 4 "SMs", so programs cross batch boundaries), on a
# GPU 2^34+ multiply-adds with M, N not multiples of a tile (rows still 16-byte aligned)
_TMA_BMNK = (3, 40, 72, 48) if not on_gpu() else (8, 1032, 2056, 1032)


def _tma_bmm_inputs(dtype):
    bs, m, n, k = _TMA_BMNK
    a, b = make((bs, m, k), dtype), make((bs, k, n), dtype)
    at, bt = make((bs, k, m), dtype).transpose(1, 2), make((bs, n, k), dtype).transpose(1, 2)
    return a, b, at, bt


@pytest.mark.skipif(gemm_mod._tma_tuner is None, reason="this backend offers no TMA kernel")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_tma_bmm_layouts_broadcast_bias_alpha(dtype, monkeypatch):
    """bmm/baddbmm on the batched TMA kernel: both orientations of A and B, operands shared
    by every batch (stride 0), bias shapes broadcast over batches, rows and columns,
    alpha/beta, in place and out= (a padded output: its padding never written)."""
    bs, m, n, k = _TMA_BMNK
    assert bs * m * n * k >= gemm_mod._TMA_MIN
    _tma_epilogue(monkeypatch, dtype)
    counter = _CountTMA(gemm_mod._tma_b)
    monkeypatch.setattr(gemm_mod, "_tma_b", counter)
    layouts, fits = [], gemm_mod._tma_fits   # (a_t, b_t, a batched, b batched) of each product

    def spy(*args):
        layouts.append(fits(*args))
        return layouts[-1]
    monkeypatch.setattr(gemm_mod, "_tma_fits", spy)
    tol = {"atol": _atol(dtype, k) * 4, "rtol": None if not on_gpu() else 2e-2}
    a, b, at, bt = _tma_bmm_inputs(dtype)
    for x, y in ((a, b), (at, bt), (a, bt), (at, b)):
        check(torch.bmm, x, y, served="bmm", **tol)
    # shared operands made inside the call (check's clones of an expanded tensor are dense)
    one_a, one_bt = make((1, m, k), dtype), make((1, n, k), dtype)
    check(lambda x, y: torch.bmm(x.expand(bs, m, k), y), one_a, b, served="bmm", **tol)
    check(lambda x, y: torch.bmm(x, y.transpose(1, 2).expand(bs, k, n)), at, one_bt, served="bmm", **tol)
    check(lambda x, y: torch.bmm(x.expand(bs, m, k), y.transpose(1, 2).expand(bs, k, n)), one_a, one_bt,
          served="bmm", **tol)
    assert counter.calls >= 7, counter.calls
    assert {(False, False, False, True), (True, True, True, False), (False, True, False, False)} <= set(layouts), \
        layouts
    for bias in (make((bs, m, n), dtype), make((1, m, n), dtype), make((n,), dtype), make((m, 1), dtype),
                 make((bs, 1, n), dtype), make((bs, n, m), dtype).transpose(1, 2), make((), dtype)):
        check(lambda s, x, y: torch.baddbmm(s, x, y, beta=0.5, alpha=-2.0), bias, a, bt, served="baddbmm", **tol)
    check(lambda s, x, y: torch.baddbmm(s, x, y, beta=0.0, alpha=1.5), torch.full((bs, m, n), NAN, dtype=dtype,
          device=a.device), at, b, served="baddbmm", **tol)                       # beta 0: the bias is not read
    check(lambda s, x, y: s.clone().baddbmm_(x, y, beta=2.0), make((bs, m, n), dtype), at, bt, served="baddbmm_",
          **tol)
    check(lambda x, y: torch.bmm(x, y, out=torch.empty(bs, m, n, dtype=x.dtype, device=x.device)), a, b,
          served="bmm.out", **tol)

    def padded_out(x, y):
        buf = torch.full((bs, m + 3, n + 8), 7.0, dtype=x.dtype, device=x.device)
        torch.bmm(x, y, out=buf[:, :m, :n])
        return buf
    check(padded_out, a, bt, served="bmm.out", **tol)
    assert counter.calls >= 18, counter.calls


@pytest.mark.skipif(gemm_mod._tma_tuner is None, reason="this backend offers no TMA kernel")
def test_tma_bmm_routing(monkeypatch):
    """What the batched TMA kernel does not take goes to the tiled kernel (rows or batches
    not 16-byte aligned, a column-major output, addbmm); one batch goes to the 2-d TMA
    kernel."""
    dtype = torch.bfloat16
    bs, m, n, k = _TMA_BMNK
    batched, single = _CountTMA(gemm_mod._tma_b), _CountTMA(gemm_mod._tma)
    monkeypatch.setattr(gemm_mod, "_tma_b", batched)
    monkeypatch.setattr(gemm_mod, "_tma", single)
    tol = {"atol": _atol(dtype, k) * 4, "rtol": None if not on_gpu() else 2e-2}
    a, b, _, _ = _tma_bmm_inputs(dtype)
    check(torch.bmm, make((bs, m, k + 1), dtype), make((bs, k + 1, n), dtype), served="bmm", **tol)
    # batch stride 8 bytes off 16 (made inside: check's clones would be contiguous)
    check(lambda x, y: torch.bmm(x.as_strided((bs, m, k), (m * k + 4, k, 1)), y), make((bs * (m * k + 4),), dtype),
          b, served="bmm", **tol)
    check(lambda x, y: torch.bmm(x, y, out=torch.empty(bs, n, m, dtype=x.dtype, device=x.device).transpose(1, 2)),
          a, b, served="bmm.out", **tol)
    check(lambda s, x, y: torch.addbmm(s, x, y, beta=0.5), make((m, n), dtype), a, b, served="addbmm",
          atol=_atol(dtype, bs * k) * 8, rtol=tol["rtol"])
    assert batched.calls == 0 and single.calls == 0, (batched.calls, single.calls)
    one = 2 * max(1, gemm_mod._TMA_MIN // (m * n * k))   # one batch, still past the threshold
    x1, y1 = make((1, one * m, k), dtype), make((1, n, k), dtype).transpose(1, 2)
    check(torch.bmm, x1, y1, served="bmm", **tol)
    check(lambda s, x, y: torch.baddbmm(s, x, y, alpha=0.5), make((n,), dtype), x1, y1, served="baddbmm", **tol)
    # (>=: on a GPU the tuner's trials launch it too)
    assert single.calls >= 2 and batched.calls == 0, (batched.calls, single.calls)


@pytest.mark.skipif(gemm_mod._tma_tuner is None, reason="this backend offers no TMA kernel")
def test_tma_bmm_int64_offsets(monkeypatch):
    """The batched TMA kernel's int64 variant (bias offsets past 2**31 elements), small."""
    monkeypatch.setattr(gemm_mod, "needs_int64", lambda *a, **k: True)
    counter = _CountTMA(gemm_mod._tma_b)
    monkeypatch.setattr(gemm_mod, "_tma_b", counter)
    dtype = torch.bfloat16
    bs, m, n, k = _TMA_BMNK
    _, _, at, bt = _tma_bmm_inputs(dtype)
    check(lambda s, x, y: torch.baddbmm(s, x, y, alpha=0.5), make((bs, m, n), dtype), at, bt, served="baddbmm",
          atol=_atol(dtype, k) * 4, rtol=None if not on_gpu() else 2e-2)
    assert counter.calls >= 1   # (on a GPU the tuner's trials launch it too)


# -- GPU sizes -------------------------------------------------------------------------------
@pytest.mark.gpu_only
# sizes bounded by the float64 CPU reference; the full LLM shapes are bench cases
@pytest.mark.parametrize("mnk", [(2048, 4096, 1024), (1000, 1001, 999), (64, 4096, 4096), (65, 4096, 4096),
                                 (1, 14336, 4096), (8, 4096, 14336), (32, 128256, 4096)])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_gpu_linear_sizes(mnk, dtype):
    m, n, k = mnk
    x, w, bias = make((m, k), dtype), make((n, k), dtype), make((n,), dtype)
    rtol = {torch.float32: 1e-4}.get(dtype)
    check(F.linear, x, w, bias, served="addmm", atol=_atol(dtype, k) * 4, rtol=rtol)


@pytest.mark.gpu_only
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float64])
def test_gpu_bmm_attention_like(dtype):
    q, kt = make((32, 512, 128), dtype), make((32, 512, 128), dtype).transpose(1, 2)
    check(torch.bmm, q, kt, served="bmm", atol=_atol(dtype, 128) * 4)


@pytest.mark.gpu_only
def test_gpu_tf32_when_allowed():
    a, b = make((1024, 1024)), make((1024, 1024))
    prev = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        check(torch.mm, a, b, served="mm", rtol=5e-3, atol=0.05)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev
    check(torch.mm, a, b, served="mm", atol=_atol(torch.float32, 1024) * 4)   # IEEE again


@pytest.mark.parametrize("m", [1, 3, 8, 32, 64])
def test_float32_ieee_skinny_paths_keep_float32_precision(m):
    """float32 decode with TF32 off runs no tl.dot (gemm._fma_mode: the GEMV for one row, the
    3-d accumulator for a few): Triton rewrites a broadcast-multiply-sum into a TF32 dot
    where the tile allows one, so the error is held at float32's level (TF32: ~5e-4)."""
    if m > min(gemm_mod._FMA3_M, gemm_mod._SKINNY_M):
        pytest.skip("past this backend's 3-d accumulator rows")
    k, n = (4096, 2048) if on_gpu() else (100, N)
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        x, w = make((m, k), torch.float32), make((n, k), torch.float32)
        assert gemm_mod._fma_mode(torch.float32, gemm_mod._precision(torch.float32), m, False) == (1 if m == 1 else 2)
        if m == 1:   # one row is a GEMV whatever torch allows (IEEE is only more exact)
            assert gemm_mod._fma_mode(torch.float32, "tf32", 1, False) == 1
        with triforge.use():
            out = torch.mm(x, w.t())
        ref = x.double() @ w.double().t()
        assert ((out.double() - ref).norm() / ref.norm()).item() < 2e-6
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev


class _Precisions:
    """Records the dot precision (`seen`) and the K loop's form (`modes`, kernels' FMA) of
    each gemm_kernel launch."""

    def __init__(self, launcher):
        self.launcher, self.seen, self.modes = launcher, [], []

    def __call__(self, *args, **kwargs):
        i = next(j for j, x in enumerate(args) if x in ("ieee", "tf32", "tf32x3"))
        self.seen.append(args[i])
        self.modes.append(args[i + 1])
        return self.launcher(*args, **kwargs)


def test_float32_x3_routes(monkeypatch):
    """float32 with TF32 off as tf32x3 (gemm._x3_route, on here whatever the backend): B
    K-contiguous as it is, B N-contiguous transposed (c.T = b.T @ a.T) where A is
    K-contiguous, else on a copy of B (or IEEE past the copy's bound); one row, and skinny
    rows with B N-contiguous, keep the IEEE paths. Every layout's result, bias and alpha/beta
    included, against float64."""
    monkeypatch.setattr(gemm_mod, "_X3", True)
    monkeypatch.setattr(gemm_mod, "_plans", {})
    spy = _Precisions(gemm_mod._gemm)
    monkeypatch.setattr(gemm_mod, "_gemm", spy)
    f32 = torch.float32
    m, sk = gemm_mod._SKINNY_M + 5, min(3, gemm_mod._SKINNY_M)   # tiled rows, skinny rows
    nk, kn = make((N, K), f32).t(), make((K, N), f32)     # B K-contiguous / N-contiguous
    a, at = make((m, K), f32), make((K, m), f32).t()      # A K-contiguous / M-contiguous
    route = gemm_mod._x3_route
    assert route(a, nk, m, K) == "x3" and route(at, nk, m, K) == "x3"
    assert route(a, kn, m, K) == "swap" and route(at, kn, m, K) == "copy"
    assert route(make((sk, K), f32), nk, sk, K) == "x3" and route(make((sk, K), f32), kn, sk, K) is None
    assert route(make((1, K), f32), nk, 1, K) is None
    tol = 2 * _atol(f32, K)
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for x, y, want in ((a, nk, "tf32x3"), (a, kn, "tf32x3"), (at, kn, "tf32x3"), (at, nk, "tf32x3"),
                           (make((sk, K), f32), nk, "tf32x3"), (make((sk, K), f32), kn, "ieee")):
            spy.seen.clear()
            check(torch.mm, x, y, served="mm", atol=tol)
            assert spy.seen and set(spy.seen) == {want}, (x.stride(), y.stride(), spy.seen)
        bias = make((N,), f32)
        check(lambda s_, x, y: torch.addmm(s_, x, y, beta=0.5, alpha=-2), bias, a, kn, served="addmm", atol=tol)
        check(lambda s_, x, y: torch.addmm(s_, x, y, beta=0.5, alpha=-2), make((m, 1), f32), at, kn,
              served="addmm", atol=tol)
        b1, b2 = make((3, m, K), f32), make((3, K, N), f32)
        check(lambda s_, x, y: torch.baddbmm(s_, x, y, beta=1.5, alpha=0.5), make((1, m, N), f32), b1, b2,
              served="baddbmm", atol=tol)
        check(torch.bmm, b1, make((1, N, K), f32).transpose(1, 2).expand(3, K, N), served="bmm", atol=tol)
        check(lambda s_, x, y: torch.addbmm(s_, x, y, beta=0.5, alpha=2), make((N,), f32), b1, b2,
              served="addbmm", atol=8 * _atol(f32, 3 * K))
        x, y = make((m, K), f32), make((K, N), f32)
        x[m - 1, 5], x[0, 0], y[2, 4] = NAN, INF, -INF
        check(torch.mm, x, y, served="mm", atol=tol)                     # swapped
        check(torch.mm, x.t().contiguous().t(), y, served="mm", atol=tol)   # copied
        monkeypatch.setattr(gemm_mod, "_X3_COPY", 0)
        assert route(at, kn, m, K) is None
        spy.seen.clear()
        check(torch.mm, at, kn, served="mm", atol=tol)
        assert set(spy.seen) == {"ieee"}
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev


def test_float64_dot_path(monkeypatch):
    """float64 through tl.dot where the table says the target has a float64 MMA (gemm._F64_DOT;
    on here whatever the backend): tiled, skinny and one-row products, bias, batches, in
    float64's precision."""
    monkeypatch.setattr(gemm_mod, "_F64_DOT", True)
    monkeypatch.setattr(gemm_mod, "_plans", {})
    spy = _Precisions(gemm_mod._gemm)
    monkeypatch.setattr(gemm_mod, "_gemm", spy)
    f64 = torch.float64
    tol = _atol(f64, K)
    for m in (M, 3, 1):
        check(torch.mm, make((m, K), f64), make((N, K), f64).t(), served="mm", atol=tol)
        check(lambda s_, x, y: torch.addmm(s_, x, y, beta=0.5, alpha=2), make((N,), f64), make((m, K), f64),
              make((K, N), f64), served="addmm", atol=tol)
    check(torch.bmm, make((3, M, K), f64), make((3, K, N), f64), served="bmm", atol=tol)
    assert spy.modes and set(spy.modes) == {0} and set(spy.seen) == {"ieee"}, (spy.modes, spy.seen)


@pytest.mark.gpu_only
@pytest.mark.skipif(not gemm_mod._X3, reason="this backend keeps float32 IEEE products on FMA paths")
def test_gpu_float32_x3_precision():
    """tf32x3 holds float32 products at float32's error (TF32 alone: ~5e-4) in each layout
    and skinny rows, and puts inf and NaN where torch does. Subnormal inputs are kept, not
    flushed (which would lose whole products), but at TF32's 10 bits below 2^-126: an input
    under ~2^-115 leaves a low part TF32 cannot hold (H100: 3.3e-3 relative error on inputs
    of ~1e-39; IEEE keeps ~20 bits there)."""
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        k = 2048
        w = make((1024, k), torch.float32)
        x = make((1024, k), torch.float32)
        for a, b in ((x, w.t()), (x, w.t().contiguous()), (x.t().contiguous().t(), w.t().contiguous()),
                     (x[:24], w.t()), (x * 1e-39, w.t() * 1e10)):
            with triforge.use():
                out = torch.mm(a, b)
            ref = a.double() @ b.double()
            assert ((out.double() - ref).norm() / ref.norm()).item() < (1e-2 if a[0, 0].abs() < 1e-30 else 2e-6)
        a, b = x.clone(), w.t().contiguous()
        a[3, 5], a[7, 9], b[11, 2] = INF, -INF, NAN
        with triforge.use():
            out = torch.mm(a, b)
        want = torch.mm(a, b)
        assert torch.equal(out.isnan(), want.isnan()) and torch.equal(out.isinf(), want.isinf())
        assert torch.equal(out[out.isinf()], want[want.isinf()])
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("k", [100, 5000])
def test_gemv_16bit(dtype, k):
    """One row of a 16-bit product runs the GEMV (no tl.dot): vector @ W.T, with a bias, and
    mv, against the float64 reference; K past one block and a K tail."""
    assert gemm_mod._fma_mode(dtype, None, 1, False) == 1
    x, w, bias = make((1, k), dtype), make((N, k), dtype), make((N,), dtype)
    check(F.linear, x, w, bias, served="addmm", atol=_atol(dtype, k) * 4)
    check(torch.mv, w, x[0], served="mv", atol=_atol(dtype, k) * 4)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_gemv_batched_short_k(dtype):
    """Batched one-row products with a short K (decode attention's q @ k.T against
    128-wide heads): the GEMV's K block shrinks to K's power of two."""
    q, kt = make((3, 1, 40), dtype), make((3, 24, 40), dtype).transpose(1, 2)
    check(torch.bmm, q, kt, served="bmm", atol=_atol(dtype, 40) * 4)
    plan = _plan_of(3, 1, 24, 40, dtype)
    assert plan[0]["BM"] == 1 and plan[0]["BK"] <= 64

"""Flash attention (F.scaled_dot_product_attention) forward and backward against the
float64 math reference."""
import pytest
import torch
import torch.nn.functional as F

import triforge
from triforge.testing import check, make, triforge_off

SDPA = "scaled_dot_product_attention"
HALF = [torch.float16, torch.bfloat16]
FLOATS = HALF + [torch.float32]
# Attention sums L products per output: a few ulps of the result dtype, plus the
# rounding of the probabilities to the input dtype before the P @ V product.
FWD_TOL = {torch.float16: (2e-3, 2e-3), torch.bfloat16: (1.6e-2, 1.6e-2),
           torch.float32: (1e-5, 1e-5), torch.float64: (1e-10, 1e-12)}
GRAD_TOL = {torch.float16: (5e-3, 5e-3), torch.bfloat16: (4e-2, 4e-2),
            torch.float32: (1e-4, 1e-5), torch.float64: (1e-9, 1e-11)}


def _qkv(B, H, L, S, D, dtype, HK=None, grad=True):
    q = make((B, H, L, D), dtype)
    k = make((B, HK or H, S, D), dtype)
    v = make((B, HK or H, S, D), dtype)
    return [t.requires_grad_(grad) for t in (q, k, v)]


def _fwd_bwd(**kw):
    def fn(q, k, v, g, mask):
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)
        o.backward(g)
        return o, q.grad, k.grad, v.grad
    return fn


def _check_grad(q, k, v, attn_mask=None, **kw):
    """Output and gradients of q, k, v; the mask is an argument so that the reference
    gets it in float64 too."""
    dtype = q.dtype
    g = make(q.shape[:-1] + (v.shape[-1],), q.dtype)
    return check(_fwd_bwd(**kw), q, k, v, g, attn_mask, served=SDPA,
                 rtol=GRAD_TOL[dtype][0], atol=GRAD_TOL[dtype][1])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_fwd_bwd(dtype, causal):
    q, k, v = _qkv(2, 2, 37, 37, 16, dtype)
    _check_grad(q, k, v, is_causal=causal)


@pytest.mark.parametrize("dtype", HALF)
def test_sdpa_forward_only(dtype):
    q, k, v = _qkv(1, 3, 33, 20, 64, dtype, grad=False)
    r, a = FWD_TOL[dtype]
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, k, v, served=SDPA, rtol=r, atol=a)
    with torch.no_grad():
        check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v,
              served=SDPA, rtol=r, atol=a)


@pytest.mark.parametrize("D", [24, 80])
def test_sdpa_head_dim_not_power_of_two(D):
    q, k, v = _qkv(1, 2, 19, 23, D, torch.bfloat16)
    _check_grad(q, k, v, is_causal=True)


@pytest.mark.parametrize("L,S", [(5, 40), (40, 7), (1, 17)])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_lq_ne_lk(L, S, causal):
    """torch's is_causal is top-left aligned (query i sees keys j <= i) for Lq != Lk."""
    q, k, v = _qkv(1, 2, L, S, 16, torch.float32)
    _check_grad(q, k, v, is_causal=causal)


def test_sdpa_scale():
    q, k, v = _qkv(1, 2, 21, 21, 16, torch.float16)
    _check_grad(q, k, v, scale=0.3, is_causal=True)


@pytest.mark.parametrize("scale", [-0.7, 0.0])
def test_sdpa_scale_not_positive(scale):
    """The TMA forward folds only a positive scale into exp2. torch's math reference
    scales q and k by sqrt(scale) (NaN here), so the reference is written out:
    softmax(q k^T * scale, causal) v in float64."""
    q, k, v = _qkv(1, 2, 21, 21, 16, torch.float16, grad=False)
    with triforge.use(), triforge.coverage() as cov:
        o = F.scaled_dot_product_attention(q, k, v, scale=scale, is_causal=True)
    assert cov.served().get(SDPA)
    qd, kd, vd = (t.double() for t in (q, k, v))
    s = (qd @ kd.transpose(-1, -2)) * scale
    s = s.masked_fill(torch.ones(21, 21, dtype=torch.bool, device=s.device).triu(1), float("-inf"))
    ref = torch.softmax(s, -1) @ vd
    torch.testing.assert_close(o.double(), ref, rtol=FWD_TOL[torch.float16][0], atol=FWD_TOL[torch.float16][1])


@pytest.mark.parametrize("HK", [1, 2])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_gqa(HK, causal):
    q, k, v = _qkv(2, 4, 18, 18, 16, torch.bfloat16, HK=HK)
    _check_grad(q, k, v, is_causal=causal, enable_gqa=True)


def test_sdpa_bshd_layout():
    """(B, S, H, D) tensors transposed to (B, H, S, D), as Hugging Face models pass them;
    the output keeps torch flash's (B, L, H, D) storage."""
    B, S, H, D = 2, 21, 3, 16
    q, k, v = (make((B, S, H, D), torch.float16).transpose(1, 2).requires_grad_() for _ in range(3))
    out = _check_grad(q, k, v, is_causal=True)[0]
    assert out.transpose(1, 2).is_contiguous()


class _Spy:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *a, **k):
        self.calls += 1
        return self.fn(*a, **k)


@pytest.mark.skipif(not dict(triforge.backend().table("attention").get("fwd_tma", ())),
                    reason="this backend has no TMA forward")
def test_sdpa_tma_forward_routes(monkeypatch):
    """The descriptor forward and backward (flash_tma.py) take unmasked 16-bit calls of
    their head dims, transposed (B, S, H, D) views, Lq != Lk and GQA included; masks,
    dropout and float32 keep the pointer kernels."""
    from triforge.ops.attention import flash_tma
    d = min(dict(triforge.backend().table("attention")["fwd_tma"]))
    spy = _Spy(flash_tma._launch)
    monkeypatch.setattr(flash_tma, "_launch", spy)
    bwd = _Spy(flash_tma._dq)
    monkeypatch.setattr(flash_tma, "_dq", bwd)
    for L, S, causal in ((5, 40, True), (40, 7, True), (23, 23, False)):
        q, k, v = _qkv(1, 4, L, S, d, torch.bfloat16, HK=2)
        _check_grad(q, k, v, is_causal=causal, enable_gqa=True)
    q, k, v = (make((2, 19, 3, d), torch.float16).transpose(1, 2).requires_grad_() for _ in range(3))
    _check_grad(q, k, v, is_causal=True)
    taken = spy.calls
    assert taken == 4, taken
    # the TMA backward where the backend's table offers it for this head dim
    assert bwd.calls == (4 if d in flash_tma._BWD_CFG else 0), bwd.calls
    q, k, v = _qkv(1, 2, 9, 9, d, torch.bfloat16)
    _check_grad(q, k, v, attn_mask=make((9, 9), torch.bool))
    _check_grad(*_qkv(1, 2, 9, 9, d, torch.float32), is_causal=True)
    assert spy.calls == taken and bwd.calls == (4 if d in flash_tma._BWD_CFG else 0)


def test_sdpa_3d_inputs():
    q, k, v = (make((3, 17, 16), torch.float32).requires_grad_() for _ in range(3))
    _check_grad(q, k, v, is_causal=True)


@pytest.mark.parametrize("shape", [(19, 23), (2, 1, 19, 23), (1, 3, 1, 23)])
def test_sdpa_bool_mask(shape):
    q, k, v = _qkv(2, 3, 19, 23, 16, torch.float32)
    m = make(shape, torch.bool)
    m[..., 0] = True
    _check_grad(q, k, v, attn_mask=m)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_sdpa_additive_mask(dtype):
    q, k, v = _qkv(2, 3, 19, 23, 16, dtype)
    m = make((1, 3, 19, 23), torch.float32)   # torch takes a float32 mask for any query dtype
    m[..., 5] = float("-inf")
    _check_grad(q, k, v, attn_mask=m)


def test_sdpa_fully_masked_rows_give_zeros():
    """torch's safe softmax: a row with every key masked gives zeros and zero gradients."""
    q, k, v = _qkv(1, 2, 9, 20, 16, torch.float32)
    m = make((9, 20), torch.bool) | True
    m[3] = False
    add = torch.zeros(9, 20, device=q.device)
    add[5] = float("-inf")
    out = _check_grad(q, k, v, attn_mask=m)[0]
    assert (out[:, :, 3] == 0).all()
    _check_grad(q, k, v, attn_mask=add)


def test_sdpa_empty():
    for B, H, L, S in [(0, 2, 5, 5), (1, 2, 0, 5), (1, 2, 5, 0)]:
        q, k, v = _qkv(B, H, L, S, 16, torch.float32)
        _check_grad(q, k, v)


def test_sdpa_nan_propagates():
    q, k, v = _qkv(1, 1, 17, 17, 16, torch.float32, grad=False)
    q[0, 0, 3, 2] = float("nan")
    k[0, 0, 20 % 17, 0] = float("inf")
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v, served=SDPA)


def test_sdpa_backward_is_deterministic():
    q, k, v = _qkv(1, 4, 33, 33, 16, torch.bfloat16, HK=1)
    g = make(q.shape, torch.bfloat16)
    grads = []
    with triforge.use(include=[SDPA]):
        for _ in range(2):
            for t in (q, k, v):
                t.grad = None
            F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).backward(g)
            grads.append([t.grad.clone() for t in (q, k, v)])
    for a, b in zip(*grads):
        assert torch.equal(a, b)


def test_sdpa_inference_mode_is_served():
    """inference_mode skips the Autograd key; the backend-key registration serves it."""
    q, k, v = _qkv(1, 2, 20, 20, 16, torch.bfloat16, grad=False)
    with torch.inference_mode():
        check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v,
              served=SDPA, rtol=FWD_TOL[torch.bfloat16][0], atol=FWD_TOL[torch.bfloat16][1])


def test_sdpa_double_backward_raises():
    q, k, v = _qkv(1, 1, 8, 8, 16, torch.float32)
    with triforge.use(include=[SDPA]):
        (g,) = torch.autograd.grad(F.scaled_dot_product_attention(q, k, v).sum(), q, create_graph=True)
        with pytest.raises(RuntimeError):
            g.sum().backward()


def _fell_back(fn):
    with triforge.use(include=[SDPA]), triforge.coverage() as cov:
        out = fn()
    assert SDPA not in cov.served(), cov
    return out


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_sdpa_dropout(monkeypatch, dtype, causal):
    """Philox dropout: compared with the float64 math path times the kernels' own mask
    (flash.dropout_scale), output and gradients; GQA so dK/dV regenerate it per q head."""
    from triforge.ops.attention import flash
    monkeypatch.setattr(flash, "_seed", lambda: 1234)
    p = 0.3
    q, k, v = _qkv(2, 4, 21, 19, 16, dtype, HK=2)
    g = make(q.shape, dtype)
    with triforge.use(include=[SDPA]), triforge.coverage() as cov:
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=causal, enable_gqa=True)
        out.backward(g)
    assert cov.served() == {SDPA: 1}
    z = flash.dropout_scale(2, 4, 21, 19, p, 1234).double()
    assert 0.5 < (z > 0).double().mean() < 0.9   # about 1 - p kept
    q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
    s = q64 @ k64.repeat_interleave(2, 1).transpose(-1, -2) / 4.0
    if causal:
        s = s.masked_fill(torch.ones(21, 19, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    ref = (torch.softmax(s, -1) * z) @ v64.repeat_interleave(2, 1)
    ref.backward(g.double())
    r, a = GRAD_TOL[dtype]
    from triforge.testing import assert_close
    assert_close([out, q.grad, k.grad, v.grad], [ref, q64.grad, k64.grad, v64.grad], dtype, rtol=r, atol=a)


def test_sdpa_dropout_reproducible_under_manual_seed():
    q, k, v = _qkv(1, 2, 20, 20, 16, torch.float32, grad=False)
    with triforge.use(include=[SDPA]):
        outs = []
        for seed in (3, 3, 4):
            torch.manual_seed(seed)
            outs.append(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])


def test_sdpa_dropout_one_falls_back():
    q, k, v = _qkv(1, 2, 8, 8, 16, torch.float32, grad=False)
    out = _fell_back(lambda: F.scaled_dot_product_attention(q, k, v, dropout_p=1.0))
    assert out.shape == q.shape


def test_sdpa_mask_with_is_causal_falls_back():
    """torch decides what a mask together with is_causal means (its CPU path takes both)."""
    q, k, v = _qkv(1, 2, 8, 8, 16, torch.float32, grad=False)
    m = torch.ones(8, 8, dtype=torch.bool, device=q.device)
    with triforge_off():
        try:
            F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True)
            raises = False
        except RuntimeError:
            raises = True
    if raises:
        with triforge.use(include=[SDPA]), pytest.raises(RuntimeError):
            F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True)
    else:
        _fell_back(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True))


def test_sdpa_float64_falls_back():
    q, k, v = _qkv(1, 2, 8, 8, 16, torch.float64, grad=False)
    _fell_back(lambda: F.scaled_dot_product_attention(q, k, v))


def test_sdpa_mask_needing_grad_falls_back():
    q, k, v = _qkv(1, 2, 8, 8, 16, torch.float32)
    m = make((8, 8), torch.float32).requires_grad_()
    out = _fell_back(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=m))
    out.sum().backward()
    assert m.grad is not None


def test_sdpa_errors_are_torchs():
    q, k, v = _qkv(1, 2, 8, 8, 16, torch.float32, grad=False)
    with triforge.use(include=[SDPA]):
        with pytest.raises(RuntimeError):
            F.scaled_dot_product_attention(q, k[..., :8], v)
        with pytest.raises(RuntimeError):   # fewer kv heads without enable_gqa
            F.scaled_dot_product_attention(make((1, 4, 8, 16)), k, v)
        with pytest.raises(RuntimeError):
            F.scaled_dot_product_attention(q, k[:, :1].expand(1, 1, 8, 16).contiguous()[:, :, :7], v)


# -- real sizes (GPU) -----------------------------------------------------------------------
@pytest.mark.gpu_only
@pytest.mark.parametrize("D", [64, 80, 96, 128, 192, 256])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_head_dims_gpu(D, causal):
    q, k, v = _qkv(2, 4, 1000, 1000, D, torch.bfloat16)
    _check_grad(q, k, v, is_causal=causal)


@pytest.mark.gpu_only
@pytest.mark.parametrize("dtype", HALF)
def test_sdpa_gqa_mask_gpu(dtype):
    q, k, v = _qkv(2, 8, 777, 1031, 128, dtype, HK=2)
    m = make((2, 1, 777, 1031), torch.bool)
    m[..., 0] = True
    _check_grad(q, k, v, attn_mask=m, enable_gqa=True)
    _check_grad(q, k, v, is_causal=True, enable_gqa=True)

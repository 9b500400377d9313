"""triforge::reshape_and_cache and triforge::paged_attention against a float64 reference
that gathers each sequence's keys and values out of the cache."""
import math

import pytest
import torch

from triforge.ops.attention import paged  # noqa: F401  registers the triforge:: ops
from triforge.testing import assert_close, make, on_gpu, device

ops = torch.ops.triforge
TOL = {torch.float16: (3e-3, 3e-3), torch.bfloat16: (2e-2, 2e-2), torch.float32: (1e-5, 1e-5)}


def _cache(num_blocks, bs, hk, d, dtype):
    return make((num_blocks, bs, hk, d), dtype), make((num_blocks, bs, hk, d), dtype)


def _tables(ctx_lens, bs, max_blocks, num_blocks):
    """Each sequence gets distinct random blocks (so a wrong table lookup shows)."""
    perm = torch.randperm(num_blocks)
    bt = torch.zeros((len(ctx_lens), max_blocks), dtype=torch.int32)
    i = 0
    for s, n in enumerate(ctx_lens):
        nb = math.ceil(n / bs)
        bt[s, :nb] = perm[i:i + nb].to(torch.int32)
        i += nb
    return bt.to(device()), torch.tensor(ctx_lens, dtype=torch.int32, device=device())


def _reference(q, kc, vc, bt, ctx, scale, window=0, cap=0.0):
    q4 = q if q.dim() == 4 else q.unsqueeze(1)
    S, QL, HQ, D = q4.shape
    bs, HK = kc.shape[1], kc.shape[2]
    G = HQ // HK
    out = torch.zeros(S, QL, HQ, D, dtype=torch.float64)
    for s in range(S):
        n = int(ctx[s])
        p = torch.arange(n)
        slots = bt[s].cpu().long()[p // bs] * bs + p % bs
        k = kc.cpu().double().reshape(-1, HK, D)[slots].repeat_interleave(G, 1)   # [n, HQ, D]
        v = vc.cpu().double().reshape(-1, HK, D)[slots].repeat_interleave(G, 1)
        for t in range(QL):
            pos = n - QL + t
            sc = torch.einsum("hd,nhd->hn", q4[s, t].cpu().double(), k) * scale
            if cap > 0:
                sc = cap * torch.tanh(sc / cap)
            ok = p <= pos
            if window > 0:
                ok &= p > pos - window
            sc = sc.masked_fill(~ok, float("-inf"))
            if ok.any():
                out[s, t] = torch.einsum("hn,nhd->hd", torch.softmax(sc, -1), v)
    return out if q.dim() == 4 else out.squeeze(1)


def _run(S, HQ, HK, D, ctx_lens, dtype=torch.bfloat16, bs=16, qlen=None, window=0, cap=0.0, extra_blocks=0):
    max_blocks = max(math.ceil(max(ctx_lens) / bs), 1) + extra_blocks
    nblocks = sum(math.ceil(n / bs) for n in ctx_lens) + 3
    kc, vc = _cache(nblocks, bs, HK, D, dtype)
    bt, ctx = _tables(ctx_lens, bs, max_blocks, nblocks)
    q = make((S, HQ, D) if qlen is None else (S, qlen, HQ, D), dtype)
    scale = 1 / math.sqrt(D)
    out = ops.paged_attention(q, kc, vc, bt, ctx, scale, window, cap)
    assert out.shape == q.shape and out.dtype == dtype
    r, a = TOL[dtype]
    assert_close(out, _reference(q, kc, vc, bt, ctx, scale, window, cap), rtol=r, atol=a)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_paged_decode(dtype):
    _run(3, 4, 2, 16, [1, 17, 40], dtype)


def test_paged_long_context_splits():
    """Contexts longer than the split size: partial results combined."""
    _run(2, 2, 2, 16, [100, 33], extra_blocks=2)


@pytest.mark.parametrize("HK", [1, 4])
def test_paged_gqa_mqa_mha(HK):
    _run(2, 4, HK, 16, [20, 45])


def test_paged_odd_block_size_and_head_dim():
    _run(2, 2, 1, 24, [13, 50], bs=5)


def test_paged_multi_token_queries():
    _run(2, 4, 2, 16, [3, 41], qlen=3)


@pytest.mark.parametrize("window", [1, 7])
def test_paged_sliding_window(window):
    _run(2, 2, 1, 16, [9, 70], window=window, qlen=2)


def test_paged_soft_cap():
    q_scale_big = 4.0
    S, HQ, HK, D = 2, 2, 1, 16
    kc, vc = _cache(10, 16, HK, D, torch.float32)
    kc *= q_scale_big
    bt, ctx = _tables([30, 7], 16, 3, 10)
    q = make((S, HQ, D), torch.float32) * q_scale_big
    out = ops.paged_attention(q, kc, vc, bt, ctx, 0.25, 0, 5.0)
    ref = _reference(q, kc, vc, bt, ctx, 0.25, 0, 5.0)
    assert_close(out, ref, rtol=1e-5, atol=1e-5)
    uncapped = _reference(q, kc, vc, bt, ctx, 0.25)
    assert (ref - uncapped).abs().max() > 1e-2   # the cap changed the answer


def test_paged_empty_batch():
    kc, vc = _cache(2, 16, 1, 16, torch.float16)
    q = make((0, 2, 16), torch.float16)
    bt = torch.zeros((0, 2), dtype=torch.int32, device=device())
    out = ops.paged_attention(q, kc, vc, bt, torch.zeros(0, dtype=torch.int32, device=device()), 0.25)
    assert out.shape == q.shape


def test_paged_errors():
    kc, vc = _cache(2, 16, 3, 16, torch.float16)
    bt = torch.zeros((1, 2), dtype=torch.int32, device=device())
    ctx = torch.ones(1, dtype=torch.int32, device=device())
    with pytest.raises(ValueError):
        ops.paged_attention(make((1, 4, 16), torch.float16), kc, vc, bt, ctx, 1.0)   # 4 % 3
    with pytest.raises(ValueError):
        ops.paged_attention(make((1, 3, 16), torch.float32), kc, vc, bt, ctx, 1.0)   # dtype


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_reshape_and_cache(dtype):
    nb, bs, H, D = 4, 5, 2, 24
    kc, vc = _cache(nb, bs, H, D, dtype)
    kc0, vc0 = kc.clone(), vc.clone()
    T = 6
    k = make((T, H * 2, D), dtype)[:, ::2]     # strided input
    v = make((T, H, D), dtype)
    slots = torch.tensor([0, 7, -1, 19, 3, 12], device=device())
    ops.reshape_and_cache(k, v, kc, vc, slots)
    ek, ev = kc0.reshape(-1, H, D).clone(), vc0.reshape(-1, H, D).clone()
    keep = slots >= 0
    ek[slots[keep]] = k[keep]
    ev[slots[keep]] = v[keep]
    assert torch.equal(kc.reshape(-1, H, D), ek) and torch.equal(vc.reshape(-1, H, D), ev)


def test_cache_then_decode_end_to_end():
    """Write a prompt with reshape_and_cache, then decode against it."""
    bs, H, D, n = 4, 2, 16, 11
    kc, vc = _cache(8, bs, H, D, torch.float32)
    bt = torch.tensor([[5, 2, 7]], dtype=torch.int32, device=device())
    p = torch.arange(n)
    slots = (bt[0].cpu().long()[p // bs] * bs + p % bs).to(device())
    k, v = make((n, H, D)), make((n, H, D))
    ops.reshape_and_cache(k, v, kc, vc, slots)
    q = make((1, H, D))
    out = ops.paged_attention(q, kc, vc, bt, torch.tensor([n], dtype=torch.int32, device=device()), 0.25)
    ref = torch.softmax(torch.einsum("hd,nhd->hn", q[0].double(), k.double()) * 0.25, -1)
    assert_close(out[0], torch.einsum("hn,nhd->hd", ref, v.double()))


def test_fake_impls_trace():
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        q = torch.empty(2, 4, 16, dtype=torch.bfloat16)
        kc = torch.empty(3, 16, 2, 16, dtype=torch.bfloat16)
        out = ops.paged_attention(q, kc, kc, torch.zeros(2, 3, dtype=torch.int32),
                                  torch.ones(2, dtype=torch.int32), 0.25)
        assert out.shape == q.shape
        ops.reshape_and_cache(torch.empty(5, 2, 16, dtype=torch.bfloat16), torch.empty(5, 2, 16, dtype=torch.bfloat16),
                              kc, kc, torch.zeros(5, dtype=torch.int64))
    torch.library.opcheck(ops.paged_attention.default,
                          (make((2, 4, 16)), *_cache(4, 16, 2, 16, torch.float32),
                           torch.tensor([[0, 1], [2, 3]], dtype=torch.int32, device=device()),
                           torch.tensor([20, 5], dtype=torch.int32, device=device()), 0.25),
                          test_utils=("test_schema", "test_faketensor"))


@pytest.mark.gpu_only
def test_paged_decode_gpu_real_size():
    """32 sequences up to 8k context, 32 q heads / 8 kv heads, d128, bf16."""
    lens = [8192 - 37 * i for i in range(32)]
    _run(32, 32, 8, 128, lens, torch.bfloat16, bs=16)

"""Attention benchmark cases (issue 6; shapes from PERF_TARGETS.md and the issue).

SDPA cases report TFLOP/s (flops=: 4*B*H*Lq*Lk*D for the two products of the forward,
halved when causal; fwd+bwd counts 3.5x the forward: the backward's five products).
The paged decode case is memory bound: bytes = the K and V cache entries the contexts
cover (+ q and out), against the copy ceiling. Its "torch" side has no paged kernel to
call, so it gathers K/V through the block table and runs SDPA (what a program without
a paged kernel does); its triforge side is triforge::paged_attention, a custom op the
coverage table does not list (it is not an aten op): its path column names it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import registry
from .cases import Case, _randn

SDPA = ("scaled_dot_product_attention",)


def qkv(shape, dtype, device):
    b, h, s, d = shape
    return tuple(_randn((b, h, s, d), dtype, device) for _ in range(3))


def qkv_grad(shape, dtype, device):
    q, k, v = (t.requires_grad_() for t in qkv(shape, dtype, device))
    return q, k, v, _randn(shape, dtype, device)


def _flops(causal, factor=1.0):
    def f(shape):
        b, h, s, d = shape
        return factor * 4 * b * h * s * s * d / (2 if causal else 1)
    return f


def _fwd_bwd(q, k, v, g):
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return torch.autograd.grad(o, (q, k, v), g)[0]   # all three computed; dq compared


# -- paged decode -------------------------------------------------------------------------
_BLOCK = 16


def paged_inputs(shape, dtype, device):
    """(seqs, q heads, kv heads, context, head dim): every sequence at full context."""
    s, hq, hk, n, d = shape
    per = (n + _BLOCK - 1) // _BLOCK
    kc = _randn((s * per, _BLOCK, hk, d), dtype, device)
    vc = _randn((s * per, _BLOCK, hk, d), dtype, device)
    bt = torch.randperm(s * per, device=device).to(torch.int32).view(s, per)
    ctx = torch.full((s,), n, dtype=torch.int32, device=device)
    return _randn((s, hq, d), dtype, device), kc, vc, bt, ctx


def _paged(q, kc, vc, bt, ctx):
    scale = q.shape[-1] ** -0.5
    if "scaled_dot_product_attention" in registry.active():
        from ..ops.attention import paged  # noqa: F401  registers triforge::paged_attention
        return torch.ops.triforge.paged_attention(q, kc, vc, bt, ctx, scale)
    s, n = bt.shape[0], int(ctx[0])
    k = kc[bt.long()].flatten(1, 2)[:, :n].transpose(1, 2)   # [s, hk, n, d]
    v = vc[bt.long()].flatten(1, 2)[:, :n].transpose(1, 2)
    return F.scaled_dot_product_attention(q.unsqueeze(2), k, v, scale=scale, enable_gqa=True).squeeze(2)


def _paged_bytes(inputs, out):
    q, kc, vc, bt, ctx = inputs
    s, hk, d = bt.shape[0], kc.shape[2], kc.shape[3]
    kv = 2 * int(ctx.sum()) * hk * d * kc.element_size()
    return kv + 2 * q.numel() * q.element_size() + bt.numel() * bt.element_size()


CASES = [
    Case("sdpa causal b4 h32 s4096 d128", "attention", (4, 32, 4096, 128), qkv,
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), ops=SDPA,
         flops=_flops(True), quick=(1, 2, 64, 64)),
    Case("sdpa b4 h32 s4096 d128", "attention", (4, 32, 4096, 128), qkv,
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v), ops=SDPA,
         flops=_flops(False), quick=(1, 2, 64, 64)),
    Case("sdpa causal b4 h32 s4096 d64", "attention", (4, 32, 4096, 64), qkv,
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), ops=SDPA,
         flops=_flops(True), quick=(1, 2, 64, 64)),
    Case("sdpa causal fwd+bwd b4 h32 s4096 d128", "attention", (4, 32, 4096, 128), qkv_grad, _fwd_bwd,
         ops=SDPA, flops=_flops(True, 3.5), quick=(1, 2, 64, 64)),
    Case("paged decode 32 seq x 8k, 32q/8kv heads d128", "attention", (32, 32, 8, 8192, 128),
         paged_inputs, _paged, ops=SDPA, bytes=_paged_bytes, quick=(2, 4, 2, 100, 64),
         custom="triforge::paged_attention"),
]

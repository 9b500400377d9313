"""Exploration (Hopper): what would bring SDPA forward to torch's speed? Times, against
torch SDPA in one run, on b4 h32 s4096 (d128 and d64, causal and not):
  - triforge's kernel (ops/attention/flash.py) under other (BLOCK_M, BLOCK_N, warps,
    stages) rows of its table;
  - a forward that reads Q/K/V and writes O through TMA tensor descriptors, with the
    key loop optionally warp-specialised (tl.range(warp_specialize=True)).
Contiguous (B, H, S, D) inputs with S a multiple of the blocks only: enough to decide
whether the descriptor route is worth building into flash.py. Compiled for sm90 on the
CPU (runtime.compile_check): every warp-specialised variant failed in Triton 3.6's
pass pipeline (a dominance assertion), so only plain pipelined ones are timed.
    python scripts/explore_attention.py > attention.txt
    python scripts/explore_attention.py --bwd > attention_bwd.txt   # flash_tma.backward configs
    TRITON_INTERPRET=1 python scripts/explore_attention.py --check   # logic, on the CPU
"""
import sys

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

_LOG2E = 1.4426950408889634


@triton.jit
def _step(acc, m_i, l_i, q, k, v, offs_m, cols, qk_scale, MASKED: tl.constexpr, UPCAST: tl.constexpr):
    if UPCAST:   # the interpreter's dot multiplies 16-bit bit patterns
        s = tl.dot(q.to(tl.float32), k.to(tl.float32).T) * qk_scale
    else:
        s = tl.dot(q, k.T) * qk_scale
    if MASKED:
        s = tl.where(cols[None, :] <= offs_m[:, None], s, -float("inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    p = tl.math.exp2(s - m_new[:, None])
    alpha = tl.math.exp2(m_i - m_new)
    l_i = l_i * alpha + tl.sum(p, 1)
    if UPCAST:
        acc = acc * alpha[:, None] + tl.dot(p, v.to(tl.float32))
    else:
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
    return acc, m_new, l_i


@triton.jit
def _fwd_tma(q_desc, k_desc, v_desc, o_desc, H, G, L, S, qk_scale, D: tl.constexpr, BLOCK_M: tl.constexpr,
             BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr, WS: tl.constexpr, UPCAST: tl.constexpr):
    start_m = tl.program_id(0)
    if CAUSAL:   # the longest rows first
        start_m = tl.num_programs(0) - 1 - start_m
    bh = tl.program_id(1)
    kv_row = ((bh // H) * (H // G) + (bh % H) // G) * S   # this head's K/V rows in the (B*HK*S, D) view
    q_row = bh * L + start_m * BLOCK_M
    q = q_desc.load([q_row, 0])
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    if CAUSAL:   # key blocks left of the diagonal tile need no mask (L == S here)
        full = start_m * BLOCK_M
    else:
        full = S
    for n0 in tl.range(0, full, BLOCK_N, warp_specialize=WS):
        k = k_desc.load([kv_row + n0, 0])
        v = v_desc.load([kv_row + n0, 0])
        acc, m_i, l_i = _step(acc, m_i, l_i, q, k, v, offs_m, n0 + tl.arange(0, BLOCK_N), qk_scale, False, UPCAST)
    if CAUSAL:
        for n0 in range(full, full + BLOCK_M, BLOCK_N):
            k = k_desc.load([kv_row + n0, 0])
            v = v_desc.load([kv_row + n0, 0])
            acc, m_i, l_i = _step(acc, m_i, l_i, q, k, v, offs_m, n0 + tl.arange(0, BLOCK_N), qk_scale, True,
                                  UPCAST)
    o_desc.store([q_row, 0], (acc / l_i[:, None]).to(o_desc.dtype))


def tma_sdpa(q, k, v, causal, cfg, upcast=False):
    BM, BN, warps, stages, ws = cfg
    B, H, L, D = q.shape
    HK, S = k.shape[1], k.shape[2]
    assert L % BM == 0 and S % BN == 0 and (not causal or L == S) and q.is_contiguous()
    o = torch.empty_like(q)
    qd = TensorDescriptor(q, [B * H * L, D], [D, 1], [BM, D])
    kd = TensorDescriptor(k, [B * HK * S, D], [D, 1], [BN, D])
    vd = TensorDescriptor(v, [B * HK * S, D], [D, 1], [BN, D])
    od = TensorDescriptor(o, [B * H * L, D], [D, 1], [BM, D])
    _fwd_tma[(L // BM, B * H)](qd, kd, vd, od, H, H // HK, L, S, D ** -0.5 * _LOG2E, D, BM, BN, causal, ws, upcast,
                               num_warps=warps, num_stages=stages)
    return o


def check_on_cpu():
    torch.manual_seed(0)
    for causal in (False, True):
        for hk in (2, 1):
            q = torch.randn(1, 2, 64, 16)
            k, v = torch.randn(1, hk, 64, 16), torch.randn(1, hk, 64, 16)
            ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hk != 2)
            out = tma_sdpa(q, k, v, causal, (16, 16, 4, 1, False), upcast=True)
            print(f"causal={causal} kv heads={hk}: max error {(out - ref).abs().max().item():.2e}")


def main():
    import triton.testing

    import triforge
    from triforge.ops.attention import flash

    def bench(fn):
        return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")

    table = flash._cfg
    for d, causal in ((128, True), (128, False), (64, True)):
        q, k, v = (torch.randn(4, 32, 4096, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        flops = 4 * 4 * 32 * 4096 * 4096 * d / (2 if causal else 1)
        f = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # noqa: E731
        ref = f()
        t_torch = bench(f)
        print(f"d{d} causal={causal}: torch {t_torch:.4f} ms ({flops / t_torch / 1e9:.0f} TF/s)", flush=True)
        for cfg in [(128, 64, 8, 3), (128, 128, 8, 3), (128, 128, 8, 2), (128, 64, 4, 3), (64, 64, 4, 3),
                    (128, 32, 4, 4), (64, 128, 4, 3)]:
            flash._cfg = dict(table, fwd=((256, cfg),))
            try:
                with triforge.use():
                    f()
                    t = bench(f)
                print(f"  flash.py {cfg}: {t:.4f} ms ({flops / t / 1e9:.0f} TF/s, {t_torch / t:.3f}x)", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources
                print(f"  flash.py {cfg}: {type(e).__name__}: {str(e)[:120]}", flush=True)
        flash._cfg = table
        for cfg in [(128, 128, 8, 3, False), (128, 64, 8, 3, False), (128, 128, 8, 2, False), (128, 64, 4, 4, False),
                    (128, 128, 4, 3, False), (64, 64, 4, 4, False), (128, 64, 8, 4, False)]:
            try:
                g = lambda: tma_sdpa(q, k, v, causal, cfg)  # noqa: E731
                err = (g().float() - ref.float()).abs().max().item()
                t = bench(g)
                print(f"  tma {cfg}: {t:.4f} ms ({flops / t / 1e9:.0f} TF/s, {t_torch / t:.3f}x) "
                      f"{'ok' if err < 2e-2 else f'WRONG {err:.3g}'}", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources, unsupported combinations
                print(f"  tma {cfg}: {type(e).__name__}: {str(e)[:120]}", flush=True)


# (dK/dV kernel's BM, BN, dQ kernel's BM, BN, warps, stages): each compiles for sm90 within
# shared memory at d64 and d128 (runtime.compile_check)
BWD_CONFIGS = [(32, 128, 128, 32, 4, 2), (64, 128, 128, 64, 8, 2), (32, 64, 64, 32, 4, 2), (64, 64, 64, 64, 4, 2),
               (64, 128, 128, 64, 8, 3), (32, 128, 128, 32, 8, 3)]


def main_bwd():
    """--bwd: forward + backward, flash.py's pointer backward against flash_tma.backward
    under each BWD_CONFIGS row (the forward is the same in both), torch in the same run;
    gradients checked against torch's."""
    import triton.testing

    import triforge
    from triforge.ops.attention import flash_tma

    def bench(fn):
        return triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median")

    for d, causal in ((128, True), (128, False), (64, True)):
        q, k, v = (torch.randn(4, 32, 4096, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                   for _ in range(3))
        g = torch.randn_like(q)
        flops = 4 * 4 * 32 * 4096 * 4096 * d / (2 if causal else 1) * 3.5   # fwd 2 + bwd 5 products of 2 flops

        def step():
            for t in (q, k, v):
                t.grad = None
            F.scaled_dot_product_attention(q, k, v, is_causal=causal).backward(g)
            return q.grad, k.grad, v.grad
        ref = [t.clone() for t in step()]
        t_torch = bench(step)
        print(f"d{d} causal={causal} fwd+bwd: torch {t_torch:.4f} ms ({flops / t_torch / 1e9:.0f} TF/s)", flush=True)
        for cfg in [None] + BWD_CONFIGS:
            flash_tma._BWD_CFG = {} if cfg is None else {d: cfg}
            name = "flash.py backward" if cfg is None else f"tma backward {cfg}"
            try:
                with triforge.use():
                    got = step()
                    err = max((a.float() - b.float()).abs().max().item() for a, b in zip(got, ref))
                    t = bench(step)
                print(f"  {name}: {t:.4f} ms ({flops / t / 1e9:.0f} TF/s, {t_torch / t:.3f}x) "
                      f"{'ok' if err < 5e-2 else f'WRONG {err:.3g}'}", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources
                print(f"  {name}: {type(e).__name__}: {str(e)[:120]}", flush=True)


if __name__ == "__main__":
    check_on_cpu() if "--check" in sys.argv else main_bwd() if "--bwd" in sys.argv else main()

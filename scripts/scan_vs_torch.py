"""Scan (GPU): many ops at one medium size each, triforge against torch in the same
run, sorted slowest first -- to find ops that a user would see run slower than torch
(no bench case covers them). do_bench medians with a short rep; a ratio under ~0.9 is
worth a look, within 0.9-1.1 is noise at this rep.
    python scripts/scan_vs_torch.py [--dtype float64] [name substring ...] > scan.txt
--dtype: the floating dtype of the inputs (bfloat16 by default): float64 matmuls ran at
0.008x torch on FMA tiles until 23a32ce, which no bf16/float32 case showed.
"""
import sys

import torch
import torch.nn.functional as F
import triton.testing

import triforge

D = "cuda"
B = torch.bfloat16


def r(*shape, dtype=None):
    return torch.randn(*shape, device=D, dtype=dtype or B)


def cases():
    x = r(4096, 4096)
    xf = r(4096, 4096, dtype=torch.float32)
    y = r(4096, 4096)
    pos = x.abs() + 0.1
    p = torch.sigmoid(x)
    t = (torch.rand(4096, 4096, device=D) > 0.5).to(B)
    logits = r(8192, 1024)
    tgt = torch.randint(0, 1024, (8192,), device=D)
    ids = torch.randint(0, 4096, (4096,), device=D)
    idx2 = torch.randint(0, 4096, (4096, 4096), device=D)
    mask = torch.rand(4096, 4096, device=D) > 0.5
    img = r(32, 64, 56, 56)
    w64 = r(64)
    q3, k3 = r(8, 512, 128), r(8, 512, 128)
    qkv = r(3, 2, 8, 1024, 64)
    yield "mean dim=-1", lambda: x.mean(-1)
    yield "mean all", lambda: x.mean()
    yield "nansum dim=-1", lambda: x.nansum(-1)
    yield "prod dim=-1", lambda: (x * 0.01 + 1).prod(-1)
    yield "std dim=-1", lambda: x.std(-1)
    yield "var_mean dim=-1", lambda: torch.var_mean(x, -1)
    yield "var dim=0", lambda: x.var(0)
    yield "max.dim -1", lambda: x.max(-1)
    yield "min.dim 0", lambda: x.min(0)
    yield "aminmax dim=-1", lambda: torch.aminmax(x, dim=-1)
    yield "argmin dim=0", lambda: x.argmin(0)
    yield "all dim=-1", lambda: mask.all(-1)
    yield "any all", lambda: mask.any()
    yield "count_nonzero dim=-1", lambda: torch.count_nonzero(mask, -1)
    yield "norm 2 dim=-1", lambda: torch.linalg.vector_norm(x, 2, -1)
    yield "norm inf all", lambda: torch.linalg.vector_norm(x, float("inf"))
    yield "logsumexp dim=0", lambda: torch.logsumexp(x, 0)
    yield "cumsum dim=0", lambda: x.cumsum(0)
    yield "cumprod dim=-1", lambda: (x * 0.001 + 1).cumprod(-1)
    yield "cummax dim=-1", lambda: x.cummax(-1)
    yield "softmax dim=0", lambda: torch.softmax(x, 0)
    yield "log_softmax fp32", lambda: torch.log_softmax(xf, -1)
    yield "layer_norm no affine", lambda: F.layer_norm(x, (4096,))
    yield "group_norm 32", lambda: F.group_norm(img, 32)
    yield "batch_norm eval", lambda: F.batch_norm(img, w64, w64.abs(), training=False)
    yield "batch_norm train", lambda: F.batch_norm(img, None, None, training=True)
    yield "mse_loss", lambda: F.mse_loss(x, y)
    yield "l1_loss", lambda: F.l1_loss(x, y)
    yield "smooth_l1_loss", lambda: F.smooth_l1_loss(x, y)
    yield "huber none", lambda: F.huber_loss(x, y, reduction="none")
    yield "bce", lambda: F.binary_cross_entropy(p, t)
    yield "bce_with_logits", lambda: F.binary_cross_entropy_with_logits(x, t)
    yield "kl_div", lambda: F.kl_div(torch.log_softmax(x, -1), torch.softmax(y, -1), reduction="batchmean")
    yield "nll_loss", lambda: F.nll_loss(torch.log_softmax(logits, -1), tgt)
    yield "cross_entropy 1024 cls", lambda: F.cross_entropy(logits, tgt)
    yield "index_select dim 0", lambda: x.index_select(0, ids)
    yield "gather dim 1", lambda: x.gather(1, idx2)
    yield "scatter_add dim 1", lambda: torch.zeros_like(x).scatter_add(1, idx2, y)
    yield "index_add dim 0", lambda: torch.zeros_like(x).index_add(0, ids, y)
    yield "index_put accumulate", lambda: torch.zeros_like(x).index_put((ids,), y, accumulate=True)
    yield "x[mask]", lambda: x[mask]
    yield "masked_fill", lambda: x.masked_fill(mask, 0.0)
    yield "where", lambda: torch.where(mask, x, y)
    yield "nonzero", lambda: mask.nonzero()
    yield "cat dim 1", lambda: torch.cat([x, y], 1)
    yield "stack", lambda: torch.stack([x, y])
    yield "flip dim 1", lambda: x.flip(1)
    yield "roll dim 1", lambda: x.roll(7, 1)
    yield "repeat 2x1", lambda: x.repeat(2, 1)
    yield "repeat_interleave 2", lambda: x.repeat_interleave(2, 0)
    yield "pad constant", lambda: F.pad(x, (3, 5, 1, 1))
    yield "pad reflect", lambda: F.pad(img, (3, 3, 3, 3), mode="reflect")
    yield "tril", lambda: x.tril()
    yield "clamp", lambda: x.clamp(-0.5, 0.5)
    yield "abs", lambda: x.abs()
    yield "exp", lambda: x.exp()
    yield "log", lambda: pos.log()
    yield "sqrt", lambda: pos.sqrt()
    yield "rsqrt", lambda: pos.rsqrt()
    yield "tanh", lambda: x.tanh()
    yield "sigmoid", lambda: x.sigmoid()
    yield "gelu erf", lambda: F.gelu(x)
    yield "relu", lambda: F.relu(x)
    yield "sin", lambda: x.sin()
    yield "pow 2", lambda: x.pow(2)
    yield "div", lambda: x / pos
    yield "fp32 add", lambda: xf + xf
    yield "addcmul", lambda: torch.addcmul(x, y, y, value=0.5)
    yield "lerp", lambda: torch.lerp(x, y, 0.3)
    yield "sort 1024 rows", lambda: r(16384, 1024).sort(-1)
    yield "topk 8 of 4096", lambda: x.topk(8, -1)
    yield "median dim=-1", lambda: x.median(-1)
    yield "kthvalue dim=-1", lambda: x.kthvalue(100, -1)
    yield "unique", lambda: ids.unique()
    yield "bincount", lambda: ids.bincount()
    yield "searchsorted", lambda: torch.searchsorted(torch.arange(4096, device=D, dtype=torch.float32), xf)
    yield "embedding", lambda: F.embedding(idx2[:256], x)
    yield "dropout", lambda: F.dropout(x, 0.1)
    yield "mm 2048^3", lambda: x[:2048, :2048] @ y[:2048, :2048]
    yield "linear 4096x4096->1024", lambda: F.linear(x, y[:1024])
    yield "bmm 8x512x128x512", lambda: torch.bmm(q3, k3.mT)
    yield "sdpa causal 2x8x1024x64", lambda: F.scaled_dot_product_attention(*qkv, is_causal=True)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=40, return_mode="median")


def main():
    global B
    args = sys.argv[1:]
    if "--dtype" in args:
        i = args.index("--dtype")
        B = getattr(torch, args[i + 1])
        del args[i:i + 2]
    print(torch.cuda.get_device_name(), B, flush=True)
    rows = []
    only = args
    for name, fn in cases():
        if only and not any(o in name for o in only):
            continue
        try:
            fn()
            t0 = bench(fn)
            with triforge.use():
                fn()
                t1 = bench(fn)
            rows.append((t0 / t1, name, t0, t1))
            print(f"{name:24s} torch {t0 * 1e3:9.1f} us  triforge {t1 * 1e3:9.1f} us  {t0 / t1:6.2f}x", flush=True)
        except Exception as e:   # an op that fails here is itself a finding
            print(f"{name:24s} ERROR {type(e).__name__}: {str(e)[:120]}", flush=True)
    print("\n## slowest first")
    for ratio, name, t0, t1 in sorted(rows):
        print(f"{ratio:6.2f}x  {name:24s} torch {t0 * 1e3:9.1f} us  triforge {t1 * 1e3:9.1f} us")


if __name__ == "__main__":
    main()

"""Exploration (GPU): float32 products with TF32 off through Triton's tf32x3 dot (each
operand split into a TF32 high part and the rest, three TF32 products, the cross terms'
NaN from infinite inputs dropped) against torch's IEEE cuBLAS, per operand layout.

explore_fp32.py's tensor() at 54db378 (H100) found it 1.58-1.60x cuBLAS with B K-contiguous
(F.linear) at error 2.4e-7 against float64 (cuBLAS 1.1e-6), but 0.68x with B N-contiguous
(a row-major B: torch.mm, linear's dx). The layouts a training step meets:
  NT  x @ W.T  (forward)         A K-contig, B K-contig
  NN  dy @ W   (dx) and mm       A K-contig, B N-contig
  TN  dy.T @ x (dW)              A M-contig, B N-contig
Variants for NN/TN: the product as is; swapped (C.T = B.T @ A.T, so the new B is K-contig and
C is written through its transposed strides); B copied K-contiguous first (copy timed).
Each line: ms, TFLOP/s, x torch, error against float64 next to torch's, and whether
infinities and NaNs land where torch's do.
    python scripts/explore_fp32_x3.py > x3.txt
"""
import sys

import torch
import triton
import triton.language as tl
import triton.testing

import triforge
from triforge.ops.matmul.kernels import gemm_kernel

torch.backends.cuda.matmul.allow_tf32 = False
CFGS = [(128, 128, 32, 8, 8, 3), (128, 128, 32, 8, 8, 4), (128, 128, 16, 8, 8, 4), (128, 64, 32, 8, 4, 4),
        (256, 128, 32, 8, 8, 3), (128, 128, 64, 8, 8, 2), (64, 128, 32, 8, 4, 4), (128, 256, 32, 8, 8, 3)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=60, return_mode="median")


def x3(a, b, c, cfg, prec="tf32x3"):
    """c = a @ b on gemm_kernel's plain tile path (batched if 3-d), precision prec."""
    bm, bn, bk, g, warps, stages = cfg
    if a.dim() == 2:
        a, b, c = a[None], b[None], c[None]
    B, M, K = a.shape
    N = b.shape[2]
    grid = (triton.cdiv(M, bm) * triton.cdiv(N, bn), B, 1)
    gemm_kernel[grid](a, b, c, c, c, c, M, N, K, 1, K, *a.stride(), *b.stride(), *c.stride(), 0, 0, 0,
                      1.0, 0.0, False, False, False, False, tl.float32, prec, 0, False,
                      bm, bn, bk, g, False, 0, num_warps=warps, num_stages=stages)


def err(c, ref):
    return ((c.double() - ref).norm() / ref.norm()).item()


def specials(fn_ours, a, b):
    """Whether inf/NaN land as torch's with an infinity in a and a NaN in b."""
    a = a.clone()
    b = b.clone()
    a[..., 3, 5] = float("inf")
    a[..., 7, 9] = -float("inf")
    b[..., 11, 2] = float("nan")
    want = a @ b
    got = fn_ours(a, b)
    same = torch.equal(torch.isnan(got), torch.isnan(want)) and torch.equal(torch.isinf(got), torch.isinf(want))
    fin = torch.isfinite(want)
    return "specials ok" if same and err(got[fin], want[fin].double()) < 1e-5 else "SPECIALS DIFFER"


def fresh(fn, a, b, cfg):
    c = torch.empty(*a.shape[:-1], b.shape[-1], device=a.device)
    fn(a, b, c, cfg)
    return c


def case(name, a, b):
    M, N, K = a.shape[-2], b.shape[-1], a.shape[-1]
    B = a.shape[0] if a.dim() == 3 else 1
    flops = 2 * B * M * N * K
    ref = (a.double() @ b.double())
    t_torch = bench(lambda: a @ b)
    e_torch = err(a @ b, ref)
    print(f"{name}: torch {t_torch:.3f} ms {flops / t_torch / 1e9:.1f} TFLOP/s err {e_torch:.1e}", flush=True)
    c = torch.empty(ref.shape, device="cuda")
    with triforge.use():
        t = bench(lambda: torch.matmul(a, b, out=c))
        print(f"  triforge now: {t:.3f} ms {t_torch / t:.3f}x err {err(c, ref):.1e}", flush=True)

    def line(label, fn, cfg):
        try:
            c.fill_(float("nan"))
            fn(a, b, c, cfg)
            e = err(c, ref)
            t = bench(lambda: fn(a, b, c, cfg))
            sp = specials(lambda x, y: fresh(fn, x, y, cfg), a, b)
        except Exception as ex:   # noqa: BLE001 -- out of resources
            print(f"  {label} {cfg}: {type(ex).__name__} {str(ex)[:80]}", flush=True)
            return
        print(f"  {label} {cfg}: {t:.3f} ms {flops / t / 1e9:.1f} TFLOP/s {t_torch / t:.3f}x err {e:.1e} {sp}",
              flush=True)

    def swapped(a, b, c, cfg):   # c.T = b.T @ a.T
        x3(b.transpose(-1, -2), a.transpose(-1, -2), c.transpose(-1, -2), cfg)

    def copied(a, b, c, cfg):    # b made K-contiguous first
        x3(a, b.transpose(-1, -2).contiguous().transpose(-1, -2), c, cfg)

    for cfg in CFGS:
        line("x3", x3, cfg)
    kcontig = b.stride(-2) == 1
    if not kcontig:
        for cfg in CFGS[:5]:
            line("x3 swapped", swapped, cfg)
        for cfg in CFGS[:3]:
            line("x3 B copied", copied, cfg)


def main():
    which = sys.argv[1:]
    torch.manual_seed(0)
    r = lambda *s: torch.randn(*s, device="cuda")   # noqa: E731
    print(torch.cuda.get_device_name(), flush=True)
    cases = [
        ("NT linear 4096 tok 4096->4096", lambda: (r(4096, 4096), r(4096, 4096).t())),
        ("NT linear 4096 tok 4096->14336", lambda: (r(4096, 4096), r(14336, 4096).t())),
        ("NT linear 4096 tok 14336->4096", lambda: (r(4096, 14336), r(4096, 14336).t())),
        ("NN mm 4096^3", lambda: (r(4096, 4096), r(4096, 4096))),
        ("NN mm 8192^3", lambda: (r(8192, 8192), r(8192, 8192))),
        ("TN dW 4096 tok 4096x4096", lambda: (r(4096, 4096).t(), r(4096, 4096))),
        ("NT bmm 32x4096x128x4096", lambda: (r(32, 4096, 128), r(32, 4096, 128).transpose(1, 2))),
    ]
    for name, make in cases:
        if which and not any(w in name for w in which):
            continue
        a, b = make()
        case(name, a, b)
        del a, b
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()

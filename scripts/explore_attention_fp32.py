"""Exploration (GPU): float32 SDPA through flash.py's pointer kernels with IEEE products
(tl.dot's FMA form, as now) against tf32x3 (three TF32 products of each operand's split,
gemm.py's x3), torch's float32 SDPA in the same run; error of each against a float64 SDPA.
    python scripts/explore_attention_fp32.py > attention_fp32.txt
    python scripts/explore_attention_fp32.py --cfg > attention_fp32_cfg.txt
--cfg: float32 tiles for unmasked calls (the table's "fwd32" / "bwd32" rows; without them,
the half-precision rows clamped to 64x32 forward, 32x32 backward, 1-2 stages), tf32x3.
"""
import sys
import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.attention import flash
from triforge.runtime import fastpath


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median")


def err(x, ref):
    return ((x.double() - ref).norm() / ref.norm()).item()


def problem(b, h, s, d, causal):
    """float32 q, k, v (needing grad), an output gradient, and the forward and forward+backward
    calls on them."""
    q, k, v = (torch.randn(b, h, s, d, device="cuda", requires_grad=True) for _ in range(3))
    go = torch.randn(b, h, s, d, device="cuda")

    def fwd():
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def step():
        q.grad = k.grad = v.grad = None
        fwd().backward(go)

    return q, k, v, go, fwd, step


def main():
    print(torch.cuda.get_device_name(), flush=True)
    real = flash._prec
    for b, h, s, d, causal in ((4, 16, 1024, 64, True), (4, 16, 1024, 128, False), (2, 16, 2048, 128, True)):
        q, k, v, go, fwd, step = problem(b, h, s, d, causal)
        qd, kd, vd = (x.detach().double().requires_grad_() for x in (q, k, v))
        ref = F.scaled_dot_product_attention(qd, kd, vd, is_causal=causal)
        ref.backward(go.double())

        def line(label):
            out = fwd()
            step()
            e = (err(out, ref), err(q.grad, qd.grad), err(k.grad, kd.grad), err(v.grad, vd.grad))
            t1, t2 = bench(fwd), bench(step)
            return f"{label}: fwd {t1:.3f} ms, fwd+bwd {t2:.3f} ms, err out {e[0]:.1e} dq {e[1]:.1e} " \
                   f"dk {e[2]:.1e} dv {e[3]:.1e}", t1, t2

        with torch.backends.cuda.sdp_kernel(enable_flash=False):
            txt, t1, t2 = line("torch")
        print(f"b{b} h{h} s{s} d{d} {'causal' if causal else 'full'}\n  {txt}", flush=True)
        for prec in ("ieee", "tf32x3"):
            flash._prec = (lambda dtype, p=prec: p if dtype is torch.float32 else real(dtype))
            if fastpath.module() is not None:
                fastpath.module().clear_recipes()
            try:
                with triforge.use():
                    txt, u1, u2 = line(f"triforge {prec}")
                print(f"  {txt} (x torch {t1 / u1:.2f} / {t2 / u2:.2f})", flush=True)
            except Exception as ex:   # noqa: BLE001
                print(f"  triforge {prec}: {type(ex).__name__} {str(ex)[:120]}", flush=True)
        flash._prec = real


FWD = [(64, 32, 4, 2), (64, 32, 8, 2), (64, 64, 4, 2), (128, 32, 8, 2), (64, 64, 8, 2), (128, 64, 8, 2),
       (64, 32, 4, 3)]
BWD = [(32, 32, 32, 32, 4, 1), (32, 64, 64, 32, 4, 1), (64, 64, 64, 64, 4, 1), (32, 32, 32, 32, 4, 2),
       (64, 32, 32, 64, 8, 1), (64, 64, 64, 64, 8, 1)]


def cfg_sweep():
    print(torch.cuda.get_device_name(), flush=True)
    orig = flash._cfg
    for b, h, s, d, causal in ((4, 16, 1024, 64, True), (2, 16, 2048, 128, True), (4, 16, 1024, 128, False)):
        q, k, v, go, fwd, step = problem(b, h, s, d, causal)
        ref = F.scaled_dot_product_attention(*(x.detach().double() for x in (q, k, v)), is_causal=causal)

        with torch.backends.cuda.sdp_kernel(enable_flash=False):
            t1, t2 = bench(fwd), bench(step)
        print(f"b{b} h{h} s{s} d{d} {'causal' if causal else 'full'}: torch fwd {t1:.3f} fwd+bwd {t2:.3f} ms",
              flush=True)
        rows = [("fwd32", r) for r in FWD] + [("bwd32", r) for r in BWD]
        for key, row in rows:
            flash._cfg = dict(orig, **{key: ((256, row),)})
            if fastpath.module() is not None:
                fastpath.module().clear_recipes()
            try:
                with triforge.use():
                    e = err(fwd(), ref)
                    u = bench(fwd if key == "fwd32" else step)
                t = t1 if key == "fwd32" else t2
                print(f"  {key} {row}: {u:.3f} ms x torch {t / u:.2f} err {e:.1e}", flush=True)
            except Exception as ex:   # noqa: BLE001 -- resources
                print(f"  {key} {row}: {type(ex).__name__} {str(ex)[:100]}", flush=True)
        flash._cfg = orig


if __name__ == "__main__":
    cfg_sweep() if "--cfg" in sys.argv else main()

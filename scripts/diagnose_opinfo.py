"""Diagnosis (GPU): an OpInfo entry's failing samples in detail -- the sample, which ops
triforge served, the traceback or both results (and gradients) beside the float64 CPU
result -- for entries test_opinfo.py skips on GPUs as not yet diagnosed.
    python scripts/diagnose_opinfo.py searchsorted masked.prod:float16 > diag.txt
"""
import sys
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import test_opinfo as T  # noqa: E402

import triforge  # noqa: E402
from triforge import testing  # noqa: E402


def show(name, x):
    if isinstance(x, (tuple, list)):
        for i, v in enumerate(x):
            show(f"{name}[{i}]", v)
        return
    if isinstance(x, torch.Tensor):
        body = x.detach().cpu().tolist() if x.numel() <= 48 else f"... (max |x| {x.detach().abs().max()})"
        print(f"    {name}: {x.dtype} {tuple(x.shape)} stride {x.stride()} {x.device} {body}", flush=True)
    else:
        print(f"    {name}: {x!r}", flush=True)


def step(label, fn):
    with triforge.use(), triforge.coverage() as cov:
        try:
            fn()
        except Exception:  # noqa: BLE001 -- the point is to see it
            print(f"  {label} raised under triforge; served {dict(cov.served())}", flush=True)
            traceback.print_exc(limit=12, file=sys.stdout)
            return False
    return True


def diagnose(spec):
    name, _, dt = spec.partition(":")
    ops = [op for op in T.OPS if T._id(op) == name]
    dev = testing.device()
    for op in ops:
        dtypes = [getattr(torch, dt)] if dt else [d for d in T.DTYPES if d in op.supported_dtypes(dev)]
        for dtype in dtypes:
            grad = op.supports_autograd and dtype.is_floating_point
            for i, sample in enumerate(op.sample_inputs(dev, dtype, requires_grad=grad)):
                what = f"{name} {dtype} sample {i}"
                try:
                    with testing.triforge_off():
                        ref, ref_g = T._run(op, sample, None)
                except RuntimeError:
                    continue
                box = {}
                if not step(what, lambda: box.update(r=T._run(op, sample, None))):
                    show("input", sample.input)
                    show("args", list(sample.args))
                    print(f"    kwargs {sample.kwargs}", flush=True)
                    continue
                got, got_g = box["r"]
                for label, a, b, g in (("", got, ref, False), (" grad", got_g, ref_g, True)):
                    if b is None:
                        continue
                    try:
                        T._close_vs_torch(op, sample, a, b, what + label, grads=g)
                    except AssertionError as e:
                        print(f"  {what}{label} MISMATCH: {str(e)[:300]}", flush=True)
                        show("input", sample.input)
                        show("args", list(sample.args))
                        print(f"    kwargs {sample.kwargs}", flush=True)
                        show("triforge", a)
                        show("torch", b)
                        with testing.triforge_off():
                            r64, g64 = T._run(op, T._upcast(sample), None)
                        show("float64", g64 if g else r64)
                        with triforge.use(), triforge.coverage() as cov:
                            T._run(op, sample, None)
                        print(f"    served {dict(cov.served())} fell back {dict(cov.fallbacks())}"
                              if hasattr(cov, "fallbacks") else f"    served {dict(cov.served())}", flush=True)
                if isinstance(ref, torch.Tensor) and op.supports_out:
                    out = torch.empty_like(ref.detach())
                    step(what + " out=", lambda: op(*T._detached(sample), out=out, **sample.kwargs))
    print(torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu", flush=True)


if __name__ == "__main__":
    for s in sys.argv[1:]:
        diagnose(s)

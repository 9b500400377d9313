"""Diagnosis (GPU): torch.searchsorted(sorted_cuda_tensor, python_scalar) -- the Scalar
overload -- under triforge's coverage mode alone, triforge alone, and both (test_opinfo
skipped searchsorted on GPUs until then: an INTERNAL ASSERT converting a CUDA tensor to a
Scalar).
    python scripts/diagnose_searchsorted.py
H100 at 1467b30: before, "triforge only" and
"both" raised the assert; after, all four and the Scalar_out / bucketize.Scalar calls give
torch's answer. (torch.bucketize has no Python signature taking a number with out=.)
"""
import contextlib

import torch

import triforge

seq = torch.sort(torch.randn(20, device="cuda")).values
for label, ctx in (("plain", contextlib.nullcontext), ("coverage only", triforge.coverage),
                   ("triforge only", triforge.use)):
    try:
        with ctx():
            r = torch.searchsorted(seq, 2.17)
        print(f"{label}: {r.item()}", flush=True)
    except Exception as e:  # noqa: BLE001 -- the point is to see it
        print(f"{label}: {type(e).__name__}: {str(e)[:160]}", flush=True)
try:
    with triforge.use(), triforge.coverage():
        r = torch.searchsorted(seq, 2.17)
    print(f"both: {r.item()}", flush=True)
except Exception as e:  # noqa: BLE001
    print(f"both: {type(e).__name__}: {str(e)[:160]}", flush=True)
with triforge.use():
    for label, fn in (("Scalar_out", lambda: torch.searchsorted(seq, 2.17, out=torch.empty(0, dtype=torch.int64,
                                                                                           device="cuda"))),
                      ("bucketize.Scalar", lambda: torch.bucketize(2.17, seq))):
        try:
            print(f"{label}: {fn().item()} (torch {torch.searchsorted(seq.cpu(), 2.17).item()})", flush=True)
        except Exception as e:  # noqa: BLE001
            print(f"{label}: {type(e).__name__}: {str(e)[:160]}", flush=True)

"""A/B (GPU): the activations and functions built on expm1 / log1p / sinh / cosh,
triforge against torch in the same process, and their float32 error in ulps against
float64 on a dense sweep. Run once per source tree (PYTHONPATH) to compare two trees:
    PYTHONPATH=src python scripts/explore_explog.py [--dtype float32] > out.txt
"""
import sys

import torch
import torch.nn.functional as F
import triton.testing

import triforge

D = "cuda"
DT = torch.float32 if "--dtype" in sys.argv and sys.argv[sys.argv.index("--dtype") + 1] == "float32" else torch.bfloat16
OPS = {
    "exp": torch.exp, "expm1": torch.expm1, "log1p": torch.log1p, "sinh": torch.sinh, "cosh": torch.cosh,
    "tanh": torch.tanh,
    "elu": F.elu, "selu": F.selu, "celu": F.celu, "softplus": F.softplus, "mish": F.mish,
    "asinh": torch.asinh, "atanh": lambda t: torch.atanh(t * 0.3), "logaddexp": lambda t: torch.logaddexp(t, t * 0.5),
    "bce_with_logits": lambda t: F.binary_cross_entropy_with_logits(t, t.sigmoid(), reduction="none"),
    "gelu tanh": lambda t: F.gelu(t, approximate="tanh"),
    "gelu tanh bwd": lambda t: torch.ops.aten.gelu_backward(t, t, approximate="tanh"),
    "mish bwd": lambda t: torch.ops.aten.mish_backward(t, t),
}


def timing():
    x = torch.randn(8192, 8192, device=D, dtype=DT)
    for name, fn in OPS.items():
        t = triton.testing.do_bench(lambda: fn(x), warmup=50, rep=300)
        with triforge.use():
            fn(x)
            f = triton.testing.do_bench(lambda: fn(x), warmup=50, rep=300)
        print(f"{name:16s} torch {t * 1e3:8.1f} us triforge {f * 1e3:8.1f} us {t / f:6.3f}x", flush=True)


def ulps():
    g = torch.Generator().manual_seed(0)
    lin = torch.linspace(-100, 100, 400001, dtype=torch.float64)
    logs = torch.logspace(-45, 38.5, 400001, dtype=torch.float64)
    rnd = (torch.rand(1000000, generator=g, dtype=torch.float64) * 2 - 1) * 4
    x = torch.cat([lin, logs, -logs, rnd]).float()
    x = x[torch.isfinite(x)].to(D)
    for name in ("exp", "expm1", "log1p", "sinh", "cosh", "tanh", "elu", "softplus", "asinh"):
        fn = OPS[name]
        ref = fn(x.double())
        ref = torch.where(ref.abs() >= 2.0 ** 128 * (1 - 2.0 ** -25), ref.sign() * float("inf"), ref)
        with triforge.use():
            got = fn(x).double()
        tor = fn(x).double()
        e = torch.frexp(ref.abs())[1]
        ulp = torch.exp2((e - 24).clamp(min=-149).double())
        fin = torch.isfinite(ref) & (ref != 0)
        same = lambda v: (v == ref) | (v.isnan() & ref.isnan())   # noqa: E731
        err = lambda v: torch.where(fin, (v - ref).abs() / ulp, torch.where(same(v), 0.0, float("inf")))   # noqa: E731
        eg, et = err(got), err(tor)
        i = int(eg.argmax())
        print(f"{name:10s} max ulps triforge {eg.max().item():8.2f} (at {x[i].item():.9g}) "
              f"torch {et.max().item():8.2f}", flush=True)


print(f"# {torch.cuda.get_device_name()}, {DT}, 8192^2, do_bench median (warmup 50, rep 300)")
timing()
if DT is torch.float32:
    ulps()

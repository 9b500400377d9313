"""Diagnosis (GPU): calls that pass a Python number where ATen's C++ may turn it into a
wrapped-number tensor on the device before reaching a triforge kernel (torch cannot box
a CUDA wrapped number into Python: searchsorted(cuda_seq, 2.17) raised that way). Each
call runs with triforge off and on; prints ok / differs / raises.
    python scripts/diagnose_scalars.py > scalars.txt
"""
import torch

import triforge


def calls(t, ti, cond, idx, seq):
    return {
        "where(cond, 2.0, t)": lambda: torch.where(cond, 2.0, t),
        "where(cond, t, 2.0)": lambda: torch.where(cond, t, 2.0),
        "where(cond, 1.0, 2.0)": lambda: torch.where(cond, 1.0, 2.0),
        "isin(ti, 3)": lambda: torch.isin(ti, 3),
        "isin(3, ti)": lambda: torch.isin(3, ti),
        "pow(2, t)": lambda: torch.pow(2, t),
        "pow(t, 2.5)": lambda: torch.pow(t, 2.5),
        "remainder(2, t)": lambda: torch.remainder(2, t),
        "remainder(t, 2)": lambda: torch.remainder(t, 2),
        "fmod(t, 2)": lambda: torch.fmod(t, 2),
        "bitwise_and(3, ti)": lambda: torch.bitwise_and(3, ti),
        "bitwise_left_shift(3, ti)": lambda: torch.bitwise_left_shift(3, ti.abs() % 8),
        "xlogy(2, t)": lambda: torch.xlogy(2, t),
        "xlogy(t, 2)": lambda: torch.xlogy(t, 2),
        "special.xlog1py(2, t)": lambda: torch.special.xlog1py(2, t),
        "special.zeta(2, t)": lambda: torch.special.zeta(2, t.abs() + 1),
        "copysign(t, -1)": lambda: torch.copysign(t, -1),
        "lerp(t, t2, 0.5)": lambda: torch.lerp(t, t * 2, 0.5),
        "clamp(t, min=0.1)": lambda: torch.clamp(t, min=0.1),
        "clamp_min(t, 0.1)": lambda: torch.clamp_min(t, 0.1),
        "masked_fill(t, cond, 2.0)": lambda: t.masked_fill(cond, 2.0),
        "index_fill(t, 0, idx, 2.0)": lambda: t.index_fill(0, idx, 2.0),
        "scatter(t, 0, idx2, 2.0)": lambda: t.scatter(0, idx[:, None].expand(-1, t.shape[1]), 2.0),
        "full_like(t, 3)": lambda: torch.full_like(t, 3),
        "add(t, 2, alpha=3)": lambda: torch.add(t, 2, alpha=3),
        "sub(t, 2)": lambda: torch.sub(t, 2),
        "rsub(t, 2)": lambda: torch.rsub(t, 2),
        "mul(t, 2)": lambda: torch.mul(t, 2),
        "div(t, 2, rounding_mode=floor)": lambda: torch.div(t, 2, rounding_mode="floor"),
        "eq(t, 0)": lambda: torch.eq(t, 0),
        "maximum(t, tensor(0))": lambda: torch.maximum(t, torch.tensor(0.0, device=t.device)),
        "hardtanh(t, -0.5, 0.5)": lambda: torch.nn.functional.hardtanh(t, -0.5, 0.5),
        "threshold(t, 0.1, 2.0)": lambda: torch.nn.functional.threshold(t, 0.1, 2.0),
        "histc(t)": lambda: torch.histc(t, 10, -2, 2),
        "bucketize(2.0, seq)": lambda: torch.bucketize(2.0, seq),
        "searchsorted(seq, 2.0)": lambda: torch.searchsorted(seq, 2.0),
        "addcmul(t, t, t, value=2)": lambda: torch.addcmul(t, t, t, value=2),
        "polar(t.abs(), t)": lambda: torch.polar(t.abs(), t),
        "float_power(t, 2)": lambda: torch.float_power(t, 2),
        "float_power(2, t)": lambda: torch.float_power(2, t),
        "heaviside(t, tensor(0.5))": lambda: torch.heaviside(t, torch.tensor(0.5, device=t.device)),
        "nan_to_num(t, 0.0)": lambda: torch.nan_to_num(t, 0.0),
        "logit(t, 1e-6)": lambda: torch.logit(t.sigmoid(), 1e-6),
        "softplus(t, 2, 10)": lambda: torch.nn.functional.softplus(t, 2, 10),
        "leaky_relu(t, 0.2)": lambda: torch.nn.functional.leaky_relu(t, 0.2),
        "elu(t, 0.5)": lambda: torch.nn.functional.elu(t, 0.5),
        "celu(t, 0.5)": lambda: torch.nn.functional.celu(t, 0.5),
        "rrelu eval": lambda: torch.nn.functional.rrelu(t, training=False),
        "ge(ti, 3)": lambda: torch.ge(ti, 3),
        "bitwise_or(ti, 3)": lambda: torch.bitwise_or(ti, 3),
        "gcd(ti, tensor(6))": lambda: torch.gcd(ti, torch.tensor(6, device=t.device)),
    }


def main():
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    t = torch.randn(8, 16, device=dev)
    ti = torch.randint(-10, 10, (8, 16), device=dev)
    cond = t > 0
    idx = torch.tensor([1, 3, 5], device=dev)
    seq = torch.linspace(-3, 3, 13, device=dev)
    want = {}
    for name, fn in calls(t, ti, cond, idx, seq).items():
        try:
            want[name] = fn()
        except Exception as e:   # noqa: BLE001
            want[name] = e
    with triforge.use():
        for name, fn in calls(t, ti, cond, idx, seq).items():
            try:
                got = fn()
            except Exception as e:   # noqa: BLE001
                line = "raises " + (f"(torch too) {type(e).__name__}" if isinstance(want[name], Exception)
                                    else f"{type(e).__name__}: {str(e).splitlines()[0][:140]}")
                print(f"{name:34} {line}", flush=True)
                continue
            w = want[name]
            if isinstance(w, Exception):
                print(f"{name:34} returns where torch raised {type(w).__name__}")
            elif got.dtype != w.dtype or got.shape != w.shape or not torch.allclose(
                    got.double(), w.double(), rtol=1e-5, atol=1e-6, equal_nan=True):
                print(f"{name:34} DIFFERS ({got.dtype} {tuple(got.shape)} vs {w.dtype} {tuple(w.shape)})")
            else:
                print(f"{name:34} ok")


if __name__ == "__main__":
    main()

"""Exploration (GPU): kthvalue / median by the register radix select (ops/sort/select.py:
one row per program, 8-bit digits by tl.histogram) over num_warps. Each case checked
against torch (values exact, indices at equal values), timed against torch in the same run.
    python scripts/explore_select.py [warps ... (0: the table's)] [--cases 0,3] > select.txt
"""
import sys

import torch
import triton.testing

import triforge
from triforge.ops.sort import select as S

CASES = [((4096, 4096), torch.bfloat16), ((4096, 4096), torch.float32), ((64, 16384), torch.float32),
         ((64, 16384), torch.bfloat16), ((65536, 256), torch.bfloat16), ((16384, 1024), torch.float16),
         ((4096, 4096), torch.int8), ((65536, 37), torch.float32)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=60, return_mode="median")


def ops(x):
    n = x.shape[-1]
    return {"median": lambda: torch.median(x, -1), "kthvalue": lambda: torch.kthvalue(x, max(1, n // 10), -1)}


def main():
    args = sys.argv[1:]
    cases = CASES
    if "--cases" in args:
        at = args.index("--cases")
        cases = [CASES[int(c)] for c in args[at + 1].split(",")]
        args = args[:at] + args[at + 2:]
    warps = [int(w) for w in args] or [2, 4, 8, 16]
    table = S._warps
    for shape, dtype in cases:
        x = (torch.randn(shape, device="cuda") * 100).to(dtype)
        for name, fn in ops(x).items():
            rv, _ = fn()
            t_torch = bench(fn)
            print(f"{name} {tuple(shape)} {dtype}: torch {t_torch * 1e3:.1f} us", flush=True)
            for w in warps:
                S._warps = (lambda bits, block, w=w: w) if w else table   # 0: the table's
                try:
                    with triforge.use(), triforge.coverage() as cov:
                        v, i = fn()
                        t = bench(fn)
                    ok = torch.equal(v, rv) and torch.equal(x.gather(-1, i.unsqueeze(-1)).squeeze(-1), v)
                    ok = ok and any(o.startswith(name) for o in cov.served())
                except Exception as e:  # noqa: BLE001 -- resources
                    print(f"  warps {w}: {type(e).__name__}: {str(e)[:160]}", flush=True)
                    continue
                print(f"  warps {w}: {t * 1e3:.1f} us {t_torch / t:.3f}x torch {'ok' if ok else 'WRONG'}", flush=True)
    print(torch.cuda.get_device_name(), flush=True)


if __name__ == "__main__":
    main()

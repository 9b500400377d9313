"""python -m triforge.bench [--ops add,softmax] [--dtypes bf16,fp16,fp32] [--host | --no-host]
                          [--quick] [--out DIR]

Per case: check triforge's output against torch's once, record which path served it
(triforge.coverage()), then time the same torch callable with triforge disabled and
inside triforge.use(include=<the case's ops>), in this process, back to back.
Exit status 1 when a case mismatched or failed.
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time
import sys
import traceback
from pathlib import Path

import triforge  # first: decides the backend (sets TRITON_INTERPRET) before any @triton.jit
from triforge import registry
from triforge.runtime import fastpath
import torch
import triton

from . import cases as C, report, timing

DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
          "float16": torch.float16, "fp32": torch.float32, "float32": torch.float32}
# (rtol, atol) of triforge's output against torch's: torch.testing's defaults for the half
# types; fp32 rtol 1e-5 (torch: 1.3e-6) since GPU exp/division and summation order differ
# from ATen's by a few ulp. atol is raised to rtol * max|ref| per case (see run_case):
# measured on H100, bf16 softmax backward (8, 128): triforge's max error against the
# float64 result 3.9e-4, torch's 5.9e-4; they differ by one ulp on cancelling elements.
TOL = {torch.bfloat16: (1.6e-2, 1e-5), torch.float16: (1e-3, 1e-5), torch.float32: (1e-5, 1e-6)}
COPY_BYTES, COPY_BYTES_SMALL = 1 << 30, 64 << 20   # GPU: 1 GiB each way; interpreter/quick: 64 MiB


def _public_argv(argv) -> list:
    """argv as recorded in the results: the --out directory is a local path, not data."""
    out, skip = [], False
    for a in argv:
        if skip:
            out.append("DIR")
            skip = False
        elif a == "--out":
            out.append(a)
            skip = True
        else:
            out.append("--out=DIR" if a.startswith("--out=") else a)
    return out


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m triforge.bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--ops", help=f"comma-separated op groups (default all: {','.join(C.groups())})")
    p.add_argument("--dtypes", default="bf16", help="comma-separated: bf16,fp16,fp32 (default bf16)")
    p.add_argument("--host", action="store_true", help="host-overhead mode only (no device cases)")
    p.add_argument("--no-host", action="store_true", help="skip the host-overhead mode")
    p.add_argument("--quick", action="store_true", help="tiny shapes (smoke test)")
    p.add_argument("--out", type=Path, help="results directory (default <repo>/benchmarks/results)")
    a = p.parse_args(argv)
    try:
        a.dtypes = [DTYPES[d.strip().lower()] for d in a.dtypes.split(",") if d.strip()]
    except KeyError as e:
        p.error(f"unknown dtype {e}; choose from {sorted(DTYPES)}")
    if a.ops:
        a.ops = [o.strip() for o in a.ops.split(",") if o.strip()]
        bad = set(a.ops) - set(C.groups())
        if bad:
            p.error(f"unknown op group(s) {sorted(bad)}; choose from {C.groups()}")
    return a


def _declared(op: str) -> bool:
    """Whether triforge.use(include=[op]) would accept op on this backend (same rule)."""
    try:
        return bool(registry.select(include=[op]))
    except ValueError:
        return False


def path_of(cov) -> tuple[str, dict]:
    """Where the case's triforge-registered ops ran: triforge, aten (fallback), or mixed."""
    served, fell = cov.served(), cov.fell_back()
    detail = {"triforge": served, "aten_fallback": fell}
    if served and not fell:
        return "triforge", detail
    if fell and not served:
        return "aten fallback", detail
    if served:
        return "mixed", detail
    return "aten (op not reached)", detail


def run_case(case, dtype, args, dev, interpreted, ceiling) -> dict:
    shape = case.shape_for(args.quick)
    r = {"name": case.name, "group": case.group, "dtype": report.short_dtype(dtype),
         "shape": list(shape), "ops": list(case.include)}
    try:
        triforge.disable()
        inputs = case.build(shape, dtype, dev)
        ref = case.fn(*inputs) if case.expected is None else case.expected(*inputs)
        # Separate calls: the first compiles/tunes (no coverage overhead on the tuner's
        # own ops), the second records where the ops ran.
        with triforge.use(include=case.include):
            got = case.fn(*inputs)
            with triforge.coverage() as cov:
                case.fn(*inputs)
        r["path"], r["path_detail"] = path_of(cov)
        if case.custom and r["path"] == "aten (op not reached)":
            r["path"] = f"triforge ({case.custom})"
        rtol, atol = TOL.get(dtype, (1e-5, 1e-6))
        if ref.is_floating_point() and ref.numel():
            # both sides round in `dtype`; where a result cancels (softmax backward) a
            # one-ulp flip of a large term shows up on a small one: scale atol to the tensor
            atol = max(atol, rtol * float(ref.abs().nan_to_num(0, 0, 0).max()))
        try:
            torch.testing.assert_close(got, ref, rtol=rtol, atol=atol, equal_nan=True)
            r["check"] = "ok"
        except AssertionError as e:
            r["check"] = "MISMATCH"
            r["check_detail"] = str(e).strip().splitlines()[:6]
        nbytes = C.min_bytes(case, inputs, ref)
        del got, ref
        sets = [inputs] + [case.build(shape, dtype, dev)
                           for _ in range(timing.n_sets(nbytes, not (args.quick or interpreted)) - 1)]
        call = timing.rotating(case.fn, sets)
        r["input_sets"] = len(sets)
        r["torch_ms"] = timing.device_ms(call, interpreted, dev)
        with triforge.use(include=case.include):
            r["triforge_ms"] = timing.device_ms(call, interpreted, dev)
        r["speedup"] = r["torch_ms"] / r["triforge_ms"]
        if case.flops is not None:
            f = case.flops(shape)
            r.update(flops=f, torch_TFLOP_s=f / r["torch_ms"] / 1e9, triforge_TFLOP_s=f / r["triforge_ms"] / 1e9)
        else:
            r.update(bytes=nbytes, torch_GB_s=nbytes / r["torch_ms"] / 1e6,
                     triforge_GB_s=nbytes / r["triforge_ms"] / 1e6)
            if ceiling:
                r["torch_pct_copy_ceiling"] = 100 * r["torch_GB_s"] / ceiling["GB_s"]
                r["pct_copy_ceiling"] = 100 * r["triforge_GB_s"] / ceiling["GB_s"]
    except Exception as e:  # one broken case must not hide the others' numbers
        r["check"] = "ERROR"
        r["error"] = f"{type(e).__name__}: {e}"
        r["traceback"] = traceback.format_exc().splitlines()[-8:]
        progress(f"  error: {r['error']}")
    finally:
        triforge.disable()
    return r


def _use_context_us(reps: int) -> float:
    """Median wall time of entering and leaving triforge.use() with every overload."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        with triforge.use():
            pass
        times.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(times)


def run_host(args, dev, interpreted) -> dict:
    # The interpreter runs each kernel in Python (ms per call): a few calls show the path works.
    calls, rounds, warmup = (20, 1, 3) if interpreted else (2000, 5, 200)
    dtype = args.dtypes[0]
    h = {"numel": C.HOST_NUMEL, "dtype": report.short_dtype(dtype), "calls": calls, "rounds": rounds,
         "items": {}}
    triforge.disable()
    items = C.host_items(dtype, dev)
    samples = {label: [] for label, _, _ in items}
    # Rounds interleave the items (torch, triforge, torch, ...): host speed drifts on a
    # VM by tens of percent over seconds, which sequential blocks would book to one side.
    for r in range(rounds):
        progress(f"[host] round {r + 1}/{rounds}")
        for label, fn, ops in items:
            ctx = triforge.use(include=[o for o in ops if o != "python"]) if ops is not None \
                else contextlib.nullcontext()
            entry = fastpath.python_entry() if ops is not None and "python" in ops else contextlib.nullcontext()
            with ctx, entry:
                samples[label].append(timing.host_us(fn, dev, calls, 1, warmup)["us"])
    for label, per_call in samples.items():
        h["items"][label] = {"us": statistics.median(per_call), "min_us": min(per_call), "rounds": per_call}
    us = {k: v["us"] for k, v in h["items"].items()}
    use_label = f"use(): enter + exit, all {len(registry.declarations())} overloads"
    use_us = _use_context_us(rounds * 4)   # target: < 5 ms (5000 us)
    h["derived"] = {"add: hop = dispatched (Python entry) - direct":
                    us["triforge x + y, Python entry"] - us["add: impl direct (no dispatcher)"],
                    "add: triforge - torch": us["triforge x + y"] - us["torch x + y"],
                    "softmax: triforge - torch": us["triforge softmax"] - us["torch softmax"],
                    use_label: use_us}
    return h


def main(argv=None) -> int:
    args = parse(argv)
    b = triforge.backend()
    interpreted = b.interpreted
    dev = torch.device(b.device_type, torch.cuda.current_device()) if b.device_type == "cuda" else torch.device("cpu")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else b.device_name
    triforge.disable()
    res = {"device": name, "device_slug": report.device_slug(name, interpreted), "backend": b.name,
           "arch": b.arch, "interpreter": interpreted, "note": report.INTERP_NOTE if interpreted else "",
           "torch": torch.__version__, "triton": triton.__version__, "triforge": triforge.__version__,
           "python": platform.python_version(), "commit": report.git_commit(), "date": report.now(),
           "argv": _public_argv(sys.argv[1:] if argv is None else argv), "quick": args.quick,
           "timing": ("wall clock, median of %d calls (interpreter)" % timing.INTERP_ITERS if interpreted else
                      f"triton.testing.do_bench(warmup={timing.WARMUP_MS}, rep={timing.REP_MS}, median)"),
           "tolerances": {report.short_dtype(k): v for k, v in TOL.items()},
           "copy_ceiling": None, "cases": [], "skipped": [], "host": None}
    if interpreted and not args.quick and not args.host:
        progress("warning: full shapes under the Triton interpreter take hours; pass --quick")

    if not args.host:
        progress("[ceiling] device copy")
        res["copy_ceiling"] = timing.copy_ceiling(
            dev, interpreted, COPY_BYTES_SMALL if (interpreted or args.quick) else COPY_BYTES)
        todo = []
        for case in C.CASES:
            if args.ops and case.group not in args.ops:
                continue
            missing = [o for o in case.include if not _declared(o)]
            for dt in args.dtypes:
                why = (f"triforge has no {missing} on {b.name}" if missing else
                       None if dt in b.float_dtypes() else f"{dt} unsupported on {b.arch}")
                if why:
                    res["skipped"].append({"name": case.name, "dtype": report.short_dtype(dt), "why": why})
                else:
                    todo.append((case, dt))
        for i, (case, dt) in enumerate(todo, 1):
            progress(f"[{i}/{len(todo)}] {case.name} {report.short_dtype(dt)}")
            r = run_case(case, dt, args, dev, interpreted, res["copy_ceiling"])
            res["cases"].append(r)
            if "speedup" in r:
                progress(f"  torch {r['torch_ms']:.4f} ms, triforge {r['triforge_ms']:.4f} ms, "
                         f"{r['path']}, check {r['check']}")
            if dev.type == "cuda":
                torch.cuda.empty_cache()   # the next case's buffers may be the largest
    if args.host or not args.no_host:
        res["host"] = run_host(args, dev, interpreted)

    res["ok"] = all(r.get("check") == "ok" for r in res["cases"])
    print("\n".join(report.summary_lines(res)))
    if res["cases"]:
        print("\n" + report.text_table(*report.case_table(res)))
    for s in res["skipped"]:
        print(f"skipped: {s['name']} {s['dtype']}: {s['why']}")
    if res["host"]:
        h = res["host"]
        print(f"\nhost time per call (us), {h['numel']} elements {h['dtype']}, {h['calls']} calls x "
              f"{h['rounds']} rounds, median")
        print(report.text_table(("item", "us"), report.host_rows(h)))
    jpath, mpath = report.write(res, args.out or report.default_out_dir())
    print(f"\nwrote {jpath} and {mpath}")
    if not res["ok"]:
        print("FAILED: " + ", ".join(f"{r['name']} {r['dtype']}: {r['check']}" for r in res["cases"]
                                     if r.get("check") != "ok"), file=sys.stderr)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

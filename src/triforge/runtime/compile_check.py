"""Compile, without a GPU, every kernel a CPU run launched, for an NVIDIA target.

The interpreter runs kernels as Python: it accepts what the GPU compiler refuses (a
plain-int global inside a kernel, a loop-carried value changing type) and never counts
shared memory. With TRIFORGE_RECORD_LAUNCHES=<file>, each interpreted launch appends
its kernel, argument types, constexprs and launch options to <file> (one JSON line per
distinct launch); then

    python -m triforge.runtime.compile_check <file> [--arch 90] [--regs]

compiles each one to a cubin through Triton (ptxas ships with it) and reports compile
errors and kernels whose shared memory exceeds the target's per-block limit
(TRIFORGE_PTX_DIR=<dir>: each kernel's PTX written there too, to count instructions;
--regs: each kernel's registers and spills, from ptxas -v). The configs are the
interpreter's (its tables use small blocks), so shared memory of the GPU tables is not
what this checks; compile errors are. A GPU table's config can be checked by editing
the recorded constexprs and num_warps first (scripts/walk_registers.sh does).
"""
from __future__ import annotations

import json
import os
import sys
import threading

_TYPES = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "float64": "fp64", "int64": "i64",
          "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8", "bool": "i1", "uint16": "u16",
          "uint32": "u32", "uint64": "u64"}
_SMEM = {80: 163 * 1024, 86: 99 * 1024, 89: 99 * 1024, 90: 227 * 1024}
_seen: set = set()
_lock = threading.Lock()


def _kind(a):
    import torch
    import triton.language as tl
    from triton.tools.tensor_descriptor import TensorDescriptor
    if isinstance(a, torch.Tensor):
        return "*" + _TYPES[str(a.dtype).removeprefix("torch.")]
    if isinstance(a, TensorDescriptor):   # a host descriptor: Triton's type string for it
        return f"tensordesc<{_TYPES[str(a.base.dtype).removeprefix('torch.')]}{list(a.block_shape)}>"
    if isinstance(a, bool):
        return "i1"
    if isinstance(a, int):
        return "i32" if -2**31 <= a < 2**31 else ("i64" if a < 2**63 else "u64")
    if isinstance(a, float):
        return "fp32"
    if a is None or isinstance(a, tl.dtype):
        return None
    raise TypeError(type(a))


def _value(v):
    import triton.language as tl
    if isinstance(v, tl.dtype):
        return {"tl": v.name}
    if isinstance(v, tl.constexpr):
        return _value(v.value)
    return v


def record(path: str, fn, args, constexpr_idx, num_warps, num_stages, options=None):
    """One line per distinct launch; never raises (a recorder must not fail a test)."""
    try:
        import inspect
        py = getattr(fn, "fn", fn)
        params = list(inspect.signature(py).parameters.values())
        names = [p.name for p in params]
        # annotations may be strings (from __future__ import annotations)
        ce_names = {p.name for p in params if "constexpr" in str(p.annotation)}
        sig, ce = {}, {}
        for i, (n, a) in enumerate(zip(names, args)):
            k = None if (i in constexpr_idx or n in ce_names) else _kind(a)
            if k is None:
                sig[n], ce[n] = "constexpr", _value(a)
            else:
                sig[n] = k
        mod = py.__module__
        where = {"module": mod, "name": py.__name__}
        if mod.startswith("triforge._generated."):
            where["file"] = py.__code__.co_filename
        line = json.dumps({**where, "signature": sig, "constexprs": ce, "num_warps": num_warps,
                           "num_stages": num_stages, "options": options or {}}, sort_keys=True)
        with _lock:
            if line in _seen:
                return
            _seen.add(line)
            with open(path, "a") as f:
                f.write(line + "\n")
    except Exception:   # noqa: BLE001 -- best effort
        pass


def _load(rec):
    import importlib
    import importlib.util
    if "file" in rec:
        spec = importlib.util.spec_from_file_location(rec["module"], rec["file"])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        mod = importlib.import_module(rec["module"])
    return getattr(mod, rec["name"])


# Run in a fresh interpreter: Triton's own library functions must be GPU functions, so
# triton is imported before triforge switches the interpreter on; triforge then takes
# its interpreter backend (no GPU here), and the op modules are imported with the
# interpreter off so that @triton.jit makes compilable functions.
_SCRIPT = """
import os, sys
os.environ.pop("TRITON_INTERPRET", None)
import triton, triton.language, triton.compiler.code_generator
os.environ["TRITON_INTERPRET"] = "1"
import triforge
triforge.backend()
os.environ["TRITON_INTERPRET"] = "0"
from triforge.runtime.compile_check import compile_all
sys.exit(compile_all(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"))
"""


def main(argv=None):
    import subprocess
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit(__doc__)
    arch = argv[argv.index("--arch") + 1] if "--arch" in argv else "90"
    regs = "1" if "--regs" in argv else "0"
    return subprocess.run([sys.executable, "-c", _SCRIPT, argv[0], arch, regs]).returncode


def _registers(ptx: str, arch: int) -> str:
    """ptxas -v's register and spill lines for one kernel's PTX (Triton's bundled ptxas)."""
    import re
    import subprocess
    import tempfile

    from triton.backends.nvidia.compiler import get_ptxas
    target = re.search(r"^\.target\s+(\S+)", ptx, re.M).group(1)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "k.ptx")
        with open(src, "w") as f:
            f.write(ptx)
        r = subprocess.run([get_ptxas(arch).path, "-v", f"--gpu-name={target}", src, "-o", os.path.join(d, "k.cubin")],
                           capture_output=True, text=True)
    used = re.search(r"Used (\d+) registers", r.stderr)
    spill = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", r.stderr)
    if not used:
        return "ptxas -v: " + r.stderr.strip()[-200:]
    stored, loaded = spill.groups() if spill else ("0", "0")
    return f"{used.group(1)} registers, spills {stored} B stored / {loaded} B loaded"


def compile_all(path: str, arch: int, regs: bool = False) -> int:
    recs = list(dict.fromkeys(open(path).read().splitlines()))
    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    target = GPUTarget("cuda", arch, 32)
    bad, big = [], []
    ptx_dir = os.environ.get("TRIFORGE_PTX_DIR")   # each kernel's PTX there (instruction counts)
    if ptx_dir:
        os.makedirs(ptx_dir, exist_ok=True)
    for i, line in enumerate(recs):
        rec = json.loads(line)
        label = f"{rec['module']}.{rec['name']} {rec['constexprs']}"
        try:
            jf = _load(rec)
            ce = {k: tl.dtype(v["tl"]) if isinstance(v, dict) else v for k, v in rec["constexprs"].items()}
            k = triton.compile(ASTSource(jf, rec["signature"], constexprs=ce), target=target,
                               options={"num_warps": rec["num_warps"], "num_stages": rec["num_stages"],
                                        **rec.get("options", {})})
            if ptx_dir:
                with open(os.path.join(ptx_dir, f"{i:03d}-{rec['name']}.ptx"), "w") as f:
                    f.write(f"// {label}\n" + k.asm["ptx"])
            if regs:
                print(f"{label} warps {rec['num_warps']}: {_registers(k.asm['ptx'], arch)}", flush=True)
            if k.metadata.shared > _SMEM.get(arch, 99 * 1024):
                big.append(f"{label}: {k.metadata.shared} bytes of shared memory")
        except Exception as e:   # noqa: BLE001 -- collect them all
            bad.append(f"{label}:\n  {type(e).__name__}: {str(e)[-600:]}")
    print(f"compiled {len(recs) - len(bad)} of {len(recs)} launches for sm{arch}; "
          f"{len(bad)} failed, {len(big)} over the shared-memory limit")
    for msg in bad + big:
        print(msg)
    return 1 if bad or big else 0


if __name__ == "__main__":
    sys.exit(main())

"""Building and loading the C++ dispatcher entry (fastpath.cpp), and the capture slot
through which a pointwise plan tells it how a call was launched.

The extension is compiled once per (source, torch, Python) with the system C++
compiler against torch's headers, cached under TRIFORGE_CACHE_DIR, and loaded as a
module. Where that fails (no compiler, no headers) triforge keeps registering its
Python kernels directly, as before; TRIFORGE_FASTPATH=0 turns it off, =1 forces it on
the interpreter backend too (its Python hand-off is then what the CPU tests exercise).
"""
from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import sysconfig
import tempfile
import threading

import torch

log = logging.getLogger("triforge")


class _Slot(threading.local):
    """Armed by the C++ entry around the first call of a new argument key: the launcher
    appends each launch to `recipe`; scratch() lists its buffers in `scratch`, held()
    its kept ones in `held`."""
    armed = False
    launches = 0
    recipe = None
    scratch = None
    held = None


slot = _Slot()

def scratch(shape, dtype, device) -> torch.Tensor:
    """torch.empty for a buffer that one call's launches pass between them (a split
    reduction's partials). Only such buffers may be allocated afresh when the C++ entry
    repeats the call; any other tensor a launch takes must be the call's own."""
    t = torch.empty(shape, dtype=dtype, device=device)
    if slot.armed:
        slot.scratch.append(t)
    return t


def held(t: torch.Tensor) -> torch.Tensor:
    """Declares t, a buffer a launch takes, as one the recording keeps and passes again
    on every repeat of the call: state the kernels themselves maintain (split-K arrival
    counters, zero between calls). The C++ entry's key holds the current stream, so
    each stream's calls get the buffer that was theirs when recorded."""
    if slot.armed:
        slot.held.append(t)
    return t


_module = None
_tried = False
_lock = threading.Lock()


def _flags() -> tuple[list, list]:
    from torch.utils import cpp_extension as ce
    inc = [*ce.include_paths(), sysconfig.get_paths()["include"]]
    libdirs = ce.library_paths()
    cflags = ["-O2", "-std=c++20", "-fPIC", "-shared", "-w",
              f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}",
              *(f"-I{d}" for d in inc)]
    ldflags = [*(f"-L{d}" for d in libdirs), *(f"-Wl,-rpath,{d}" for d in libdirs),
               "-lc10", "-ltorch", "-ltorch_cpu", "-ltorch_python", "-ldl"]
    return cflags, ldflags


def _build(path: str, src: str):
    cflags, ldflags = _flags()
    cxx = os.environ.get("CXX", "c++")
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".so")
    os.close(fd)
    try:
        subprocess.run([cxx, *cflags, src, "-o", tmp, *ldflags], check=True, capture_output=True, text=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def module():
    """The compiled extension, or None where it cannot be built or is switched off."""
    global _module, _tried
    if _tried:
        return _module
    with _lock:
        if _tried:
            return _module
        try:
            _module = _load()
        except Exception as e:   # no compiler or headers: Python registrations still work
            detail = getattr(e, "stderr", "") or ""
            log.warning("triforge: C++ dispatcher entry unavailable (%s) %s", e, detail[-2000:])
            _module = None
        _tried = True
    return _module


def _load():
    import importlib.util

    from .autotune import cache_dir
    src = os.path.join(os.path.dirname(__file__), "fastpath.cpp")
    with open(src, "rb") as f:
        text = f.read()
    tag = hashlib.sha256(text + f"{torch.__version__}|{sys.version}".encode()).hexdigest()[:16]
    d = os.path.join(cache_dir(), "fastpath")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"triforge_fastpath_{tag}{sysconfig.get_config_var('EXT_SUFFIX')}")
    if not os.path.exists(path):
        _build(path, src)
    spec = importlib.util.spec_from_file_location("triforge_fastpath", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.init(slot, torch.cuda.is_available())
    from .. import registry
    mod.set_fast(not registry._tracking)
    return mod


def wanted(interpreted: bool) -> bool:
    """Whether registrations go through the C++ entry on this backend."""
    env = os.environ.get("TRIFORGE_FASTPATH", "")
    if env == "0":
        return False
    if interpreted and env != "1":
        return False
    return module() is not None


def set_fast(on: bool):
    """Repeat seen calls in C++ (on) or send every call to Python (off: while coverage
    or the call log record each call's outcome)."""
    if _module is not None:
        _module.set_fast(on)


class python_entry:
    """Within: every call goes to Python, as before the C++ entry (benchmarks compare)."""

    def __enter__(self):
        set_fast(False)

    def __exit__(self, *exc):
        from .. import registry
        set_fast(not registry._tracking)

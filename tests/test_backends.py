"""Backend detection and the interpreter switch."""
import os
import subprocess
import sys

import torch

import triforge
from triforge.backends import SUPPORTED

SRC = os.path.join(os.path.dirname(__file__), "..", "src")


def _run(code, **env):
    e = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "TRIFORGE_BACKEND")}
    e.update(env)
    e["PYTHONPATH"] = SRC + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=120)


def test_backend_record():
    b = triforge.backend()
    assert b.name in SUPPORTED
    if torch.cuda.is_available() and os.environ.get("TRIFORGE_BACKEND", "") in ("", "nvidia", "cuda"):
        assert (b.name, b.device_type, b.dispatch_key) == ("nvidia", "cuda", "CUDA")
        assert b.arch.startswith("sm") and b.family
    else:
        assert (b.name, b.device_type, b.dispatch_key) == ("interpreter", "cpu", "CPU")
        assert os.environ.get("TRITON_INTERPRET") == "1"
    assert b.table("elementwise")["BLOCK"] > 0


def test_import_selects_interpreter_without_gpu():
    r = _run("import triforge, os; print(triforge.backend().name, os.environ['TRITON_INTERPRET'])",
             TRIFORGE_BACKEND="interpreter")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["interpreter", "1"]


def test_bad_override_is_a_clear_error():
    r = _run("import triforge", TRIFORGE_BACKEND="bogus")
    assert r.returncode != 0 and "TRIFORGE_BACKEND" in r.stderr


def test_triton_imported_first_is_a_clear_error():
    r = _run("import triton.language, triforge", TRIFORGE_BACKEND="interpreter")
    assert r.returncode != 0 and "Import triforge before triton" in r.stderr

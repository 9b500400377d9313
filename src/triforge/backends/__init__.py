"""Backend detection. Importing this module decides, once, where kernels run.

TRIFORGE_BACKEND=nvidia|interpreter overrides detection. The interpreter needs
TRITON_INTERPRET=1 in effect before any @triton.jit decorator runs; triton reads
it at decoration time, so setting it here (before triforge's kernels are defined)
is enough even if triton itself was imported earlier.
"""
from __future__ import annotations

import os
import sys

import torch

from .base import Backend

_ALIASES = {"nvidia": "nvidia", "cuda": "nvidia", "interpreter": "interpreter", "cpu": "interpreter"}
_current: Backend | None = None


def _choose() -> str:
    forced = os.environ.get("TRIFORGE_BACKEND", "").strip().lower()
    if forced:
        if forced not in _ALIASES:
            raise RuntimeError(f"TRIFORGE_BACKEND={forced!r}: expected one of {sorted(_ALIASES)}")
        return _ALIASES[forced]
    if os.environ.get("TRITON_INTERPRET", "0") == "1":
        return "interpreter"
    return "nvidia" if torch.cuda.is_available() else "interpreter"


def _detect() -> Backend:
    name = _choose()
    if name == "interpreter":
        if os.environ.get("TRITON_INTERPRET", "") not in ("", "1"):
            raise RuntimeError(
                "triforge selected the Triton interpreter (no GPU found or TRIFORGE_BACKEND set), "
                "but TRITON_INTERPRET is set to something other than 1. Unset it or set "
                "TRITON_INTERPRET=1 before importing triforge.")
        if os.environ.get("TRITON_INTERPRET") != "1" and "triton.language" in sys.modules:
            # triton.language's own @jit functions (tl.max, ...) were built for a GPU;
            # the interpreter cannot run them.
            raise RuntimeError(
                "triforge needs Triton's interpreter here (no GPU found or TRIFORGE_BACKEND="
                "interpreter), but triton was imported before triforge without TRITON_INTERPRET=1. "
                "Import triforge before triton, or set TRITON_INTERPRET=1 in the environment.")
        os.environ["TRITON_INTERPRET"] = "1"
        from . import interpreter
        return interpreter.make()
    if not torch.cuda.is_available():
        raise RuntimeError("TRIFORGE_BACKEND=nvidia but torch sees no CUDA device")
    from . import nvidia
    return nvidia.make()


def current() -> Backend:
    global _current
    if _current is None:
        _current = _detect()
    return _current


# The supported backends: each is listed only because its test suite runs
# (interpreter in CI, nvidia on the lent H100/H200).
SUPPORTED = ("nvidia", "interpreter")

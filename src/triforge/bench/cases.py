"""The benchmark case table, and the host-overhead items.

One `Case` is one row of the results table. Adding a case is one `Case(...)` line in
CASES, plus an input builder if none of the existing ones fits. Shapes follow
../shared/PERF_TARGETS.md so the numbers line up with that table; when an op of that
table lands in triforge, its case goes here.

Bytes moved are counted from the actual tensors (each input read once, the output
written once, broadcast/expanded dims counted once), so a case only passes `bytes=`
when that rule is wrong for it. Compute-bound cases pass `flops=` instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

QUICK_DIM = 64   # --quick caps every dim at this: the interpreter costs ~1 ms per program


@dataclass(frozen=True)
class Case:
    name: str                        # row label
    group: str                       # what --ops selects ("add", "softmax", ...)
    shape: tuple                     # main operand shape (full-size run)
    build: Callable                  # (shape, dtype, device) -> tuple of inputs
    fn: Callable                     # the torch callable, fn(*inputs) -> Tensor
    ops: tuple = ()                  # triforge op names to enable; () means (group,)
    flops: Callable | None = None    # (shape) -> FLOPs; set only for compute-bound cases
    bytes: Callable | None = None    # (inputs, out) -> bytes, overriding the tensor count
    quick: tuple | None = None       # --quick shape; default: every dim capped at QUICK_DIM
    expected: Callable | None = None  # inputs -> what triforge must return, where torch's own
                                      # result is not the reference (torch times fn as usual)
    custom: str = ""                 # a triforge:: custom op fn calls under triforge (not an
                                     # aten op: the coverage table cannot see it)

    @property
    def include(self) -> tuple:
        return self.ops or (self.group,)

    def shape_for(self, quick: bool) -> tuple:
        if not quick:
            return self.shape
        return self.quick or tuple(min(d, QUICK_DIM) for d in self.shape)


# -- input builders: (shape, dtype, device) -> tuple --------------------------------------
def _randn(shape, dtype, device):
    return torch.randn(shape, dtype=dtype, device=device)


def one(shape, dtype, device):
    return (_randn(shape, dtype, device),)


def two(shape, dtype, device):
    return _randn(shape, dtype, device), _randn(shape, dtype, device)


def two_transposed(shape, dtype, device):
    """b is column-major: a + b.T reads one operand against its storage order."""
    return _randn(shape, dtype, device), _randn(shape[::-1], dtype, device).T


def with_row(shape, dtype, device):
    """a + row: the row (last dim) broadcast over every leading index."""
    return _randn(shape, dtype, device), _randn(shape[-1:], dtype, device)


def softmax_grad(shape, dtype, device):
    """(grad_output, output): output is a real softmax so the backward sees real rows."""
    y = torch.softmax(torch.randn(shape, dtype=torch.float32, device=device), -1).to(dtype)
    return _randn(shape, dtype, device), y


def _softmax_bwd(g, y):
    return torch.ops.aten._softmax_backward_data(g, y, -1, g.dtype)


# -- the table ------------------------------------------------------------------------------
CASES = [
    Case("add", "add", (8192, 8192), two, lambda a, b: a + b),
    Case("add a + b.T", "add", (8192, 8192), two_transposed, lambda a, b: a + b),
    Case("add a + row", "add", (8192, 8192), with_row, lambda a, r: a + r),
    Case("mul", "mul", (8192, 8192), two, lambda a, b: a * b),
    Case("silu", "silu", (8192, 8192), one, torch.nn.functional.silu),
    Case("gelu tanh", "gelu", (8192, 8192), one, lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    Case("silu backward", "silu", (8192, 8192), two, lambda g, x: torch.ops.aten.silu_backward(g, x),
         ops=("silu_backward",)),
    Case("sigmoid", "silu", (8192, 8192), one, torch.sigmoid, ops=("sigmoid",)),
    Case("silu(g) * u (two ops)", "silu", (16384, 14336), two, lambda g, u: torch.nn.functional.silu(g) * u,
         ops=("silu", "mul")),
    Case("copy to fp32", "copy", (8192, 8192), one, lambda x: x.to(torch.float32), ops=("_to_copy",)),
    Case("softmax fwd dim=-1", "softmax", (16384, 4096), one, lambda x: torch.softmax(x, -1),
         ops=("_softmax",), quick=(8, 128)),
    Case("softmax bwd dim=-1", "softmax", (16384, 4096), softmax_grad, _softmax_bwd,
         ops=("_softmax_backward_data",), quick=(8, 128)),
]

# Each op family keeps its cases in bench/cases_<family>.py (a CASES list built from the
# Case class and builders above), so families grow without editing this table.
FAMILIES = ("pointwise", "reduction", "norm", "loss", "matmul", "attention", "index", "random", "sort")


def _family_cases():
    import importlib
    for fam in FAMILIES:
        name = f"{__package__}.cases_{fam}"
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        CASES.extend(mod.CASES)


_family_cases()


def groups() -> list[str]:
    return list(dict.fromkeys(c.group for c in CASES))


def unique_bytes(t: torch.Tensor) -> int:
    """Bytes of the distinct elements a tensor addresses (stride-0 dims counted once)."""
    n = 1
    for size, stride in zip(t.shape, t.stride()):
        if stride != 0:
            n *= size
    return n * t.element_size()


def min_bytes(case: Case, inputs, out) -> int:
    if case.bytes is not None:
        return case.bytes(inputs, out)
    ts = [t for t in inputs if isinstance(t, torch.Tensor)]
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return sum(unique_bytes(t) for t in ts) + sum(unique_bytes(t) for t in outs)


# -- host-overhead items ----------------------------------------------------------------------
HOST_NUMEL = 1024


def host_items(dtype, device):
    """[(label, fn, triforge ops or None)] timed per call; None runs with triforge off,
    "python" among the ops sends every call to the Python implementation (the C++
    entry's repeat path off, runtime/fastpath.py).

    The add breakdown isolates where host time goes: allocation, our launcher, the
    Python implementation without the dispatcher, then the full dispatched call
    ("triforge x + y"); hop = dispatched through the Python entry - direct.
    """
    from ..codegen import pointwise as pw
    from ..ops.pointwise import arith
    from ..registry import declarations

    x, y = _randn(HOST_NUMEL, dtype, device), _randn(HOST_NUMEL, dtype, device)
    s = _randn(HOST_NUMEL, dtype, device)
    out = torch.empty_like(x)
    n = x.numel()
    # Exactly what the generator passes for a same-shape contiguous tensor + tensor add.
    gen = pw.Pointwise(arith._add, 2)
    block, warps = gen.block, gen.warps
    grid = ((n + block - 1) // block,)
    compute = pw._COMPUTE_TL[pw.promote("DEFAULT", (x, y))[0]]
    la = pw._kernel(arith._add, 1, "tt|")
    args = (x, y, out, n, n, 1, 1, 1, compute, block, False)
    jit = la.fn[grid]
    add_impl = declarations()["add.Tensor"].fn

    return [
        ("torch x + y", lambda: x + y, None),
        ("triforge x + y", lambda: x + y, ("add",)),
        ("triforge x + y, Python entry", lambda: x + y, ("add", "python")),
        ("torch softmax", lambda: torch.softmax(s, -1), None),
        ("triforge softmax", lambda: torch.softmax(s, -1), ("_softmax",)),
        ("add: torch.empty_like", lambda: torch.empty_like(x), None),
        ("add: Launcher launch", lambda: la(grid, *args, num_warps=warps), None),
        ("add: impl direct (no dispatcher)", lambda: add_impl(x, y), None),
        ("add: triton JITFunction launch", lambda: jit(
            x, y, out, n, n, 1, 1, 1, COMPUTE=compute, BLOCK=block, INT64=False, num_warps=warps), None),
    ]

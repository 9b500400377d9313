"""CPU through Triton's interpreter: the real kernels, run element-exact on CPU tensors.

Slow (~1 ms per program instance), so block sizes are large and tests are tiny.
"""
from __future__ import annotations

from .base import Backend

TABLES = {
    # Large blocks: the interpreter's cost is per program instance, not per element.
    "elementwise": {"BLOCK": 4096, "num_warps": 4},
    "softmax": {"max_single_block": 4096, "chunk": 1024, "num_warps": 4},
}


def make() -> Backend:
    return Backend(
        name="interpreter", device_type="cpu", dispatch_key="CPU", arch="cpu",
        family="interpreter", device_name="cpu (triton interpreter)",
        supports_fp64=True, supports_bf16=True, interpreted=True, tables=TABLES,
    )

"""What a backend is: one record per vendor, built by that vendor's module."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Backend:
    name: str                      # "nvidia", "interpreter"
    device_type: str               # torch device type the kernels run on
    dispatch_key: str              # ATen dispatch key triforge registers under
    arch: str                      # "sm90", "sm80", "cpu" ...
    family: str                    # "hopper", "ampere", "interpreter" ...
    device_name: str               # e.g. "NVIDIA H100 80GB HBM3"
    supports_fp64: bool
    supports_bf16: bool
    interpreted: bool              # kernels run through Triton's interpreter
    # Tuning tables: table name -> parameters. Op modules read these rather than
    # hard-coding block sizes, so a new arch is one entry here.
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per-backend op overrides: aten overload -> replacement implementation.
    overrides: dict[str, Callable] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, Any]:
        return self.tables.get(name, {})

    def float_dtypes(self):
        import torch
        out = [torch.float16, torch.float32]
        if self.supports_bf16:
            out.append(torch.bfloat16)
        if self.supports_fp64:
            out.append(torch.float64)
        return tuple(out)

"""triforge: LLM operators in Triton, served through PyTorch's ATen dispatcher.

    import triforge
    triforge.enable()          # every declared aten overload now runs triforge's kernels
    with triforge.use(exclude=["mul"]): ...
    with triforge.coverage() as cov: ...; print(cov)
"""
from __future__ import annotations

import contextlib

from .backends import current as backend

backend()   # detect now: the interpreter must be switched on before triton is imported
from . import registry as _registry  # noqa: E402

__version__ = "0.1.0"
__all__ = ["enable", "disable", "use", "coverage", "backend", "enabled_ops", "__version__"]


def enable(include=None, exclude=None, log: bool | None = None) -> None:
    """Serve the selected aten overloads (all declared ones by default) with triforge.

    include/exclude take op names ("add") or overloads ("add.Tensor").
    log=True (or TRIFORGE_LOG=1) logs each overload once with where it ran.
    """
    if log is None:
        log = _registry.env_log()
    _registry.apply(_registry.select(include, exclude), log)


def disable() -> None:
    """Remove every triforge registration: torch runs its own kernels again."""
    _registry.apply(frozenset(), _registry.env_log())


def enabled_ops() -> frozenset:
    return _registry.active()


@contextlib.contextmanager
def use(include=None, exclude=None, log: bool | None = None):
    """Enable inside a block; the previous state comes back on exit, exceptions included."""
    prev_sel, prev_log = _registry.state()
    if log is None:
        log = _registry.env_log()
    _registry.apply(_registry.select(include, exclude), log)
    try:
        yield
    finally:
        _registry.apply(prev_sel, prev_log)


def coverage():
    """`with triforge.coverage() as cov:` records every aten op executed inside."""
    from .op_coverage import Coverage
    return Coverage()

"""Which aten ops a program ran, and where: triforge, ATen fallback, not implemented.

A TorchDispatchMode sees each aten op after autograd and decompositions, i.e. the ops
that reach a backend kernel. View, metadata and allocation ops launch no kernel and are
listed apart rather than as "not implemented".
"""
from __future__ import annotations

from collections import Counter

from torch.utils._python_dispatch import TorchDispatchMode

from . import registry
from .runtime.launcher import in_interpreted_kernel

# Ops that allocate or only touch metadata: no kernel to write.
_NO_KERNEL = {
    "empty", "empty_strided", "empty_like", "new_empty", "new_empty_strided", "_unsafe_view",
    "lift_fresh", "detach", "alias", "set_", "resize_", "_reshape_alias", "sym_size",
    "sym_stride", "sym_numel", "sym_storage_offset", "is_same_size", "_local_scalar_dense",
    "_has_compatible_shallow_copy_type", "is_nonzero", "result_type",
}

SERVED, FALLBACK, MISSING, NOKERNEL = "triforge", "fallback", "not implemented", "view/alloc"


def _no_kernel(func) -> bool:
    if getattr(func, "is_view", False):
        return True
    return func._schema.name.split("::")[-1] in _NO_KERNEL


class Coverage(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.counts: dict[str, Counter] = {}

    def __enter__(self):
        registry.set_tracking(+1)
        registry.observers.append(self)
        return super().__enter__()

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            registry.observers.remove(self)
            registry.set_tracking(-1)

    def note(self, ov: str, outcome: str):
        """An op served (or declined) at the Autograd key, above this mode."""
        where = SERVED if outcome == registry.SERVED else FALLBACK
        self.counts.setdefault(ov, Counter())[where] += 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if in_interpreted_kernel():
            # the interpreter's own tensor copies while it runs a kernel of an op served
            # above this mode (at the Autograd key): not the program's ops
            return func(*args, **kwargs)
        name = func._schema.name.split("::")[-1]
        ov = name if func._overloadname == "default" else f"{name}.{func._overloadname}"
        tls = registry.tls
        saved, tls.outcome = tls.outcome, None
        try:
            return func(*args, **kwargs)
        finally:   # counted even when the op raises (torch's errors come through fallbacks)
            got, tls.outcome = tls.outcome, saved
            if ov in registry.active():
                where = FALLBACK if got != registry.SERVED else SERVED
            elif _no_kernel(func):
                where = NOKERNEL
            else:
                where = MISSING
            self.counts.setdefault(ov, Counter())[where] += 1

    # -- reading ----------------------------------------------------------------------
    def by_outcome(self, outcome: str) -> dict[str, int]:
        return {op: c[outcome] for op, c in sorted(self.counts.items()) if c[outcome]}

    def served(self):
        return self.by_outcome(SERVED)

    def fell_back(self):
        return self.by_outcome(FALLBACK)

    def missing(self):
        return self.by_outcome(MISSING)

    def table(self) -> str:
        cols = (SERVED, FALLBACK, MISSING, NOKERNEL)
        rows = sorted(self.counts.items(), key=lambda kv: (
            next((i for i, c in enumerate(cols) if kv[1][c]), len(cols)), kv[0]))
        w = max([len("aten op")] + [len(op) for op in self.counts]) + 2
        lines = ["aten op".ljust(w) + "".join(c.rjust(17) for c in cols)]
        for op, c in rows:
            lines.append(op.ljust(w) + "".join((str(c[k]) if c[k] else ".").rjust(17) for k in cols))
        tot = {k: sum(c[k] for c in self.counts.values()) for k in cols}
        ops = {k: sum(1 for c in self.counts.values() if c[k]) for k in cols}
        lines.append("-" * len(lines[0]))
        lines.append("calls".ljust(w) + "".join(str(tot[k]).rjust(17) for k in cols))
        lines.append("distinct ops".ljust(w) + "".join(str(ops[k]).rjust(17) for k in cols))
        return "\n".join(lines)

    def __str__(self):
        return self.table()

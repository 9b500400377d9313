"""Declarations -> torch.library registrations, fallback to the original ATen kernel,
call log and outcome tracking.

An implementation declares next to its code:

    @impl("add.Tensor", "add.out", supports=_same_shape_dense)
    def add(self, other, *, alpha=1): ...

`supports(*args, **kwargs)` (optional) says whether triforge handles the call; the
implementation may also return NotImplemented after its own checks. Either way the
call goes to the ATen kernel that was registered for the dispatch key before
triforge overrode it -- counted as a fallback, never an error torch would not raise.
"""
from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Callable

import torch

from .backends import current as _backend

log = logging.getLogger("triforge")


@dataclass(frozen=True)
class Decl:
    overload: str            # "add.Tensor" ("add" for the default overload)
    fn: Callable
    supports: Callable | None
    module: str
    backends: tuple | None   # None: every backend
    autograd: bool = False   # registered at the backend's Autograd key (see impl)
    inference: bool = False  # autograd=True: also at the backend key (see impl)
    repeat: bool = False     # the C++ entry may repeat its launches (see impl)
    native: tuple = ()       # (kind, ((op, fn), ...)): a C++ kernel of its own (see impl)

    @property
    def qualname(self) -> str:
        return "aten::" + self.overload

    @property
    def base(self) -> str:
        return self.overload.split(".")[0]


_DECLS: dict[str, Decl] = {}


def impl(*overloads: str, supports: Callable | None = None, backends: tuple | None = None,
         module: str | None = None, autograd: bool = False, inference: bool = False, repeat: bool = False,
         native: tuple = ()):
    """Declare `fn` as triforge's implementation of the given aten overloads. `module`
    names the implementing module when `fn` is a wrapper made elsewhere.

    autograd=True registers at the backend's Autograd key (AutogradCUDA, AutogradCPU)
    instead of its backend key: for ops that torch decomposes above the backend
    (CompositeImplicitAutograd, e.g. cross_entropy_loss, scaled_dot_product_attention)
    where triforge wants one fused kernel. `fn` then owns autograd itself (a
    torch.autograd.Function); its fallback is torch's decomposition. Under
    inference_mode the Autograd key is skipped and the decomposition runs, unless
    inference=True also registers `fn` at the backend key: reached only where autograd
    is skipped (inference_mode), since the Autograd-key kernel comes first otherwise.

    repeat=True lets the C++ entry (runtime/fastpath.cpp) repeat a call's launches for
    later calls with the same argument key (dtypes, sizes, strides, alignment, numbers)
    without entering Python. Only for ops whose launches are a pure function of that
    key: no host reads of tensor data, no random state, no other global state; buffers
    passed between launches come from runtime.scratch.

    native=(kind, ((op, fn), ...)): where the C++ entry is in use, the overload is served
    by its C++ kernel `kind` (fastpath.cpp's SdpaKernel for "sdpa"), which hands the calls
    it does not take to `fn` as usual, and calls the triforge:: ops listed, served by their
    fns at the backend key as repeatable ops."""
    def deco(fn):
        mod = module or fn.__module__
        for ov in overloads:
            if ov in _DECLS:
                raise RuntimeError(f"aten::{ov} declared twice ({_DECLS[ov].module}, {mod})")
            _DECLS[ov] = Decl(ov, fn, supports, mod, backends, autograd, autograd and inference, repeat, native)
        return fn
    return deco


_declared: dict | None = None
skipped: dict[str, str] = {}   # overload -> why it is not registered


def declarations() -> dict[str, Decl]:
    """The declarations served on this backend. An op that decomposes above the backend
    (a CompositeImplicitAutograd kernel and no kernel for the backend's key) is left
    out: a backend kernel for it would take the dispatcher past autograd, silently
    (seen with aten::selu: outputs without grad_fn)."""
    global _declared
    if _declared is None:
        from . import ops  # noqa: F401  importing ops runs every declaration
        b = _backend()
        out = {}
        for k, d in sorted(_DECLS.items()):
            if d.backends is not None and b.name not in d.backends:
                continue
            if (not d.autograd
                    and torch._C._dispatch_has_kernel_for_dispatch_key(d.qualname, "CompositeImplicitAutograd")
                    and not torch._C._dispatch_has_kernel_for_dispatch_key(d.qualname, b.dispatch_key)):
                skipped[k] = "decomposes above the backend (CompositeImplicitAutograd)"
                continue
            if not torch._C._dispatch_has_computed_kernel_for_dispatch_key(d.qualname, key_of(d, b)):
                # e.g. narrow_copy.out: a CPU kernel only, so on CUDA nothing to fall back to
                skipped[k] = f"ATen has no {key_of(d, b)} kernel to fall back to"
                continue
            out[k] = d
        _declared = out
    return _declared


# -- outcome tracking (coverage, call log) --------------------------------------------
SERVED, FALLBACK = "triforge", "aten"


class _TLS(threading.local):
    outcome = None           # set by the outermost triforge wrapper while tracking


tls = _TLS()
_tracking = False            # read by every wrapper; flipped by enable(log=...) / coverage()
_log_calls = False
_logged: set = set()
_log_lock = threading.Lock()


def _record(overload: str, outcome: str):
    if tls.outcome is None:
        tls.outcome = outcome
    if _log_calls and (overload, outcome) not in _logged:
        with _log_lock:
            if (overload, outcome) not in _logged:
                _logged.add((overload, outcome))
                log.warning("triforge: aten::%s ran on %s", overload, outcome)


# Coverage recorders (op_coverage.Coverage) see ops below autograd; ops served at the
# Autograd key (impl(autograd=True)) never get there, so their wrappers report here.
observers: list = []


def _record_above(overload: str, outcome: str):
    _record(overload, outcome)
    tls.outcome = None   # not an outcome of the dispatch-mode op that may be running
    for o in list(observers):
        o.note(overload, outcome)


def set_tracking(n_users_delta: int):
    global _tracking, _track_users
    _track_users += n_users_delta
    _tracking = _track_users > 0 or _log_calls
    from .runtime import fastpath
    fastpath.set_fast(not _tracking)   # outcomes are recorded in Python: every call goes there


_track_users = 0


# -- fallback to the captured ATen kernel ---------------------------------------------
_originals: dict[tuple[str, str], Callable] = {}


def original(qualname: str, key: str) -> Callable:
    """The kernel ATen had for (op, key) before triforge registered anything."""
    got = _originals.get((qualname, key))
    if got is None:
        k = torch._C._dispatch_get_computed_kernel_for_dispatch_key(qualname, getattr(torch._C.DispatchKey, key))
        ks = torch._C.DispatchKeySet(getattr(torch._C.DispatchKey, key))
        call = k.call_boxed
        tensor_slots = _tensor_slots(qualname)

        def got(*args, **kwargs):
            try:
                return call(ks, *args, **kwargs)
            except RuntimeError as e:
                if not tensor_slots or "Unable to cast" not in str(e):
                    raise
            # ATen's C++ code passed a number as a Tensor argument (a "wrapped number");
            # it reaches Python as a float/int, which the boxed call will not take back.
            args, kwargs = _wrap_numbers(args, kwargs, tensor_slots)
            return call(ks, *args, **kwargs)
        _originals[(qualname, key)] = got
    return got


def _tensor_slots(qualname: str):
    name, _, overload = qualname.partition("::")[2].partition(".")
    schema = getattr(getattr(torch.ops.aten, name), overload or "default")._schema
    return [(i, a.name) for i, a in enumerate(schema.arguments) if str(a.type) == "Tensor"]


def _number_in_tensor_slot(qualname, args, kwargs) -> bool:
    for i, name in _tensor_slots(qualname):
        v = args[i] if i < len(args) else kwargs.get(name)
        if isinstance(v, (bool, int, float, complex)):
            return True
    return False


def _wrap_numbers(args, kwargs, slots):
    """Numbers in Tensor slots -> 0-dim CPU tensors whose promotion matches a wrapped
    number's whenever some tensor argument has dimensions (a 0-dim tensor then counts
    by category only). float64 args keep the scalar in double precision."""
    tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor)]
    wide = any(t.dtype in (torch.float64, torch.complex128) for t in tensors)

    def conv(v):
        if isinstance(v, bool):
            return torch.tensor(v)
        if isinstance(v, int):
            return torch.tensor(v, dtype=torch.int64)
        if isinstance(v, float):
            return torch.tensor(v, dtype=torch.float64 if wide else torch.get_default_dtype())
        if isinstance(v, complex):
            return torch.tensor(v, dtype=torch.complex128 if wide else torch.complex64)
        return v
    args = list(args)
    for i, name in slots:
        if i < len(args):
            args[i] = conv(args[i])
        elif name in kwargs:
            kwargs = {**kwargs, name: conv(kwargs[name])}
    return args, kwargs


def _make_wrapper(d: Decl, key: str, interpreted: bool) -> Callable:
    fn, pred, ov = d.fn, d.supports, d.overload
    fallback = original(d.qualname, key)
    if interpreted:
        from .runtime.launcher import in_interpreted_kernel
    else:
        in_interpreted_kernel = None

    above = key.startswith("Autograd")
    record = _record_above if above else _record

    def wrapper(*args, **kwargs):
        if in_interpreted_kernel is not None and in_interpreted_kernel():
            return fallback(*args, **kwargs)
        try:
            ok = pred is None or pred(*args, **kwargs)
        except (AttributeError, TypeError):
            # ATen's C++ passed a number for a Tensor argument (a wrapped number reaches
            # Python as an int/float) and `supports` took it for a tensor: ATen's kernel,
            # which takes the number back, decides. Anything else stays an error.
            if not _number_in_tensor_slot(d.qualname, args, kwargs):
                raise
            ok = False
        if ok:
            if _tracking:
                # triforge ops that fn calls (a bounds check's aminmax...) record their own
                # outcome first; this op's is what counts, even where fn declines
                saved = tls.outcome
                out = fn(*args, **kwargs)
                tls.outcome = saved
            else:
                out = fn(*args, **kwargs)
            if out is not NotImplemented:
                if _tracking:
                    record(ov, SERVED)
                return out
        if _tracking:
            record(ov, FALLBACK)
        return fallback(*args, **kwargs)

    wrapper.__name__ = f"triforge_{ov.replace('.', '_')}"
    wrapper.__qualname__ = wrapper.__name__
    return wrapper


# -- enable / disable -------------------------------------------------------------------
class _State:
    lib = None                 # torch.library.Library holding the live registrations
    native: tuple | list = ()  # or the C++ entry's registrations, one per dispatch key
    selected: frozenset = frozenset()
    log: bool = False


_state = _State()
_reg_lock = threading.RLock()


def _match(ov: str, names) -> bool:
    """"add" names every overload of add and add_; "add.Tensor" just that one."""
    base = ov.split(".")[0]
    return ov in names or base in names or (base.endswith("_") and base[:-1] in names)


def select(include=None, exclude=None) -> frozenset:
    decls = declarations()
    names = set(decls)
    if include is not None:
        inc = {include} if isinstance(include, str) else set(include)
        unknown = {n for n in inc if not any(_match(ov, {n}) for ov in names)}
        if unknown:
            raise ValueError(f"triforge has no implementation of: {sorted(unknown)}")
        names = {ov for ov in names if _match(ov, inc)}
    if exclude is not None:
        exc = {exclude} if isinstance(exclude, str) else set(exclude)
        names = {ov for ov in names if not _match(ov, exc)}
    return frozenset(names)


def apply(selected: frozenset, log_calls: bool):
    """Make exactly `selected` live: ~6 us per overload registered, wrappers cached."""
    global _log_calls
    with _reg_lock:
        _log_calls = log_calls
        set_tracking(0)
        if selected == _state.selected and (_state.lib is not None or not selected):
            return
        b = _backend()
        decls = declarations()
        for ov in selected:   # capture originals before anything of ours is registered
            for key in keys_of(decls[ov], b):
                original(decls[ov].qualname, key)
        if _state.lib is not None:
            _state.lib._destroy()
            _state.lib = None
        for r in _state.native:
            r.drop()
        _state.native = []
        if selected:
            lib = torch.library.Library("aten", "IMPL")
            with warnings.catch_warnings():  # "Overriding a previously registered kernel": the point
                warnings.simplefilter("ignore", UserWarning)
                _register_all(lib, selected, decls, b)
            _state.lib = lib
        _state.selected = selected


def key_of(d: Decl, b) -> str:
    return "Autograd" + b.dispatch_key if d.autograd else b.dispatch_key


def keys_of(d: Decl, b) -> tuple:
    return (key_of(d, b), b.dispatch_key) if d.inference else (key_of(d, b),)


def _register_all(lib, selected, decls, b):
    by_key: dict = {}
    for ov in sorted(selected):
        d = decls[ov]
        e = _effective(d, b)
        for key in keys_of(d, b):
            by_key.setdefault(key, []).append((ov, wrapper_for(e, b, key), d.repeat, e.native))
    native = _native_entry(b)
    for key, items in by_key.items():
        if native is not None:
            # the C++ entry (runtime/fastpath.cpp) repeats a seen call without Python
            reg = native.Registrations(key)
            for ov, w, repeat, kind in items:
                if kind:
                    getattr(reg, "impl_" + kind[0])(w, b.device_type)
                else:
                    reg.impl(ov, w, repeat)
            _state.native.append(reg)
        else:
            register(lib, items, key)
    helpers = [h for items in by_key.values() for *_, kind in items if kind for h in kind[1]]
    helpers = list(dict.fromkeys(helpers))   # an overload at two keys lists its ops twice
    if native is not None and helpers:
        reg = native.Registrations(b.dispatch_key, "triforge")
        for op, fn in helpers:
            reg.impl(op, fn, True)
        _state.native.append(reg)


def _native_entry(b):
    from .runtime import fastpath
    return fastpath.module() if fastpath.wanted(b.interpreted) else None


def _effective(d: Decl, b) -> Decl:
    fn = b.overrides.get(d.overload)
    return d if fn is None else Decl(d.overload, fn, None, fn.__module__, d.backends, d.autograd, d.inference,
                                     False)   # an override: no native kernel either


_wrappers: dict = {}


def wrapper_for(d: Decl, b, key: str | None = None) -> Callable:
    """The dispatcher-facing wrapper of a declaration, built once: entering use() only
    re-registers (600 overloads: ~4 ms with cached wrappers, ~6 ms building them)."""
    dk = key or key_of(d, b)
    key = (d.overload, d.fn, dk)
    w = _wrappers.get(key)
    if w is None:
        w = _wrappers[key] = _make_wrapper(d, dk, b.interpreted)
    return w


def register(lib, items, dispatch_key: str):
    # lib.m.impl: the C++ registration without Library.impl's Python bookkeeping;
    # lib._destroy() drops them all at once.
    for ov, w, *_ in items:
        lib.m.impl(ov, dispatch_key, w, False)


def active() -> frozenset:
    return _state.selected


def state():
    return (_state.selected, _log_calls)


def env_log() -> bool:
    return os.environ.get("TRIFORGE_LOG", "0") not in ("", "0")

"""Direct kernel launches: the compiled kernel is cached under our own cheap key and
launched through a C entry point, skipping JITFunction.run's binder, option parsing
and hook handling (16-27 us per call on an H100 host).

Key = per runtime argument what Triton specialises on (tensor dtype and 16-byte
alignment; int == 1, divisible by 16, and its width class), plus constexpr values,
launch options and device. The key is at least as fine as Triton's, so a cached
kernel is only reused where Triton would have chosen the same binary. The key and the
launch arguments are built by a small function generated per kernel from the kinds
of arguments of its first call (tensor / constexpr / other); a call that does not
fit that pattern takes the generic loop.
Launch hooks (profilers that set knobs.runtime.launch_enter_hook) are not called
on the direct path; TRIFORGE_TRITON_LAUNCH=1 sends every launch through JITFunction.run.
"""
from __future__ import annotations

import os
import threading

import torch
from triton.tools.tensor_descriptor import TensorDescriptor as _TensorDescriptor

from ..backends import current as _backend
from .fastpath import slot as _slot
from .native_launch import descriptor_types, native_launch, type_string

_Tensor = torch.Tensor
_RECORD = os.environ.get("TRIFORGE_RECORD_LAUNCHES")   # see runtime/compile_check.py
_I32_LO, _I32_HI = -(2**31), 2**31 - 1
_U63 = 2**63


def _rk(a):
    """Key of a runtime scalar argument."""
    t = type(a)
    if t is int:
        return 1 if a == 1 else ((a & 15) == 0, _I32_LO <= a <= _I32_HI, a < _U63)
    if t is float:
        return 1.5
    if isinstance(a, _Tensor):   # a tensor where the binder expected a scalar
        raise TypeError
    if t is _TensorDescriptor:   # a host descriptor: Triton specialises it on dtype and block
        return (t, a.base.dtype, tuple(a.block_shape), a.padding)
    return (t, a)   # bool (i1, by value: finer than Triton), None


class _Direct:
    """One compiled kernel bound to a C launch entry point: launch(gx, gy, gz, stream, *prefix, *args)."""
    __slots__ = ("launch", "prefix", "record", "descs")

    def __init__(self, compiled):
        run = compiled.run  # loads the module on the current device
        fn, meta = compiled.function, compiled.packed_metadata
        native = native_launch()
        types = type_string(compiled) if native is not None else None
        # what a launch reports to the C++ entry: (function, threads, shared, types);
        # descs: the host TMA descriptors' metadata (their maps are encoded there)
        self.record, self.descs = None, None
        if types is not None:
            self.launch = native
            self.prefix = self.record = (fn, 32 * compiled.metadata.num_warps, compiled.metadata.shared, types)
            return
        dt = descriptor_types(compiled) if native is not None else None
        if dt is not None:
            self.record = (fn, 32 * compiled.metadata.num_warps, compiled.metadata.shared, dt[0])
            self.descs = dt[1]
        launch = getattr(run, "launch", None)
        if (launch is not None and getattr(run, "global_scratch_size", 1) == 0
                and getattr(run, "profile_scratch_size", 1) == 0):
            self.launch = launch
            self.prefix = (fn, run.launch_cooperative_grid, run.launch_pdl, None, None, meta, None, None, None)
        else:  # scratch buffers or tensor descriptors: let Triton's wrapper allocate them
            self.launch = run
            self.prefix = (fn, meta, None, None, None)


class Launcher:
    """Launch a @triton.jit kernel: `launcher(grid, *all_args, num_warps=, num_stages=)`.

    All kernel parameters, constexprs included, are passed positionally in the
    kernel's parameter order. Tensors must be on one device (op wrappers check this).
    """

    def __init__(self, fn, *, device_asserts=False):
        self.fn = fn
        # A kernel taking host tensor descriptors launches directly too, through the
        # compiled kernel's own launcher (which encodes them), and the C++ entry repeats
        # it, encoding the descriptors itself (native_launch.descriptor_types).
        # tl.device_assert compiles only under debug; overflow sanitising (which debug
        # would also switch on) stays off: only the kernel's own asserts are wanted
        self._options = {"debug": True, "sanitize_overflow": False} if device_asserts else {}
        self.name = getattr(fn, "__name__", None) or fn.fn.__name__
        params = getattr(fn, "params", None)
        self._constexpr = tuple(i for i, p in enumerate(params) if p.is_constexpr) if params else ()
        self._names = tuple(p.name for p in params) if params else ()
        self._cache: dict = {}
        self._lock = threading.Lock()
        self._bind = None
        b = _backend()
        self._interp = b.interpreted
        self._force_triton = os.environ.get("TRIFORGE_TRITON_LAUNCH", "0") == "1"
        if not self._interp:
            self._stream = torch._C._cuda_getCurrentRawStream
            self._getdev = torch._C._cuda_getDevice

    @property
    def src_hash(self) -> str:
        import hashlib
        import inspect
        f = getattr(self.fn, "fn", self.fn)
        return hashlib.sha256(inspect.getsource(f).encode()).hexdigest()[:16]

    def _split(self, args):
        ce = self._constexpr
        rt = [a for i, a in enumerate(args) if i not in ce]
        kw = {self._names[i]: args[i] for i in ce}
        return rt, kw

    # -- key and arguments ---------------------------------------------------------------
    def _generic(self, args):
        """(key, launch args, device) for any arguments; also the binder's fallback."""
        key = []
        largs = []
        dev = -1
        ce = self._constexpr
        for i, a in enumerate(args):
            if i in ce:
                key.append(a)
                largs.append(a)
            elif isinstance(a, _Tensor):
                p = a.data_ptr()
                if dev < 0:
                    dev = a.get_device()
                key.append(a.dtype)
                key.append((p & 15) == 0)
                largs.append(p)
            else:
                key.append(_rk(a))
                largs.append(a)
        return tuple(key), tuple(largs), dev

    def _make_binder(self, args):
        """Straight-line code for this kernel's argument pattern (what the loop in
        _generic does, without the loop): ~1 us instead of ~4 us for 12 arguments."""
        ce = self._constexpr
        names = [f"a{i}" for i in range(len(args))]
        body, key, largs, first = [], [], [], None
        for i, (n, a) in enumerate(zip(names, args)):
            if i in ce:
                key.append(n)
                largs.append(n)
            elif isinstance(a, _Tensor):
                body.append(f"    p{i} = {n}.data_ptr()")
                key += [f"{n}.dtype", f"(p{i} & 15) == 0"]
                largs.append(f"p{i}")
                first = first or n
            else:
                key.append(f"_rk({n})")
                largs.append(n)
        dev = f"{first}.get_device()" if first else "-1"
        src = (f"def bind({', '.join(names)}):\n" + "\n".join(body) + "\n" +
               f"    return ({', '.join(key)},), ({', '.join(largs)},), {dev}\n")
        scope = {"_rk": _rk}
        exec(compile(src, f"<triforge binder {self.name}>", "exec"), scope)
        return scope["bind"], len(args)

    def __call__(self, grid, *args, num_warps=4, num_stages=3):
        if self._interp:
            if _RECORD:
                from .compile_check import record
                record(_RECORD, self.fn, args, self._constexpr, num_warps, num_stages, self._options)
            return self._interpret(grid, args)
        if _slot.armed:
            return self._reported(grid, args, num_warps, num_stages)
        key, largs, dev, cur = self._key(args, num_warps, num_stages)
        d = self._cache.get(key)
        if d is None or self._force_triton:
            return self._compile_and_launch(key, grid, args, num_warps, num_stages, dev)
        g = len(grid)
        if dev != cur:
            with torch.cuda.device(dev):
                d.launch(grid[0], grid[1] if g > 1 else 1, grid[2] if g > 2 else 1,
                         self._stream(dev), *d.prefix, *largs)
            return
        d.launch(grid[0], grid[1] if g > 1 else 1, grid[2] if g > 2 else 1,
                 self._stream(dev), *d.prefix, *largs)

    def _key(self, args, num_warps, num_stages):
        b = self._bind
        if b is None:
            b = self._bind = self._make_binder(args)
        try:
            if len(args) != b[1]:
                raise TypeError
            key, largs, dev = b[0](*args)
        except (TypeError, AttributeError):   # a call outside the first call's pattern
            key, largs, dev = self._generic(args)
        cur = self._getdev()
        if dev < 0:
            dev = cur
        return (key, num_warps, num_stages, dev), largs, dev, cur

    def _reported(self, grid, args, num_warps, num_stages):
        """Launch, and report the launch to the C++ entry that armed the slot around this
        call (runtime/fastpath.cpp), which may repeat the call's launches from C++."""
        _slot.launches += 1
        _slot.armed = False   # the launch itself must not report again
        try:
            self(grid, *args, num_warps=num_warps, num_stages=num_stages)
        finally:
            _slot.armed = True
        d = None if self._force_triton else self._cache.get(self._key(args, num_warps, num_stages)[0])
        if d is None or d.record is None:   # Triton's launcher: not repeatable from C++
            _slot.recipe = None
            return
        g = tuple(grid) + (1,) * (3 - len(grid))
        if d.descs is None:
            src = tuple(("t", a) if isinstance(a, _Tensor) else ("v", a) for a in args)
        else:
            src = _with_descriptors(args, d.descs)
        if _slot.recipe is not None:
            _slot.recipe.append((*d.record, g, src))

    def _compile_and_launch(self, key, grid, args, num_warps, num_stages, dev):
        """First launch of a key: Triton's own path compiles (or loads) and launches."""
        rt, kw = self._split(args)
        with self._lock, torch.cuda.device(dev):
            compiled = self.fn.run(*rt, grid=grid, warmup=False,
                                   num_warps=num_warps, num_stages=num_stages, **self._options, **kw)
            self._cache[key] = _Direct(compiled)

    def _interpret(self, grid, args):
        rt, kw = self._split(args)
        # Triton's interpreter patches triton.language while a kernel runs and restores it
        # after: two threads interpreting at once broke each other ("Did you forget to add
        # @triton.jit?" in the other thread), so interpreted launches take turns
        with _INTERP_LOCK, _interpreting():
            self.fn[grid](*rt, **kw)


def _with_descriptors(args, descs):
    """Sources of a launch whose host TMA descriptors Triton passes as (map, shape,
    strides): each map as ("m", tensor, CUDA dtype, swizzle, fill, dims, byte strides,
    box) in CUDA's innermost-first order -- what Triton's fill_tma_descriptor encodes --
    then its shape and strides as numbers."""
    from triton.backends.nvidia.driver import TMA_DTYPE_DEVICE_TO_HOST
    src, k = [], 0
    for a in args:
        if type(a) is _TensorDescriptor:
            m = descs[k]
            k += 1
            size = m["elem_size"]
            src.append(("m", a.base, TMA_DTYPE_DEVICE_TO_HOST[m["elem_type"]], m["swizzle"],
                        1 if a.padding == "nan" else 0, tuple(a.shape[::-1]),
                        tuple(size * s for s in a.strides[:-1])[::-1], tuple(m["block_size"][::-1])))
            src += [("v", n) for n in a.shape]
            src += [("v", s) for s in a.strides]
        else:
            src.append(("t", a) if isinstance(a, _Tensor) else ("v", a))
    return tuple(src)


_INTERP_LOCK = threading.RLock()


class _InterpGuard(threading.local):
    depth = 0


_guard = _InterpGuard()


class _interpreting:
    """While the interpreter runs a kernel it calls torch ops on CPU tensors
    (copies, views); those must reach ATen, not triforge's CPU registrations."""
    __slots__ = ()

    def __enter__(self):
        _guard.depth += 1

    def __exit__(self, *exc):
        _guard.depth -= 1


def in_interpreted_kernel() -> bool:
    return _guard.depth > 0

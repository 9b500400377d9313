"""The pointwise generator: an N-ary elementwise op from a scalar @triton.jit function.

    @triton.jit
    def _sub(a, b, alpha):
        return a - b * alpha

    SUB = Pointwise(_sub, n_inputs=2, promotion="DEFAULT")
    out = SUB(x, y, params=(alpha,))          # tensors or Python numbers, torch's rules

What it does for a call:
- type promotion as torch/_prims_common (memoised on the operands' dtype facts), with
  half types computed in float32 ("opmath"); 0-dim CPU tensors are scalars;
- broadcasting, any strides: dims are put in the output's memory order, size-1 dims
  dropped and neighbouring dims merged where every operand allows, so most calls
  become a rank-1 contiguous loop; the rest index through (size, stride) lists;
- output allocated in the memory format torch would give (from the first full-size
  dense input), or `out=` / in-place with torch's cast and overlap rules (what it does
  not handle returns NotImplemented: the registry then calls ATen, which raises or
  resizes as torch does);
- one kernel per (function, rank, operand kinds), written as a Python file (readable,
  and importable so Triton can read its source); TRIFORGE_DUMP_CODEGEN=dir keeps a copy;
- `low=True`: the function takes a constexpr LOW, True where a float32 computation is
  stored in float16 / bfloat16. A result kept to 8 or 11 bits cannot show a few float32
  ulps, so such functions may take a cheaper form there (explog.py: tl.exp's ex2 where
  float32 results get exp written out to 1 ulp; tanh's short series where float32 takes a
  longer polynomial: without LOW, bf16 gelu-tanh ran 4% slower, exp and tanh 2-4%).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
import sys
import tempfile

import torch
import triton.language as tl
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND as _KIND
from torch._prims_common import elementwise_dtypes

from ..backends import current as backend
from ..runtime import Launcher
from ..runtime.autotune import cache_dir

MAX_RANK = 6
_I32_MAX = 2**31 - 1
_TL = {torch.float16: tl.float16, torch.bfloat16: tl.bfloat16, torch.float32: tl.float32,
       torch.float64: tl.float64, torch.int8: tl.int8, torch.int16: tl.int16, torch.int32: tl.int32,
       torch.int64: tl.int64, torch.uint8: tl.uint8, torch.bool: tl.int1}
# Computation types: bool operands compute as int8 (True + True must not wrap to False);
# the store's cast back to bool is `!= 0`, as torch's.
_COMPUTE_TL = {**_TL, torch.bool: tl.int8}
_SCALARS = (bool, int, float)
_Tensor = torch.Tensor
_default_dtype = torch.get_default_dtype


# -- type promotion ---------------------------------------------------------------------
_promo_memo: dict = {}


def promote(kind: str, operands):
    """(compute dtype, result dtype) as torch computes them, memoised on what decides it."""
    # the default dtype decides int / int and int + float-scalar results
    key = (kind, torch.get_default_dtype()) + tuple((o.dtype, o.dim() == 0) if isinstance(o, _Tensor) else type(o)
                                                    for o in operands)
    got = _promo_memo.get(key)
    if got is None:
        # meta tensors: no memory, and no deterministic-mode fill_ (which may be ours)
        examples = [torch.empty((1,) * (0 if k[1] else 1), dtype=k[0], device="meta")
                    if isinstance(k, tuple) else k(1) for k in key[2:]]
        got = _promo_memo[key] = elementwise_dtypes(*examples, type_promotion_kind=getattr(_KIND, kind))
    return got


# -- layout: memory order, broadcasting, coalescing ------------------------------------
def _broadcast_strides(t: torch.Tensor, shape) -> list:
    pad = len(shape) - t.dim()
    st = [0] * pad + list(t.stride())
    sz = [1] * pad + list(t.shape)
    return [0 if s == 1 and n != 1 else st[i] for i, (s, n) in enumerate(zip(sz, shape))]


def _is_dense(t: torch.Tensor) -> bool:
    """Non-overlapping and dense: some permutation of the dims is contiguous."""
    if t.is_contiguous():
        return True
    expect = 1
    for st, n in sorted((st, n) for n, st in zip(t.shape, t.stride()) if n != 1):
        if st != expect:
            return False
        expect *= n
    return True


def _output_perm(shape, tensors):
    """Dims outermost -> innermost, by the first full-size dense input's strides (as
    TensorIterator does for the common cases); identity otherwise."""
    nd = len(shape)
    for t in tensors:
        if t.dim() == nd and tuple(t.shape) == tuple(shape) and _is_dense(t) and not t.is_contiguous():
            st = t.stride()
            return sorted(range(nd), key=lambda d: (-st[d], d))
        if t.dim() == nd and tuple(t.shape) == tuple(shape) and t.is_contiguous():
            break
    return list(range(nd))


def _coalesce(shape, strides_list, perm):
    """Reorder dims by `perm`, drop size-1 dims, merge dims contiguous for every operand."""
    sizes, strides = [], [[] for _ in strides_list]
    for d in perm:
        n = shape[d]
        if n == 1:
            continue
        if sizes and all(st[d] * n == s[-1] for st, s in zip(strides_list, strides)):
            sizes[-1] *= n
            for st, s in zip(strides_list, strides):
                s[-1] = st[d]
            continue
        sizes.append(n)
        for st, s in zip(strides_list, strides):
            s.append(st[d])
    if not sizes:
        sizes = [1]
        strides = [[1] for _ in strides_list]
    return sizes, strides


def _max_offset(sizes, strides) -> int:
    return sum((n - 1) * abs(s) for n, s in zip(sizes, strides))


# -- code generation ---------------------------------------------------------------------
_kernels: dict = {}


def _source(fn, rank: int, kinds: str, name: str, tiled: bool = False, low=None) -> str:
    """Kernel text. `kinds` has one letter per input, then '|', then one per parameter:
    't' tensor, 'f' float scalar (fp32 argument), 'd' float scalar for a float64
    computation (its bits passed as int64), 'i' integer scalar. Scalars and parameters
    are converted to the computation dtype, as torch's opmath does.
    tiled (rank 2): BLOCK x BLOCK tiles on a 2-d grid, for operands whose fast dims
    disagree (a + b.T): each operand is loaded as a 2-d block along its own contiguous
    dim, and the layout change between them goes through shared memory."""
    in_kinds, _, par_kinds = kinds.partition("|")
    ins = [f"in{i}" for i in range(len(in_kinds))]
    params = [f"p{i}" for i in range(len(par_kinds))]
    n_t = in_kinds.count("t") + in_kinds.count("r")
    sizes = [f"size{j}" for j in range(rank)]
    strides = [f"st{k}_{j}" for k in range(n_t + 1) for j in range(rank)]
    args = ins + params + ["out0", "n"] + sizes + strides + ["COMPUTE: tl.constexpr", "BLOCK: tl.constexpr",
                                                             "INT64: tl.constexpr"]
    L = ["@triton.jit", f"def {name}({', '.join(args)}):"]
    if tiled:
        L += ["    p0 = tl.program_id(0)",
              "    p1 = tl.program_id(1)",
              "    if INT64:",
              "        p0 = p0.to(tl.int64)",
              "        p1 = p1.to(tl.int64)",
              "    i0 = (p0 * BLOCK + tl.arange(0, BLOCK))[:, None]",
              "    i1 = (p1 * BLOCK + tl.arange(0, BLOCK))[None, :]",
              "    mask = (i0 < size0) & (i1 < size1)"]
        idx = ["i0", "i1"]
    else:
        L += ["    pid = tl.program_id(0)",
              "    if INT64:",
              "        pid = pid.to(tl.int64)",
              "    offs = pid * BLOCK + tl.arange(0, BLOCK)",
              "    mask = offs < n"]
    if tiled:
        pass   # idx set above
    elif rank == 1:
        idx = ["offs"]
    else:
        L.append("    rem = offs")
        idx = [None] * rank
        for j in range(rank - 1, 0, -1):
            L.append(f"    i{j} = rem % size{j}")
            L.append(f"    rem = rem // size{j}")
            idx[j] = f"i{j}"
        idx[0] = "rem"

    def offset(k):
        return " + ".join(f"{idx[j]} * st{k}_{j}" for j in range(rank))

    def scalar(var, kind):   # tl.cast: run-time scalars are plain Python numbers in the interpreter
        if kind == "d":      # int64 bits (an int32 argument when they fit: widen before the bitcast)
            return f"tl.cast(tl.cast(tl.cast({var}, tl.int64), tl.float64, bitcast=True), COMPUTE)"
        return f"tl.cast({var}, COMPUTE)"
    vals, t = [], 0
    for k, kind in enumerate(in_kinds):
        if kind in "tr":   # 'r': loaded as stored (a mask, a condition): no promotion
            conv = ".to(COMPUTE)" if kind == "t" else ""
            L.append(f"    a{k} = tl.load(in{k} + ({offset(t)}), mask=mask){conv}")
            t += 1
        else:
            L.append(f"    a{k} = {scalar(f'in{k}', kind)}")
        vals.append(f"a{k}")
    for k, kind in enumerate(par_kinds):
        L.append(f"    q{k} = {scalar(f'p{k}', kind)}")
        vals.append(f"q{k}")
    if low is not None:
        vals.append(f"LOW={low}")
    L.append(f"    r = scalar_fn({', '.join(vals)})")
    L.append(f"    tl.store(out0 + ({offset(n_t)}), r.to(out0.dtype.element_ty), mask=mask)")
    head = ["# generated by triforge.codegen.pointwise -- do not edit", "import triton",
            "import triton.language as tl",
            f"from {_py(fn).__module__} import {_py(fn).__name__} as scalar_fn", "", ""]
    return "\n".join(head + L) + "\n"


def _py(fn):
    """The Python function behind a JITFunction / InterpretedFunction."""
    return getattr(fn, "fn", fn)


def _load(src: str, name: str):
    digest = hashlib.sha256(src.encode()).hexdigest()[:16]
    d = os.path.join(cache_dir(), "codegen")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"{name}_{digest}.py")
    if not os.path.exists(path):
        # a unique temporary per writer: two threads of one process generating the same
        # kernel raced on a pid-named temporary (GPU suite, FileNotFoundError)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            f.write(src)
        os.replace(tmp, path)
    dump = os.environ.get("TRIFORGE_DUMP_CODEGEN")
    if dump:
        os.makedirs(dump, exist_ok=True)
        with open(os.path.join(dump, os.path.basename(path)), "w") as f:
            f.write(src)
    modname = f"triforge._generated.{name}_{digest}"
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return getattr(mod, name)


def _kernel(fn, rank, kinds, tiled=False, low=None) -> Launcher:
    key = (fn, rank, kinds, tiled, low)
    la = _kernels.get(key)
    if la is None:
        name = f"{_py(fn).__name__.strip('_')}_{'t' if tiled else 'r'}{rank}_{kinds.replace('|', '_')}"
        name += "_lo" if low else ""
        la = _kernels[key] = Launcher(_load(_source(fn, rank, kinds, name, tiled, low), name))
    return la


TILE = 64   # tiled kernels: 64 x 64 elements a program


def _disagree(sizes, strides) -> bool:
    """Rank 2, and some operand is contiguous along dim 0 while the output runs along
    dim 1: a flat loop would read that operand with a stride.
    Bool operands take the flat loop (the caller's check): on the H200, a bool mask
    moved between the two tile layouts came out wrong (masked_fill_ of a transposed
    tensor by a contiguous mask: half the elements wrong; the interpreter is right),
    which is also what broke y[mask] = v there, through ATen's masked_fill_ route."""
    return (len(sizes) == 2 and (sizes[1] + TILE - 1) // TILE < 65536
            and any(0 < abs(st[0]) < abs(st[1]) for st in strides))


# -- the op --------------------------------------------------------------------------------
def _fp64_bits(v: float) -> int:
    return struct.unpack("<q", struct.pack("<d", v))[0]


def _item_float(t):
    return float(t.item())


def _item_bits(t):
    return _fp64_bits(float(t.item()))


def _item_int(t):
    return int(t.item())


class _Plan:
    """Everything about a call that its operands' dtypes, shapes, strides and devices
    decide: computed once, then a call is a dict lookup, an allocation and a launch."""
    __slots__ = ("launcher", "grid", "tail", "conv", "alloc", "empty", "warps")


_MAX_PLANS = 8192


class Pointwise:
    """An elementwise op: `fn(*inputs, *params)` on compute-dtype values."""

    def __init__(self, fn, n_inputs: int, promotion: str = "DEFAULT", result_dtype=None,
                 promoted=None, copy=False, low=False):
        self.fn, self.n_inputs, self.promotion = fn, n_inputs, promotion
        self.low = low   # fn takes LOW (see the module docstring)
        self.result_dtype = result_dtype     # fixed result dtype (e.g. torch.bool), or None
        # indices of the inputs that take part in type promotion (None: all); the others
        # are loaded as stored (masks, conditions)
        self.promoted = None if promoted is None else frozenset(promoted)
        # copy semantics for out=: any dtype conversion, inputs broadcast to out's shape
        self.copy = copy
        cfg = backend().table("elementwise")
        self.block, self.warps = cfg.get("BLOCK", 1024), cfg.get("num_warps", 4)
        self.dtypes = frozenset(d for d in _TL if d is not torch.float64 or backend().supports_fp64)
        self._cpu_scalars = backend().device_type != "cpu"   # 0-dim CPU tensors are scalars on a GPU
        self._plans: dict = {}

    def __call__(self, *inputs, params=(), out=None):
        """Result tensor, or NotImplemented for what this generator leaves to ATen."""
        key = tuple([(o.dtype, o.shape, o.stride(), o.get_device()) if isinstance(o, _Tensor) else type(o)
                     for o in inputs])
        if params:
            key += tuple([type(p) for p in params])
        if out is not None:
            key += ((out.dtype, out.shape, out.stride(), out.get_device()),)
        key += (_default_dtype(),)
        plan = self._plans.get(key, False)
        if plan is False:
            plan = self._plan(inputs, params, out)
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        if plan is None:
            return NotImplemented
        if out is None:
            mode, a, b, c = plan.alloc
            if mode == 0:
                out = torch.empty_like(inputs[a])
            elif mode == 1:
                out = torch.empty_like(inputs[a], dtype=b)
            else:
                out = torch.empty_strided(a, b, dtype=c[0], device=c[1])
        elif any(isinstance(t, _Tensor) and _overlaps(out, t) for t in inputs):
            return NotImplemented
        if plan.empty:
            return out
        conv = plan.conv
        if conv is None:   # tensors only: passed as they are
            plan.launcher(plan.grid, *inputs, out, *plan.tail, num_warps=plan.warps)
            return out
        args = [o if c is None else c(o) for o, c in zip(inputs, conv)]
        if params:
            args += [p if c is None else c(p) for p, c in zip(params, conv[len(inputs):])]
        plan.launcher(plan.grid, *args, out, *plan.tail, num_warps=plan.warps)
        return out

    def _plan(self, inputs, params, out):
        """The plan of a call, or None when the generator leaves it to ATen."""
        tensors, device, ops = [], None, list(inputs)
        for i, o in enumerate(inputs):
            if isinstance(o, _Tensor):
                if o.dim() == 0 and o.device.type == "cpu" and self._cpu_scalars:
                    ops[i] = o.item()   # its value is read per call; its dtype decides here
                    continue
                if o.dtype not in self.dtypes:
                    return None
                if device is None:
                    device = o.device
                elif o.device != device:
                    return None
                tensors.append(o)
            elif type(o) not in _SCALARS:
                return None
        if not tensors:
            if self.n_inputs or out is None or out.dtype not in self.dtypes:
                return None
            device = out.device   # a fill: out alone gives dtype, shape and device
            compute, result = promote(self.promotion, [out])
        else:
            pro = inputs if self.promoted is None else [o for i, o in enumerate(inputs) if i in self.promoted]
            compute, result = promote(self.promotion, pro)
        if self.result_dtype is not None:
            result = self.result_dtype
        if compute not in _TL or result not in self.dtypes:
            return None
        try:
            shapes = [t.shape for t in tensors] + ([out.shape] if out is not None and (self.copy or not tensors) else [])
            shape = torch.broadcast_shapes(*shapes)
        except RuntimeError:   # ATen raises with its own message
            return None
        plan = _Plan()
        nd = len(shape)
        if out is None:
            perm = _output_perm(shape, tensors)
            src = next((i for i, o in enumerate(inputs) if any(o is t for t in tensors) and o.shape == shape
                        and _is_dense(o) and sorted(range(nd), key=lambda d: (-o.stride()[d], d)) == perm
                        and (o.is_contiguous() or perm != list(range(nd)))), None)
            if src is not None:
                plan.alloc = (0, src, None, None) if inputs[src].dtype is result else (1, src, result, None)
                out_strides = list(inputs[src].stride())
            else:
                probe = _empty_permuted(shape, perm, result, "meta")
                out_strides = list(probe.stride())
                plan.alloc = (2, tuple(shape), tuple(out_strides), (result, device))
        else:
            if (out.shape != shape or out.device != device or out.dtype not in self.dtypes
                    or not (self.copy or torch.can_cast(result, out.dtype)) or not _is_dense(out)):
                return None
            st = out.stride()
            perm = sorted(range(nd), key=lambda d: (-st[d], d))
            out_strides = list(st)
        n = 1
        for d in shape:
            n *= d
        plan.empty = n == 0
        strides_in = [_broadcast_strides(t, shape) for t in tensors] + [out_strides]
        sizes, strides = _coalesce(list(shape), strides_in, perm)
        if len(sizes) > MAX_RANK:
            return None
        kinds, conv = [], []
        for i, (o, op) in enumerate(zip(inputs, ops)):
            if isinstance(op, _Tensor):
                kinds.append("t" if self.promoted is None or i in self.promoted else "r")
                conv.append(None)
                continue
            kind = _scalar_kind(op, compute)
            if kind is None:
                return None
            kinds.append(kind)
            if isinstance(o, _Tensor):   # 0-dim CPU tensor: read its value per call
                conv.append({"f": _item_float, "d": _item_bits, "i": _item_int}[kind])
            else:
                conv.append({"f": None, "d": _fp64_bits, "i": int}[kind])
        kinds.append("|")
        for p in params:
            kind = _scalar_kind(p, compute)
            if kind is None:
                return None
            kinds.append(kind)
            conv.append({"f": None, "d": _fp64_bits, "i": int}[kind])
        # None: only tensor inputs and no parameters, so a call passes its inputs as they are
        plan.conv = None if not params and all(c is None for c in conv) else tuple(conv)
        i64 = n > _I32_MAX - self.block or any(_max_offset(sizes, s) > _I32_MAX for s in strides)
        bools = [t.dtype is torch.bool for t in tensors] + [result is torch.bool if out is None else out.dtype is torch.bool]
        tiled = _disagree(sizes, strides) and not any(bools)
        low = None
        if self.low:
            low = compute is torch.float32 and (result if out is None else out.dtype) in (torch.float16, torch.bfloat16)
        plan.launcher = _kernel(self.fn, len(sizes), "".join(kinds), tiled, low)
        block = TILE if tiled else self.block
        plan.grid = ((sizes[0] + TILE - 1) // TILE, (sizes[1] + TILE - 1) // TILE) if tiled else \
            ((n + block - 1) // block,)
        plan.tail = (n, *sizes, *[s for st in strides for s in st], _COMPUTE_TL[compute], block, i64)
        plan.warps = 4 if tiled else self.warps
        return plan


def _scalar_kind(o, compute):
    """Kernel argument kind of a Python number: 'f' float (fp32 argument), 'd' float for
    a float64 computation (bits as int64), 'i' integer; None if it cannot be passed."""
    t = type(o)
    if t is float:
        return "d" if compute is torch.float64 else "f"
    if t is int or t is bool:
        return "i" if -(2**63) <= int(o) < 2**63 else None
    return None


def _empty_permuted(shape, perm, dtype, device):
    if perm == sorted(perm):
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.empty_permuted(shape, perm, dtype=dtype, device=device)


def _overlaps(out: torch.Tensor, t: torch.Tensor) -> bool:
    """True when `out` and input `t` share memory other than element-for-element (same
    address and strides): torch raises there, or the result depends on order."""
    if (out.numel() == 0 or t.numel() == 0   # empty storages all sit at address 0
            or out.untyped_storage().data_ptr() != t.untyped_storage().data_ptr()):
        return False
    return not (out.data_ptr() == t.data_ptr() and out.shape == t.shape and out.stride() == t.stride())

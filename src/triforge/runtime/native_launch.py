"""A generic C entry point that launches any compiled Triton kernel with cuLaunchKernel.

Triton's per-kernel launcher costs ~5 us per call on an H100 host (measured with
prebuilt integer arguments, benchmarks/results): it parses launch metadata tuples,
handles hooks, scratch buffers and cluster attributes on every call. This one takes
the grid, stream, function handle, block size, shared memory and a per-kernel type
string (one byte per kernel parameter) and does only the conversion and the launch.
It is compiled once per machine with Triton's own build helper (and cached by it);
if that fails, launches go through Triton's launcher instead. Kernels needing
clusters, cooperative or PDL launches, scratch buffers or tensor descriptors always
use Triton's launcher. TRIFORGE_NATIVE_LAUNCH=0 turns this path off.
"""
from __future__ import annotations

import logging
import os
import re

log = logging.getLogger("triforge")

# Triton signature type -> one byte of the type string; '-' = not passed (constexpr).
_CODES = {"constexpr": "-", "i1": "b", "i8": "b", "i16": "h", "i32": "i", "i64": "l", "u1": "B",
          "u8": "B", "u16": "H", "u32": "I", "u64": "L", "fp32": "f", "f32": "f", "fp64": "d"}

_SRC = r"""
#include "cuda.h"
#include <stdint.h>
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_PARAMS 128
typedef union { uint64_t u64; int64_t i64; uint32_t u32; int32_t i32; uint16_t u16; int16_t i16;
                uint8_t u8; int8_t i8; float f32; double f64; } slot_t;

/* launch(gridX, gridY, gridZ, stream, function, block_x, shared, types, *kernel_args) */
static PyObject* launch(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 8) { PyErr_SetString(PyExc_TypeError, "triforge launch: too few arguments"); return NULL; }
  unsigned int gx = (unsigned int)PyLong_AsUnsignedLong(args[0]);
  unsigned int gy = (unsigned int)PyLong_AsUnsignedLong(args[1]);
  unsigned int gz = (unsigned int)PyLong_AsUnsignedLong(args[2]);
  uint64_t stream = PyLong_AsUnsignedLongLong(args[3]);
  uint64_t function = PyLong_AsUnsignedLongLong(args[4]);
  unsigned int bx = (unsigned int)PyLong_AsUnsignedLong(args[5]);
  unsigned int shared = (unsigned int)PyLong_AsUnsignedLong(args[6]);
  if (PyErr_Occurred()) return NULL;
  char* types; Py_ssize_t ntypes;
  if (PyBytes_AsStringAndSize(args[7], &types, &ntypes) < 0) return NULL;
  if (ntypes != nargs - 8 || ntypes > MAX_PARAMS) {
    PyErr_Format(PyExc_TypeError, "triforge launch: %zd kernel arguments for %zd types", nargs - 8, ntypes);
    return NULL;
  }
  slot_t slots[MAX_PARAMS + 2];
  void* params[MAX_PARAMS + 2];
  int np = 0;
  for (Py_ssize_t i = 0; i < ntypes; i++) {
    PyObject* o = args[8 + i];
    slot_t* s = &slots[np];
    switch (types[i]) {
      case '-': continue;
      case 'P': s->u64 = (o == Py_None) ? 0 : PyLong_AsUnsignedLongLong(o); break;
      case 'b': s->i8 = (int8_t)PyLong_AsLong(o); break;
      case 'h': s->i16 = (int16_t)PyLong_AsLong(o); break;
      case 'i': s->i32 = (int32_t)PyLong_AsLong(o); break;
      case 'l': s->i64 = (int64_t)PyLong_AsLongLong(o); break;
      case 'B': s->u8 = (uint8_t)PyLong_AsUnsignedLong(o); break;
      case 'H': s->u16 = (uint16_t)PyLong_AsUnsignedLong(o); break;
      case 'I': s->u32 = (uint32_t)PyLong_AsUnsignedLong(o); break;
      case 'L': s->u64 = PyLong_AsUnsignedLongLong(o); break;
      case 'f': s->f32 = (float)PyFloat_AsDouble(o); break;
      case 'd': s->f64 = PyFloat_AsDouble(o); break;
      default: PyErr_Format(PyExc_TypeError, "triforge launch: bad type code %c", types[i]); return NULL;
    }
    if (PyErr_Occurred()) return NULL;
    params[np] = s; np++;
  }
  /* Triton 3.x kernels take two trailing pointers: global and profile scratch (unused: null). */
  slots[np].u64 = 0; params[np] = &slots[np]; np++;
  slots[np].u64 = 0; params[np] = &slots[np]; np++;
  if ((uint64_t)gx * gy * gz == 0) Py_RETURN_NONE;
  CUresult r;
  Py_BEGIN_ALLOW_THREADS;
  r = cuLaunchKernel((CUfunction)function, gx, gy, gz, bx, 1, 1, shared, (CUstream)stream, params, NULL);
  Py_END_ALLOW_THREADS;
  if (r != CUDA_SUCCESS) {
    const char* msg = NULL;
    cuGetErrorString(r, &msg);
    PyErr_Format(PyExc_RuntimeError, "triforge launch failed: %s", msg ? msg : "unknown CUDA error");
    return NULL;
  }
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
  {"launch", (PyCFunction)(void(*)(void))launch, METH_FASTCALL, "launch a compiled kernel"},
  {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "triforge_launch", NULL, -1, methods};
PyMODINIT_FUNC PyInit_triforge_launch(void) { return PyModule_Create(&module); }
"""

_native = None
_tried = False


def native_launch():
    """The compiled `launch` function, or None where it cannot be built."""
    global _native, _tried
    if _tried:
        return _native
    _tried = True
    if os.environ.get("TRIFORGE_NATIVE_LAUNCH", "1") == "0":
        return None
    try:
        from triton.backends.nvidia.driver import include_dirs, libraries, library_dirs
        from triton.runtime.build import compile_module_from_src
        mod = compile_module_from_src(src=_SRC, name="triforge_launch", library_dirs=library_dirs(),
                                      include_dirs=include_dirs, libraries=libraries)
        _native = mod.launch
    except Exception as e:  # no compiler, other Triton layout: Triton's launcher still works
        log.warning("triforge: native launcher unavailable (%s); using Triton's", e)
        _native = None
    return _native


def type_string(compiled) -> bytes | None:
    """One byte per kernel parameter, or None if the kernel needs Triton's launcher."""
    meta = compiled.metadata
    if (getattr(meta, "num_ctas", 1) != 1 or getattr(meta, "launch_cooperative_grid", False)
            or getattr(meta, "launch_pdl", False) or getattr(meta, "global_scratch_size", 0)
            or getattr(meta, "profile_scratch_size", 0) or getattr(meta, "tensordesc_meta", None)):
        return None
    out = []
    for ty in compiled.src.signature.values():
        if not isinstance(ty, str):
            return None
        code = "P" if ty.startswith("*") else _CODES.get(ty)
        if code is None:
            return None
        out.append(code)
    return "".join(out).encode()


def descriptor_types(compiled) -> tuple[bytes, list] | None:
    """For a kernel taking host TMA descriptors that Triton lowers to nvTmaDesc
    parameters: its type string with each descriptor as 'M' (the 128-byte map, by value)
    followed by its shape (i32) and strides (i64), as Triton's launcher passes them, and
    the descriptors' metadata in order. None for any other kernel. Python launches still
    go through Triton's launcher; this only lets the C++ entry repeat them
    (runtime/fastpath.cpp encodes the maps itself)."""
    meta = compiled.metadata
    descs = getattr(meta, "tensordesc_meta", None)
    if (not descs or getattr(meta, "num_ctas", 1) != 1 or getattr(meta, "launch_cooperative_grid", False)
            or getattr(meta, "launch_pdl", False) or getattr(meta, "global_scratch_size", 0)
            or getattr(meta, "profile_scratch_size", 0)):
        return None
    out = []
    for ty in compiled.src.signature.values():
        if not isinstance(ty, str):
            return None
        if ty.startswith("tensordesc"):
            m = re.match(r"tensordesc<([^[>]*)\[([^]]*)\]", ty)
            if m is None:
                return None
            nd = m.group(2).count(",") + 1
            out.append("M" + "i" * nd + "l" * nd)
            continue
        code = "P" if ty.startswith("*") else _CODES.get(ty)
        if code is None:
            return None
        out.append(code)
    if any(d is None or d.get("fp4_padded") for d in descs) or sum(t[0] == "M" for t in out) != len(descs):
        return None
    return "".join(out).encode(), list(descs)

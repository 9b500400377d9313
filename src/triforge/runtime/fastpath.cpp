// triforge's C++ dispatcher entry: a kernel registered for an aten overload that
// repeats a call it has seen before without entering Python, and hands every other
// call to triforge's Python implementation exactly as torch calls a Python kernel.
//
// Why: a Python kernel costs the dispatcher-to-Python hop (~3 us on an H200 host), the
// op wrapper, the allocation and the launch -- 14 us for a small add against torch's
// 7.2 (benchmarks/results). Here a repeated call is: key, lookup, allocation,
// cuLaunchKernel.
//
// "Seen before": the key is every argument -- tensors (alone or in lists) by dtype,
// sizes, strides, storage offset, device, 16-byte alignment of the data and which
// earlier argument shares their storage; numbers, strings, int and bool lists by value
// -- plus the global settings a launch may depend on (default dtype, TF32,
// deterministic mode). Only overloads declared repeatable (pure functions of that key:
// no data-dependent host decisions, no random state) use it. The first call of a key
// runs in Python with a capture slot armed; runtime/launcher.py reports each launch
// into it. If the call made no nested op calls and at most 8 launches whose tensor
// arguments are all the call's own tensors (or offset-0 views of exactly one), its
// returned outputs (or views into them), or scratch buffers it allocated through
// runtime.scratch, or buffers declared held through runtime.fastpath.held (kept by the
// recipe: split-K arrival counters the kernels return to zero), the launches are stored
// for the key: functions, grids, and what feeds each parameter. Otherwise the key is
// stored as "not repeatable" and its calls go to Python. The current stream is part of
// the key, so a held buffer serves one stream's calls; a recipe with held buffers is not
// repeated into a CUDA graph capture (a replay on another stream would share them).
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/empty_strided.h>
#include <c10/core/DefaultDtype.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/impl/TorchDispatchModeTLS.h>
#include <torch/csrc/DynamicTypes.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/functions/basic_ops.h>
#include <torch/csrc/jit/python/pybind_utils.h>
#include <torch/csrc/utils/tensor_memoryformats.h>
#include <torch/library.h>

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace py = pybind11;

namespace {

using LaunchFn = int (*)(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                         void*, void**, void**);
using ErrorStringFn = int (*)(int, const char**);
using IsCapturingFn = int (*)(void*, int*);   // cuStreamIsCapturing(stream, &status)
// cuTensorMapEncodeTiled(map, dtype, rank, address, dims, strides, box, element strides,
// interleave, swizzle, L2 promotion, out-of-bounds fill)
using EncodeTiledFn = int (*)(void*, int, uint32_t, void*, const uint64_t*, const uint64_t*, const uint32_t*,
                              const uint32_t*, int, int, int, int);
LaunchFn g_launch = nullptr;
EncodeTiledFn g_encode_tiled = nullptr;
ErrorStringFn g_error_string = nullptr;
IsCapturingFn g_is_capturing = nullptr;
std::atomic<bool> g_fast{true};   // off while coverage / the call log track outcomes
PyObject* g_slot = nullptr;       // triforge.runtime.fastpath.slot (a threading.local)
std::atomic<int64_t> g_hits{0};

// Calls per overload: repeated here, or handed to Python (reported by stats()).
struct Stats {
  std::atomic<int64_t> repeated{0}, python{0};
};
std::mutex g_stats_mu;
std::unordered_map<std::string, std::unique_ptr<Stats>> g_stats;

Stats* stats_for(const std::string& overload) {
  std::lock_guard<std::mutex> lock(g_stats_mu);
  auto& p = g_stats[overload];
  if (!p) p = std::make_unique<Stats>();
  return p.get();
}

constexpr size_t kMaxEntries = 512;
constexpr size_t kMaxParams = 128;
constexpr size_t kMaxTensorMaps = 16;   // host TMA descriptors per launch

constexpr size_t kMaxLaunches = 8;
constexpr int kMaxTries = 3;

enum Source : int8_t { kStackPtr = 0, kOutPtr = 1, kLiteral = 2, kListPtr = 3, kTempPtr = 4, kHeldPtr = 5 };

// A host TMA descriptor (Triton's nvTmaDesc parameter, passed by value): encoded again
// on every repeat for the tensor's address, as Triton's launcher encodes it
// (fill_tma_descriptor: unit element strides, no interleave, 128-byte L2 promotion).
// Dims, byte strides and box in CUDA's order (innermost first).
struct TensorMapSpec {
  int dtype = 0, swizzle = 0, fill = 0;
  uint32_t rank = 0;
  uint64_t dims[5] = {0, 0, 0, 0, 0};
  uint64_t strides[5] = {0, 0, 0, 0, 0};
  uint32_t box[5] = {0, 0, 0, 0, 0};
};

struct alignas(128) TensorMap {
  uint64_t opaque[16];
};

struct Param {
  char code;      // native_launch type code: P pointer, i/l/I/L/b/h/B/H ints, f/d floats,
                  // M a host TMA descriptor of the tensor `source` names
  int8_t source;  // Source
  int64_t i;      // stack index (kStackPtr, kListPtr), output, scratch or held index, or integer literal
  double f;       // float literal
  int64_t j;      // index in the tensor list (kListPtr)
  int64_t off;    // bytes past an output's address (kOutPtr: a view into it, cat's pieces)
  int tmap = -1;  // code M: its TensorMapSpec in the launch
};

// Nested calls: an op whose Python implementation calls other ops (ours included,
// which may repeat in C++ and so never report) is not its own launches alone.
thread_local int t_capturing = 0;
thread_local bool t_nested = false;

// A tensor the recipe allocates: an output (unless it is an argument) or a scratch
// buffer the launches pass between them (a split reduction's partials).
struct Alloc {
  int stack_arg = -1;  // outputs: the call's own tensor argument (in place, out=), or -1: fresh
  std::vector<int64_t> sizes, strides;   // fresh: its layout; an argument: as the call left it
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  bool aligned = true;
};

struct Launch {
  uint64_t function = 0;
  unsigned threads = 0, shared = 0;
  unsigned grid[3] = {1, 1, 1};
  std::vector<Param> params;
  std::vector<TensorMapSpec> tmaps;
};

struct Recipe {
  bool ok = false;
  int tries = 0;                  // captures attempted for the key
  std::vector<Launch> launches;   // in order, on the current stream
  std::vector<Alloc> outputs;     // in the order the op returns them
  std::vector<Alloc> temps;       // scratch buffers
  std::vector<at::Tensor> held;   // buffers the recipe keeps (runtime.fastpath.held)
  bool tuple = false;             // the op returns a tuple (else one tensor)
};

template <class T>
void put(std::string& key, T x) {
  key.append(reinterpret_cast<const char*>(&x), sizeof x);
}

using Storages = c10::SmallVector<const c10::StorageImpl*, 8>;

// A CUDA tensor's part of the key: dtype, alignment, sizes, strides, storage offset,
// and which earlier tensor argument shares its storage (add(x, x) is not add(x, y)).
bool put_tensor(std::string& key, const at::Tensor& t, c10::DeviceIndex& dev, bool& any, Storages& seen) {
  if (!t.is_cuda() || t.layout() != c10::kStrided || t.is_neg() || t.is_conj()) return false;
  if (!any) {
    dev = t.device().index();
    any = true;
  } else if (t.device().index() != dev) {
    return false;
  }
  key.push_back('T');
  key.push_back(static_cast<char>(t.scalar_type()));
  key.push_back((reinterpret_cast<uintptr_t>(t.data_ptr()) & 15) == 0 ? 'a' : 'u');
  key.push_back(static_cast<char>(t.dim()));
  for (int64_t s : t.sizes()) put(key, s);
  for (int64_t s : t.strides()) put(key, s);
  put(key, t.storage_offset());
  const c10::StorageImpl* st = t.storage().unsafeGetStorageImpl();
  uint8_t shared = 255;
  for (size_t k = 0; k < seen.size() && shared == 255; k++)
    if (seen[k] == st) shared = static_cast<uint8_t>(k);
  if (seen.size() >= 250) return false;
  seen.push_back(st);
  key.push_back(static_cast<char>(shared));
  return true;
}

// The key of a call, or false when the call cannot be repeated (an argument of another
// kind, a tensor elsewhere than the current CUDA device).
bool key_of(const torch::jit::Stack& st, size_t base, size_t nargs, std::string& key, c10::DeviceIndex& dev) {
  bool any = false;
  Storages seen;
  for (size_t i = 0; i < nargs; i++) {
    const c10::IValue& v = st[base + i];
    if (v.isTensor()) {
      const at::Tensor& t = v.toTensor();
      if (!t.defined()) {
        key.push_back('U');
        continue;
      }
      if (!t.is_cuda() && t.unsafeGetTensorImpl()->is_wrapped_number()) {
        // a Python number torch wrapped (x + 3): by dtype and value
        key.push_back('W');
        key.push_back(static_cast<char>(t.scalar_type()));
        switch (t.scalar_type()) {
          case c10::ScalarType::Double: case c10::ScalarType::Long:
            key.append(static_cast<const char*>(t.data_ptr()), 8);
            break;
          case c10::ScalarType::Bool: key.append(static_cast<const char*>(t.data_ptr()), 1); break;
          default: return false;
        }
        continue;
      }
      if (!put_tensor(key, t, dev, any, seen)) return false;
    } else if (v.isTensorList()) {
      const auto& l = v.toTensorList();
      key.push_back('l');
      put(key, static_cast<uint32_t>(l.size()));
      for (size_t j = 0; j < l.size(); j++) {
        const at::Tensor& t = l.get(j);
        if (!t.defined() || !put_tensor(key, t, dev, any, seen)) return false;
      }
    } else if (v.isNone()) {
      key.push_back('N');
    } else if (v.isBool()) {
      key.push_back(v.toBool() ? 'B' : 'b');
    } else if (v.isInt()) {
      key.push_back('I');
      put(key, v.toInt());
    } else if (v.isDouble()) {
      key.push_back('D');
      put(key, v.toDouble());
    } else if (v.isIntList()) {
      key.push_back('L');
      const auto& l = v.toIntList();
      put(key, static_cast<uint32_t>(l.size()));
      for (int64_t x : l) put(key, x);
    } else if (v.isBoolList()) {
      key.push_back('Z');
      const auto& l = v.toBoolList();
      put(key, static_cast<uint32_t>(l.size()));
      for (bool x : l) key.push_back(x ? '1' : '0');
    } else if (v.isString()) {
      const std::string& s = v.toStringRef();
      key.push_back('S');
      put(key, static_cast<uint32_t>(s.size()));
      key.append(s);
    } else if (v.isDevice()) {
      key.push_back('V');
      key.push_back(static_cast<char>(v.toDevice().type()));
      key.push_back(static_cast<char>(v.toDevice().index()));
    } else {
      return false;
    }
  }
  if (!any) return false;
  const auto& ctx = at::globalContext();
  key.push_back(static_cast<char>(c10::typeMetaToScalarType(c10::get_default_dtype())));
  key.push_back(static_cast<char>(ctx.float32MatmulPrecision()));
  key.push_back(static_cast<char>(ctx.allowTF32CuBLAS()));
  key.push_back(static_cast<char>(ctx.deterministicAlgorithms()));
  put(key, c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->getStream(c10::Device(c10::DeviceType::CUDA, dev)).id());
  return true;
}

py::object arg_to_py(const c10::IValue& v, const c10::Argument& a) {
  if (v.isNone()) return py::none();
  c10::TypePtr t = a.real_type();
  if (auto o = t->castRaw<c10::OptionalType>()) t = o->getElementType();
  switch (t->kind()) {
    case c10::TypeKind::ScalarTypeType:
      return py::reinterpret_borrow<py::object>(
          reinterpret_cast<PyObject*>(torch::getTHPDtype(static_cast<c10::ScalarType>(v.toInt()))));
    case c10::TypeKind::LayoutType:
      return py::reinterpret_borrow<py::object>(
          reinterpret_cast<PyObject*>(torch::getTHPLayout(static_cast<c10::Layout>(v.toInt()))));
    case c10::TypeKind::MemoryFormatType:
      return py::reinterpret_borrow<py::object>(
          torch::utils::getTHPMemoryFormat(static_cast<c10::MemoryFormat>(v.toInt())));
    default:
      return torch::jit::toPyObject(v);
  }
}

bool is_default(const c10::IValue& v, const c10::Argument& a) {
  const auto& d = a.default_value();
  return d.has_value() && !v.isTensor() && *d == v;
}

// The recipes of one (dispatch key, overload, Python kernel), kept for the process: a
// registration dropped and made again (leaving and entering triforge.use()) finds the
// calls it has seen instead of recording each of them again in Python.
struct Table {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<const Recipe>> recipes;
};

std::mutex g_tables_mu;
std::unordered_map<std::string, std::shared_ptr<Table>> g_tables;

std::shared_ptr<Table> table_for(const std::string& name, PyObject* fn) {
  auto& tables = g_tables;
  std::lock_guard<std::mutex> lock(g_tables_mu);
  auto& t = tables[name + "|" + std::to_string(reinterpret_cast<uintptr_t>(fn))];
  if (!t) {
    t = std::make_shared<Table>();
    Py_INCREF(fn);   // kept for good: its address names the table, so it must never be reused
  }
  return t;
}

class Kernel : public c10::OperatorKernel {
 public:
  // `table`: the name of its recipe table (runtime key, overload and the Python kernel)
  Kernel(py::object fn, bool repeat, Stats* stats, const std::string& table = "")
      : fn_(fn.ptr()), stats_(stats), repeat_(repeat), table_(table_for(table, fn.ptr())) {
    Py_INCREF(fn_);
  }
  // the interpreter may be gone when the registration is dropped at exit: leak then
  ~Kernel() override {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire g;
      Py_XDECREF(fn_);
    }
  }

  void operator()(const c10::OperatorHandle& op, c10::DispatchKeySet, torch::jit::Stack* stack) {
    const size_t nargs = op.schema().arguments().size();
    const size_t base = stack->size() - nargs;
    if (t_capturing > 0) t_nested = true;
    if (repeat_ && g_fast.load(std::memory_order_relaxed) && g_launch != nullptr &&
        c10::impl::TorchDispatchModeTLS::stack_len() == 0) {
      std::string key;
      key.reserve(128);
      c10::DeviceIndex dev = -1;
      if (key_of(*stack, base, nargs, key, dev)) {
        std::shared_ptr<const Recipe> r;   // shared: another thread may clear the table
        int tries = 0;
        {
          std::lock_guard<std::mutex> lock(table_->mu);
          auto it = table_->recipes.find(key);
          if (it != table_->recipes.end()) {
            if (it->second->ok) r = it->second;
            tries = it->second->tries;
          }
        }
        if (r != nullptr && launch(*r, stack, base, nargs, dev)) return;
        // a first call may do one-time work (autotuning trials, compiling): try again
        if (r == nullptr && tries < kMaxTries) return call_python(op, stack, base, nargs, &key, tries + 1);
      }
    }
    call_python(op, stack, base, nargs, nullptr);
  }

 private:
  // false: this call cannot repeat the recipe (an allocation came out with another
  // alignment, an argument overlaps an output argument, another device is current):
  // Python decides.
  bool launch(const Recipe& r, torch::jit::Stack* stack, size_t base, size_t nargs, c10::DeviceIndex dev) {
    const c10::impl::DeviceGuardImplInterface* impl = c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA);
    if (impl->getDevice().index() != dev) return false;
    if (!r.held.empty()) {   // held buffers (split-K counters): never into a graph capture
      int status = 1;
      void* s = impl->getStream(c10::Device(c10::DeviceType::CUDA, dev)).native_handle();
      if (g_is_capturing == nullptr || g_is_capturing(s, &status) != 0 || status != 0) return false;
    }
    const auto fresh = [&](const Alloc& a, c10::SmallVector<at::Tensor, 2>& into) {
      into.push_back(at::empty_strided(a.sizes, a.strides,
                                       at::TensorOptions().dtype(a.dtype).device(c10::DeviceType::CUDA, dev)));
      return ((reinterpret_cast<uintptr_t>(into.back().data_ptr()) & 15) == 0) == a.aligned;
    };
    c10::SmallVector<at::Tensor, 2> outs, temps;
    for (const Alloc& o : r.outputs) {
      if (o.stack_arg >= 0) {
        const at::Tensor& out = (*stack)[base + o.stack_arg].toTensor();
        // the first call may have resized it (an empty out=): then this one must too
        if (!out.sizes().equals(o.sizes) || !out.strides().equals(o.strides)) return false;
        // torch's rule for writing into an argument: other arguments may share its
        // memory only element for element
        for (size_t i = 0; i < nargs; i++) {
          const c10::IValue& v = (*stack)[base + i];
          if (static_cast<int>(i) == o.stack_arg || !v.isTensor()) continue;
          const at::Tensor& t = v.toTensor();
          if (t.defined() && t.numel() > 0 && t.is_alias_of(out) &&
              !(t.data_ptr() == out.data_ptr() && t.sizes().equals(out.sizes()) &&
                t.strides().equals(out.strides())))
            return false;
        }
        outs.push_back(out);
      } else if (!fresh(o, outs)) {
        return false;
      }
    }
    for (const Alloc& t : r.temps)
      if (!fresh(t, temps)) return false;
    union Slot {
      uint64_t u64;
      int64_t i64;
      int32_t i32;
      int16_t i16;
      int8_t i8;
      float f32;
      double f64;
    };
    Slot slots[kMaxParams + 2];
    void* params[kMaxParams + 2];
    void* stream = impl->getStream(c10::Device(c10::DeviceType::CUDA, dev)).native_handle();
    const auto addr = [&](const Param& p) -> uint64_t {
      switch (p.source) {
        case kStackPtr: return reinterpret_cast<uint64_t>((*stack)[base + p.i].toTensor().data_ptr());
        case kListPtr: return reinterpret_cast<uint64_t>((*stack)[base + p.i].toTensorList().get(p.j).data_ptr());
        case kOutPtr: return reinterpret_cast<uint64_t>(outs[p.i].data_ptr()) + p.off;
        case kTempPtr: return reinterpret_cast<uint64_t>(temps[p.i].data_ptr());
        case kHeldPtr: return reinterpret_cast<uint64_t>(r.held[p.i].data_ptr());
        default: return 0;
      }
    };
    // every descriptor is encoded before the first launch: a failure leaves nothing half done
    TensorMap maps[kMaxLaunches][kMaxTensorMaps];
    for (size_t li = 0; li < r.launches.size(); li++) {
      const Launch& l = r.launches[li];
      for (const Param& p : l.params) {
        if (p.code != 'M') continue;
        const TensorMapSpec& m = l.tmaps[p.tmap];
        const uint32_t unit[5] = {1, 1, 1, 1, 1};
        if (g_encode_tiled == nullptr ||
            g_encode_tiled(&maps[li][p.tmap], m.dtype, m.rank, reinterpret_cast<void*>(addr(p)), m.dims, m.strides,
                           m.box, unit, 0, m.swizzle, 2, m.fill) != 0)
          return false;
      }
    }
    for (size_t li = 0; li < r.launches.size(); li++) {
      const Launch& l = r.launches[li];
      size_t np = 0;
      for (const Param& p : l.params) {
        Slot& s = slots[np];
        s.u64 = 0;
        if (p.code == 'M') {   // passed by value: the parameter points at the map itself
          params[np++] = &maps[li][p.tmap];
          continue;
        }
        if (p.source != kLiteral) {
          s.u64 = addr(p);
        } else {
          switch (p.code) {
            case 'b': case 'B': s.i8 = static_cast<int8_t>(p.i); break;
            case 'h': case 'H': s.i16 = static_cast<int16_t>(p.i); break;
            case 'i': case 'I': s.i32 = static_cast<int32_t>(p.i); break;
            case 'l': case 'L': case 'P': s.i64 = p.i; break;
            case 'f': s.f32 = static_cast<float>(p.f); break;
            case 'd': s.f64 = p.f; break;
            default: return false;
          }
        }
        params[np] = &s;
        np++;
      }
      // Triton 3.x kernels end with two scratch pointers (global, profile): null here
      for (int k = 0; k < 2; k++) {
        slots[np].u64 = 0;
        params[np] = &slots[np];
        np++;
      }
      int err = g_launch(reinterpret_cast<void*>(l.function), l.grid[0], l.grid[1], l.grid[2], l.threads, 1, 1,
                         l.shared, stream, params, nullptr);
      if (err != 0) {
        const char* msg = nullptr;
        if (g_error_string != nullptr) g_error_string(err, &msg);
        TORCH_CHECK(false, "triforge launch failed: ", msg ? msg : "unknown CUDA error");
      }
    }
    torch::jit::drop(*stack, nargs);
    if (r.tuple) {
      for (auto& o : outs) stack->emplace_back(std::move(o));
    } else {
      stack->emplace_back(std::move(outs[0]));
    }
    g_hits.fetch_add(1, std::memory_order_relaxed);
    stats_->repeated.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // The Python implementation, called as torch calls a Python kernel: positional
  // arguments up to the last one that differs from its default, keyword-only ones by
  // name unless they hold their default. With `key`, the capture slot is armed.
  void call_python(const c10::OperatorHandle& op, torch::jit::Stack* stack, size_t base, size_t nargs,
                   const std::string* key, int tries = 0) {
    const auto& schema = op.schema();
    const auto& args = schema.arguments();
    stats_->python.fetch_add(1, std::memory_order_relaxed);
    py::gil_scoped_acquire gil;
    size_t npos = 0;
    for (size_t i = 0; i < nargs; i++)
      if (!args[i].kwarg_only()) npos = i + 1;
    size_t keep = npos;
    while (keep > 0 && is_default((*stack)[base + keep - 1], args[keep - 1])) keep--;
    py::tuple pargs(keep);
    for (size_t i = 0; i < keep; i++) pargs[i] = arg_to_py((*stack)[base + i], args[i]);
    py::dict kwargs;
    for (size_t i = npos; i < nargs; i++) {
      const c10::IValue& v = (*stack)[base + i];
      if (args[i].kwarg_only() && !is_default(v, args[i]))
        kwargs[py::str(args[i].name())] = arg_to_py(v, args[i]);
    }
    py::handle slot(g_slot);
    if (key != nullptr) {
      slot.attr("armed") = true;
      slot.attr("launches") = 0;
      slot.attr("recipe") = py::list();
      slot.attr("scratch") = py::list();
      slot.attr("held") = py::list();
    }
    py::object result;
    if (key != nullptr) {
      t_capturing++;
      t_nested = false;
    }
    try {
      result = py::reinterpret_borrow<py::object>(fn_)(*pargs, **kwargs);
    } catch (...) {
      if (key != nullptr) {
        t_capturing--;
        disarm(slot);
      }
      throw;
    }
    if (key != nullptr) {
      t_capturing--;
      auto recipe = std::make_shared<Recipe>();
      try {
        if (!t_nested) capture(*recipe, slot, result, stack, base, nargs, schema);
      } catch (...) {   // a malformed report (cast_error, Python error): not repeatable
        PyErr_Clear();
        *recipe = Recipe();
      }
      t_nested = t_capturing > 0;   // this call was itself nested in a capture
      disarm(slot);
      recipe->tries = tries;
      std::lock_guard<std::mutex> lock(table_->mu);
      if (table_->recipes.size() >= kMaxEntries) table_->recipes.clear();
      table_->recipes[*key] = std::move(recipe);
    }
    torch::jit::drop(*stack, nargs);
    const auto& rets = schema.returns();
    if (rets.size() == 1) {
      stack->push_back(torch::jit::toIValue(result, rets[0].type()));
    } else if (rets.size() > 1) {
      py::tuple t = result.cast<py::tuple>();
      TORCH_CHECK(t.size() == rets.size(), "triforge: ", schema.name(), " returned ", t.size(),
                  " values, expected ", rets.size());
      for (size_t i = 0; i < rets.size(); i++) stack->push_back(torch::jit::toIValue(t[i], rets[i].type()));
    }
  }

  static void disarm(py::handle slot) {
    slot.attr("armed") = false;
    slot.attr("recipe") = py::none();
    slot.attr("scratch") = py::none();
    slot.attr("held") = py::none();
  }

  // slot.recipe = [(function, threads, shared, types, grid, sources), ...], one per
  // launch, reported by the launcher: one source per kernel parameter, ("t", tensor)
  // or ("v", number).
  static void capture(Recipe& r, py::handle slot, const py::object& result, const torch::jit::Stack* stack,
                      size_t base, size_t nargs, const c10::FunctionSchema& schema) {
    r.ok = false;
    py::object rec = slot.attr("recipe");
    if (rec.is_none()) return;
    py::list reported = rec.cast<py::list>();
    const size_t n_launches = reported.size();
    if (n_launches == 0 || n_launches > kMaxLaunches ||
        slot.attr("launches").cast<size_t>() != n_launches)
      return;
    // what the op returned: one tensor, or a tuple of tensors
    std::vector<at::Tensor> outs;
    if (THPVariable_Check(result.ptr())) {
      outs.push_back(THPVariable_Unpack(result.ptr()));
    } else if (PyTuple_Check(result.ptr()) && schema.returns().size() > 1) {
      r.tuple = true;
      for (auto h : result.cast<py::tuple>()) {
        if (!THPVariable_Check(h.ptr())) return;
        outs.push_back(THPVariable_Unpack(h.ptr()));
      }
    } else {
      return;
    }
    auto stack_index = [&](const at::Tensor& x) -> int {
      for (size_t i = 0; i < nargs; i++) {
        const c10::IValue& v = (*stack)[base + i];
        if (v.isTensor() && v.toTensor().is_same(x)) return static_cast<int>(i);
      }
      return -1;
    };
    // A kernel argument is one of the call's tensors, or a view of exactly one of them
    // starting at the same address (an expand, a transpose, a reshape: the key fixes
    // the view, so the argument's address is that tensor's). Returns (stack index,
    // list index or -1), or (-1, -1).
    auto find_arg = [&](const at::Tensor& x) -> std::pair<int, int> {
      std::pair<int, int> found{-1, -1};
      int n = 0;
      auto consider = [&](const at::Tensor& t, int i, int j) {
        if (!t.defined()) return;
        if (t.is_same(x)) {
          found = {i, j};
          n = -1000;   // identity wins
        } else if (n >= 0 && t.data_ptr() == x.data_ptr() && t.is_alias_of(x)) {
          found = {i, j};
          n++;
        }
      };
      for (size_t i = 0; i < nargs && n > -1000; i++) {
        const c10::IValue& v = (*stack)[base + i];
        if (v.isTensor()) {
          consider(v.toTensor(), static_cast<int>(i), -1);
        } else if (v.isTensorList()) {
          const auto& l = v.toTensorList();
          for (size_t j = 0; j < l.size() && n > -1000; j++) consider(l.get(j), static_cast<int>(i), static_cast<int>(j));
        }
      }
      return (n == -1000 || n == 1) ? found : std::pair<int, int>{-1, -1};
    };
    // a tensor of its own covering all of its storage: a replay allocates just it
    auto whole = [](const at::Tensor& t) {
      return t.is_cuda() && t.storage_offset() == 0 && t.is_non_overlapping_and_dense() &&
             t.storage().nbytes() == static_cast<size_t>(t.numel()) * t.element_size();
    };
    auto spec_of = [](const at::Tensor& t) {
      Alloc a;
      a.sizes = t.sizes().vec();
      a.strides = t.strides().vec();
      a.dtype = t.scalar_type();
      a.aligned = (reinterpret_cast<uintptr_t>(t.data_ptr()) & 15) == 0;
      return a;
    };
    for (const at::Tensor& o : outs) {
      if (!o.defined() || !o.is_cuda()) return;
      Alloc spec = spec_of(o);
      spec.stack_arg = stack_index(o);
      if (spec.stack_arg < 0 && !whole(o)) return;
      r.outputs.push_back(std::move(spec));
    }
    std::vector<at::Tensor> temps;   // scratch tensors, by storage
    std::vector<at::Tensor> declared;   // what runtime.fastpath.scratch() allocated
    for (auto h : slot.attr("scratch").cast<py::list>()) {
      if (!THPVariable_Check(h.ptr())) return;
      declared.push_back(THPVariable_Unpack(h.ptr()));
    }
    std::vector<at::Tensor> held;   // what runtime.fastpath.held() declared
    for (auto h : slot.attr("held").cast<py::list>()) {
      if (!THPVariable_Check(h.ptr())) return;
      held.push_back(THPVariable_Unpack(h.ptr()));
    }
    // Where a launch's tensor comes from on a repeat: an output (or a view into one), an
    // argument, a held buffer or a scratch buffer. false: none of these.
    const auto resolve = [&](const at::Tensor& x, Param& p) -> bool {
      // an output or a view into one first (an in-place op's output is also its
      // argument): the key fixes the output's layout, so the view's place in it
      p.i = -1;
      for (size_t j = 0; j < outs.size() && p.i < 0; j++)
        if (outs[j].is_same(x) || outs[j].is_alias_of(x)) {
          p.i = static_cast<int64_t>(j);
          p.off = static_cast<const char*>(x.data_ptr()) - static_cast<const char*>(outs[j].data_ptr());
          if (p.off < 0 || static_cast<size_t>(p.off) >= outs[j].storage().nbytes()) return false;
        }
      if (p.i >= 0) {
        p.source = kOutPtr;
      } else if (auto [k, j] = find_arg(x); k >= 0) {
        p.source = j < 0 ? kStackPtr : kListPtr;
        p.i = k;
        p.j = j;
      } else if (auto h = std::find_if(held.begin(), held.end(),
                                       [&](const at::Tensor& d) { return d.is_alias_of(x) && d.data_ptr() == x.data_ptr(); });
                 h != held.end()) {
        // a held buffer: the same tensor every time (its state is the kernels' own)
        p.source = kHeldPtr;
        p.i = -1;
        for (size_t j = 0; j < r.held.size() && p.i < 0; j++)
          if (r.held[j].is_same(*h)) p.i = static_cast<int64_t>(j);
        if (p.i < 0) {
          p.i = static_cast<int64_t>(r.held.size());
          r.held.push_back(*h);
        }
      } else {
        // scratch: a fresh tensor passed between the launches, whole each time
        p.source = kTempPtr;
        for (size_t j = 0; j < temps.size() && p.i < 0; j++)
          if (temps[j].is_alias_of(x)) {
            if (temps[j].data_ptr() != x.data_ptr()) return false;
            p.i = static_cast<int64_t>(j);
          }
        if (p.i < 0) {
          // only buffers allocated as scratch, whose contents a launch writes before
          // any reads them (not a cached tensor, not one copied from the host)
          bool is_scratch = false;
          for (const at::Tensor& d : declared)
            if (d.is_alias_of(x) && d.data_ptr() == x.data_ptr() && whole(d)) is_scratch = true;
          if (!is_scratch || !whole(x)) return false;
          for (const at::Tensor& o : outs)
            if (o.is_alias_of(x)) return false;
          p.i = static_cast<int64_t>(temps.size());
          temps.push_back(x);
          r.temps.push_back(spec_of(x));
        }
      }
      return true;
    };
    for (size_t li = 0; li < n_launches; li++) {
      py::tuple t = reported[li].cast<py::tuple>();
      Launch l;
      l.function = t[0].cast<uint64_t>();
      l.threads = t[1].cast<unsigned>();
      l.shared = t[2].cast<unsigned>();
      std::string types = t[3].cast<std::string>();
      py::tuple grid = t[4].cast<py::tuple>();
      py::tuple sources = t[5].cast<py::tuple>();
      if (grid.size() < 1 || grid.size() > 3 || types.size() != sources.size()) return;
      for (size_t k = 0; k < grid.size(); k++) {
        l.grid[k] = grid[k].cast<unsigned>();
        if (l.grid[k] == 0) return;
      }
      size_t n = 0;
      for (size_t i = 0; i < types.size(); i++) {
        char code = types[i];
        if (code == '-') continue;
        if (++n > kMaxParams) return;
        py::tuple s = sources[i].cast<py::tuple>();
        std::string what = s[0].cast<std::string>();
        Param p{code, kLiteral, 0, 0.0, -1, 0, -1};
        if (what == "t") {
          if (code != 'P' || !THPVariable_Check(s[1].ptr())) return;
          if (!resolve(THPVariable_Unpack(s[1].ptr()), p)) return;
        } else if (what == "m") {
          // ("m", tensor, dtype, swizzle, fill, dims, byte strides, box): CUDA's order
          if (code != 'M' || s.size() != 8 || !THPVariable_Check(s[1].ptr()) || l.tmaps.size() >= kMaxTensorMaps)
            return;
          if (!resolve(THPVariable_Unpack(s[1].ptr()), p)) return;
          TensorMapSpec m;
          m.dtype = s[2].cast<int>();
          m.swizzle = s[3].cast<int>();
          m.fill = s[4].cast<int>();
          py::tuple dims = s[5].cast<py::tuple>(), strides = s[6].cast<py::tuple>(), box = s[7].cast<py::tuple>();
          m.rank = static_cast<uint32_t>(dims.size());
          if (m.rank < 1 || m.rank > 5 || box.size() != m.rank || strides.size() + 1 != m.rank) return;
          for (uint32_t k = 0; k < m.rank; k++) {
            m.dims[k] = dims[k].cast<uint64_t>();
            m.box[k] = box[k].cast<uint32_t>();
            if (k + 1 < m.rank) m.strides[k] = strides[k].cast<uint64_t>();
          }
          p.tmap = static_cast<int>(l.tmaps.size());
          l.tmaps.push_back(m);
        } else if (what == "v") {
          if (code == 'P') {
            if (!s[1].is_none()) return;
            p.i = 0;
          } else if (code == 'f' || code == 'd') {
            p.f = s[1].cast<double>();
          } else {
            p.i = s[1].cast<int64_t>();
          }
        } else {
          return;
        }
        l.params.push_back(p);
      }
      r.launches.push_back(std::move(l));
    }
    r.ok = true;
  }

  PyObject* fn_;
  Stats* stats_;
  bool repeat_;   // false at Autograd keys: a repeat there would skip building the graph
  std::shared_ptr<Table> table_;
};


// -- scaled_dot_product_attention above autograd, in C++ --------------------------------
// triforge serves SDPA at the Autograd key (ops/attention/flash.py says why). There a
// Python kernel with a torch.autograd.Function cost 2.5-4.5x torch's host time per call
// (H100, host_cost.py: forward 76-148 us against 20-32). This kernel takes the plain
// calls -- 4-d, no mask, no dropout, dtypes and head dims flash.py serves -- into a C++
// autograd function whose forward and backward call triforge::_flash_fwd / _flash_bwd,
// ops served by `Kernel`s, so they repeat in C++ too. Every other call, and every call
// while outcomes are tracked or a dispatch mode is active, goes to the Python kernel.
// The two ops' typed handles, looked up once (the schemas are defined when flash.py is
// imported, before any registration that reaches here).
using FlashFwd = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&, bool,
                                                     double);
using FlashBwd = std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                                const at::Tensor&, const at::Tensor&,
                                                                const at::Tensor&, const at::Tensor&, bool, double);

const c10::TypedOperatorHandle<FlashFwd>& flash_fwd() {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("triforge::_flash_fwd", "").typed<FlashFwd>();
  return op;
}

const c10::TypedOperatorHandle<FlashBwd>& flash_bwd() {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("triforge::_flash_bwd", "").typed<FlashBwd>();
  return op;
}

struct FlashAttention : public torch::autograd::Function<FlashAttention> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k,
                            const at::Tensor& v, bool causal, double scale) {
    at::AutoDispatchBelowADInplaceOrView below;
    auto [out, lse] = flash_fwd().call(q, k, v, causal, scale);
    ctx->save_for_backward({q, k, v, out, lse});
    ctx->saved_data["causal"] = causal;
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto s = ctx->get_saved_variables();
    const bool causal = ctx->saved_data["causal"].toBool();
    const double scale = ctx->saved_data["scale"].toDouble();
    // as Python's once_differentiable: a double backward raises where it reaches here
    const bool twice = at::GradMode::is_enabled() && (grads[0].requires_grad() || s[0].requires_grad() ||
                                                      s[1].requires_grad() || s[2].requires_grad());
    at::Tensor dq, dk, dv;
    {
      at::AutoGradMode off(false);
      at::AutoDispatchBelowADInplaceOrView below;
      std::tie(dq, dk, dv) = flash_bwd().call(grads[0], s[0], s[1], s[2], s[3], s[4], causal, scale);
    }
    if (twice) {
      auto err = std::make_shared<torch::autograd::DelayedError>(
          "trying to differentiate twice a function that was marked with @once_differentiable", 3);
      torch::autograd::variable_list fake;
      for (const at::Tensor& g : {dq, dk, dv}) {
        at::Tensor d = g.detach();
        d.set_requires_grad(true);
        fake.push_back(d);
      }
      auto w = (*err)(std::move(fake));
      dq = w[0];
      dk = w[1];
      dv = w[2];
    }
    return {dq, dk, dv, at::Tensor(), at::Tensor()};
  }
};

class SdpaKernel : public c10::OperatorKernel {
 public:
  SdpaKernel(py::object fn, c10::DeviceType device, bool autograd)
      : python_(fn, false, stats_for("scaled_dot_product_attention")),
        stats_(stats_for("scaled_dot_product_attention")),
        device_(device),
        autograd_(autograd) {}

  void operator()(const c10::OperatorHandle& op, c10::DispatchKeySet ks, torch::jit::Stack* stack) {
    const size_t base = stack->size() - op.schema().arguments().size();
    at::Tensor q, k, v;
    bool causal = false;
    double scale = 0;
    if (g_fast.load(std::memory_order_relaxed) && c10::impl::TorchDispatchModeTLS::stack_len() == 0 &&
        plain(*stack, base, q, k, v, causal, scale)) {
      at::Tensor out;
      if (autograd_) {
        out = FlashAttention::apply(q, k, v, causal, scale);
      } else {   // the backend key: reached only where autograd is skipped (inference_mode)
        out = std::get<0>(flash_fwd().call(q, k, v, causal, scale));
      }
      torch::jit::drop(*stack, op.schema().arguments().size());
      stack->emplace_back(std::move(out));
      stats_->repeated.fetch_add(1, std::memory_order_relaxed);   // "in C++": its ops say whether they repeated
      return;
    }
    python_(op, ks, stack);
  }

 private:
  // flash.py's _supported for 4-d inputs without mask and dropout (test_fastpath's
  // hand-off script checks that they agree); (query, key, value, attn_mask, dropout_p,
  // is_causal, scale, enable_gqa)
  bool plain(const torch::jit::Stack& st, size_t base, at::Tensor& q, at::Tensor& k, at::Tensor& v, bool& causal,
             double& scale) const {
    for (int i = 0; i < 3; i++)
      if (!st[base + i].isTensor() || !st[base + i].toTensor().defined()) return false;
    q = st[base].toTensor();
    k = st[base + 1].toTensor();
    v = st[base + 2].toTensor();
    const c10::IValue& mask = st[base + 3];
    if (!(mask.isNone() || (mask.isTensor() && !mask.toTensor().defined()))) return false;
    if (!st[base + 4].isDouble() || st[base + 4].toDouble() != 0.0) return false;
    causal = st[base + 5].toBool();
    const bool gqa = st[base + 7].toBool();
    // wrapped tensors (subclasses, functorch, lazy conjugates) keep the Python path
    static const c10::DispatchKeySet other({c10::DispatchKey::Python, c10::DispatchKey::PythonTLSSnapshot,
                                     c10::DispatchKey::FuncTorchBatched, c10::DispatchKey::FuncTorchGradWrapper,
                                     c10::DispatchKey::Functionalize, c10::DispatchKey::Conjugate,
                                     c10::DispatchKey::Negative, c10::DispatchKey::ZeroTensor});
    const auto dt = q.scalar_type();
    if (dt != c10::ScalarType::Half && dt != c10::ScalarType::BFloat16 && dt != c10::ScalarType::Float) return false;
    for (const at::Tensor* t : {&q, &k, &v}) {
      if (t->dim() != 4 || t->scalar_type() != dt || t->layout() != c10::kStrided) return false;
      if (t->device() != q.device() || t->device().type() != device_) return false;
      if (!(t->key_set() & other).empty()) return false;
    }
    const int64_t d = q.size(3);
    if (d == 0 || d > 256 || k.size(3) != d || v.size(3) != d) return false;
    if (k.size(2) != v.size(2) || k.size(0) != v.size(0) || k.size(1) != v.size(1) || q.size(0) != k.size(0))
      return false;
    const int64_t hq = q.size(1), hk = k.size(1);
    if (hq != hk && !(gqa && hk > 0 && hq % hk == 0)) return false;
    const c10::IValue& sc = st[base + 6];
    scale = sc.isNone() ? 1.0 / std::sqrt(static_cast<double>(d)) : sc.toDouble();
    return true;
  }

  Kernel python_;
  Stats* stats_;
  c10::DeviceType device_;
  bool autograd_;
};

// One torch::Library of IMPL registrations; dropping it removes them all.
class Registrations {
 public:
  explicit Registrations(const std::string& key, const std::string& ns = "aten")
      : lib_(std::make_unique<torch::Library>(torch::Library::IMPL, ns, c10::parseDispatchKey(key), __FILE__,
                                              __LINE__)),
        name_(ns + "|" + key + "|"),
        repeat_(key.rfind("Autograd", 0) != 0) {}
  void impl(const std::string& overload, py::object fn, bool repeat) {
    TORCH_CHECK(lib_ != nullptr, "triforge: registrations already dropped");
    lib_->impl(overload.c_str(),
               torch::CppFunction::makeFromBoxedFunctor(
                   std::make_unique<Kernel>(fn, repeat && repeat_, stats_for(overload), name_ + overload)));
  }
  // scaled_dot_product_attention: SdpaKernel, handing what it does not take to fn
  void impl_sdpa(py::object fn, const std::string& device) {
    TORCH_CHECK(lib_ != nullptr, "triforge: registrations already dropped");
    lib_->impl("scaled_dot_product_attention",
               torch::CppFunction::makeFromBoxedFunctor(
                   std::make_unique<SdpaKernel>(fn, c10::Device(device).type(), !repeat_)));
  }
  void drop() { lib_.reset(); }

 private:
  std::unique_ptr<torch::Library> lib_;
  std::string name_;
  bool repeat_;
};

}  // namespace

PYBIND11_MODULE(triforge_fastpath, m) {
  py::class_<Registrations>(m, "Registrations")
      .def(py::init<const std::string&, const std::string&>(), py::arg("key"), py::arg("ns") = "aten")
      .def("impl", &Registrations::impl)
      .def("impl_sdpa", &Registrations::impl_sdpa)
      .def("drop", &Registrations::drop);
  m.def("init", [](py::object slot, bool cuda) {
    Py_XINCREF(slot.ptr());
    g_slot = slot.ptr();
    if (cuda && g_launch == nullptr) {
      void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
      TORCH_CHECK(lib != nullptr, "triforge fastpath: cannot open libcuda.so.1");
      g_launch = reinterpret_cast<LaunchFn>(dlsym(lib, "cuLaunchKernel"));
      g_error_string = reinterpret_cast<ErrorStringFn>(dlsym(lib, "cuGetErrorString"));
      g_is_capturing = reinterpret_cast<IsCapturingFn>(dlsym(lib, "cuStreamIsCapturing"));
      g_encode_tiled = reinterpret_cast<EncodeTiledFn>(dlsym(lib, "cuTensorMapEncodeTiled"));
      TORCH_CHECK(g_launch != nullptr, "triforge fastpath: no cuLaunchKernel in libcuda.so.1");
    }
  });
  m.def("set_fast", [](bool on) { g_fast.store(on); });
  // forget every recorded call (tests that patch an implementation's internals)
  m.def("clear_recipes", []() {
    std::lock_guard<std::mutex> lock(g_tables_mu);
    for (auto& [k, t] : g_tables) {
      std::lock_guard<std::mutex> l2(t->mu);
      t->recipes.clear();
    }
  });
  m.def("hits", []() { return g_hits.load(); });
  m.def("stats", []() {
    std::lock_guard<std::mutex> lock(g_stats_mu);
    py::dict d;
    for (auto& [k, v] : g_stats) d[py::str(k)] = py::make_tuple(v->repeated.load(), v->python.load());
    return d;
  });
  m.def("reset_stats", []() {
    std::lock_guard<std::mutex> lock(g_stats_mu);
    for (auto& [k, v] : g_stats) {
      v->repeated = 0;
      v->python = 0;
    }
  });
}

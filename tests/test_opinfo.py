"""PyTorch's own OpInfo samples as a second check: for every registered aten op with an
entry in op_db, each sample runs with triforge on and off and the results (outputs,
out= and in-place variants, gradients) are compared with dtype-aware tolerances.
Each OpInfo must have at least one sample actually served by triforge, or the test
would prove nothing."""
import os

import pytest
import torch

import triforge
from triforge import registry, testing
from triforge.testing.reference import first_dtype

op_db = pytest.importorskip("torch.testing._internal.common_methods_invocations").op_db

DTYPES = (torch.float32, torch.bfloat16, torch.float16, torch.int32)
# The interpreter's slowest entries (CI log: 97-120 s each on 2 cores) run float32 and
# int32 only there; the half types go through the same kernels, and the GPU runs them all.
INTERP_NO_HALF = {("scatter_reduce", "prod"), ("scatter_reduce", "mean"), ("scatter_reduce", "sum"),
                  ("scatter_reduce", "amax"), ("scatter_reduce", "amin"), ("unique", ""),
                  # CI at 3538710: 105, 85, 45, 37, 35 s, the suite's last minutes on one worker
                  ("bmm", "triton_optimized"), ("sort", ""), ("searchsorted", ""), ("linalg.vector_norm", ""),
                  ("masked.prod", "")}
# OpInfo (name, variant) -> why it is skipped.
SKIPS: dict[tuple[str, str], str] = {
    # -- pointwise --
    # -- reduction --
    # -- norm --
    # (masked.logsumexp, native_layer_norm, native_batch_norm and _native_batch_norm_legit
    # were skipped whole for one sample each where torch's own rounding noise met an exact
    # triforge result; _close_vs_torch's float64 verdict passes them all since)
    # -- loss --
    # -- matmul --
    # -- attention --
    ("nn.functional.scaled_dot_product_attention", ""):
        "bf16/fp16 gradients: the kernels round P and dS to the input dtype before the "
        "tensor-core products (as torch's CUDA flash kernels do) while torch's CPU reference "
        "keeps them in float32; with OpInfo's inputs in [-9, 9] (peaked softmax) bf16 dq differs "
        "by up to 0.1 from float64 vs torch CPU's 0.002 (sample 4). float32 samples pass; "
        "Samples with dropout_p=0.5 run triforge's Philox dropout, not torch's random stream. "
        "tests/test_attention.py checks every dtype (and dropout, with the kernels' mask) against float64.",
    # -- index --
    # -- sort --
    ("topk", ""): "index order among equal values is unspecified in torch (CPU put index 9 before 4 for a "
                  "bf16 tie); values, index validity and tie-free indices are checked in tests/test_sort.py",
    ("kthvalue", ""): "index among equal values is unspecified in torch (its CPU kernel does not pick the first; "
                      "int32 sample 0); values and index validity are checked in tests/test_sort.py",
    ("median", ""): "index among equal values is unspecified in torch; triforge returns the first occurrence, "
                    "torch's CPU kernel another (int32 sample 8); values exactly and first-occurrence indices "
                    "are checked in tests/test_sort.py",
    # -- random --
    **{(name, variant): "triforge draws its own Philox stream (same seed -> same triforge numbers, not torch's); "
                        "distributions (KS), reproducibility and errors are checked in tests/test_random.py"
       for name, variant in (
        ("uniform", ""), ("normal", ""), ("normal", "in_place"), ("normal", "number_mean"), ("bernoulli", ""),
        ("exponential", ""), ("geometric", ""), ("multinomial", ""))},
}


# Entries skipped on GPUs only (the interpreter runs them); TRIFORGE_OPINFO_RETRY=1 runs
# them anyway, to see which a later fix has cleared.
GPU_SKIPS: dict[tuple[str, str], str] = {
    ("native_layer_norm", ""):
        "H200 at 3fe7613: float32 sample 10's gradients off the float64 result by 2.3e-5 where "
        "torch's CUDA kernel is off by 1.5e-13: a constant row, whose mean came out an ulp off "
        "(rstd ~316 scales it). A constant row's mean is exact since (two steps: "
        "blocks.centred_moments; tests/test_norm.py test_constant_rows_exact passes on the H200 at "
        "bf03c99), but this entry was not re-run there: drop it once it passes.",
    **{(name, ""): "H200 at 3fe7613: a sample beyond the tolerance of torch's CUDA result, and the "
                   "float64 verdict then crashed comparing outputs CUDA leaves empty (eval-mode saved "
                   "statistics) with the CPU's (_err skips such outputs since, not re-run on a GPU); "
                   "a constant channel's mean was an ulp off there (fixed, test_batch_norm_constant_"
                   "channels_exact passes on the H200), perhaps the sample's cause: not diagnosed. The "
                   "interpreter passes every sample; tests/test_norm.py checks batch norm against "
                   "float64 on the GPU too."
       for name in ("native_batch_norm", "_native_batch_norm_legit")},
    ("mode", ""):
        "H200, int32 sample 0: where two values tie for the most frequent, torch's CUDA kernel "
        "returns another of them than its CPU kernel; triforge returns the smallest, as the CPU "
        "does (torch documents no rule). tests/test_unique.py checks mode against the CPU rule "
        "on GPUs too.",
    ("masked.prod", ""):
        "H100, float16 sample 26: 3 of 12 gradient elements inf where torch's are finite. Not "
        "yet diagnosed (found 2026-11-26); float32/bf16 pass and the interpreter passes. Not "
        "reproduced at cdcc596 (scripts/diagnose_opinfo.py masked.prod:float16 on the H100: every "
        "sample within tolerance); OpInfo's samples are random, so it depends on the draw.",
}


def _norm(name):
    return name.split(".")[-1].strip("_") if name else None


def _registered_bases():
    return {_norm(d.base) for d in registry.declarations().values()}


def _matching():
    bases = _registered_bases()
    out = []
    for op in op_db:
        names = {_norm(op.name), _norm(op.aten_name), _norm(op.aten_backward_name)}
        if names & bases:
            out.append(op)
    return out


OPS = _matching()


def _id(op):
    return op.name + ("." + op.variant_test_name if op.variant_test_name else "")


def test_opinfo_entries_found():
    names = {_id(op) for op in OPS}
    assert {"add", "mul", "softmax"} <= names, names


def _tol(dtype):
    return {torch.bfloat16: (1.6e-2, 1e-3), torch.float16: (1e-3, 1e-4),
            torch.float32: (1e-5, 1e-6), torch.float64: (1e-10, 1e-15)}.get(dtype, (0, 0))


def _close(a, b, what):
    """Tolerance by the result's dtype, with atol scaled to the tensor's magnitude: both
    sides round in that dtype (forward output and then backward), so cancellation
    (softmax backward) leaves errors of about two ulps of max|b| on small elements."""
    if isinstance(a, (tuple, list)):
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{what}[{i}]")
        return
    if not isinstance(b, torch.Tensor):
        assert a == b, what
        return
    if b.layout is not torch.strided:   # sparse results (sparse.mm): compare their values
        a, b = a.to_dense(), b.to_dense()
    rtol, atol = _tol(b.dtype)
    if b.numel() and b.dtype.is_floating_point:
        finite = b.detach()[b.detach().isfinite()]
        if finite.numel():
            atol = max(atol, 2 * rtol * float(finite.abs().max()))
    torch.testing.assert_close(a, b, rtol=rtol, atol=atol, equal_nan=True, msg=lambda m: f"{what}: {m}")


def _upcast(sample):
    """The sample on the CPU in float64 (floating tensors), for an independent reference."""
    def f(t):
        if isinstance(t, torch.Tensor):
            rg = t.requires_grad
            t = t.detach().cpu()
            return t.double().requires_grad_(rg) if t.is_floating_point() else t
        return t
    return sample.transform(f)


def _dense64(t):
    t = t.detach().cpu()
    return (t.to_dense() if t.layout is not torch.strided else t).double()


def _err(a, b):
    """Largest |a - b| over tensors (and nested sequences); equal values (NaN with NaN,
    inf with inf) count 0, a NaN against a number counts inf."""
    if isinstance(a, (tuple, list)):
        return max((_err(x, y) for x, y in zip(a, b)), default=0.0)
    if not isinstance(a, torch.Tensor) or not a.is_floating_point() or a.numel() == 0:
        return 0.0
    if isinstance(b, torch.Tensor) and a.shape != b.shape:
        # an output whose shape depends on the device (CUDA's eval-mode batch norm leaves its
        # saved statistics empty): no float64 CPU counterpart; _close_vs_torch holds it to
        # torch's shape on this device
        return 0.0
    a, b = _dense64(a), _dense64(b)
    same = (a == b) | (a.isnan() & b.isnan())
    d = torch.where(same, torch.zeros_like(a), (a - b).abs())
    return float(d.nan_to_num(nan=float("inf")).max())


def _close_vs_torch(op, sample, got, ref, what, grads=False):
    """triforge against torch on the same device and dtype; where they differ by more
    than the dtype's tolerance, both are measured against a float64 CPU run of the
    sample, and triforge passes if its error is at most twice torch's (plus one
    tolerance): rounding differences (a reduction's order, an fp16 result feeding the
    backward) that torch's own result shares."""
    try:
        _close(got, ref, what)
        return
    except AssertionError:
        if not _floating(ref):
            raise
    with testing.triforge_off():
        try:
            r64, g64 = _run(op, _upcast(sample), None)
        except Exception:   # noqa: BLE001 -- no float64 CPU kernel: the first verdict stands
            _close(got, ref, what)
            return
    exact = g64 if grads else r64
    if exact is None:
        _close(got, ref, what)
        return
    assert _shapes(got) == _shapes(ref), f"{what}: shapes {_shapes(got)} against torch's {_shapes(ref)}"
    e_tf, e_torch = _err(got, exact), _err(ref, exact)
    rtol, atol = _tol(first_dtype(ref))
    scale = max(_err(exact, _zeros_like(exact)), 1e-30)
    assert e_tf <= 2 * e_torch + 2 * rtol * scale + atol, (
        f"{what}: triforge is off torch by more than the dtype's tolerance, and off the float64 result "
        f"by {e_tf:.3g} against torch's {e_torch:.3g}")


def _shapes(x):
    if isinstance(x, (tuple, list)):
        return [_shapes(v) for v in x]
    return tuple(x.shape) if isinstance(x, torch.Tensor) else None


def _floating(x):
    if isinstance(x, (tuple, list)):
        return any(_floating(v) for v in x)
    return isinstance(x, torch.Tensor) and x.is_floating_point()


def _zeros_like(x):
    if isinstance(x, (tuple, list)):
        return type(x)(_zeros_like(v) for v in x)
    return torch.zeros_like(x) if isinstance(x, torch.Tensor) else x


def _grads(out, inputs, seed):
    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,))
            if isinstance(o, torch.Tensor) and o.requires_grad]
    if not outs or not inputs:
        return None
    g = torch.Generator().manual_seed(seed)
    with triforge.use(include=()):   # the same gradient outputs on both sides (randn is served too)
        gos = [torch.randn(o.shape, generator=g).to(o) for o in outs]
    return torch.autograd.grad(outs, inputs, gos, allow_unused=True)


def _detach(a):
    if isinstance(a, torch.Tensor):
        return a.detach()
    if isinstance(a, (list, tuple)):   # cat/stack take a list of tensors that may require grad
        return type(a)(_detach(x) for x in a)
    return a


def _detached(sample):
    return [_detach(a) for a in [sample.input, *sample.args]]


def _run(fn, sample, inputs_fn):
    args = [a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor) else a
            for a in [sample.input, *sample.args]]
    out = fn(*args, **sample.kwargs)
    grads = _grads(out, [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad], 0)
    return out, grads


@pytest.mark.parametrize("op", OPS, ids=_id)
def test_opinfo_samples(op):
    if (op.name, op.variant_test_name) in SKIPS:
        pytest.skip(SKIPS[(op.name, op.variant_test_name)])
    if (not testing.interpreted() and (op.name, op.variant_test_name) in GPU_SKIPS
            and not os.environ.get("TRIFORGE_OPINFO_RETRY")):   # set: re-run the GPU skips, to drop fixed ones
        pytest.skip(GPU_SKIPS[(op.name, op.variant_test_name)])
    device = testing.device()
    served = 0
    checked = 0
    rejected = 0
    dtypes = [d for d in DTYPES if d in op.supported_dtypes(device)]
    if testing.interpreted() and (op.name, op.variant_test_name) in INTERP_NO_HALF:
        dtypes = [d for d in dtypes if d not in (torch.bfloat16, torch.float16)]
    if not dtypes:
        pytest.skip(f"only dtypes triforge does not serve: {sorted(map(str, op.supported_dtypes(device)))}")
    for dtype in dtypes:
        grad = op.supports_autograd and dtype.is_floating_point
        for i, sample in enumerate(op.sample_inputs(device, dtype, requires_grad=grad)):
            what = f"{_id(op)} {dtype} sample {i}"
            try:
                with testing.triforge_off():
                    ref, ref_g = _run(op, sample, None)
            except RuntimeError as e:   # torch rejects this sample here: so must triforge
                with triforge.use(), pytest.raises(type(e)):
                    _run(op, sample, None)
                rejected += 1
                continue
            with triforge.use(), triforge.coverage() as cov:
                got, got_g = _run(op, sample, None)
            served += sum(cov.served().values())
            _close_vs_torch(op, sample, got, ref, what)
            if ref_g is not None:
                _close_vs_torch(op, sample, got_g, ref_g, what + " grad", grads=True)
            checked += 1
            if isinstance(ref, torch.Tensor) and op.supports_out:
                out = torch.empty_like(ref.detach())
                try:
                    with testing.triforge_off():
                        op(*_detached(sample), out=torch.empty_like(out), **sample.kwargs)
                except (RuntimeError, NotImplementedError) as e:   # no out= kernel here (narrow_copy on CUDA)
                    with triforge.use(), pytest.raises(type(e)):
                        op(*_detached(sample), out=out, **sample.kwargs)
                    continue
                with triforge.use():
                    op(*_detached(sample), out=out, **sample.kwargs)
                _close(out, ref.detach(), what + " out=")
            if (isinstance(ref, torch.Tensor) and op.inplace_variant is not None
                    and ref.dtype == sample.input.dtype and ref.shape == sample.input.shape):
                x, *rest = _detached(sample)
                x = x.clone()
                with triforge.use():
                    op.inplace_variant(x, *rest, **sample.kwargs)
                _close(x, ref.detach(), what + " in-place")
    if not checked and rejected:
        pytest.skip(f"torch rejects every sample on {device} (triforge raised the same errors)")
    assert checked, f"{_id(op)}: no sample ran"
    assert served, f"{_id(op)}: no sample was served by triforge (all fell back)"

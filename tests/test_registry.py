"""enable / disable / use, selection, fallback, call log, coverage, thread safety."""
import gc
import logging
import threading
import time

import pytest
import torch

import triforge
from triforge import registry
from triforge.testing import make, on_gpu


def test_declarations_built_from_modules():
    decls = registry.declarations()
    for ov in ("add.Tensor", "add_.Tensor", "add.out", "add.Scalar", "mul.Tensor",
               "_softmax", "_softmax_backward_data"):
        assert ov in decls, ov
        assert decls[ov].module.startswith("triforge.ops.")


def test_enable_disable_and_selection():
    triforge.enable()
    assert "add.Tensor" in triforge.enabled_ops()
    triforge.enable(include=["add"])
    assert triforge.enabled_ops() == {ov for ov in registry.declarations() if ov.split(".")[0] in ("add", "add_")}
    triforge.enable(exclude=["mul.Tensor", "_softmax"])
    assert "mul.Tensor" not in triforge.enabled_ops() and "mul_.Tensor" in triforge.enabled_ops()
    assert "_softmax" not in triforge.enabled_ops()
    triforge.disable()
    assert not triforge.enabled_ops()
    with pytest.raises(ValueError, match="no implementation"):
        triforge.enable(include=["not_an_op"])


def test_disabled_means_aten():
    x = make((4, 8))
    with triforge.coverage() as cov:
        x + x
    assert cov.missing() == {"add.Tensor": 1} and not cov.served()


def test_use_nesting_and_exceptions_restore():
    triforge.enable(include=["mul"])
    outer = triforge.enabled_ops()
    with triforge.use(include=["add"]):
        assert all(ov.split(".")[0] in ("add", "add_") for ov in triforge.enabled_ops())
        with pytest.raises(KeyError):
            with triforge.use():
                assert "_softmax" in triforge.enabled_ops()
                raise KeyError("boom")
        assert all(ov.split(".")[0] in ("add", "add_") for ov in triforge.enabled_ops())
    assert triforge.enabled_ops() == outer


# The < 5 ms target for entering or leaving use() is measured by the benchmark runner's
# host mode on the reference machine. These tests guard against regressions on any
# machine, CI's loaded 2 cores included: CPU time of this process, best of several runs,
# against 3x the target (measured here idle: ~4 ms for 600 overloads; loaded: ~6.3 ms).
_CONTEXT_BOUND_S = 15e-3


def test_context_cost_is_small():
    n = len(registry.declarations())
    runs = []
    gc.disable()
    try:
        for _ in range(10):
            t0 = time.process_time()
            with triforge.use():
                pass
            runs.append(time.process_time() - t0)
    finally:
        gc.enable()
    assert min(runs) < _CONTEXT_BOUND_S * max(n, 1) / 600 + 2e-3, \
        f"use() enter+exit took {min(runs) * 1e3:.2f} ms for {n} ops"


def test_fallback_goes_to_original_kernel():
    a, b = make((3, 4)).to(torch.complex64), make((4,)).to(torch.complex64)   # complex: not served
    with triforge.use(), triforge.coverage() as cov:
        r = a + b
    assert cov.fell_back() == {"add.Tensor": 1}
    torch.testing.assert_close(r, a + b, rtol=0, atol=0)


def test_call_log_once_per_op(caplog):
    a = make((8,))
    with caplog.at_level(logging.WARNING, logger="triforge"):
        with triforge.use(log=True):
            for _ in range(3):
                a + a
            a.to(torch.complex64) + 1   # complex: falls back
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs.count("triforge: aten::add.Tensor ran on triforge") == 1
    assert msgs.count("triforge: aten::add.Tensor ran on aten") == 1


def test_env_log(monkeypatch):
    monkeypatch.setenv("TRIFORGE_LOG", "1")
    assert registry.env_log()
    monkeypatch.setenv("TRIFORGE_LOG", "0")
    assert not registry.env_log()


def test_coverage_table_classifies():
    x = make((4, 6))
    with triforge.use(include=["add", "_softmax"]), triforge.coverage() as cov:
        y = x + x                  # served
        y = (y.to(torch.complex64) + 1j).real   # fallback (complex)
        y = y.t()                  # view
        torch.log_softmax(y, -1)   # not implemented
    assert cov.served() == {"add.Tensor": 1}
    assert cov.fell_back() == {"add.Tensor": 1}
    assert "_log_softmax" in cov.missing()
    assert "t" not in cov.missing() and "select.int" not in cov.missing()
    text = str(cov)
    assert "add.Tensor" in text and "not implemented" in text


def test_threads_get_correct_results():
    triforge.enable()
    errors = []

    def worker(seed):
        try:   # an exception in a thread would not fail the test by itself
            g = torch.Generator().manual_seed(seed)
            for _ in range(5):
                a = make((257,), generator=g)   # random ops served by triforge too
                b = make((257,), generator=g)
                got = a + b
                ref = a.double() + b.double()
                if not torch.allclose(got.double(), ref, rtol=1e-6, atol=1e-6):
                    errors.append(seed)
        except Exception as e:   # noqa: BLE001 -- reported by the assert below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors


def test_fallback_with_wrapped_numbers():
    """C++ callers pass numbers as Tensor arguments; they reach Python as floats/ints and
    the fallback must give torch's dtype and value."""
    xi = make((5,), torch.int32)
    xd = make((5,), torch.float64)
    xh = make((5,), torch.float16)
    xc = make((5,)).to(torch.complex64)          # complex: declined, so the fallback runs
    xz = make((5,)).to(torch.complex128)
    cases = [(xi, 2.5), (xd, 0.1), (xh, 1e-6), (xi, True), (xh[0], 3),
             (xc, 2.5), (xc, True), (xz, 0.1), (xc, 3)]
    refs = [torch.ops.aten.mul.Tensor(x, s) for x, s in cases]
    with triforge.use(), triforge.coverage() as cov:
        got = [torch.ops.aten.mul.Tensor(x, s) for x, s in cases]
    assert cov.fell_back().get("mul.Tensor", 0) == 4 and cov.served().get("mul.Tensor", 0) == 5
    for g, r in zip(got, refs):
        assert g.dtype == r.dtype
        torch.testing.assert_close(g, r, rtol=0, atol=0)


@pytest.mark.skipif(on_gpu(), reason="on CUDA torch cannot box a wrapped-number tensor: isin(3, t) with only "
                    "_unique/_unique2 served raises torch's INTERNAL ASSERT before the registry sees the call "
                    "(isin.Scalar_Tensor is served instead: test_sort's test_isin_scalar_element)")
def test_supports_meeting_a_wrapped_number_falls_back(monkeypatch):
    """A `supports` that reads .dtype off a Tensor argument meets a bare number where
    ATen's C++ wrapped one (isin(3, t) reaches _unique/_unique2 so on the CPU): the
    call goes to ATen instead of raising; without a number in a Tensor slot it raises."""
    import dataclasses
    registry.declarations()   # the op modules imported
    decls = dict(registry._DECLS)
    seen = []

    def reads_dtype(self, *a, **k):
        seen.append(type(self))
        return self.dtype is not None
    for ov in ("_unique", "_unique2"):
        decls[ov] = dataclasses.replace(decls[ov], supports=reads_dtype)
    monkeypatch.setattr(registry, "_DECLS", decls)
    monkeypatch.setattr(registry, "_declared", None)
    monkeypatch.setattr(registry._state, "selected", frozenset())
    monkeypatch.setattr(registry, "_wrappers", {})   # wrappers built from the patched declarations
    t = make((40,), torch.int32, low=-6, high=6)
    want = torch.isin(3, t)
    with triforge.use(include=["_unique", "_unique2"]):
        got = torch.isin(3, t)
    assert int in seen and torch.equal(got, want)   # (coverage does not record calls ATen makes inside isin)
    # what decides between falling back and raising: a number in a Tensor slot
    assert registry._number_in_tensor_slot("aten::_unique2", (3,), {})
    assert not registry._number_in_tensor_slot("aten::_unique2", ([1, 2],), {})
    assert not registry._number_in_tensor_slot("aten::_unique2", (t,), {"sorted": 1})
    monkeypatch.undo()
    registry._declared = None


def test_context_cost_with_600_overloads():
    """use() enter/exit = registering / dropping every selected overload. Measured with
    600 real aten overloads on the unused PrivateUse1 key, through the same wrapper and
    registration code (bound: see _CONTEXT_BOUND_S)."""
    from triforge.registry import Decl, wrapper_for
    names = sorted(n[6:] for n in torch._C._dispatch_get_all_op_names() if n.startswith("aten::"))
    b = triforge.backend()
    names = [n for n in names if torch._C._dispatch_has_kernel_for_dispatch_key("aten::" + n, b.dispatch_key)]
    names = names[:600]
    assert len(names) == 600

    def fn(*a, **k):
        return NotImplemented
    items = [(n, wrapper_for(Decl(n, fn, None, __name__, None), b)) for n in names]
    enter, leave = [], []
    gc.disable()   # a collection inside one timing is not the registration's cost
    try:
        reps = _timed_registrations(items, enter, leave)
    finally:
        gc.enable()
    assert min(enter) < _CONTEXT_BOUND_S and min(leave) < _CONTEXT_BOUND_S, (min(enter), min(leave), reps)


def _timed_registrations(items, enter, leave, reps=10):
    from triforge.registry import register
    for _ in range(reps):
        t0 = time.process_time()
        lib = torch.library.Library("aten", "IMPL")
        register(lib, items, "PrivateUse1")
        t1 = time.process_time()
        lib._destroy()
        leave.append(time.process_time() - t1)
        enter.append(t1 - t0)
    return reps


def test_backend_op_override(monkeypatch):
    """A backend's overrides replace an implementation on that backend only."""
    import dataclasses
    from triforge import backends
    calls = []

    def my_mul(self, other):
        calls.append(1)
        return NotImplemented   # and still correct: falls back to ATen
    b = backends.current()
    monkeypatch.setattr(backends, "_current", dataclasses.replace(b, overrides={"mul.Tensor": my_mul}))
    x = make((4,))
    with triforge.use(include=["mul"]), triforge.coverage() as cov:
        y = x * x
    assert calls == [1] and cov.fell_back() == {"mul.Tensor": 1}
    torch.testing.assert_close(y, x.cpu().mul(x.cpu()).to(y.device))


def test_no_registration_bypasses_autograd(monkeypatch):
    """An overload that decomposes above the backend (selu) is never registered: a
    backend kernel for it would take calls past autograd. Its gradient flows (via elu)."""
    from triforge.registry import Decl
    decls = dict(registry._DECLS)
    decls["selu"] = Decl("selu", lambda x: NotImplemented, None, __name__, None)
    monkeypatch.setattr(registry, "_DECLS", decls)
    monkeypatch.setattr(registry, "_declared", None)
    monkeypatch.setattr(registry, "skipped", {})
    got = registry.declarations()
    assert "selu" not in got and "selu" in registry.skipped and "add.Tensor" in got
    monkeypatch.undo()
    x = make((5,)).requires_grad_(True)
    with triforge.use():
        y = torch.nn.functional.selu(x)
    assert y.grad_fn is not None


def test_autograd_key_declaration_falls_back_to_the_decomposition():
    """impl(autograd=True) registers at Autograd<key>; declining there runs torch's
    decomposition, gradients included."""
    from triforge.backends import current
    b = current()
    calls = []

    def fn(*args, **kwargs):
        calls.append(1)
        return NotImplemented

    d = registry.Decl("cross_entropy_loss", fn, None, __name__, None, True)
    assert registry.key_of(d, b) == "Autograd" + b.dispatch_key
    lib = torch.library.Library("aten", "IMPL")
    try:
        registry.register(lib, [("cross_entropy_loss", registry.wrapper_for(d, b))], registry.key_of(d, b))
        x = make((4, 5)).requires_grad_()   # on the backend's device: its Autograd key
        t = torch.tensor([1, 2, 3, 0], device=x.device)
        loss = torch.nn.functional.cross_entropy(x, t)
        loss.backward()
    finally:
        lib._destroy()
    assert calls == [1]
    x2 = x.detach().clone().requires_grad_()
    ref = torch.nn.functional.cross_entropy(x2, t)
    ref.backward()
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(x.grad, x2.grad)

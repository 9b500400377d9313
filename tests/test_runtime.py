"""Launcher, int32/int64 choice and the autotune cache."""
import json
import os
import re

import pytest
import torch
import triton
import triton.language as tl

import triforge
from triforge import testing
from triforge.runtime import needs_int64
from triforge.runtime.autotune import Tuner, bucket


def test_needs_int64():
    assert not needs_int64(torch.empty(10))
    big = torch.empty(1).expand(2**31 + 5)          # no storage behind it
    assert needs_int64(big)
    meta = torch.empty(2**32, device="meta")   # strides reaching past 2^31, no memory
    assert needs_int64(meta.as_strided((2, 2), (2**31, 1)))
    assert not needs_int64(meta.as_strided((2, 2), (2**30, 1)))
    assert needs_int64(torch.empty(1), extra=2**31)


def test_bucket():
    assert [bucket(n) for n in (0, 1, 2, 3, 4, 5, 4096, 4097)] == [1, 1, 2, 4, 4, 8, 4096, 8192]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIFORGE_CACHE_DIR", str(tmp_path))
    return tmp_path


def _timer_from(times):
    calls = []

    def timer(run):
        run()
        calls.append(1)
        return times[len(calls) - 1]
    return timer, calls


def test_tuner_picks_fastest_and_persists(cache_dir):
    configs = [{"w": 4}, {"w": 8}, {"w": 16}]
    ran = []
    timer, calls = _timer_from([3.0, 1.0, 2.0])
    t = Tuner("toy", "abc", configs)
    assert t.best((128, "bf16"), ran.append, timer) == {"w": 8}
    assert ran == configs and len(calls) == 3
    path = t.path()
    assert os.path.exists(path) and path.startswith(str(cache_dir))
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".tmp")]
    # a new process (fresh Tuner) reads the file and does not time again
    timer2, calls2 = _timer_from([0.0, 0.0, 0.0])
    assert Tuner("toy", "abc", configs).best((128, "bf16"), ran.append, timer2) == {"w": 8}
    assert not calls2


def test_tuner_corrupt_and_stale_files(cache_dir):
    configs = [{"w": 4}, {"w": 8}]
    t = Tuner("toy2", "h1", configs)
    os.makedirs(os.path.dirname(t.path()), exist_ok=True)
    with open(t.path(), "w") as f:
        f.write("{not json")
    timer, calls = _timer_from([2.0, 1.0])
    assert t.best((1,), lambda c: None, timer) == {"w": 8} and len(calls) == 2
    assert json.load(open(t.path()))["entries"]          # rewritten, valid
    # a different kernel source hash ignores the old entries
    timer, calls = _timer_from([1.0, 2.0])
    assert Tuner("toy2", "h2", configs).best((1,), lambda c: None, timer) == {"w": 4} and len(calls) == 2
    # a config no longer offered is stale
    timer, calls = _timer_from([5.0])
    assert Tuner("toy2", "h1", [{"w": 32}]).best((1,), lambda c: None, timer) == {"w": 32}
    assert len(calls) == 1


def test_tuner_skips_failing_configs(cache_dir):
    def timer(run):
        return run()

    def run(cfg):
        if cfg["w"] == 4:
            raise RuntimeError("out of resources")
        return 1.0
    assert Tuner("toy3", "h", [{"w": 4}, {"w": 8}]).best((1,), run, timer) == {"w": 8}


def test_interpreter_uses_heuristic_without_timing(cache_dir):
    if not triforge.backend().interpreted:
        pytest.skip("interpreter behaviour")
    t = Tuner("toy4", "h", [{"w": 1}, {"w": 2}])
    assert t.best((1,), lambda c: pytest.fail("must not run")) == {"w": 1}


@triton.jit
def _toy_kernel(x_ptr, y_ptr, s, out_ptr, n, alpha, OP: tl.constexpr, A: tl.constexpr, B: tl.constexpr,
                C: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * alpha + s, mask=offs < n)


def test_launcher_reports_kernel_source_hash():
    from triforge.runtime.launcher import Launcher
    la = Launcher(_toy_kernel)
    h = la.src_hash
    assert len(h) == 16 and h == Launcher(_toy_kernel).src_hash


def test_generated_binder_matches_generic_loop():
    """The per-kernel binder must produce exactly what the generic loop produces."""
    from triforge.runtime.launcher import Launcher
    la = Launcher(_toy_kernel)
    x = torch.randn(8)
    off = torch.randn(9)[1:]
    first = (x, x, 0, x, 8, 1, 0, False, False, False, 1024, False)
    bind, n = la._make_binder(first)
    cases = [first,
             (off, x, 2.5, x, 16, 0.5, 1, True, True, True, 1024, False),
             (x, off, -7, off, 2**31 + 16, 3, 0, False, False, False, 2048, True),
             (x.half(), x.half(), 1, x.half(), 1, 1, 0, False, False, True, 1024, False)]
    for args in cases:
        assert bind(*args) == la._generic(args), args
    with pytest.raises(TypeError):   # a tensor in a scalar slot leaves the binder
        bind(x, x, x, x, 8, 1, 0, False, False, False, 1024, False)


@triton.jit
def _desc_copy(src_desc, dst_desc, BM: tl.constexpr, BN: tl.constexpr):
    t = src_desc.load([tl.program_id(0) * BM, tl.program_id(1) * BN])
    dst_desc.store([tl.program_id(0) * BM, tl.program_id(1) * BN], t)


def test_launcher_takes_host_tensor_descriptors():
    """Kernels taking host tensor descriptors: keyed like Triton (dtype, block shape), so a
    cached binary is reused only for the same block; on a GPU the later launches go
    through the compiled kernel's own launcher, which encodes each call's descriptors."""
    from triton.tools.tensor_descriptor import TensorDescriptor

    from triforge.runtime.launcher import Launcher
    la = Launcher(_desc_copy)
    dev = testing.device()
    for shape, block in (((48, 64), (16, 32)), ((40, 96), (16, 32)), ((40, 96), (8, 32))):
        src = torch.randn(shape, device=dev)
        dst = torch.zeros(shape, device=dev)
        sd = TensorDescriptor(src, list(shape), [shape[1], 1], list(block))
        dd = TensorDescriptor(dst, list(shape), [shape[1], 1], list(block))
        args = (sd, dd, *block)
        key = la._generic(args)[0]
        assert hash(key) is not None and la._make_binder(args)[0](*args)[0] == key
        for _ in range(2):   # the second launch of a key: the direct path on a GPU
            dst.zero_()
            la((-(-shape[0] // block[0]), -(-shape[1] // block[1])), *args, num_warps=4)
            assert torch.equal(dst, src)


def test_compile_check_records_and_compiles_for_sm90(tmp_path):
    """TRIFORGE_RECORD_LAUNCHES + compile_check: the interpreter's launches compile for
    sm_90 without a GPU, and a kernel the GPU compiler refuses is reported."""
    import subprocess
    import sys
    if not testing.interpreted():
        pytest.skip("records interpreted launches")
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src), "TRIFORGE_RECORD_LAUNCHES": str(tmp_path / "rec")}
    run = """
import torch, triforge
with triforge.use():
    x = torch.randn(16, 33)
    torch.softmax(x, -1) + x
"""
    subprocess.run([sys.executable, "-c", run], env=env, check=True, timeout=300)
    lines = (tmp_path / "rec").read_text().splitlines()
    assert len(lines) >= 2   # softmax, add
    env.pop("TRIFORGE_RECORD_LAUNCHES")
    ok = subprocess.run([sys.executable, "-m", "triforge.runtime.compile_check", str(tmp_path / "rec"), "--regs"],
                        env=env, capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0 and "0 failed" in ok.stdout, ok.stdout + ok.stderr
    # --regs: every kernel's registers and spills from ptxas
    assert len(re.findall(r"warps \d+: \d+ registers, spills \d+ B stored / \d+ B loaded", ok.stdout)) == len(lines)
    # a kernel reading a plain-int global: fine in the interpreter, refused by the compiler
    bad = tmp_path / "badkernel.py"
    bad.write_text("import triton\nimport triton.language as tl\nMODE = 1\n\n\n@triton.jit\n"
                   "def k(x_ptr, BLOCK: tl.constexpr):\n    o = tl.arange(0, BLOCK)\n"
                   "    if MODE == 1:\n        tl.store(x_ptr + o, o)\n")
    rec = {"module": "triforge._generated.badkernel", "name": "k", "file": str(bad),
           "signature": {"x_ptr": "*i32", "BLOCK": "constexpr"}, "constexprs": {"BLOCK": 16},
           "num_warps": 4, "num_stages": 3}
    (tmp_path / "bad").write_text(json.dumps(rec) + "\n")
    got = subprocess.run([sys.executable, "-m", "triforge.runtime.compile_check", str(tmp_path / "bad")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert got.returncode == 1 and "1 failed" in got.stdout, got.stdout + got.stderr


def test_f64_constants_exact_and_made_once():
    # float64 kernels read exact scalar arguments from these tensors; making one each
    # call copied from pageable memory, which drains the stream (runtime/constants.py)
    import struct
    from triforge.runtime.constants import f64_tensor
    dev = testing.device()
    vals = (0.1, -0.0, float("nan"), 1e300)
    t = f64_tensor(vals, dev)
    assert t.dtype is torch.float64 and t.device.type == torch.device(dev).type
    assert struct.pack("4d", *t.cpu().tolist()) == struct.pack("4d", *vals)   # bits: -0.0, NaN kept
    assert f64_tensor(vals, dev) is t
    plus = f64_tensor((0.1, 0.0, float("nan"), 1e300), dev)   # 0.0 == -0.0, but other bits
    assert plus is not t and struct.pack("d", plus[1].item()) == struct.pack("d", 0.0)

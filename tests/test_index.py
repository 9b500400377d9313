"""Indexing ops (embedding, index_select, gather, take, scatter*, index/index_put,
index_add/copy/fill, nonzero, masked_select/scatter, put) against the float64
reference; torch's errors for bad indices; determinism where promised."""
import pytest
import torch

import triforge
from triforge.testing import check, interpreted, layouts, make


def _torch_raises(fn, *exc, match=None):
    """torch's error for a bad index or size, raised by ATen (triforge hands such calls
    to it). Under the interpreter ATen's CPU kernels raise it; ATen's CUDA kernels report
    an index error by a device-side assert, which kills the process's CUDA context, so on
    a GPU the call is not made."""
    if not interpreted():
        return
    with triforge.use(), pytest.raises(exc[0] if len(exc) == 1 else exc, match=match):
        fn()

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INDEX = [torch.int32, torch.int64]

# A bad index on a GPU stops the kernel with a device-side assert, as ATen's CUDA index
# kernels do (no host sync is spent looking for it): each case runs in its own process,
# since the assert kills the CUDA context.
_BAD_INDEX_CASES = {
    "embedding": "torch.nn.functional.embedding(torch.tensor([0, 9], device='cuda'), w)",
    "index_select": "torch.index_select(w, 0, torch.tensor([3, -1], device='cuda'))",
    "gather": "torch.gather(w, 1, torch.tensor([[0, 4]], device='cuda'))",
    # (sources that are not views of w: an aliased source goes to ATen)
    "scatter_add": "w.scatter_add(1, torch.tensor([[0, 4]], device='cuda'), torch.ones(1, 2, device='cuda'))",
    "scatter_reduce prod": ("w.scatter_reduce(1, torch.tensor([[-1, 0]], device='cuda'), "
                            "torch.ones(1, 2, device='cuda'), 'prod')"),
    "index_add": "w.index_add(0, torch.tensor([1, 4], device='cuda'), torch.ones(2, 4, device='cuda'))",
    "index_copy": "w.index_copy(0, torch.tensor([-1], device='cuda'), torch.ones(1, 4, device='cuda'))",
    "index_fill": "w.index_fill(1, torch.tensor([-5], device='cuda'), 2.0)",
    "take": "torch.take(w, torch.tensor([100], device='cuda'))",
    "index": "w[torch.tensor([1, -5], device='cuda')]",
}


@pytest.mark.skipif(interpreted(), reason="GPU: the device-side bounds assert")
@pytest.mark.parametrize("op", sorted(_BAD_INDEX_CASES))
def test_bad_index_device_assert(op):
    import subprocess
    import sys
    code = ("import torch, triforge\n"
            "w = torch.randn(4, 4, device='cuda')\n"
            "with triforge.use(), triforge.coverage() as cov:\n"
            f"    y = {_BAD_INDEX_CASES[op]}\n"
            "    torch.cuda.synchronize()\n"
            "print('NO ERROR', cov)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "NO ERROR" not in r.stdout, r.stdout[-2000:]
    # triforge's kernels assert with this message; ATen's own asserts word it otherwise
    assert "index out of range" in r.stderr, r.stderr[-2000:]


def _atomic_tol(dtype, adds):
    """index_add / index_put of half types add atomically in their own type where the
    backend can (torch's CUDA kernels do too): one rounding per add, up to ~adds/2 ulps;
    {} elsewhere (a float32 copy rounds once, within check's own tolerance)."""
    from triforge.ops.index.scatter import via_float32
    if dtype not in (torch.float16, torch.bfloat16) or via_float32(dtype):
        return {}
    eps = torch.finfo(dtype).eps
    return {"rtol": adds * eps, "atol": adds * eps}


def _idx(shape, hi, dtype=torch.int64, lo=0):
    return torch.randint(lo, hi, shape, dtype=dtype, device=make((1,)).device)


def _served(fn, *args):
    with triforge.use(), triforge.coverage() as cov:
        out = fn(*args)
    return out, cov.served()


# -- embedding ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("idt", INDEX)
def test_embedding(dtype, idt):
    w = make((11, 37), dtype)
    ids = _idx((3, 9), 11, idt)
    check(lambda w, i: torch.nn.functional.embedding(i, w), w, ids, served="embedding")


def test_embedding_layouts_and_empty():
    w = layouts((11, 5))["transposed"]
    check(lambda w, i: torch.nn.functional.embedding(i, w), w, _idx((7,), 11), served="embedding")
    check(lambda w, i: torch.nn.functional.embedding(i, w), make((11, 5)), _idx((0, 3), 11), served="embedding")


@pytest.mark.parametrize("bad", [11, -1])
def test_embedding_out_of_range_raises(bad):
    w, ids = make((11, 5)), torch.tensor([0, bad], device=make((1,)).device)
    _torch_raises(lambda: torch.nn.functional.embedding(ids, w), IndexError)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("padding_idx,scale", [(-1, False), (3, False), (-1, True), (2, True)])
def test_embedding_backward(dtype, padding_idx, scale):
    g = make((4, 13, 6), dtype)
    ids = _idx((4, 13), 7, torch.int32 if scale else torch.int64)
    check(lambda g, i: torch.ops.aten.embedding_dense_backward(g, i, 9, padding_idx, scale), g, ids,
          served="embedding_dense_backward")


def test_embedding_backward_deterministic_and_autograd():
    g = make((120, 5), torch.float32)
    ids = torch.full((120,), 4, device=g.device)   # one long run (several BLOCK_T chunks)
    ids[::7] = 1
    outs = [_served(lambda: torch.ops.aten.embedding_dense_backward(g, ids, 6, -1, False))[0] for _ in range(2)]
    assert torch.equal(outs[0], outs[1])
    check(lambda g, i: torch.ops.aten.embedding_dense_backward(g, i, 6, -1, False), g, ids,
          served="embedding_dense_backward")
    w = make((6, 5)).requires_grad_()

    def train_step(w, i):
        y = torch.nn.functional.embedding(i, w, padding_idx=0)
        return torch.autograd.grad((y * y).sum(), w)[0]
    check(train_step, w, _idx((40,), 6), served=["embedding", "embedding_dense_backward"])


# -- index_select / gather / take ----------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + [torch.int32, torch.bool])
@pytest.mark.parametrize("idt", INDEX)
def test_index_select(dtype, idt):
    x = make((5, 6, 7), dtype)
    for dim in (0, 1, -1):
        check(lambda x, i, dim=dim: torch.index_select(x, dim, i), x, _idx((9,), x.shape[dim], idt), served="index_select")


@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_index_select_layouts(layout):
    x = layouts((6, 8))[layout]
    check(lambda x, i: torch.index_select(x, 1, i), x, _idx((5,), 8), served="index_select")
    check(lambda x, i: torch.index_select(x, 0, i), x, _idx((5,), 6).flip(0)[::2], served="index_select")


def test_index_select_edges():
    x = make((4, 5))
    check(lambda x, i: torch.index_select(x, 0, i), x, _idx((0,), 4), served="index_select")
    check(lambda x, i: torch.index_select(x, 0, i), make(()), _idx((1,), 1), served="index_select")
    out = torch.empty(3, 5, device=x.device)
    check(lambda x, i, o: torch.index_select(x, 0, i, out=o), x, _idx((3,), 4), out, served="index_select.out")
    for bad in (4, -1):
        _torch_raises(lambda: torch.index_select(x, 0, torch.tensor([0, bad], device=x.device)), (IndexError, RuntimeError))


@pytest.mark.parametrize("dtype", FLOATS + [torch.int64])
@pytest.mark.parametrize("idt", INDEX)
def test_gather(dtype, idt):
    x = make((5, 6, 7), dtype)
    for dim in (0, 1, 2):
        shape = [4, 5, 6]
        shape[dim] = 9   # longer than x along dim, shorter elsewhere
        check(lambda x, i, dim=dim: torch.gather(x, dim, i), x, _idx(shape, x.shape[dim], idt), served="gather")


def test_gather_layouts_and_errors():
    x = layouts((6, 8))["transposed"]
    idx = _idx((8, 6), 8).t()   # transposed index too
    check(lambda x, i: torch.gather(x, 1, i), x, idx, served="gather")
    check(lambda x, i: torch.gather(x, 1, i), x, _idx((6, 0), 8), served="gather")
    for bad in (8, -1):
        i = _idx((6, 3), 8)
        i[2, 1] = bad
        _torch_raises(lambda: torch.gather(x, 1, i), RuntimeError, match="out of bounds")


def test_take():
    x = layouts((5, 7))["transposed"]
    i = torch.tensor([[0, -1, 34], [-35, 3, 3]], device=x.device)
    check(lambda x, i: torch.take(x, i), x, i, served="take")
    check(lambda x, i: torch.take(x, i), x, i[:, :0], served="take")
    _torch_raises(lambda: torch.take(x, torch.tensor([35], device=x.device)), IndexError)


# -- scatter family --------------------------------------------------------------------------
def _unique_rows(shape, n):
    """An index along dim 0 with distinct values per column (no duplicates)."""
    return torch.stack([torch.randperm(n)[:shape[0]] for _ in range(shape[1])], 1).to(make((1,)).device)


@pytest.mark.parametrize("dtype", FLOATS + [torch.int32, torch.bool])
def test_scatter_src_value(dtype):
    x, src = make((6, 5), dtype), make((4, 5), dtype)
    idx = _unique_rows((4, 5), 6)
    check(lambda x, i, s: x.scatter(0, i, s), x, idx, src, served="scatter.src")
    check(lambda x, i: x.scatter(0, i, 1), x, idx, served="scatter.value")
    check(lambda x, i, s: x.clone().scatter_(0, i, s), x, idx.to(torch.int32), src, served="scatter_.src")
    out = torch.empty_like(x)
    check(lambda x, i, s, o: torch.scatter(x, 0, i, s, out=o), x, idx, src, out, served="scatter.src_out")


def test_scatter_duplicates_write_one_of_them():
    x = make((3, 4))
    idx = torch.zeros(5, 4, dtype=torch.int64, device=x.device)   # 5 writers per element of row 0
    src = make((5, 4))
    got, served = _served(lambda: x.scatter(0, idx, src))
    assert "scatter.src" in served
    assert torch.equal(got[1:], x[1:])
    assert all(bool((got[0, j] == src[:, j]).any()) for j in range(4))


@pytest.mark.parametrize("dtype", FLOATS + [torch.int32, torch.int64])
def test_scatter_add(dtype):
    x, src = make((4, 6, 3), dtype), make((5, 6, 2), dtype)
    idx = _idx((5, 6, 2), 4)   # duplicates: they accumulate
    check(lambda x, i, s: x.scatter_add(0, i, s), x, idx, src, served="scatter_add")
    check(lambda x, i, s: x.clone().scatter_add_(0, i, s), x, idx.to(torch.int32), src, served="scatter_add_")
    check(lambda x, i, s: x.scatter(0, i, s, reduce="add"), x, idx, src, served="scatter.reduce")
    for include_self in (True, False):
        for red in ("sum", "mean") if dtype.is_floating_point else ("sum",):
            check(lambda x, i, s, red=red, inc=include_self: x.scatter_reduce(0, i, s, red, include_self=inc), x, idx, src,
                  served="scatter_reduce.two")


def test_scatter_layouts_empty_errors():
    x = layouts((6, 5))["transposed"]
    src = layouts((6, 5))["stepped"]
    idx = _idx((6, 5), 5)
    check(lambda x, i, s: x.scatter_add(1, i, s), x, idx, src, served="scatter_add")
    check(lambda x, i, s: x.scatter_add(1, i, s), x, idx[:, :0], src, served="scatter_add")
    idx[0, 0] = 5
    _torch_raises(lambda: x.scatter_add(1, idx, src), RuntimeError, match="out of bounds")


def test_deterministic_mode_sends_float_adds_to_aten():
    """Atomic float adds are not bit-reproducible: under use_deterministic_algorithms
    (not warn_only) the implementations decline (ATen's deterministic path runs).
    Asked of the implementations directly: the coverage table also counts nested ops."""
    from triforge.ops.index import advanced, scatter
    x, src, idx = make((4, 3)), make((4, 3)), _idx((4, 3), 4)
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        assert scatter.scatter_add(x, 0, idx, src) is NotImplemented
        assert advanced.index_put(x, (idx[:, 0],), src, True) is NotImplemented
        assert scatter.scatter_add(x.long(), 0, idx, src.long()) is not NotImplemented   # integers: exact
        with triforge.use():
            got = x.scatter_add(0, idx, src)
    finally:
        torch.use_deterministic_algorithms(prev)
    torch.testing.assert_close(got, x.scatter_add(0, idx, src))


# -- advanced indexing -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.int64, torch.bool])
@pytest.mark.parametrize("idt", INDEX)
def test_index_tensor(dtype, idt):
    x = make((4, 5, 6), dtype)
    i = torch.tensor([[0, -1], [2, 3]], dtype=idt, device=x.device)
    j = torch.tensor([1, -5], dtype=idt, device=x.device)
    check(lambda x, i: x[i], x, i, served="index.Tensor")
    check(lambda x, i, j: x[i, j], x, i, j, served="index.Tensor")          # broadcast indices
    check(lambda x, i, j: x[:, i, j], x, i, j, served="index.Tensor")       # adjacent, in place
    check(lambda x, i, j: x[i, :, j], x, i, j, served="index.Tensor")       # apart: B first


def test_index_masks_layouts_errors():
    x = layouts((4, 5, 6))["transposed"]
    m = make((4, 5), torch.bool)
    check(lambda x, m: x[m], x, m, served="index.Tensor")
    check(lambda x, m: x[:, m[0]], x, m, served="index.Tensor")
    check(lambda x, i: x[..., i], x, _idx((0,), 6), served="index.Tensor")
    for bad in (4, -5):
        _torch_raises(lambda: x[torch.tensor([0, bad], device=x.device)], IndexError)


@pytest.mark.parametrize("dtype", FLOATS + [torch.int32])
def test_index_put(dtype):
    x = make((4, 5, 6), dtype)
    i = torch.tensor([0, 3, -1], device=x.device)
    j = torch.tensor([1, -5, 2], device=x.device)
    v = make((3, 6), dtype)
    check(lambda x, i, j, v: x.index_put((i, j), v), x, i, j, v, served="index_put")
    dup = torch.tensor([1, 1, -3, 2], device=x.device)   # accumulate sums duplicates
    tol = _atomic_tol(dtype, 4)
    check(lambda x, i, v: x.index_put((i,), v, accumulate=True), x, dup, make((4, 5, 6), dtype),
          served="index_put", **tol)
    check(lambda x, i, v: x.index_put((i,), v[0], accumulate=True), x, dup, make((5, 6), dtype),   # broadcast
          served="index_put", **tol)


def test_index_put_mask_and_errors():
    x = layouts((4, 5))["transposed"]
    m = make((4, 5), torch.bool)

    def assign(x, m):
        y = x.clone()
        y[m] = 2.5
        return y
    check(assign, x, m, served="index_put_")   # on GPUs the value arrives as a 0-dim CPU tensor
    check(lambda x, m: x.masked_fill(m, 2.5), x, m, served="masked_fill.Scalar")   # transposed, bool mask
    _torch_raises(lambda: x.index_put((torch.tensor([4], device=x.device),), torch.tensor(1.0, device=x.device)), IndexError)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32, torch.int64])
def test_index_add_copy_fill(dtype):
    x = make((4, 5, 6), dtype)
    src = make((4, 3, 6), dtype)
    dup = torch.tensor([3, 1, 3], device=x.device)
    tol = _atomic_tol(dtype, 3)
    check(lambda x, i, s: x.index_add(1, i, s), x, dup, src, served="index_add", **tol)
    check(lambda x, i, s: x.clone().index_add_(1, i, s), x, dup.to(torch.int32), src, served="index_add_", **tol)
    uniq = torch.tensor([4, 0, 2], device=x.device)
    check(lambda x, i, s: x.index_copy(1, i, s), x, uniq, src, served="index_copy")
    check(lambda x, i: x.index_fill(2, i, 3), x, torch.tensor([-1, 0], device=x.device),
          served="index_fill.int_Scalar")
    check(lambda x, i, v: x.clone().index_fill_(0, i, v), x, torch.tensor([2], device=x.device),
          torch.tensor(5, dtype=dtype), served="index_fill_.int_Tensor")
    _torch_raises(lambda: x.index_add(1, torch.tensor([5], device=x.device), src[:, :1]), (IndexError, RuntimeError))


# -- nonzero / masked / put -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7,), (4, 5), (3, 4, 5), (2, 3, 4, 5), (3, 0)])
def test_nonzero(shape):
    x = make(shape)
    x[x.abs() < 0.6] = 0
    check(lambda x: torch.nonzero(x), x, served="nonzero")
    check(lambda x: torch.nonzero(x), layouts(shape, torch.bool).get("stepped", make(shape, torch.bool)),
          served="nonzero")


def test_nonzero_nan_and_all_zero():
    x = torch.tensor([0.0, float("nan"), -0.0, 1.0], device=make((1,)).device)
    check(lambda x: torch.nonzero(x), x, served="nonzero")
    check(lambda x: torch.nonzero(x), torch.zeros(3, 4, device=x.device), served="nonzero")


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.int32])
def test_masked_select_scatter(dtype):
    x = layouts((4, 5), dtype)["transposed"]
    m = make((5,), torch.bool)   # broadcast over rows
    check(lambda x, m: torch.masked_select(x, m), x, m, served="masked_select")
    src = make((30,), dtype)
    check(lambda x, m, s: x.masked_scatter(m, s), x, m, src, served="masked_scatter")
    check(lambda x, m, s: x.clone().masked_scatter_(m, s), x, m, src, served="masked_scatter_")
    _torch_raises(lambda: x.masked_scatter(torch.ones(5, dtype=torch.bool, device=x.device), src[:3]), RuntimeError)


def test_put():
    x = make((4, 5))
    i = torch.tensor([0, -1, 7, 7], device=x.device)
    s = make((4,))
    check(lambda x, s, i: x.put(i[:3], s[:3]), x, s, i, served="put")
    check(lambda x, s, i: x.clone().put_(i, s, accumulate=True), x, s, i, served="put_")
    _torch_raises(lambda: x.put(torch.tensor([20], device=x.device), s[:1]), (IndexError, RuntimeError))


# -- real sizes (the lead runs these on the GPU) ------------------------------------------------
@pytest.mark.gpu_only
def test_embedding_llm_size():
    w = make((128256, 4096), torch.bfloat16)
    ids = _idx((4, 4096), 128256)
    check(lambda w, i: torch.nn.functional.embedding(i, w), w, ids, served="embedding")
    g = make((4, 4096, 4096), torch.bfloat16)
    check(lambda g, i: torch.ops.aten.embedding_dense_backward(g, i, 128256, -1, False), g, ids,
          served="embedding_dense_backward")


@pytest.mark.gpu_only
def test_gather_scatter_large():
    x = make((4096, 8192), torch.bfloat16)
    idx = _idx((4096, 1000), 8192)
    check(lambda x, i: torch.gather(x, 1, i), x, idx, served="gather")
    check(lambda x, i: torch.index_select(x, 1, i[0]), x, idx, served="index_select")
    check(lambda x, i, s: x.scatter_add(1, i, s), x, idx, make((4096, 1000), torch.bfloat16), served="scatter_add")
    check(lambda x: torch.nonzero(x > 1), x, served="nonzero")


def _guard_cases():
    x, s = make((4, 5)), make((4, 5))
    i = _idx((4, 5), 4)
    r = _idx((3,), 4)
    m = make((4, 5), torch.bool)
    return [
        ("embedding", lambda: torch.nn.functional.embedding(r, x)),
        ("embedding_dense_backward", lambda: torch.ops.aten.embedding_dense_backward(s[:3], r, 6, -1, True)),
        ("index_select", lambda: torch.index_select(x, 0, r)),
        ("gather", lambda: torch.gather(x, 0, i)),
        ("take", lambda: torch.take(x, r)),
        ("scatter.src", lambda: x.scatter(0, i, s)),
        ("scatter_add", lambda: x.scatter_add(0, i, s)),
        ("scatter_reduce.two", lambda: x.scatter_reduce(0, i, s, "sum", include_self=False)),
        ("index.Tensor", lambda: x[r, :2]),
        ("index_put", lambda: x.index_put((r,), s[0], accumulate=True)),
        ("index_add", lambda: x.index_add(0, r, s[:3])),
        ("index_copy", lambda: x.index_copy(0, torch.tensor([2, 0], device=x.device), s[:2])),
        ("index_fill.int_Scalar", lambda: x.index_fill(0, r, 1.0)),
        ("nonzero", lambda: torch.nonzero(x > 0)),
        ("masked_select", lambda: torch.masked_select(x, m)),
        ("masked_scatter", lambda: x.masked_scatter(m, s)),
        ("put", lambda: x.put(r, s[0, :3])),
        ("repeat_interleave.Tensor", lambda: torch.repeat_interleave(r)),
    ]


def test_served_by_the_op_itself():
    """Only the op under test enabled: the coverage table then cannot credit it with a
    nested triforge op (aminmax, cumsum, sort) that served while it fell back."""
    for ov, fn in _guard_cases():
        with triforge.use(include=(ov.split(".")[0],)), triforge.coverage() as cov:
            fn()
        assert cov.served().get(ov), f"{ov}: {cov}"

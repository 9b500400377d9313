"""Data movement (cat, stack, flip, roll, repeat, padding, narrow_copy, *_scatter,
diag_embed, repeat_interleave) against the float64 reference, and torch's errors."""
import pytest
import torch

import triforge
from triforge.testing import check, layouts, make

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
ALL = FLOATS + [torch.int32, torch.int64, torch.bool]
F = torch.nn.functional


@pytest.mark.parametrize("dtype", ALL)
def test_cat(dtype):
    a, b, c = make((3, 4, 5), dtype), make((3, 2, 5), dtype), make((3, 0, 5), dtype)
    check(lambda a, b, c: torch.cat([a, b, c, a], 1), a, b, c, served="cat")
    check(lambda a: torch.cat([a, a], -1), a, served="cat")


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_cat_many_inputs(dim):
    """More inputs than one launch takes (concat.GROUP), of uneven widths, empties among
    them, so block bounds and column offsets differ per input."""
    ts = []
    for k in range(11):
        shape = [3, 4, 5]
        shape[dim] = (k * 3) % 5   # 0 appears: empty inputs
        ts.append(make(tuple(shape), torch.bfloat16))
    check(lambda *ts: torch.cat(ts, dim), *ts, served="cat")


def test_cat_tiles():
    """Inputs wider than one tile (several column blocks, the last one partial) beside
    narrow ones, and narrow-only groups whose tiles span several rows with a row tail."""
    from triforge.ops.index.concat import _BLOCK
    wide = [make((7, _BLOCK * 2 + 37), torch.bfloat16), make((7, 5), torch.bfloat16), make((7, _BLOCK), torch.bfloat16)]
    check(lambda *ts: torch.cat(ts, 1), *wide, served="cat")
    narrow = [make((2 * _BLOCK // 8 + 3, 3)), make((2 * _BLOCK // 8 + 3, 8))]
    check(lambda *ts: torch.cat(ts, 1), *narrow, served="cat")


def test_cat_layouts_out_and_fallbacks():
    ts = layouts((6, 8))
    for name, t in ts.items():
        check(lambda t, u: torch.cat([t, u], 0), t, make((6, 8)), served="cat", msg=name)
    out = torch.empty(8, 8, device=ts["contiguous"].device)
    check(lambda a, b, o: torch.cat([a, b], 0, out=o), make((5, 8)), make((3, 8)), out, served="cat.out")
    a, b = make((2, 3)), make((2, 3), torch.float16)
    with triforge.use(), triforge.coverage() as cov:   # mixed dtypes promote: ATen's job here
        got = torch.cat([a, b])
    assert cov.served().get("cat", 0) == 0
    torch.testing.assert_close(got, torch.cat([a, b]))
    with triforge.use(), pytest.raises(RuntimeError):
        torch.cat([a, make((3, 3))], 1)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim):
    a, b = make((3, 4)), layouts((3, 4))["transposed"]
    check(lambda a, b: torch.stack([a, b, a], dim), a, b, served="stack")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.int64, torch.bool])
def test_flip_roll(dtype):
    x = layouts((4, 5, 6), dtype)["transposed"]
    check(lambda x: torch.flip(x, [0, 2]), x, served="flip")
    check(lambda x: torch.flip(x, [-1]), x, served="flip")
    check(lambda x: torch.roll(x, [1, -7], [0, 2]), x, served="roll")
    check(lambda x: torch.roll(x, 3), x.contiguous(), served="roll")   # flattened
    check(lambda x: torch.roll(x, 5, 1), x, served="roll")             # shift == size
    check(lambda x: torch.flip(x, [0]), make((0, 3), dtype), served="flip")


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.int32])
def test_repeat(dtype):
    x = layouts((3, 4), dtype)["stepped"]
    check(lambda x: x.repeat(2, 3), x, served="repeat")
    check(lambda x: x.repeat(2, 1, 2), x, served="repeat")
    check(lambda x: x.repeat(1, 0), x, served="repeat")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.int64])
def test_constant_pad(dtype):
    x = layouts((3, 4, 5), dtype)["transposed"]
    value = 2.5 if dtype.is_floating_point else 7
    check(lambda x: F.pad(x, (1, 2), value=value), x, served="constant_pad_nd")
    check(lambda x: F.pad(x, (2, -1, -1, 3, 1, 0)), x, served="constant_pad_nd")   # negative: crop
    check(lambda x: F.pad(x, (0, 0, 2, 2)), make((0, 2, 3), dtype), served="constant_pad_nd")


@pytest.mark.parametrize("dtype", FLOATS)
def test_reflect_replicate_pads(dtype):
    x3, x4, x5 = make((2, 3, 7), dtype), layouts((2, 3, 5, 6), dtype)["transposed"], make((1, 2, 3, 4, 5), dtype)
    check(lambda x: F.pad(x, (3, 6), mode="reflect"), x3, served="reflection_pad1d")
    check(lambda x: F.pad(x, (2, 1, 4, 0), mode="reflect"), x4, served="reflection_pad2d")
    # the aten ops themselves: under check()'s deterministic mode torch's CUDA F.pad
    # replicates through a decomposition (_unsafe_index) instead
    aten = torch.ops.aten
    check(lambda x: aten.replication_pad1d(x, [3, 6]), x3, served="replication_pad1d")
    check(lambda x: aten.replication_pad2d(x, [2, 1, 4, 0]), x4, served="replication_pad2d")
    check(lambda x: aten.replication_pad3d(x, [1, 2, 0, 3, 2, 1]), x5, served="replication_pad3d")
    check(lambda x: F.pad(x, (3, 6), mode="replicate"), x3)   # whichever route torch takes


def test_pad_errors_stay_torch():
    x = make((2, 3, 4))
    with triforge.use(), pytest.raises(RuntimeError):
        F.pad(x, (4, 0), mode="reflect")   # pad >= input size
    with triforge.use(), pytest.raises(RuntimeError):
        F.pad(x, (-5, 0))                  # output size negative
    x64 = make((2, 3), torch.float64)      # 0.1 is not a float32: the kernel argument would round it
    with triforge.use():
        got = F.pad(x64, (1, 1), value=0.1)
    assert torch.equal(got, F.pad(x64, (1, 1), value=0.1))


def test_narrow_copy_and_scatter_views():
    x = layouts((4, 6, 5))["transposed"]
    check(lambda x: torch.narrow_copy(x, 1, 2, 3), x, served="narrow_copy")
    check(lambda x, s: torch.slice_scatter(x, s, 1, 1, 6, 2), x, make((4, 3, 5)), served="slice_scatter")
    check(lambda x, s: torch.select_scatter(x, s, 2, -1), x, make((4, 6)), served="select_scatter")
    xc = make((4, 6))
    check(lambda x, s: torch.as_strided_scatter(x, s, (2, 3), (6, 2), 1), xc, make((2, 3)),
          served="as_strided_scatter")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.slice_scatter(x, make((4, 2, 5)), 1, 1, 6, 2)   # src of the wrong shape


@pytest.mark.parametrize("offset,d1,d2", [(0, -2, -1), (1, 0, 2), (-2, 2, 0)])
def test_diag_embed(offset, d1, d2):
    x = layouts((3, 4))["transposed"]
    check(lambda x: torch.diag_embed(x, offset, d1, d2), x, served="diag_embed")


@pytest.mark.parametrize("idt", [torch.int32, torch.int64])
def test_repeat_interleave(idt):
    dev = make((1,)).device
    r = torch.tensor([2, 0, 3, 1], dtype=idt, device=dev)
    check(lambda r: torch.repeat_interleave(r), r, served="repeat_interleave.Tensor")
    check(lambda r: torch.repeat_interleave(r), r[:0], served="repeat_interleave.Tensor")
    check(lambda x, r: torch.repeat_interleave(x, r, dim=1), make((2, 4)), r, served="repeat_interleave.Tensor")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.repeat_interleave(torch.tensor([1, -1], dtype=idt, device=dev))


@pytest.mark.gpu_only
def test_cat_large():
    ts = [make((4096, 1024), torch.bfloat16) for _ in range(8)]
    check(lambda *ts: torch.cat(ts, 0), *ts, served="cat")
    check(lambda *ts: torch.cat(ts, 1), *ts, served="cat")
    x = make((64, 4096, 512), torch.bfloat16)
    check(lambda x: F.pad(x, (3, 5)), x, served="constant_pad_nd")
    check(lambda x: torch.flip(x, [1]), x, served="flip")


def test_served_by_the_op_itself():
    """Only the op under test enabled, so a nested triforge op (a fill) cannot be
    credited for it in the coverage table."""
    x = make((3, 4, 5))
    cases = [
        ("cat", lambda: torch.cat([x, x], 1)), ("stack", lambda: torch.stack([x, x])),
        ("flip", lambda: x.flip(0)), ("roll", lambda: x.roll(1, 2)), ("repeat", lambda: x.repeat(1, 2, 1)),
        ("constant_pad_nd", lambda: F.pad(x, (1, 1))),
        ("reflection_pad1d", lambda: F.pad(x, (1, 1), mode="reflect")),
        ("replication_pad2d", lambda: F.pad(x[None], (1, 1, 1, 1), mode="replicate")),
        ("narrow_copy", lambda: x.narrow_copy(1, 0, 2)),
        ("slice_scatter", lambda: x.slice_scatter(x[:, :2], 1, 0, 2)),
        ("select_scatter", lambda: x.select_scatter(x[0], 0, 1)),
        ("as_strided_scatter", lambda: x.as_strided_scatter(x[0, 0], (5,), (1,))),
        ("diag_embed", lambda: torch.diag_embed(x)),
    ]
    for ov, fn in cases:
        with triforge.use(include=(ov,)), triforge.coverage() as cov:
            fn()
        assert cov.served().get(ov), f"{ov}: {cov}"

"""arange, linspace, tril, triu."""
import pytest
import torch

import triforge
from triforge.testing import assert_close, check, layouts, make


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64, torch.int32])
@pytest.mark.parametrize("args", [(10,), (2, 11), (0, 1, 0.1), (5, -3, -2), (1.5, 7.25, 0.75), (3, 3)])
def test_arange(dtype, args):
    if not dtype.is_floating_point and any(type(a) is float for a in args):
        pytest.skip("float bounds with an integer dtype: ATen's case")
    dev = make((1,)).device
    served = {1: "arange", 2: "arange.start", 3: "arange.start_step"}[len(args)]
    check(lambda: torch.arange(*args, dtype=dtype, device=dev), served=served)
    out = torch.empty(0, dtype=dtype, device=dev)
    check(lambda: torch.arange(*args, out=out), served="arange.start_out" if len(args) > 1 else "arange.out")


def test_arange_default_dtype_and_errors():
    dev = make((1,)).device
    check(lambda: torch.arange(7, device=dev), served="arange")          # int64
    check(lambda: torch.arange(0.0, 1.0, 0.125, device=dev), served="arange.start_step")
    with triforge.use(), pytest.raises(RuntimeError):
        torch.arange(0, 5, 0, device=dev)
    with triforge.use(), pytest.raises(RuntimeError):
        torch.arange(5, 0, 1, device=dev)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("args", [(0, 1, 5), (-3.5, 2.25, 17), (2, 2, 4), (1, 5, 1), (0, 1, 0), (10, -10, 1000)])
def test_linspace(dtype, args):
    dev = make((1,)).device
    if dtype in (torch.float16, torch.bfloat16):
        # ATen's CPU kernel steps in the half type itself (1.0 for 1.051 in bf16); the
        # reference is the float64 linspace rounded once, which is what a GPU gives
        with triforge.use(), triforge.coverage() as cov:
            got = torch.linspace(*args, dtype=dtype, device=dev)
        assert cov.served() == {"linspace": 1}
        assert_close(got, torch.linspace(*args, dtype=torch.float64), dtype=dtype)
        return
    check(lambda: torch.linspace(*args, dtype=dtype, device=dev), served="linspace")


@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(5, 7), (7, 5), (2, 3, 6, 6), (1, 4, 4), (3, 1, 4)])
@pytest.mark.parametrize("diagonal", [0, 1, -2, 10, -10])
def test_tril_triu(name, shape, diagonal):
    fn = getattr(torch, name)
    x = make(shape)
    check(lambda t: fn(t, diagonal), x, served=name)
    check(lambda t: getattr(t.clone(), name + "_")(diagonal), x, served=name + "_")


@pytest.mark.parametrize("layout", ["transposed", "stepped", "offset", "expanded"])
def test_tril_strided(layout):
    x = layouts((4, 6, 5), torch.bfloat16)[layout]
    check(torch.tril, x)
    check(lambda t: torch.triu(t, 1), x)
    b = make((6, 6), torch.bool)
    check(torch.tril, b, served="tril")

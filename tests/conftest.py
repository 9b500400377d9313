import os

import pytest

import triforge
from triforge import testing


def pytest_report_header(config):
    b = triforge.backend()
    return f"triforge backend: {b.name} ({b.arch}, {b.device_name})"


def pytest_collection_modifyitems(config, items):
    slow_ok = os.environ.get("TRIFORGE_SLOW", "0") == "1"
    for item in items:
        if "gpu_only" in item.keywords and testing.interpreted():
            item.add_marker(pytest.mark.skip(reason="needs a GPU backend (interpreter here)"))
        if "slow" in item.keywords and not slow_ok:
            item.add_marker(pytest.mark.skip(reason="slow: set TRIFORGE_SLOW=1"))


@pytest.fixture(autouse=True)
def _seeded_and_off_after(request):
    """Inputs are random but reproducible: each test's seed comes from its name (and
    TRIFORGE_TEST_SEED, to draw other inputs on purpose). triforge is off afterwards,
    and the C++ entry forgets the calls it recorded: they outlive a registration, and a
    test that patches an implementation's internals must see its calls reach Python."""
    import zlib
    import torch
    from triforge.runtime import fastpath
    base = int(os.environ.get("TRIFORGE_TEST_SEED", "0"))
    torch.manual_seed(zlib.crc32(request.node.nodeid.encode()) + base)
    yield
    triforge.disable()
    if fastpath._module is not None:
        fastpath._module.clear_recipes()


@pytest.fixture
def device():
    return testing.device()

"""Test helpers: the float64 reference, tolerances, poisoning, layout generators, sizes."""
from .compare import TOLERANCES, assert_close, tolerance
from .reference import check, poisoned_allocations, reference, triforge_off
from .inputs import device, interpreted, layouts, make, on_gpu, sizes

__all__ = ["TOLERANCES", "assert_close", "tolerance", "check", "poisoned_allocations", "reference",
           "triforge_off", "device", "interpreted", "layouts", "make", "on_gpu", "sizes"]

"""Every module that declares aten implementations, imported once by the registry."""
from .pointwise import activation, arith, compare, copy, fill, math, select, sequence, tri  # noqa: F401
from . import softmax  # noqa: F401

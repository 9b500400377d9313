"""Every module that declares aten implementations, imported once by the registry.
Each family package imports its own modules in its __init__."""
from .pointwise import activation, arith, compare, copy, fill, math, select, sequence, tri  # noqa: F401
from . import softmax  # noqa: F401
from . import attention, index, loss, matmul, norm, random, reduction  # noqa: F401

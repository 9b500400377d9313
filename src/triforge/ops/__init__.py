"""Every module that declares aten implementations, imported once by the registry.
Each family package imports its own modules in its __init__."""
from .pointwise import activation, arith, compare, copy, fill, inverse_trig, math, select, sequence, shift, special, tri  # noqa: F401,E501
from . import softmax  # noqa: F401
from . import attention, index, loss, matmul, norm, random, reduction, sort  # noqa: F401

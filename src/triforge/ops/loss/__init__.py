"""loss ops: each module here declares its aten overloads with @impl; import it below."""
from . import (
    cross_entropy,  # noqa: F401
    elementwise,  # noqa: F401
    nll,  # noqa: F401
)

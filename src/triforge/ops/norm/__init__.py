"""norm ops: each module here declares its aten overloads with @impl; import it below."""
from . import (
    batch_norm,  # noqa: F401
    layer_norm,  # noqa: F401
)

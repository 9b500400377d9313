"""matmul ops: each module here declares its aten overloads with @impl; import it below."""
from . import ops  # noqa: F401

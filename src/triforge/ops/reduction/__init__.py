"""reduction ops: each module here declares its aten overloads with @impl; import it below."""
from . import extrema, logical, scan, stats, sums  # noqa: F401

"""attention ops: each module here declares its aten overloads with @impl; import it below."""
from . import flash  # noqa: F401
from . import paged  # noqa: F401

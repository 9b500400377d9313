"""sorting and selection: each module here declares its aten overloads with @impl."""
from . import histogram, search, select, sort  # noqa: F401

"""sorting and selection: each module here declares its aten overloads with @impl."""
from . import histogram, mode, search, select, sort, unique  # noqa: F401

"""random ops: each module here declares its aten overloads with @impl; import it below."""
from . import distributions, dropout, multinomial, randperm  # noqa: F401

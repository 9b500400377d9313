"""index ops: each module here declares its aten overloads with @impl; import it below."""
from . import (  # noqa: F401
    advanced,
    embedding_backward,
    gather,
    index_update,
    masked,
    movement,
    scatter,
    unfold,
)

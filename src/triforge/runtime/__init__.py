from .launcher import Launcher
from .indexing import needs_int64

__all__ = ["Launcher", "needs_int64"]

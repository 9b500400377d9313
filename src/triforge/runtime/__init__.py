from .launcher import Launcher, kernel
from .indexing import needs_int64

__all__ = ["Launcher", "kernel", "needs_int64"]

from .device import sm_count
from .fastpath import scratch
from .indexing import cdiv, needs_int64, next_power_of_2
from .launcher import Launcher

__all__ = ["Launcher", "cdiv", "needs_int64", "next_power_of_2", "scratch", "sm_count"]

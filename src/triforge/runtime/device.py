"""Facts about the machine kernels run on, asked once per device."""
from __future__ import annotations

import torch

from ..backends import current as backend

_sms: dict = {}


def sm_count(device: torch.device | None = None) -> int:
    """Streaming multiprocessors: the width of a persistent grid. Under the interpreter,
    the "device" table's pretend count, small so that tiny tests walk several rows per
    program."""
    b = backend()
    if b.interpreted:
        return b.table("device").get("sms", 4)
    index = torch.cuda.current_device() if device is None or device.index is None else device.index
    n = _sms.get(index)
    if n is None:
        n = _sms[index] = torch.cuda.get_device_properties(index).multi_processor_count
    return n

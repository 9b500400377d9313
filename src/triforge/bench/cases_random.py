"""Random-number benchmark cases (issue 7).

triforge's streams differ from torch's, so each case is built to give the same answer
on both sides while doing the full work: dropout with p = 0 (every element still gets
its Philox draw and compare; output = input, mask all true), and multinomial over
one-hot rows (every probability is still read and raced). Bytes count what must move:
dropout reads x and writes the output and the 1-byte mask; multinomial reads the
probabilities.
"""
from __future__ import annotations

import torch

from .cases import Case, one


def one_hot_probs(shape, dtype, device):
    rows, n = shape
    p = torch.zeros(shape, dtype=dtype, device=device)
    p[torch.arange(rows, device=device), torch.randint(0, n, (rows,), device=device)] = 1
    return (p,)


def _dropout(x):
    return torch.ops.aten.native_dropout(x, 0.0, True)[0]


def _dropout_bytes(inputs, out):
    x = inputs[0]
    return x.numel() * (2 * x.element_size() + 1)


CASES = [
    # checked against x itself: torch's CUDA dropout draws uniforms on (0, 1] and drops
    # where u >= 1 - p, so even p = 0 drops ~4 of 2^26 elements (3 on H100), where
    # triforge keeps u >= p with u on [0, 1): every element at p = 0
    Case("dropout (p=0 draws)", "random", (8192, 8192), one, _dropout, ops=("native_dropout",),
         bytes=_dropout_bytes, expected=lambda x: x),
    Case("multinomial 1 sample", "random", (256, 128256), one_hot_probs, lambda p: torch.multinomial(p, 1),
         ops=("multinomial",), bytes=lambda inputs, out: inputs[0].numel() * inputs[0].element_size()),
]

"""Indexing and data-movement benchmark cases (issue 7; shapes from the issue).

Gathers read only the rows their indices name, so their bytes are counted by hand:
the rows read (= the output) plus the output written plus the indices -- against the
copy ceiling. embedding backward writes its whole (num_weights x dim) gradient (zeros
where no index points), so the default count (inputs + full output) applies.
"""
from __future__ import annotations

import torch

from .cases import Case, _randn


def _nbytes(t):
    return t.numel() * t.element_size()


def _gathered(inputs, out):
    """rows read + rows written + the index tensor(s)"""
    idx = sum(_nbytes(t) for t in inputs if isinstance(t, torch.Tensor) and not t.is_floating_point())
    return 2 * _nbytes(out) + idx


def table_ids(shape, dtype, device):
    """shape = (ids, table rows, dim): the int64 ids and the embedding table."""
    n, rows, dim = shape
    return _randn((rows, dim), dtype, device), torch.randint(0, rows, (n,), device=device)


def grad_ids(shape, dtype, device):
    n, rows, dim = shape
    return _randn((n, dim), dtype, device), torch.randint(0, rows, (n,), device=device), rows


def pieces(shape, dtype, device):
    """shape = (count, rows, cols): `count` tensors of (rows, cols)."""
    k, r, c = shape
    return tuple(_randn((r, c), dtype, device) for _ in range(k))


def cols_ids(shape, dtype, device):
    """shape = (rows, cols, picked): a (rows, cols) tensor and `picked` column ids."""
    r, c, k = shape
    return _randn((r, c), dtype, device), torch.randint(0, c, (k,), device=device)


def gather_ids(shape, dtype, device):
    r, c, k = shape
    return _randn((r, c), dtype, device), torch.randint(0, c, (r, k), device=device)


def _embedding_bwd(g, ids, rows):
    return torch.ops.aten.embedding_dense_backward(g, ids, rows, -1, False)


CASES = [
    Case("embedding 16384 ids x 4096 (128256 rows)", "embedding", (16384, 128256, 4096), table_ids,
         lambda w, i: torch.nn.functional.embedding(i, w), bytes=_gathered, quick=(64, 256, 64)),
    Case("embedding backward 16384 ids x 4096 (128256 rows)", "embedding", (16384, 128256, 4096), grad_ids,
         _embedding_bwd, ops=("embedding_dense_backward",), quick=(64, 256, 64)),
    Case("cat 8 x (1024, 4096) dim 0", "cat", (8, 1024, 4096), pieces, lambda *ts: torch.cat(ts, 0),
         quick=(8, 16, 64)),
    Case("cat 8 x (4096, 1024) dim 1", "cat", (8, 4096, 1024), pieces, lambda *ts: torch.cat(ts, 1),
         quick=(8, 16, 64)),
    Case("index_select dim 1: 8192 of 32768 cols, 4096 rows", "index_select", (4096, 32768, 8192), cols_ids,
         lambda x, i: torch.index_select(x, 1, i), bytes=_gathered, quick=(16, 64, 32)),
    Case("index_select dim 0: 16384 of 128256 rows x 4096", "index_select", (128256, 4096, 16384),
         lambda s, d, dev: (_randn(s[:2], d, dev), torch.randint(0, s[0], (s[2],), device=dev)),
         lambda x, i: torch.index_select(x, 0, i), bytes=_gathered, quick=(256, 64, 64)),
    Case("gather dim 1: (4096, 32768) -> (4096, 4096)", "gather", (4096, 32768, 4096), gather_ids,
         lambda x, i: torch.gather(x, 1, i), bytes=_gathered, quick=(16, 64, 32)),
]

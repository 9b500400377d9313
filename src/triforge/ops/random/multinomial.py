"""multinomial by the exponential race: a row's sample is argmax_i p_i / E_i with
E_i ~ Exp(1) i.i.d., which picks i with probability p_i / sum(p) (no normalisation
pass needed). One program per (row, sample) streams its row once, drawing the E_i from
Philox in-kernel; torch's own path for one sample writes the draws, divides and runs
an argmax (three passes). The same program records whether the row is a valid
distribution (finite, >= 0, positive sum); a bad row sends the call to ATen, which
raises torch's error (one host sync per call, as torch's CPU check).

Served: one sample (with or without replacement, which coincide), or any number with
replacement. Several samples without replacement go to ATen."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher
from .philox import generator_ok, seed_and_offset, u01_open


@triton.jit
def _race(p_ptr, row_base, live, start, lanes, N, r, best_k, best_i, bad, total):
    c = start + lanes[None, :]
    m = live[:, None] & (c < N)
    p = tl.load(p_ptr + row_base[:, None] + c, mask=m, other=0.0).to(tl.float32)
    bad = bad | (m & ((p < 0) | (p != p) | (tl.abs(p) == float("inf"))))  # noqa: PLR0124 (NaN test)
    total += p
    key = tl.where(m, p / -tl.log(u01_open(r)), -1.0)
    better = key > best_k
    best_i = tl.where(better, c, best_i)
    best_k = tl.where(better, key, best_k)
    return best_k, best_i, bad, total


@triton.jit
def _multinomial_kernel(p_ptr, out_ptr, flag_ptr, N, S, P, seed, offset, R: tl.constexpr, Q: tl.constexpr):
    """R (row, sample) pairs per program (1 on a GPU; more under the interpreter, whose
    cost is per program), each streamed in blocks of 4Q columns."""
    pair = tl.program_id(0) * R + tl.arange(0, R)     # row * S + sample
    live = pair < P
    row = pair // S
    row_base = row.to(tl.int64) * N
    lanes = tl.arange(0, Q)
    best_k = tl.full([R, Q], -2.0, tl.float32)
    best_i = tl.zeros([R, Q], tl.int32)
    bad = best_i < 0
    total = tl.zeros([R, Q], tl.float32)
    o = tl.cast(offset, tl.uint64)
    zero = tl.zeros([R, Q], tl.uint32)
    o_lo = (o & 0xFFFFFFFF).to(tl.uint32) + zero
    o_hi = ((o >> 32).to(tl.uint32) ^ 0x54524946) + zero
    c_hi = pair.to(tl.uint32)[:, None] + zero
    for start in range(0, N, 4 * Q):
        c_lo = (start // 4 + lanes).to(tl.uint32)[None, :] + zero
        r0, r1, r2, r3 = tl.philox(seed, c_lo, c_hi, o_lo, o_hi)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start, lanes, N, r0, best_k, best_i, bad, total)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start + Q, lanes, N, r1, best_k, best_i, bad,
                                           total)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start + 2 * Q, lanes, N, r2, best_k, best_i,
                                           bad, total)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start + 3 * Q, lanes, N, r3, best_k, best_i,
                                           bad, total)
    k = tl.max(best_k, 1)
    i = tl.min(tl.where(best_k == k[:, None], best_i, N), 1)
    tl.store(out_ptr + pair, i.to(tl.int64), mask=live)
    flag = tl.where(tl.max(bad.to(tl.int32), 1) > 0, 1, tl.where(tl.sum(total, 1) > 0, 0, 2))
    tl.store(flag_ptr + row, flag.to(tl.int32), mask=live & (pair % S == 0))


_run = Launcher(_multinomial_kernel)
_cfg = backend().table("random")
_Q, _R, _WARPS = _cfg.get("race_Q", 256), _cfg.get("race_rows", 1), _cfg.get("race_warps", 4)
_FLOATS = frozenset(backend().float_dtypes()) | {torch.float64}


def _ok(self, num_samples, replacement=False, *, generator=None):
    return (self.dtype in _FLOATS and self.dim() in (1, 2) and num_samples > 0 and self.numel() > 0
            and 0 < self.shape[-1] <= 2**24 and (replacement or num_samples == 1)
            and generator_ok(generator, self.device))


@impl("multinomial", supports=_ok)
def multinomial(self, num_samples, replacement=False, *, generator=None):
    p = self.contiguous()
    rows = 1 if p.dim() == 1 else p.shape[0]
    n = p.shape[-1]
    out = torch.empty((rows, num_samples), dtype=torch.int64, device=p.device)
    flags = torch.empty(rows, dtype=torch.int32, device=p.device)
    seed, off = seed_and_offset(generator, p.device)
    pairs = rows * num_samples
    _run((triton.cdiv(pairs, _R),), p, out, flags, n, num_samples, pairs, seed, off, _R, _Q, num_warps=_WARPS)
    if bool(flags.any()):   # not a distribution: ATen raises torch's message
        return NotImplemented
    return out if self.dim() == 2 else out.view(num_samples)

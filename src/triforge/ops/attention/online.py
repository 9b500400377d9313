"""The online-softmax step every attention kernel here shares."""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def online_step(m_i, l_i, s):
    """Fold a tile of log2-domain scores s [rows, cols] into the running row maxima m_i and
    sums l_i: returns (p, alpha, m_new, l_new), p = exp2(s - m_new) the tile's weights and
    alpha = exp2(m_i - m_new) the rescale of what came before. A row masked so far (m_new
    = -inf) adds 0 instead of NaN."""
    m_new = tl.maximum(m_i, tl.max(s, 1))
    m_use = tl.where(m_new == -float("inf"), 0.0, m_new)
    p = tl.math.exp2(s - m_use[:, None])
    alpha = tl.math.exp2(m_i - m_use)
    return p, alpha, m_new, l_i * alpha + tl.sum(p, 1)


@triton.jit
def online_step_scaled(m_i, l_i, s, qk_scale):
    """online_step of the scores s * qk_scale (qk_scale > 0), the scale folded into the
    exp2 argument: one multiply-add a score instead of a multiply, then a subtract."""
    m_new = tl.maximum(m_i, tl.max(s, 1) * qk_scale)
    m_use = tl.where(m_new == -float("inf"), 0.0, m_new)
    p = tl.math.exp2(s * qk_scale - m_use[:, None])
    alpha = tl.math.exp2(m_i - m_use)
    return p, alpha, m_new, l_i * alpha + tl.sum(p, 1)

"""A small Llama-style decoder in plain PyTorch, used by the demo and end-to-end tests.

Nothing here knows about triforge: it is an ordinary torch program. It is written so
that the ops triforge serves are reached through the ATen dispatcher:

- attention is F.scaled_dot_product_attention(is_causal=True) after repeating the k/v
  heads, as Hugging Face's "sdpa" attention does (triforge serves SDPA itself, above
  autograd, with its flash kernels);
- RMSNorm is spelled out as pow/mean/rsqrt/mul in float32, cast back, as Hugging Face
  does (not F.rms_norm);
- the MLP is SwiGLU: down(silu(gate(x)) * up(x)).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LlamaConfig:
    vocab_size: int = 128
    dim: int = 64
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    hidden_dim: int = 192          # SwiGLU inner size
    seq_len: int = 16              # sequence length the demo feeds (also the rope/mask length)
    batch_size: int = 2
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    init_std: float = 0.02
    seed: int = 0

    def __post_init__(self):
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} not divisible by n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} not divisible by n_kv_heads {self.n_kv_heads}")
        if (self.dim // self.n_heads) % 2:
            raise ValueError("head_dim must be even for rotary embeddings")

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @classmethod
    def tiny(cls, **kw) -> "LlamaConfig":
        """Sized for the Triton interpreter on CPU (~1 ms per program instance)."""
        return cls(**{**dict(vocab_size=128, dim=64, n_layers=2, n_heads=4, n_kv_heads=2,
                             hidden_dim=192, seq_len=16, batch_size=2), **kw})

    @classmethod
    def gpu(cls, **kw) -> "LlamaConfig":
        """~110M parameters: a real workload for one GPU."""
        return cls(**{**dict(vocab_size=32000, dim=1024, n_layers=4, n_heads=16, n_kv_heads=4,
                             hidden_dim=2816, seq_len=512, batch_size=4), **kw})

    def as_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        dtype = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def rope_tables(head_dim: int, seq_len: int, theta: float):
    """cos, sin of shape [seq_len, head_dim] (float32), in the rotate_half layout."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    t = torch.arange(seq_len, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):
    """x: [B, H, S, D]; cos/sin: [S, D] already in x's dtype."""
    return x * cos + rotate_half(x) * sin


def repeat_kv(x, n_rep: int):
    """[B, KV, S, D] -> [B, KV * n_rep, S, D] (each kv head serves n_rep query heads)."""
    if n_rep == 1:
        return x
    b, kv, s, d = x.shape
    return x[:, :, None].expand(b, kv, n_rep, s, d).reshape(b, kv * n_rep, s, d)


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.wq = nn.Linear(cfg.dim, cfg.n_heads * cfg.head_dim, bias=False)
        self.wk = nn.Linear(cfg.dim, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.wv = nn.Linear(cfg.dim, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.wo = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin):
        b, s, _ = x.shape
        q = self.wq(x).view(b, s, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(b, s, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, s, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.n_heads // self.n_kv_heads
        k, v = repeat_kv(k, rep), repeat_kv(v, rep)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)   # [B, H, S, D]
        return self.wo(out.transpose(1, 2).reshape(b, s, self.n_heads * self.head_dim))


class MLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.up = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.down = nn.Linear(cfg.hidden_dim, cfg.dim, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        cos, sin = rope_tables(cfg.head_dim, cfg.seq_len, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters(cfg.seed)

    @torch.no_grad()
    def reset_parameters(self, seed: int):
        """Deterministic init: the same seed gives bitwise the same weights on any device
        (drawn on the CPU in float32, then copied)."""
        g = torch.Generator(device="cpu").manual_seed(seed)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                w = torch.ones(p.shape)
            else:
                w = torch.empty(p.shape).normal_(0.0, self.cfg.init_std, generator=g)
            p.copy_(w)

    def forward(self, ids, labels=None):
        """ids, labels: [B, S] int64. Returns (logits [B, S, V], loss or None)."""
        s = ids.shape[1]
        if s > self.cfg.seq_len:
            raise ValueError(f"sequence length {s} > config seq_len {self.cfg.seq_len}")
        x = self.embed(ids)
        cos = self.rope_cos[:s].to(x.dtype)
        sin = self.rope_sin[:s].to(x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin)
        logits = self.lm_head(self.norm(x))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), labels.reshape(-1))
        return logits, loss


def make_batch(cfg: LlamaConfig, device=None, seed: int | None = None):
    """(ids, labels) [batch, seq] from a seeded generator: labels are ids shifted by one."""
    g = torch.Generator(device="cpu").manual_seed(cfg.seed + 1 if seed is None else seed)
    tokens = torch.randint(0, cfg.vocab_size, (cfg.batch_size, cfg.seq_len + 1), generator=g)
    return tokens[:, :-1].contiguous().to(device), tokens[:, 1:].contiguous().to(device)

"""A tiny LLaMA written from Meta's published architecture, with fairscale-style model parallelism.

RMSNorm, rotary embeddings on interleaved pairs (Meta's layout, computed with real arithmetic so it
also runs where complex tensors are not supported, e.g. MPS), grouped-query attention with a KV
cache, SwiGLU feed-forward, and the model-parallel layers whose weights are split exactly as in
Meta's checkpoints: column-parallel (split output rows, dim 0), row-parallel (split input columns,
dim 1, all-reduce after), and the parallel embedding (split the embedding dimension, all-gather).
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ddoctor.llama_format import Params


class ModelParallel:
    """The model-parallel group: here every rank of the default process group."""

    def __init__(self, rank: int, size: int) -> None:
        self.rank, self.size = rank, size
        self.collectives = 0

    def all_reduce(self, x: torch.Tensor) -> torch.Tensor:
        if self.size > 1:
            self.collectives += 1
            staged = x.cpu() if x.device.type == "mps" else x  # Gloo moves CPU tensors only
            dist.all_reduce(staged)
            if staged is not x:
                x.copy_(staged)
        return x

    def gather_last_dim(self, x: torch.Tensor) -> torch.Tensor:
        if self.size == 1:
            return x
        self.collectives += 1
        staged = x.contiguous().cpu() if x.device.type == "mps" else x.contiguous()
        parts = [torch.empty_like(staged) for _ in range(self.size)]
        dist.all_gather(parts, staged)
        return torch.cat(parts, dim=-1).to(x.device)


class ColumnParallelLinear(nn.Module):
    def __init__(self, mp: ModelParallel, in_f: int, out_f: int, gather_output: bool) -> None:
        super().__init__()
        self.mp, self.gather_output = mp, gather_output
        self.weight = nn.Parameter(torch.empty(out_f // mp.size, in_f), requires_grad=False)

    def forward(self, x):
        y = F.linear(x, self.weight)
        return self.mp.gather_last_dim(y) if self.gather_output else y


class RowParallelLinear(nn.Module):
    def __init__(self, mp: ModelParallel, in_f: int, out_f: int) -> None:
        super().__init__()
        self.mp = mp
        self.weight = nn.Parameter(torch.empty(out_f, in_f // mp.size), requires_grad=False)

    def forward(self, x):
        return self.mp.all_reduce(F.linear(x, self.weight))


class ParallelEmbedding(nn.Module):
    def __init__(self, mp: ModelParallel, vocab: int, dim: int) -> None:
        super().__init__()
        self.mp = mp
        self.weight = nn.Parameter(torch.empty(vocab, dim // mp.size), requires_grad=False)

    def forward(self, tokens):
        return self.mp.gather_last_dim(F.embedding(tokens, self.weight))


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim), requires_grad=False)

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(head_dim: int, end: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    angles = torch.outer(torch.arange(end).float(), freqs)
    return torch.cos(angles), torch.sin(angles)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each adjacent pair (2k, 2k+1) of every head, as Meta's complex multiplication does."""
    xf = x.float()
    even, odd = xf[..., 0::2], xf[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack((even * c - odd * s, even * s + odd * c), dim=-1).flatten(-2)
    return out.type_as(x)


class Attention(nn.Module):
    def __init__(self, mp: ModelParallel, p: Params, max_batch: int, max_seq: int) -> None:
        super().__init__()
        self.n_local_heads = p.n_heads // mp.size
        self.n_local_kv = p.n_kv_heads // mp.size
        self.n_rep = self.n_local_heads // self.n_local_kv
        self.head_dim = p.head_dim
        self.wq = ColumnParallelLinear(mp, p.dim, p.n_heads * p.head_dim, gather_output=False)
        self.wk = ColumnParallelLinear(mp, p.dim, p.n_kv_heads * p.head_dim, gather_output=False)
        self.wv = ColumnParallelLinear(mp, p.dim, p.n_kv_heads * p.head_dim, gather_output=False)
        self.wo = RowParallelLinear(mp, p.n_heads * p.head_dim, p.dim)
        self.register_buffer("cache_k", torch.zeros(max_batch, max_seq, self.n_local_kv, p.head_dim), persistent=False)
        self.register_buffer("cache_v", torch.zeros(max_batch, max_seq, self.n_local_kv, p.head_dim), persistent=False)

    def forward(self, x, start_pos: int, cos, sin, mask):
        bsz, seqlen, _ = x.shape
        xq = self.wq(x).view(bsz, seqlen, self.n_local_heads, self.head_dim)
        xk = self.wk(x).view(bsz, seqlen, self.n_local_kv, self.head_dim)
        xv = self.wv(x).view(bsz, seqlen, self.n_local_kv, self.head_dim)
        xq, xk = apply_rope(xq, cos, sin), apply_rope(xk, cos, sin)
        self.cache_k[:bsz, start_pos:start_pos + seqlen] = xk
        self.cache_v[:bsz, start_pos:start_pos + seqlen] = xv
        keys = self.cache_k[:bsz, : start_pos + seqlen].repeat_interleave(self.n_rep, dim=2)
        values = self.cache_v[:bsz, : start_pos + seqlen].repeat_interleave(self.n_rep, dim=2)
        q, k, v = xq.transpose(1, 2), keys.transpose(1, 2), values.transpose(1, 2)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores + mask
        scores = F.softmax(scores.float(), dim=-1).type_as(q)
        out = torch.matmul(scores, v).transpose(1, 2).reshape(bsz, seqlen, -1)
        return self.wo(out)


class FeedForward(nn.Module):
    def __init__(self, mp: ModelParallel, p: Params) -> None:
        super().__init__()
        hidden = p.ffn_hidden
        self.w1 = ColumnParallelLinear(mp, p.dim, hidden, gather_output=False)
        self.w2 = RowParallelLinear(mp, hidden, p.dim)
        self.w3 = ColumnParallelLinear(mp, p.dim, hidden, gather_output=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, mp: ModelParallel, p: Params, max_batch: int, max_seq: int) -> None:
        super().__init__()
        self.attention = Attention(mp, p, max_batch, max_seq)
        self.feed_forward = FeedForward(mp, p)
        self.attention_norm = RMSNorm(p.dim, p.norm_eps)
        self.ffn_norm = RMSNorm(p.dim, p.norm_eps)

    def forward(self, x, start_pos, cos, sin, mask):
        h = x + self.attention(self.attention_norm(x), start_pos, cos, sin, mask)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, mp: ModelParallel, p: Params, max_batch: int, max_seq: int) -> None:
        super().__init__()
        self.params, self.mp = p, mp
        self.tok_embeddings = ParallelEmbedding(mp, p.vocab_size, p.dim)
        self.layers = nn.ModuleList(TransformerBlock(mp, p, max_batch, max_seq) for _ in range(p.n_layers))
        self.norm = RMSNorm(p.dim, p.norm_eps)
        self.output = ColumnParallelLinear(mp, p.dim, p.vocab_size, gather_output=True)
        cos, sin = rope_tables(p.head_dim, max_seq * 2, p.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    @torch.inference_mode()
    def forward(self, tokens: torch.Tensor, start_pos: int) -> torch.Tensor:
        _, seqlen = tokens.shape
        h = self.tok_embeddings(tokens)
        cos = self.rope_cos[start_pos:start_pos + seqlen]
        sin = self.rope_sin[start_pos:start_pos + seqlen]
        mask = None
        if seqlen > 1:
            mask = torch.full((seqlen, seqlen), float("-inf"), device=tokens.device).triu(1)
            mask = torch.hstack([torch.zeros((seqlen, start_pos), device=tokens.device), mask]).type_as(h)
        for layer in self.layers:
            h = layer(h, start_pos, cos, sin, mask)
        return self.output(self.norm(h)).float()


def materialize_buffers(model: Transformer, max_seq: int, dtype: torch.dtype) -> None:
    """After building on the meta device and loading weights with assign=True, create the buffers
    (KV caches, rotary tables) for real: the weights stay the loaded (memory-mapped) tensors."""
    p = model.params
    cos, sin = rope_tables(p.head_dim, max_seq * 2, p.rope_theta)
    model.rope_cos, model.rope_sin = cos, sin
    for layer in model.layers:
        att = layer.attention
        shape = att.cache_k.shape
        att.cache_k = torch.zeros(shape, dtype=dtype)
        att.cache_v = torch.zeros(shape, dtype=dtype)

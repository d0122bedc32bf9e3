"""Meta's LLaMA checkpoint format: which dimension each key is split on across model-parallel ranks.

Pure data and arithmetic (no torch), shared by the smoke test, checkpoint preflight and reshard.
The table follows fairscale's layers as Meta's LLaMA-2 code uses them: column-parallel weights
(wq, wk, wv, w1, w3, output) are split on dim 0, row-parallel weights (wo, w2) and the
ParallelEmbedding (tok_embeddings, which splits the embedding dimension) on dim 1; norms and
rope.freqs are replicated in every shard.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SPLIT_RULES: tuple[tuple[re.Pattern, int | None], ...] = (
    (re.compile(r"^tok_embeddings\.weight$"), 1),
    (re.compile(r"^layers\.\d+\.attention\.w[qkv]\.weight$"), 0),
    (re.compile(r"^layers\.\d+\.attention\.wo\.weight$"), 1),
    (re.compile(r"^layers\.\d+\.feed_forward\.w[13]\.weight$"), 0),
    (re.compile(r"^layers\.\d+\.feed_forward\.w2\.weight$"), 1),
    (re.compile(r"^layers\.\d+\.(?:attention|ffn)_norm\.weight$"), None),
    (re.compile(r"^norm\.weight$"), None),
    (re.compile(r"^output\.weight$"), 0),
    (re.compile(r"^(?:layers\.\d+\.attention\.inner_attention\.)?rope\.freqs$"), None),
)
SHARD_NAME = "consolidated.{:02d}.pth"
PARAMS_KEYS = {"dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "multiple_of", "ffn_dim_multiplier",
               "norm_eps", "rope_theta", "use_scaled_rope", "max_batch_size", "max_seq_len"}


class FormatError(ValueError):
    pass


def split_dim(key: str) -> int | None:
    """The dimension `key` is split on across shards (None: replicated)."""
    for rx, dim in SPLIT_RULES:
        if rx.match(key):
            return dim
    raise FormatError(f"unknown LLaMA checkpoint key {key!r}")


@dataclass(frozen=True, slots=True)
class Params:
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    multiple_of: int
    norm_eps: float
    ffn_dim_multiplier: float | None = None
    rope_theta: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def ffn_hidden(self) -> int:
        hidden = int(2 * (4 * self.dim) / 3)
        if self.ffn_dim_multiplier is not None:
            hidden = int(self.ffn_dim_multiplier * hidden)
        return self.multiple_of * ((hidden + self.multiple_of - 1) // self.multiple_of)

    def to_json(self) -> dict:
        d = {"dim": self.dim, "n_layers": self.n_layers, "n_heads": self.n_heads, "n_kv_heads": self.n_kv_heads,
             "vocab_size": self.vocab_size, "multiple_of": self.multiple_of, "norm_eps": self.norm_eps}
        if self.ffn_dim_multiplier is not None:
            d["ffn_dim_multiplier"] = self.ffn_dim_multiplier
        if self.rope_theta != 10000.0:
            d["rope_theta"] = self.rope_theta
        return d


# Sane bounds, far above the largest published LLaMA (405B: dim 16384, 126 layers, 128 heads,
# vocabulary 128256): a params.json outside them is damaged or hostile, and believing it would make
# ddoctor allocate a shape table of its size.
INT_BOUNDS = {"dim": (1, 1 << 17), "n_layers": (1, 4096), "n_heads": (1, 4096), "n_kv_heads": (1, 4096),
              "vocab_size": (1, 1 << 24), "multiple_of": (1, 1 << 17)}
FLOAT_BOUNDS = {"norm_eps": (0.0, 1.0), "ffn_dim_multiplier": (0.0, 64.0), "rope_theta": (0.0, 1e12)}


def _int(data: dict[str, object], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    lo, hi = INT_BOUNDS[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"params.json: {key} must be an integer, not {_show(value)}")
    if not lo <= value <= hi:
        raise FormatError(f"params.json: {key}={value} is outside {lo}..{hi}")
    return value


def _float(data: dict[str, object], key: str, default: float) -> float:
    value = data.get(key, default)
    lo, hi = FLOAT_BOUNDS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"params.json: {key} must be a number, not {_show(value)}")
    if not (math.isfinite(value) and lo < value <= hi):
        raise FormatError(f"params.json: {key}={value} is outside ({lo}, {hi:g}]")
    return float(value)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


def parse_params(data: object, vocab_size: int | None = None) -> Params:
    """params.json as Meta's loader reads it, every value checked: FormatError for anything else."""
    if not isinstance(data, dict):
        raise FormatError(f"params.json must be a JSON object, not {type(data).__name__}")
    unknown = set(data) - PARAMS_KEYS
    if unknown:
        raise FormatError(f"params.json has keys this format does not know: {sorted(map(str, unknown))}")
    missing = [k for k in ("dim", "n_layers", "n_heads") if k not in data]
    if missing:
        raise FormatError(f"params.json is missing {missing[0]!r}")
    raw_vocab = data.get("vocab_size", -1)
    if isinstance(raw_vocab, int) and not isinstance(raw_vocab, bool) and raw_vocab <= 0:  # Meta writes -1
        if vocab_size is None:
            raise FormatError("params.json has vocab_size -1 and no tokenizer gives the size")
        v = _int({"vocab_size": vocab_size}, "vocab_size")
    else:
        v = _int(data, "vocab_size")
    dim, n_heads = _int(data, "dim"), _int(data, "n_heads")
    n_kv = _int(data, "n_kv_heads", n_heads) if data.get("n_kv_heads") is not None else n_heads
    if dim % n_heads:
        raise FormatError(f"params.json: dim={dim} is not divisible by n_heads={n_heads}")
    if n_kv > n_heads or n_heads % n_kv:
        raise FormatError(f"params.json: n_kv_heads={n_kv} must divide n_heads={n_heads}")
    ffn = data.get("ffn_dim_multiplier")
    return Params(dim=dim, n_layers=_int(data, "n_layers"), n_heads=n_heads, n_kv_heads=n_kv, vocab_size=v,
                  multiple_of=_int(data, "multiple_of", 256), norm_eps=_float(data, "norm_eps", 1e-5),
                  ffn_dim_multiplier=None if ffn is None else _float(data, "ffn_dim_multiplier", 1.0),
                  rope_theta=_float(data, "rope_theta", 10000.0))


def full_shapes(p: Params) -> dict[str, tuple[int, ...]]:
    """Every key of an unsharded checkpoint with its full shape."""
    hd, kv = p.head_dim, p.n_kv_heads
    shapes: dict[str, tuple[int, ...]] = {"tok_embeddings.weight": (p.vocab_size, p.dim), "norm.weight": (p.dim,),
                                          "output.weight": (p.vocab_size, p.dim), "rope.freqs": (hd // 2,)}
    for i in range(p.n_layers):
        pre = f"layers.{i}."
        shapes[pre + "attention.wq.weight"] = (p.n_heads * hd, p.dim)
        shapes[pre + "attention.wk.weight"] = (kv * hd, p.dim)
        shapes[pre + "attention.wv.weight"] = (kv * hd, p.dim)
        shapes[pre + "attention.wo.weight"] = (p.dim, p.n_heads * hd)
        shapes[pre + "feed_forward.w1.weight"] = (p.ffn_hidden, p.dim)
        shapes[pre + "feed_forward.w2.weight"] = (p.dim, p.ffn_hidden)
        shapes[pre + "feed_forward.w3.weight"] = (p.ffn_hidden, p.dim)
        shapes[pre + "attention_norm.weight"] = (p.dim,)
        shapes[pre + "ffn_norm.weight"] = (p.dim,)
    return shapes


def shard_shape(key: str, full: tuple[int, ...], mp: int) -> tuple[int, ...]:
    dim = split_dim(key)
    if dim is None:
        return full
    if full[dim] % mp:
        raise FormatError(f"{key}: dimension {dim} of size {full[dim]} is not divisible by {mp}")
    return tuple(s // mp if i == dim else s for i, s in enumerate(full))


def check_mp(p: Params, mp: int) -> None:
    """The divisibility rules fairscale enforces, plus the KV-head limit LLaMA's GQA needs."""
    problems = []
    for name, value in (("dim", p.dim), ("n_heads", p.n_heads), ("n_kv_heads", p.n_kv_heads),
                        ("vocab_size", p.vocab_size), ("ffn hidden size", p.ffn_hidden)):
        if value % mp:
            problems.append(f"{name}={value} is not divisible by {mp}")
    if problems:
        raise FormatError(f"model-parallel size {mp} does not fit this model: " + "; ".join(problems))

"""Write a seeded tiny checkpoint in Meta's format (params.json + consolidated.NN.pth per rank)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ddoctor.llama_format import SHARD_NAME, Params, check_mp, full_shapes, split_dim
from ddoctor.smoke.checkpoint_spec import TINY
from ddoctor.smoke.tokenizer import CharTokenizer


def full_state(p: Params, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in full_shapes(p).items():
        if key == "rope.freqs":
            hd = p.head_dim
            state[key] = 1.0 / (p.rope_theta ** (torch.arange(0, hd, 2).float() / hd))
        elif key.endswith("norm.weight"):
            state[key] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif key == "tok_embeddings.weight":
            state[key] = torch.randn(shape, generator=g)
        else:
            state[key] = torch.randn(shape, generator=g) * (1.0 / shape[-1] ** 0.5)
    return state


def shard(state: dict[str, torch.Tensor], mp: int) -> list[dict[str, torch.Tensor]]:
    shards: list[dict[str, torch.Tensor]] = [{} for _ in range(mp)]
    for key, t in state.items():
        dim = split_dim(key)
        pieces = [t] * mp if dim is None else list(torch.chunk(t, mp, dim=dim))
        for r in range(mp):
            shards[r][key] = pieces[r].clone()  # own storage: each file holds only its slice
    return shards


def write(out: Path, mp: int, p: Params = TINY, seed: int = 1) -> None:
    check_mp(p, mp)
    out.mkdir(parents=True, exist_ok=True)
    for r, sd in enumerate(shard(full_state(p, seed), mp)):
        torch.save(sd, out / SHARD_NAME.format(r))
    (out / "params.json").write_text(json.dumps({**p.to_json(), "vocab_size": -1}))
    CharTokenizer().save(out / "tokenizer.json")

"""Meta's `generate` algorithm: batched prompts of different lengths, incremental decoding with the
KV cache, greedy or top-p sampling, early stop at EOS."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Generation:
    tokens: list[list[int]]
    prefill_logits: torch.Tensor  # logits of the first forward (shortest prompt length, every row)
    first_token_s: float
    decode_s: float
    steps: int


def sample_top_p(probs: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    probs_sort, probs_idx = torch.sort(probs, dim=-1, descending=True)
    cum = torch.cumsum(probs_sort, dim=-1)
    probs_sort[cum - probs_sort > p] = 0.0
    probs_sort.div_(probs_sort.sum(dim=-1, keepdim=True))
    nxt = torch.multinomial(probs_sort.cpu(), num_samples=1, generator=generator).to(probs.device)
    return torch.gather(probs_idx, -1, nxt)


@torch.inference_mode()
def generate(model, prompts: list[list[int]], max_gen_len: int, *, eos_id: int, pad_id: int = -1,
             temperature: float | list[float] = 0.0, top_p: float = 0.9, seed: int = 1, max_seq_len: int = 64,
             device: torch.device | str = "cpu", clock=None) -> Generation:
    """`temperature` may be given per row: greedy rows (0) and sampled rows then share every forward
    pass, so one decoding loop (and one set of collectives) serves both."""
    import time

    clock = clock or time.perf_counter
    bsz = len(prompts)
    min_len, max_len = min(map(len, prompts)), max(map(len, prompts))
    total_len = min(max_seq_len, max_gen_len + max_len)
    tokens = torch.full((bsz, total_len), pad_id, dtype=torch.long, device=device)
    for k, t in enumerate(prompts):
        tokens[k, : len(t)] = torch.tensor(t, dtype=torch.long, device=device)
    temps = temperature if isinstance(temperature, list) else [temperature] * bsz
    sampled_rows = torch.tensor([t > 0 for t in temps], device=device)
    temp_col = torch.tensor([t if t > 0 else 1.0 for t in temps], device=device)[:, None]
    gen = torch.Generator().manual_seed(seed)  # same seed on every rank keeps sampling in lockstep
    prev, eos_reached = 0, torch.tensor([False] * bsz, device=device)
    input_mask = tokens != pad_id
    start = clock()
    prefill = None
    first = None
    steps = 0
    for cur in range(min_len, total_len):
        logits = model.forward(tokens[:, prev:cur], prev)
        if prefill is None:
            prefill = logits.detach().cpu()
        nxt = torch.argmax(logits[:, -1], dim=-1)
        if bool(sampled_rows.any()):
            drawn = sample_top_p(torch.softmax(logits[:, -1] / temp_col, dim=-1), top_p, gen).reshape(-1)
            nxt = torch.where(sampled_rows, drawn, nxt)
        nxt = nxt.reshape(-1)
        nxt = torch.where(input_mask[:, cur], tokens[:, cur], nxt)
        tokens[:, cur] = nxt
        steps += 1
        if first is None:
            first = clock() - start
        eos_reached |= (~input_mask[:, cur]) & (nxt == eos_id)
        prev = cur
        if bool(eos_reached.all()):
            break
    out = []
    for k, toks in enumerate(tokens.tolist()):
        toks = toks[len(prompts[k]): len(prompts[k]) + max_gen_len]
        if eos_id in toks:
            toks = toks[: toks.index(eos_id)]
        out.append(toks)
    return Generation(tokens=out, prefill_logits=prefill, first_token_s=first or 0.0,
                      decode_s=clock() - start, steps=steps)

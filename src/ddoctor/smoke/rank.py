"""One smoke-test rank: the `Llama.build` + `generate` flow, instrumented. Runs in its own process.

Launched by `ddoctor smoke` (plain processes with env:// on one node, torchrun, or srun). Speaks
`ranks.protocol`: one event line per phase on stdout so the launcher can show progress and tell
which rank stopped where; rank 0 writes the result document (`smoke.result`).
Usage: python -m ddoctor.smoke.rank --ckpt-dir DIR --result FILE [--write-shards N] [--reference]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from ddoctor.ranks.protocol import emit, env_ranks, inject_fault, watch_parent, write_document
from ddoctor.smoke.result import ForwardResult, Generated, HfCheck, Reference, SmokeResult, Timings

# Prompts of different lengths (Meta's batching pads on the right and teacher-forces longer rows).
PROMPTS = ["hello world", "the answer is", "a", "why"]
TEMPERATURE, TOP_P = 0.8, 0.9


def peak_memory(device) -> int:
    import torch

    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def load_model(ckpt_dir: Path, rank: int, world: int, device, max_batch: int, max_seq: int, adopt: bool = False):
    """Exactly Llama.build's loading: one shard per rank, and its check of shard count vs world size."""
    import torch

    from ddoctor.llama_format import parse_params
    from ddoctor.smoke.model import ModelParallel, Transformer, materialize_buffers
    from ddoctor.smoke.tokenizer import CharTokenizer

    checkpoints = sorted(ckpt_dir.glob("*.pth"))
    assert len(checkpoints) > 0, f"no checkpoint files found in {ckpt_dir}"
    assert world == len(checkpoints), f"Loading a checkpoint for MP={len(checkpoints)} but world size is {world}"
    state = torch.load(checkpoints[rank], map_location="cpu", mmap=True, weights_only=True)
    tok_file = ckpt_dir / "tokenizer.json"
    tok = CharTokenizer.load(tok_file) if tok_file.exists() else None
    vocab = tok.n_words if tok else state["output.weight"].shape[0] * world
    params = parse_params(json.loads((ckpt_dir / "params.json").read_text()), vocab)
    mp = ModelParallel(rank, world)
    if adopt:
        # A real checkpoint: build on the meta device and adopt the loaded (memory-mapped) tensors,
        # so the weights never exist twice in RAM.
        with torch.device("meta"):
            model = Transformer(mp, params, max_batch, max_seq)
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        materialize_buffers(model, max_seq, state["output.weight"].dtype)
    else:
        model = Transformer(mp, params, max_batch, max_seq)
        missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or set(unexpected) - {"rope.freqs"}:
        raise RuntimeError(f"checkpoint keys do not fit the model: missing {missing}, unexpected {unexpected}")
    return model.to(device), tok, mp, sum(t.numel() * t.element_size() for t in state.values())


def run_both(model, prompts, a, tok, device):
    """Greedy and top-p generation of the same prompts in one batch: rows 0..n-1 greedy, n..2n-1 sampled."""
    from ddoctor.smoke.generate import generate

    return generate(model, prompts + prompts, a.max_new_tokens, eos_id=tok.eos_id, max_seq_len=64, device=device,
                    temperature=[0.0] * len(prompts) + [TEMPERATURE] * len(prompts), top_p=TOP_P, seed=a.seed)


def split_rows(g, n: int):
    from dataclasses import replace

    return (replace(g, tokens=g.tokens[:n], prefill_logits=g.prefill_logits[:n]),
            replace(g, tokens=g.tokens[n:], prefill_logits=g.prefill_logits[n:]))


def collective_latency(device, n: int = 20) -> float:
    import torch
    import torch.distributed as dist

    t = torch.ones(1, device=device)
    times = []
    for _ in range(n):
        s = time.perf_counter()
        dist.all_reduce(t)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - s)
    times.sort()
    return times[len(times) // 2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ddoctor.smoke.rank")
    ap.add_argument("--ckpt-dir", required=True, type=Path)
    ap.add_argument("--result", type=Path)
    ap.add_argument("--write-shards", type=int, default=0, help="rank 0 writes a tiny checkpoint with N shards")
    ap.add_argument("--reference", action="store_true", help="rank 0 also runs the unsharded reference")
    ap.add_argument("--backend", default="gloo")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--fault")
    ap.add_argument("--forward-only", action="store_true", help="a user's checkpoint: load and run one forward pass")
    ap.add_argument("--hf", action="store_true", help="rank 0 also cross-checks against transformers")
    a = ap.parse_args(argv)
    t_start = time.perf_counter()
    watch_parent()
    rank, world, local_rank = env_ranks()
    emit("start", rank=rank, world=world, pid=os.getpid())

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)  # small ops on oversubscribed cores: one thread avoids spin-waiting
    t_import = time.perf_counter() - t_start
    device = torch.device(a.device if a.device != "cuda" else f"cuda:{local_rank}")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    emit("phase", rank=rank, phase="rendezvous")
    t = time.perf_counter()
    store_file = os.environ.get("DDOCTOR_STORE_FILE")
    if store_file:
        # One node: rendezvous through a file, so nothing listens on the network (a TCPStore server
        # binds every interface); Gloo's own sockets are pinned to loopback by GLOO_SOCKET_IFNAME.
        dist.init_process_group(a.backend, init_method=f"file://{store_file}", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=a.timeout))
    else:
        dist.init_process_group(a.backend, timeout=datetime.timedelta(seconds=a.timeout))
    t_rdzv = time.perf_counter() - t

    if a.write_shards and local_rank == 0:  # one writer per node: every node needs the files locally
        from ddoctor.smoke import checkpoint

        checkpoint.write(a.ckpt_dir, a.write_shards)
        if a.reference and rank == 0:
            checkpoint.write(a.ckpt_dir / "reference", 1)
    if a.write_shards:
        dist.barrier()

    emit("phase", rank=rank, phase="load")
    inject_fault(a.fault, rank, "load")
    t = time.perf_counter()
    prompts_text = PROMPTS
    max_seq = 64
    model, tok, mp, shard_bytes = load_model(a.ckpt_dir, rank, world, device, 2 * len(prompts_text), max_seq,
                                             adopt=a.forward_only)
    t_load = time.perf_counter() - t
    latency = collective_latency(device)
    mp.collectives = 0
    if a.forward_only:
        return forward_only(model, mp, rank, world, device, a, t_rdzv, t_load, latency, shard_bytes)

    emit("phase", rank=rank, phase="generate")
    inject_fault(a.fault, rank, "generate")
    prompts = [tok.encode(p) for p in prompts_text]
    both = run_both(model, prompts, a, tok, device)
    greedy, sampled = split_rows(both, len(prompts))
    collectives_per_step = mp.collectives / max(1, both.steps)

    # Every rank samples on its own: all-gather the tokens to prove the ranks stayed in lockstep.
    mine = json.dumps([greedy.tokens, sampled.tokens])
    gathered: list = [None] * world
    dist.all_gather_object(gathered, mine)
    lockstep = all(g == mine for g in gathered)
    memory = [0] * world
    dist.all_gather_object(memory, peak_memory(device))
    emit("phase", rank=rank, phase="verify")

    result = None
    if rank == 0:
        result = SmokeResult(
            world_size=world, backend=a.backend, device=str(device), torch=torch.__version__,
            params=json.loads((a.ckpt_dir / "params.json").read_text()), prompts=tuple(prompts_text),
            greedy=Generated(tokens=_rows(greedy.tokens), text=tuple(tok.decode(x) for x in greedy.tokens)),
            sampled=Generated(tokens=_rows(sampled.tokens), text=tuple(tok.decode(x) for x in sampled.tokens),
                              temperature=TEMPERATURE, top_p=TOP_P, seed=a.seed),
            lockstep=lockstep,
            timings=Timings(import_s=t_import, rendezvous_s=t_rdzv, load_s=t_load, first_token_s=greedy.first_token_s,
                            tokens_per_s=sum(map(len, greedy.tokens)) / max(greedy.decode_s, 1e-9),
                            collective_latency_s=latency),
            collectives_per_step=collectives_per_step, shard_bytes=shard_bytes, peak_memory=tuple(memory),
            reference=reference(a.ckpt_dir / "reference", prompts, a, greedy, sampled) if a.reference else None,
            hf=_hf(a, prompts, greedy.tokens, tok.eos_id) if a.hf else None)
    dist.barrier()
    dist.destroy_process_group()
    if result is not None and a.result:
        write_document(a.result, result)
    emit("done", rank=rank)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip torch's slow interpreter teardown: the work is done and reported


def forward_only(model, mp, rank, world, device, a, t_rdzv, t_load, latency, shard_bytes) -> int:
    """A user's real checkpoint: one forward pass over fixed token ids; logits must be finite and the
    ranks must agree on them (no tokenizer needed)."""
    import torch
    import torch.distributed as dist

    emit("phase", rank=rank, phase="generate")
    vocab = model.params.vocab_size
    tokens = torch.tensor([[1] + [(7 * i + 3) % vocab for i in range(15)]], device=device)
    t = time.perf_counter()
    logits = model.forward(tokens, 0)
    t_fwd = time.perf_counter() - t
    finite = bool(torch.isfinite(logits).all())
    mine = json.dumps(torch.argmax(logits[0], dim=-1).tolist())
    gathered: list = [None] * world
    dist.all_gather_object(gathered, mine)
    memory = [0] * world
    dist.all_gather_object(memory, peak_memory(device))
    emit("phase", rank=rank, phase="verify")
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0 and a.result:
        write_document(a.result, ForwardResult(
            world_size=world, backend=a.backend, device=str(device), torch=torch.__version__, finite=finite,
            lockstep=all(g == mine for g in gathered),
            timings=Timings(rendezvous_s=t_rdzv, load_s=t_load, first_token_s=t_fwd, tokens_per_s=0.0,
                            collective_latency_s=latency),
            collectives_per_step=mp.collectives, shard_bytes=shard_bytes, peak_memory=tuple(memory)))
    emit("done", rank=rank)
    sys.stdout.flush()
    os._exit(0)


def reference(ref_dir: Path, prompts, a, greedy, sampled) -> Reference:
    """The same flow in one process on the unsharded checkpoint: what the sharded run must equal."""
    import torch

    model, tok, _, _ = load_model(ref_dir, 0, 1, torch.device("cpu"), 2 * len(prompts), 64)
    ref, ref_sampled = split_rows(run_both(model, prompts, a, tok, torch.device("cpu")), len(prompts))
    diff = (ref.prefill_logits - greedy.prefill_logits.cpu()).abs().max().item()
    return Reference(tokens=_rows(ref.tokens), sampled_tokens=_rows(ref_sampled.tokens), max_abs_logit_diff=diff,
                     greedy_match=ref.tokens == greedy.tokens, sampled_match=ref_sampled.tokens == sampled.tokens)


def _hf(a, prompts, greedy_tokens, eos_id: int) -> HfCheck:
    from ddoctor.smoke.hf_check import cross_check

    found = cross_check(a.ckpt_dir / "reference", prompts, greedy_tokens, a.max_new_tokens, eos_id)
    return HfCheck(**{**found, "tokens": _rows(found.get("tokens", ()))})


def _rows(rows) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(t) for t in r) for r in rows)


if __name__ == "__main__":
    sys.exit(main())

"""Merge and re-split every key of a Meta-format checkpoint along its model-parallel dimension.

Runs in its own process (`python -m ddoctor.reshard.worker IN OUT N`), prints JSON events. Bounded
memory: output shards are built one at a time from memory-mapped inputs, reading only the slices
each output shard needs; inputs are unmapped before the next shard. Everything is written into a
temporary directory beside OUT that is renamed into place only when complete and verified, so the
input is never modified and a failure leaves no half-written checkpoint.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

COPY = ("params.json", "tokenizer.model", "tokenizer.json", "tokenizer_config.json")


def emit(event: str, **kw) -> None:
    sys.stdout.write(json.dumps({"event": event, **kw}) + "\n")
    sys.stdout.flush()


def peak_rss() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def reshard(src: Path, out: Path, mp: int) -> dict:
    import torch

    baseline = peak_rss()  # the interpreter with torch imported, before any checkpoint is touched

    from ddoctor.llama_format import SHARD_NAME, check_mp, full_shapes, parse_params, shard_shape, split_dim

    inputs = sorted(src.glob("*.pth"))
    if not inputs:
        raise ValueError(f"no checkpoint files found in {src}")
    m = len(inputs)
    first = torch.load(inputs[0], map_location="cpu", mmap=True, weights_only=True)
    vocab = first["output.weight"].shape[0] * m
    params = parse_params(json.loads((src / "params.json").read_text()), vocab)
    check_mp(params, mp)
    keys = list(first.keys())
    del first
    full = full_shapes(params)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for j in range(mp):
            shards = [torch.load(p, map_location="cpu", mmap=True, weights_only=True) for p in inputs]
            state = {}
            for key in keys:
                dim = split_dim(key)
                if dim is None:
                    state[key] = shards[0][key].clone()
                    continue
                sizes = [s[key].shape[dim] for s in shards]
                total = sum(sizes)
                if total % mp:
                    raise ValueError(f"{key}: dimension {dim} of size {total} is not divisible by {mp}")
                lo, hi = j * total // mp, (j + 1) * total // mp
                pieces, offset = [], 0
                for s, size in zip(shards, sizes, strict=True):
                    a, b = max(lo, offset), min(hi, offset + size)
                    if a < b:
                        pieces.append(s[key].narrow(dim, a - offset, b - a))
                    offset += size
                state[key] = torch.cat(pieces, dim=dim) if len(pieces) > 1 else pieces[0].clone()
                if key in full and list(state[key].shape) != list(shard_shape(key, full[key], mp)):
                    raise ValueError(f"{key}: built {list(state[key].shape)}, expected "
                                     f"{list(shard_shape(key, full[key], mp))}")
            torch.save(state, tmp / SHARD_NAME.format(j))
            del state, shards
            emit("shard", index=j, of=mp)
        for name in COPY:
            if (src / name).exists():
                shutil.copy2(src / name, tmp / name)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    in_sizes = [p.stat().st_size for p in inputs]
    out_sizes = [(out / SHARD_NAME.format(j)).stat().st_size for j in range(mp)]
    return {"from_mp": m, "to_mp": mp, "keys": len(keys), "input_bytes": sum(in_sizes),
            "largest_input_shard": max(in_sizes), "largest_output_shard": max(out_sizes), "peak_rss": peak_rss(),
            "baseline_rss": baseline}


def main() -> int:
    src, out, mp = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    t = time.perf_counter()
    try:
        result = reshard(src, out, mp)
    except (ValueError, KeyError, OSError) as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        return 1
    emit("done", seconds=time.perf_counter() - t, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

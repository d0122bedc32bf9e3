"""Merge and re-split every key of a Meta-format checkpoint along its model-parallel dimension.

Runs in its own process (`python -m ddoctor.reshard.worker IN OUT N TMP`), prints JSON events. Bounded
memory: output shards are built one at a time from memory-mapped inputs, reading only the slices
each output shard needs; inputs are unmapped before the next shard. Everything is written into TMP,
a directory beside OUT that the parent made (so it can remove it however this process ends), and
renamed into place only when complete and verified: the input is never modified and a failure
leaves no half-written checkpoint. Each shard's size is checked against the free space first, so a
full disk is reported as such, not as torch's "file write failed".
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

COPY = ("params.json", "tokenizer.model", "tokenizer.json", "tokenizer_config.json")


def emit(event: str, **kw) -> None:
    sys.stdout.write(json.dumps({"event": event, **kw}) + "\n")
    sys.stdout.flush()


def peak_rss() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def _free_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def _save(torch, state: dict, path: Path) -> None:
    need = sum(t.numel() * t.element_size() for t in state.values())
    if _free_bytes(path.parent) < need:
        raise OSError(errno.ENOSPC, f"No space left on device: {path.name} needs {need} bytes, "
                                    f"{_free_bytes(path.parent)} are free in {path.parent.parent}")
    try:
        torch.save(state, path)
    except RuntimeError:  # torch reports a failed write without its errno
        if _free_bytes(path.parent) < need:
            raise OSError(errno.ENOSPC, f"No space left on device while writing {path.name}") from None
        raise


def reshard(src: Path, out: Path, mp: int, tmp: Path) -> dict:
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
            _save(torch, state, tmp / SHARD_NAME.format(j))
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
    src, out, mp, tmp = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    t = time.perf_counter()
    try:
        result = reshard(src, out, mp, tmp)
    except (ValueError, KeyError, OSError) as exc:
        no_space = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
        emit("error", message=f"{type(exc).__name__}: {exc}", no_space=no_space)
        return 1
    emit("done", seconds=time.perf_counter() - t, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

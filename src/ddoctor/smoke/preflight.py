"""Inspect a Meta-format checkpoint directory without loading its weights (runs in a child process).

Shards are opened with torch.load(mmap=True, weights_only=True): tensors stay on disk, only their
shapes and dtypes are read. Prints one JSON document on stdout.
Usage: python -m ddoctor.smoke.preflight CKPT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def inspect(ckpt: Path) -> dict:
    import torch

    out: dict = {"dir": str(ckpt), "params": None, "params_error": None, "shards": [], "tokenizer": None}
    try:
        out["params"] = json.loads((ckpt / "params.json").read_text())
    except FileNotFoundError:
        out["params_error"] = "params.json not found"
    except ValueError as exc:
        out["params_error"] = f"params.json is not valid JSON: {exc}"
    for name in ("tokenizer.model", "tokenizer.json", "../tokenizer.model"):
        if (ckpt / name).exists():
            out["tokenizer"] = str((ckpt / name).resolve())
            break
    for path in sorted(ckpt.glob("*.pth")):
        entry = {"file": path.name, "bytes": path.stat().st_size, "keys": {}, "error": None}
        try:
            state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
            entry["keys"] = {k: [list(v.shape), str(v.dtype).replace("torch.", ""), v.numel() * v.element_size()]
                             for k, v in state.items() if hasattr(v, "shape")}
            del state
        except Exception as exc:  # a truncated or foreign file is a finding, not a crash
            entry["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        out["shards"].append(entry)
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(inspect(Path(sys.argv[1]))) + "\n")

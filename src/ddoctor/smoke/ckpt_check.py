"""Judge a real Meta-format checkpoint before launching on it: shard count, params, shapes, memory.

Torch-free: the shapes come from `ddoctor.smoke.preflight` run in a child process with a deadline.
Each verdict is a probe over the inspected checkpoint, run by the probe runner like `check`'s.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddoctor.host.child import describe_exit, run_python_child
from ddoctor.llama_format import FormatError, Params, check_mp, full_shapes, parse_params, shard_shape, split_dim
from ddoctor.model.finding import Finding
from ddoctor.model.host import HostFacts
from ddoctor.probes.base import Outcome, Probe, fail, fix, ok, warn
from ddoctor.probes.runner import run_probes
from ddoctor.units import human_bytes

PREFLIGHT = str(Path(__file__).with_name("preflight.py"))


def inspect_dir(ckpt: Path, timeout: float = 300.0) -> dict[str, Any]:
    r = run_python_child(PREFLIGHT, [str(ckpt)], timeout=timeout,
                         env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": os.pathsep.join(sys.path)})
    if not r.messages:
        raise RuntimeError(f"checkpoint inspection {describe_exit(r)}")
    return r.messages[-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """What the checkpoint probes read: the inspected directory, the planned ranks, this host."""

    data: Mapping[str, Any]  # the preflight child's document
    nproc: int | None
    ram_available: int | None
    gpu_memory: tuple[int, ...]

    @property
    def dir(self) -> str:
        return str(self.data["dir"])

    @property
    def shards(self) -> list[dict[str, Any]]:
        return list(self.data["shards"])

    @property
    def broken(self) -> list[dict[str, Any]]:
        return [s for s in self.shards if s["error"]]

    @property
    def names_ok(self) -> bool:
        return [s["file"] for s in self.shards] == [f"consolidated.{i:02d}.pth" for i in range(len(self.shards))]

    def params(self) -> Params:
        """params.json as Meta's loader reads it (FormatError when it cannot be used)."""
        if self.data["params_error"]:
            raise FormatError(self.data["params_error"])
        n = len(self.shards)
        good = [s for s in self.shards if not s["error"]]
        vocab = good[0]["keys"]["output.weight"][0][0] * n if good and "output.weight" in good[0]["keys"] else None
        params = parse_params(self.data["params"], vocab)
        check_mp(params, n)
        return params


def check_no_shards(c: Checkpoint) -> Outcome:
    return fail(f"no checkpoint files found in {c.dir}",
                fix("Point at the directory holding consolidated.NN.pth and params.json.", f"ls -la {c.dir}"))


def check_files(c: Checkpoint) -> Outcome:
    b = c.broken
    return fail(f"{len(b)} shard(s) cannot be read: {b[0]['file']}: {b[0]['error']}",
                fix("Re-download the damaged files and verify checksums.", f"cd {c.dir} && md5sum -c checklist.chk"))


def check_shards(c: Checkpoint) -> Outcome:
    n = len(c.shards)
    if not c.names_ok:
        expected = [f"consolidated.{i:02d}.pth" for i in range(n)]
        return warn(f"shard files are {[s['file'] for s in c.shards]}; Meta's loader takes every *.pth in sorted "
                    f"order and expects {expected}",
                    fix("Keep only consolidated.NN.pth shards in the directory.", f"ls {c.dir}/*.pth"))
    return ok(f"{n} shard(s): consolidated.00.pth .. consolidated.{n - 1:02d}.pth", evidence={"shards": n})


def check_world(c: Checkpoint) -> Outcome:
    n, nproc = len(c.shards), c.nproc
    ev = {"shards": n, "nproc": nproc}
    if nproc == n:
        return ok(f"{n} shard(s) for {nproc} rank(s)", evidence=ev)
    return fail(f"{n} shard(s) for {nproc} rank(s): Llama.build fails with 'Loading a checkpoint for MP={n} but "
                f"world size is {nproc}'",
                fix("Run one rank per shard, or reshard the checkpoint.", f"torchrun --nproc_per_node {n} ..."),
                evidence=ev)


def check_params(c: Checkpoint) -> Outcome:
    if c.data["params_error"]:
        return fail(c.data["params_error"], fix("Restore params.json from the download.", f"ls {c.dir}"))
    try:
        p = c.params()
    except FormatError as exc:
        return fail(str(exc), fix("Use the params.json that came with these shards.", f"cat {c.dir}/params.json"))
    return ok(f"dim {p.dim}, {p.n_layers} layers, {p.n_heads} heads ({p.n_kv_heads} KV), vocabulary {p.vocab_size}")


def check_shapes(c: Checkpoint) -> Outcome:
    expected = full_shapes(c.params())
    n = len(c.shards)
    problems = []
    for s in c.shards:
        if s["error"]:
            continue
        keys = s["keys"]
        missing = [k for k in expected if k not in keys and k != "rope.freqs"]
        extra = [k for k in keys if k not in expected]
        if missing:
            problems.append(f"{s['file']} lacks {len(missing)} key(s), e.g. {missing[0]}")
        if extra:
            problems.append(f"{s['file']} has {len(extra)} unexpected key(s), e.g. {extra[0]}")
        for k, (shape, _, _) in keys.items():
            if k in expected:
                want = list(shard_shape(k, expected[k], n))
                if shape != want:
                    problems.append(f"{s['file']}: {k} is {shape}, expected {want} (split on dim {split_dim(k)} "
                                    f"over {n} shard(s))")
    if problems:
        return fail("; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""),
                    fix("The shards do not match params.json and Meta's split table: re-download, or reshard "
                        "from a consistent copy.", f"python -m ddoctor.smoke.preflight {c.dir}"))
    return ok(f"every key of every shard matches Meta's split table for MP={n}")


def check_memory(c: Checkpoint) -> Outcome:
    shards = c.shards
    n = len(shards)
    total = sum(s["bytes"] for s in shards)
    per_rank = max((s["bytes"] for s in shards), default=0)
    dtypes = sorted({v[1] for s in shards for v in s["keys"].values()})
    ev = {"total_bytes": total, "largest_shard": per_rank, "dtypes": ",".join(dtypes)}
    loaders = min(c.nproc or n, n)
    need_ram = per_rank * loaders
    ram = c.ram_available
    if ram is not None and need_ram > ram:
        return fail(f"{loaders} rank(s) loading {human_bytes(per_rank)} each need {human_bytes(need_ram)} of host "
                    f"RAM; {human_bytes(ram)} is available: ranks will be OOM-killed (exitcode -9)",
                    fix("Load with mmap (torch.load(..., mmap=True)), or use fewer ranks per node.", "free -g"),
                    evidence=ev)
    if c.gpu_memory and per_rank > min(c.gpu_memory):
        return fail(f"a shard is {human_bytes(per_rank)} but the smallest GPU has {human_bytes(min(c.gpu_memory))}",
                    fix("Use more model-parallel ranks (reshard) or GPUs with more memory.",
                        "nvidia-smi --query-gpu=memory.total --format=csv"), evidence=ev)
    where = f"; host RAM available {human_bytes(ram)}" if ram else ""
    return ok(f"{human_bytes(total)} in {n} shard(s) ({', '.join(dtypes)}), largest {human_bytes(per_rank)}{where}",
              evidence=ev)


def check_tokenizer(c: Checkpoint) -> Outcome:
    tok = c.data.get("tokenizer")
    if tok:
        return ok(f"tokenizer at {tok}")
    return warn("no tokenizer.model next to the shards or one level up",
                fix("Pass --tokenizer_path explicitly (Meta keeps tokenizer.model at the download root).",
                    f"ls {c.dir}/.. | grep tokenizer"))


def _probe(pid: str, title: str, run: Callable[[Checkpoint], Outcome], description: str) -> Probe[Checkpoint]:
    return Probe(id=f"ckpt.{pid}", title=title, group="checkpoint", run=run, description=description)


NO_SHARDS = _probe("shards", "shard files", check_no_shards, "the directory holds *.pth shards")
FILES = _probe("files", "unreadable shards", check_files, "every shard can be opened")
SHARDS = _probe("shards", "shard files", check_shards, "shards are consolidated.00.pth .. NN, nothing else")
WORLD = _probe("world", "shards vs ranks", check_world, "one shard per planned rank (Llama.build's check)")
PARAMS = _probe("params", "params.json", check_params, "params.json parses and fits the shard count")
SHAPES = _probe("shapes", "tensor shapes", check_shapes, "every key's shape matches Meta's split table")
MEMORY = _probe("memory", "memory", check_memory, "host RAM and GPU memory hold the shards")
TOKENIZER = _probe("tokenizer", "tokenizer", check_tokenizer, "a tokenizer beside the shards")


def checkpoint_probes(c: Checkpoint) -> tuple[Probe[Checkpoint], ...]:
    """The verdicts that apply to this checkpoint, in report order (shapes need usable params)."""
    if not c.shards:
        return (NO_SHARDS,)
    probes = [FILES] if c.broken else []
    if not c.names_ok or not c.broken:
        probes.append(SHARDS)
    if c.nproc is not None:
        probes.append(WORLD)
    probes.append(PARAMS)
    try:
        c.params()
        probes.append(SHAPES)
    except FormatError:
        pass
    return (*probes, MEMORY, TOKENIZER)


def judge(data: Mapping[str, Any], *, nproc: int | None, host: HostFacts | None = None) -> tuple[Finding, ...]:
    c = Checkpoint(data=data, nproc=nproc, ram_available=host.ram_available if host else None,
                   gpu_memory=host.gpu_memory if host else ())
    return run_probes(checkpoint_probes(c), c)

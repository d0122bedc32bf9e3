"""Judge a real Meta-format checkpoint before launching on it: shard count, params, shapes, memory.

Torch-free: the shapes come from `ddoctor.smoke.preflight` run in a child process with a deadline.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ddoctor.host.child import describe_exit, run_python_child
from ddoctor.llama_format import FormatError, check_mp, full_shapes, parse_params, shard_shape, split_dim
from ddoctor.model.finding import Finding, Remediation
from ddoctor.model.status import Status
from ddoctor.units import human_bytes

PREFLIGHT = str(Path(__file__).with_name("preflight.py"))


def _f(fid: str, title: str, status: Status, summary: str, fix: Remediation | None = None, **kw) -> Finding:
    return Finding(id=f"ckpt.{fid}", title=title, group="checkpoint", status=status, summary=summary,
                   remediation=fix if status in (Status.WARN, Status.FAIL) else None, **kw)


def inspect_dir(ckpt: Path, timeout: float = 300.0) -> dict:
    import os

    r = run_python_child(PREFLIGHT, [str(ckpt)], timeout=timeout,
                         env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": os.pathsep.join(sys.path)})
    if not r.messages:
        raise RuntimeError(f"checkpoint inspection {describe_exit(r)}")
    return r.messages[-1]


def judge(data: dict, *, nproc: int | None, ram_available: int | None, gpu_memory: list[int]) -> list[Finding]:
    ckpt = data["dir"]
    shards = data["shards"]
    findings: list[Finding] = []
    n = len(shards)
    broken = [s for s in shards if s["error"]]
    if n == 0:
        findings.append(_f("shards", "shard files", Status.FAIL, f"no checkpoint files found in {ckpt}",
                           Remediation(summary="Point at the directory holding consolidated.NN.pth and params.json.",
                                       commands=(f"ls -la {ckpt}",))))
        return findings
    if broken:
        findings.append(_f("files", "unreadable shards", Status.FAIL, f"{len(broken)} shard(s) cannot be read: "
                           f"{broken[0]['file']}: {broken[0]['error']}",
                           Remediation(summary="Re-download the damaged files and verify checksums.",
                                       commands=(f"cd {ckpt} && md5sum -c checklist.chk",))))
    names = [s["file"] for s in shards]
    expected_names = [f"consolidated.{i:02d}.pth" for i in range(n)]
    if names != expected_names:
        findings.append(_f("shards", "shard files", Status.WARN, f"shard files are {names}; Meta's loader takes every "
                           f"*.pth in sorted order and expects {expected_names}",
                           Remediation(summary="Keep only consolidated.NN.pth shards in the directory.",
                                       commands=(f"ls {ckpt}/*.pth",))))
    elif not broken:
        findings.append(_f("shards", "shard files", Status.PASS, f"{n} shard(s): consolidated.00.pth .. "
                           f"consolidated.{n - 1:02d}.pth", evidence={"shards": n}))
    if nproc is not None:
        status = Status.PASS if nproc == n else Status.FAIL
        findings.append(_f("world", "shards vs ranks", status,
                           f"{n} shard(s) for {nproc} rank(s)" + ("" if nproc == n else
                           f": Llama.build fails with 'Loading a checkpoint for MP={n} but world size is {nproc}'"),
                           Remediation(summary="Run one rank per shard, or reshard the checkpoint.",
                                       commands=(f"torchrun --nproc_per_node {n} ...",)),
                           evidence={"shards": n, "nproc": nproc}))
    # params.json
    params = None
    if data["params_error"]:
        findings.append(_f("params", "params.json", Status.FAIL, data["params_error"],
                           Remediation(summary="Restore params.json from the download.", commands=(f"ls {ckpt}",))))
    else:
        good = [s for s in shards if not s["error"]]
        vocab = None
        if good and "output.weight" in good[0]["keys"]:
            vocab = good[0]["keys"]["output.weight"][0][0] * n
        try:
            params = parse_params(data["params"], vocab)
            check_mp(params, n)
            findings.append(_f("params", "params.json", Status.PASS,
                               f"dim {params.dim}, {params.n_layers} layers, {params.n_heads} heads "
                               f"({params.n_kv_heads} KV), vocabulary {params.vocab_size}"))
        except FormatError as exc:
            findings.append(_f("params", "params.json", Status.FAIL, str(exc),
                               Remediation(summary="Use the params.json that came with these shards.",
                                           commands=(f"cat {ckpt}/params.json",))))
            params = None
    # shapes
    if params is not None:
        expected = full_shapes(params)
        problems = []
        for s in shards:
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
            findings.append(_f("shapes", "tensor shapes", Status.FAIL, "; ".join(problems[:3])
                               + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""),
                               Remediation(summary="The shards do not match params.json and Meta's split table: "
                                           "re-download, or reshard from a consistent copy.",
                                           commands=(f"python -m ddoctor.smoke.preflight {ckpt}",))))
        else:
            findings.append(_f("shapes", "tensor shapes", Status.PASS,
                               f"every key of every shard matches Meta's split table for MP={n}"))
    # memory
    total = sum(s["bytes"] for s in shards)
    per_rank = max((s["bytes"] for s in shards), default=0)
    dtypes = sorted({v[1] for s in shards for v in s["keys"].values()})
    ev = {"total_bytes": total, "largest_shard": per_rank, "dtypes": ",".join(dtypes)}
    loaders = min(nproc or n, n)
    need_ram = per_rank * loaders
    if ram_available is not None and need_ram > ram_available:
        findings.append(_f("memory", "memory", Status.FAIL, f"{loaders} rank(s) loading {human_bytes(per_rank)} each "
                           f"need {human_bytes(need_ram)} of host RAM; {human_bytes(ram_available)} is available: "
                           "ranks will be OOM-killed (exitcode -9)",
                           Remediation(summary="Load with mmap (torch.load(..., mmap=True)), or use fewer ranks per "
                                       "node.", commands=("free -g",)), evidence=ev))
    elif gpu_memory and per_rank > min(gpu_memory):
        findings.append(_f("memory", "memory", Status.FAIL, f"a shard is {human_bytes(per_rank)} but the smallest GPU "
                           f"has {human_bytes(min(gpu_memory))}", Remediation(
                               summary="Use more model-parallel ranks (reshard) or GPUs with more memory.",
                               commands=("nvidia-smi --query-gpu=memory.total --format=csv",)), evidence=ev))
    else:
        where = f"; host RAM available {human_bytes(ram_available)}" if ram_available else ""
        findings.append(_f("memory", "memory", Status.PASS, f"{human_bytes(total)} in {n} shard(s) "
                           f"({', '.join(dtypes)}), largest {human_bytes(per_rank)}{where}", evidence=ev))
    tok = data.get("tokenizer")
    findings.append(_f("tokenizer", "tokenizer", Status.PASS if tok else Status.WARN,
                       f"tokenizer at {tok}" if tok else "no tokenizer.model next to the shards or one level up",
                       Remediation(summary="Pass --tokenizer_path explicitly (Meta keeps tokenizer.model at the "
                                   "download root).", commands=(f"ls {ckpt}/.. | grep tokenizer",))))
    return findings

"""`ddoctor reshard`: validate the request, run the worker in a child process, report."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ddoctor.cli.output import Output, error
from ddoctor.host import processes
from ddoctor.model.report import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

MAX_PARAMS_BYTES = 1 << 20


def run_reshard(*, ckpt_dir: Path, mp: int, out: Path, fmt: str, no_color: bool, timeout: float) -> int:
    from ddoctor.host.child import describe_exit, run_python_child
    from ddoctor.llama_format import FormatError, parse_params
    from ddoctor.units import human_bytes
    o = Output(no_color=no_color)
    src = ckpt_dir.resolve()
    if not src.is_dir():
        error(f"{ckpt_dir}: not a directory")
        return EXIT_USAGE
    shards = sorted(src.glob("*.pth"))
    if not shards:
        error(f"no checkpoint files found in {ckpt_dir}")
        return EXIT_USAGE
    dest = out.resolve()
    if dest == src or src in dest.parents:
        error(f"refusing to write into the input checkpoint ({out}); choose a new --out directory")
        return EXIT_USAGE
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        error(f"{out} already exists and is not empty; ddoctor never overwrites a checkpoint")
        return EXIT_USAGE
    if dest.exists():
        dest.rmdir()
    if not dest.parent.is_dir():
        error(f"{dest.parent}: no such directory")
        return EXIT_USAGE
    try:
        raw = _read_params(src / "params.json")
    except FileNotFoundError:
        error(f"{ckpt_dir}/params.json not found")
        return EXIT_USAGE
    except (ValueError, RecursionError) as exc:
        error(f"{ckpt_dir}/params.json is not valid JSON: {exc}")
        return EXIT_USAGE
    try:
        # The real vocabulary size is checked by the worker (it reads output.weight); here, dims and heads.
        params = parse_params(raw, vocab_size=mp)
        _check_heads(params, mp)
    except FormatError as exc:
        error(f"cannot reshard to {mp}: {exc}")
        return EXIT_USAGE
    need = sum(p.stat().st_size for p in shards)
    if _free_bytes(dest.parent) < need:
        error(f"No space left on device: the output needs about {human_bytes(need)}, "
              f"{human_bytes(_free_bytes(dest.parent))} are free in {dest.parent}")
        return EXIT_USAGE
    worker = str(Path(__file__).resolve().parents[1] / "reshard" / "worker.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONWARNINGS": "ignore"}
    # The parent owns the partial output: whatever ends the worker (Ctrl-C, SIGTERM, --timeout, a
    # crash), the directory is removed here or by the exit-time cleanup.
    tmp = processes.scratch_dir(f".{dest.name}.", dest.parent)
    try:
        r = run_python_child(worker, [str(src), str(dest), str(mp), str(tmp)], timeout=timeout, env=env)
    finally:
        processes.remove_scratch(tmp)
    done = next((m for m in r.messages if m.get("event") == "done"), None)
    failed = next((m for m in r.messages if m.get("event") == "error"), None)
    if done is None:
        error(failed["message"] if failed else f"reshard {describe_exit(r)}")
        return EXIT_USAGE if failed and failed.get("no_space") else EXIT_PROBLEMS
    from ddoctor.model.reshard import ReshardReport

    o.emit("reshard", fmt, ReshardReport(
        input=str(src), output=str(dest), from_mp=done["from_mp"], to_mp=done["to_mp"], keys=done["keys"],
        input_bytes=done["input_bytes"], seconds=done["seconds"], peak_rss=done["peak_rss"],
        baseline_rss=done["baseline_rss"], largest_input_shard=done["largest_input_shard"],
        largest_output_shard=done["largest_output_shard"]))
    return EXIT_OK


def _read_params(path: Path) -> object:
    if path.stat().st_size > MAX_PARAMS_BYTES:
        raise ValueError(f"{path.stat().st_size} bytes; a params.json is a few hundred")
    return json.loads(path.read_text())


def _free_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def _check_heads(params, mp: int) -> None:
    from ddoctor.llama_format import FormatError

    problems = [f"{n}={v} is not divisible by {mp}" for n, v in (("dim", params.dim), ("n_heads", params.n_heads),
                                                                  ("n_kv_heads", params.n_kv_heads),
                                                                  ("ffn hidden size", params.ffn_hidden)) if v % mp]
    if problems:
        raise FormatError("; ".join(problems))

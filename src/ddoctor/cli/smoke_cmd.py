"""`ddoctor smoke`: run the tiny sharded LLaMA end to end and report (or diagnose) the outcome."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ddoctor.cli.output import Output, error
from ddoctor.model.report import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE


def run_smoke_cmd(*, nproc, backend, device, timeout, max_new_tokens, seed, launcher, nnodes, node_rank,
                  rdzv_endpoint, keep, fmt, verbose, no_color, use_host, fault, shards, ckpt_dir=None,
                  load=False, hf=False, quiet=False) -> int:
    from ddoctor.host.real import RealHost
    from ddoctor.host.summary import host_facts
    from ddoctor.kb.engine import Session
    from ddoctor.kb.tailor import tailor
    from ddoctor.llama_format import FormatError, check_mp
    from ddoctor.render.options import RenderOptions
    from ddoctor.smoke.launch import SmokeOptions, plan_for

    out = Output(no_color=no_color)
    if launcher not in ("local", "torchrun", "srun"):
        error(f"unknown launcher {launcher!r}: use local, torchrun or srun")
        return EXIT_USAGE
    if launcher == "srun" and shutil.which("srun") is None:
        error("--launcher srun needs SLURM's srun on PATH (run inside an allocation: salloc/sbatch)")
        return EXIT_USAGE
    if nnodes > 1 and not rdzv_endpoint and launcher != "srun":
        error("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (the same on every node)")
        return EXIT_USAGE
    # torch is read from its files, never imported here; NVML is asked only where a CUDA build of
    # torch could use the GPUs.
    host = RealHost(import_torch=False)
    plan_facts = host_facts(host, nvml=bool(host.torch().cuda))
    if ckpt_dir is not None:
        code = _preflight(ckpt_dir, nproc, fmt, out, host, quiet=load)
        if not load or code != EXIT_OK:
            return code
        nproc = nproc or len(list(Path(ckpt_dir).glob("*.pth")))
    opts = SmokeOptions(nproc=nproc, backend=backend, device=device, timeout=timeout, max_new_tokens=max_new_tokens,
                        seed=seed, launcher="torchrun" if nnodes > 1 and launcher == "local" else launcher,
                        nnodes=nnodes,
                        node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, keep=keep, fault=fault, shards=shards,
                        user_ckpt=str(ckpt_dir) if ckpt_dir else None, hf=hf)
    plan = plan_for(opts, plan_facts)
    if not plan_facts.torch_installed:
        error("torch is not installed for this Python; `ddoctor check` says more")
        return EXIT_USAGE
    from ddoctor.smoke.checkpoint_spec import TINY

    try:
        if ckpt_dir is None:
            check_mp(TINY, plan.nproc * nnodes)
    except FormatError as exc:
        error(f"{exc}; the tiny model runs on 1, 2, 4 or 8 ranks")
        return EXIT_USAGE

    def diagnose(text: str):
        s = Session()
        s.add_text(text, "ranks")
        facts = host_facts(host) if use_host else None  # only on failure: advice for this host
        return s.result(tailor=lambda d: tailor(d, facts)).diagnoses

    from ddoctor.smoke.launch import SmokeSetupError

    try:
        report = _run_with_progress(opts, plan, diagnose, out)
    except SmokeSetupError as exc:
        error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        error("interrupted: every rank was stopped")
        return 130
    out.emit("smoke", fmt, report, RenderOptions(verbose=verbose, quiet=quiet))
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def _preflight(ckpt_dir, nproc, fmt, out, host, quiet: bool = False) -> int:
    """Judge a real checkpoint without loading it; exit 1 when launching on it would fail."""
    import time

    from ddoctor import __version__
    from ddoctor.host.summary import host_facts
    from ddoctor.model.report import CheckReport, check_exit_code
    from ddoctor.render.options import RenderOptions
    from ddoctor.smoke.ckpt_check import inspect_dir, judge

    path = Path(ckpt_dir)
    if not path.is_dir():
        error(f"{ckpt_dir}: not a directory")
        return EXIT_USAGE
    start = time.perf_counter()
    try:
        data = inspect_dir(path)
    except RuntimeError as exc:
        error(str(exc))
        return EXIT_USAGE
    facts = host_facts(host)
    findings = judge(data, nproc=nproc, host=facts)
    report = CheckReport(findings=findings, duration_s=time.perf_counter() - start, ddoctor_version=__version__,
                         host=facts)
    code = check_exit_code(report, strict=False)
    if quiet and code == EXIT_OK:
        return code  # --load goes on; its report is the one document printed
    out.emit("smoke-preflight", fmt, report, RenderOptions(verbose=True, title=f"ddoctor smoke --ckpt-dir {ckpt_dir}"))
    return code


def _run_with_progress(opts, plan, diagnose, out: Output):
    from ddoctor.smoke.launch import run_smoke

    world = plan.nproc * opts.nnodes
    if not sys.stderr.isatty():
        return run_smoke(opts, plan, diagnose=diagnose)
    phases: dict[int, str] = {}
    with out.status(f"starting {world} rank{'s' if world != 1 else ''}...") as update:
        def on_event(rank: int, phase: str) -> None:
            phases[rank] = phase
            counts: dict[str, int] = {}
            for p in phases.values():
                counts[p] = counts.get(p, 0) + 1
            update("smoke: " + " · ".join(f"{p} {n}/{world}" for p, n in counts.items()))

        return run_smoke(opts, plan, on_event=on_event, diagnose=diagnose)

"""The `ddoctor` command line. Command modules are imported lazily to keep start-up fast."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from ddoctor import __version__
from ddoctor.render.catalog import OFFERED

app = typer.Typer(
    name="ddoctor",
    help="Diagnose and repair distributed PyTorch jobs.\n\n"
    "\b\nBefore a job:     ddoctor check\nAfter a failure:  torchrun ... 2>&1 | ddoctor diagnose\n\n"
    "Exit codes: 0 nothing wrong, 1 problems found, 2 usage error or unreadable input.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _formats(kind: str) -> type[enum.Enum]:
    """The --format choices of a command: exactly the formats its documents have (click refuses any
    other value with exit 2 and lists these)."""
    return enum.Enum(f"{kind.title().replace('-', '')}Format", {f.value: f.value for f in OFFERED[kind]}, type=str)


class ExitCodes(str, enum.Enum):
    default = "default"
    slurm = "slurm"
    kubeflow = "kubeflow"


CheckFormat = _formats("check")
DiagnoseFormat = _formats("diagnosis")
ExplainFormat = _formats("signature")
SignaturesFormat = _formats("signatures")
FixFormat = _formats("fix")
SmokeFormat = _formats("smoke")
ReshardFormat = _formats("reshard")
RunFormat = _formats("run")
ReportFormat = _formats("report")
SnapshotFormat = _formats("snapshot")

NoColor = Annotated[bool, typer.Option("--no-color", help="No colours (also when NO_COLOR is set to anything).")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ddoctor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    pass


@app.command()
def check(
    ids: list[str] = typer.Argument(None, help="Run only these checks (ids or prefixes such as `cuda`; see --list)."),
    require: list[str] = typer.Option(
        None, "--require", "-r",
        help="CI gate, repeatable: cuda, nccl, gloo, mpi, mps, gpus>=8, torch>=2.4, cuda>=12.1, nccl>=2.18, "
        "driver>=550, shm>=1GiB, ram>=64GiB, cpus>=8, python>=3.10. An unmet requirement is a failure."),
    strict: bool = typer.Option(False, "--strict", help="Count warnings as problems (exit 1)."),
    fmt: CheckFormat = typer.Option("text", "--format", "-f",
                                    help="text, json (ddoctor.check/1), junit, markdown, github (Actions annotations). "
                                    "--list and --cluster: text or json."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every check with evidence and timings."),
    list_: bool = typer.Option(False, "--list", help="List the checks and exit."),
    nproc: int = typer.Option(None, "--nproc", min=1,
                              help="Local ranks you plan to launch (judges GPUs, /dev/shm, threads for it)."),
    deep: bool = typer.Option(False, "--deep", help="Import torch live even without GPUs (ignore the cache)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse an earlier import of this torch."),
    timeout: float = typer.Option(90.0, "--timeout", min=1.0, help="Seconds the whole command may take, child "
                                  "processes included; a check still running then is reported as not run (error)."),
    deadline: float = typer.Option(None, "--deadline", min=1.0, help="A hard wall-clock limit for the whole run "
                                   "(e.g. under Slurm's 60 s health-check limit): ddoctor exits before it, reporting "
                                   "what did not finish as not run."),
    exit_codes: ExitCodes = typer.Option(ExitCodes.default, "--exit-codes", help="Exit codes for a scheduler: "
                                         "default (0 ok, 1 problems, 2 usage), slurm (0 keep the node, 1 drain, "
                                         "2 could not run), kubeflow (0 pass, 10 warning, 20 retryable, 30 fatal)."),
    no_color: NoColor = False,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the verdict line (text format)."),
    live: bool = typer.Option(False, "--live", help="Also start local ranks and run real collectives: verified "
                              "all_reduce/broadcast/all_gather/barrier, device placement, a bandwidth sweep."),
    min_busbw: float = typer.Option(None, "--min-busbw", help="With --live: fail when peak bus bandwidth (GB/s) is "
                                    "below 0.9x this floor (the nccl-tests rule)."),
    live_max_bytes: int = typer.Option(None, "--live-max-bytes", help="Largest all_reduce in the sweep (default "
                                       "64 MiB on CPU, 256 MiB on GPUs)."),
    cluster: bool = typer.Option(False, "--cluster", help="Run as every rank of a torchrun/srun job: rank 0 shows "
                                 "what differs across ranks and nodes (versions, NCCL_* settings, GPUs, /dev/shm)."),
    fault: str = typer.Option(None, "--fault", hidden=True, help="Test hook for --live: hang@R:all_reduce, ..."),
    simulate: str = typer.Option(None, "--simulate", metavar="SCENARIO",
                                 help="Judge a made-up host instead of this one (demos, docs, tests): `--simulate "
                                 "list` names the scenarios. Every format marks the output as simulated."),
) -> None:
    """Probe this host for everything that makes distributed PyTorch jobs fail.

    Checks torch (installed once, importable, wheel flavour), the NVIDIA driver and GPUs through NVML
    (driver vs torch CUDA, GPU architecture vs wheel, ECC, stale processes, modes), CUDA context
    creation (in a child process with a deadline), NCCL/Gloo/MPI and the backend to use, Apple MPS,
    launcher variables, MASTER_PORT/MASTER_ADDR, network interfaces, risky NCCL_* variables,
    /dev/shm, RAM, ulimits and threads.

    Examples:

    \b
      ddoctor check                       # fails and warnings only
      ddoctor check -v                    # everything, with evidence
      ddoctor check -r cuda -r 'gpus>=8' -r 'nccl>=2.18' --format junit > ddoctor.xml
      ddoctor check cuda launch.port      # a subset
      ddoctor check --live --min-busbw 100  # real collectives and bandwidth between local ranks
      ddoctor check --simulate driver-too-old   # what a broken host looks like (not this one)
      torchrun --nnodes 2 --nproc_per_node 8 --rdzv-endpoint HOST:PORT -m ddoctor check --cluster

      ddoctor check --exit-codes slurm --deadline 50   # a Slurm HealthCheckProgram or prolog
    """
    from ddoctor.cli import invoke

    raise typer.Exit(invoke.check(ids=ids or [], require=require or [], strict=strict, fmt=fmt.value, verbose=verbose,
                                  list_=list_, nproc=nproc, deep=deep, no_cache=no_cache, timeout=timeout,
                                  deadline=deadline, exit_codes=exit_codes.value, no_color=no_color, quiet=quiet,
                                  live=live, min_busbw=min_busbw, live_max_bytes=live_max_bytes, cluster=cluster,
                                  fault=fault, simulate=simulate))


@app.command()
def report(
    fmt: ReportFormat = typer.Option("markdown", "--format", "-f",
                                     help="markdown (paste it into an issue) or json (ddoctor.report/1)."),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help="Seconds the whole report may take."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse an earlier import of this torch."),
    no_color: NoColor = False,
) -> None:
    """Everything `python -m torch.utils.collect_env` prints, plus ddoctor's verdicts, redacted, in one paste.

    OS and distro, kernel, libc, CPU, compilers, Python, the torch build (CUDA/ROCm, cuDNN, NCCL,
    backends), GPUs and driver, the relevant packages (numpy, transformers, accelerate, deepspeed,
    vllm, triton, nvidia-*), then every warning and failure `ddoctor check` finds with its fix.
    Secret-looking values are redacted. It never creates a CUDA context, and reuses the cached
    torch facts, so it takes a fraction of collect_env's time.

    Example: ddoctor report > report.md   # then paste report.md into the issue

    Exit codes: 0 nothing wrong, 1 a check found a problem, 2 ddoctor could not finish.
    """
    from ddoctor.cli.report_cmd import run_report

    raise typer.Exit(run_report(fmt=fmt.value, timeout=timeout, no_color=no_color, use_cache=not no_cache))


@app.command()
def diagnose(
    files: list[str] = typer.Argument(None, help="Log files (plain or .gz); `-` or nothing reads stdin."),
    fmt: DiagnoseFormat = typer.Option("text", "--format", "-f",
                                       help="text, json (ddoctor.diagnosis/1), markdown, github (Actions "
                                       "annotations). --fr: text or json."),
    show_all: bool = typer.Option(False, "--all", "-a", help="Show every cause found, not only the root cause."),
    no_host: bool = typer.Option(False, "--no-host", help="Do not tailor the advice to this host (e.g. diagnosing "
                                 "a log from another machine)."),
    fix_hints: bool = typer.Option(False, "--fix-hints", help="Show the `ddoctor fix` command that removes the "
                                   "cause, aimed at the file the traceback points to."),
    no_color: NoColor = False,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the root cause's name and title."),
    fr: Path = typer.Option(None, "--fr", help="Analyse a folder of flight-recorder dumps (one per rank, from "
                            "TORCH_FR_BUFFER_SIZE + TORCH_NCCL_DUMP_ON_TIMEOUT): names the collective and rank "
                            "that made the job hang."),
    ras: bool = typer.Option(False, "--ras", help="Ask NCCL's RAS service of a running job (NCCL >= 2.28.7) "
                             "instead of reading a log: `ddoctor diagnose --ras [HOST:PORT]` (default "
                             "localhost:28028) names dead, missing, erroring and stuck ranks."),
    polls: int = typer.Option(3, "--polls", min=1, max=100, help="With --ras: queries to compare (a mismatch that "
                              "does not move over them is a stuck collective)."),
    interval: float = typer.Option(5.0, "--interval", min=0.0, max=600.0, help="With --ras: seconds between polls."),
) -> None:
    """Find the root cause of a failed distributed PyTorch job in its log, and how to fix it.

    Reads torchrun/mp.spawn/SLURM output as people paste it: interleaved [rankN]: lines, chained
    tracebacks, torchrun's ChildFailedError summary (exitcode -9/-11...), NCCL WARN lines, ANSI
    colours, partial pastes. Large logs are streamed in bounded memory. Plain or gzip, from files or
    stdin; with nothing piped in, it asks you to paste the log (end with Ctrl-D).

    Examples:

    \b
      torchrun --nproc_per_node 8 train.py 2>&1 | ddoctor diagnose
      ddoctor diagnose job.log logs/rank*.log
      ddoctor diagnose --format json slurm-1234.out | jq '.diagnoses[0].name'
      ddoctor diagnose logs/               # a torchrun --log-dir folder, rank by rank
      ddoctor diagnose --ras node3:28028   # a live job, through NCCL's RAS service
      ddoctor diagnose                     # paste the log, then Ctrl-D

    Exit codes: 0 no failure found, 1 a failure was diagnosed, 2 unreadable or empty input.
    """
    from ddoctor.cli import invoke

    raise typer.Exit(invoke.diagnose(files=files or [], fmt=fmt.value, show_all=show_all, no_host=no_host,
                                     fix_hints=fix_hints, no_color=no_color, quiet=quiet, fr=fr, ras=ras,
                                     polls=polls, interval=interval))


@app.command()
def fix(
    paths: list[str] = typer.Argument(None, help="Python files or directories."),
    write: bool = typer.Option(False, "--write", help="Apply the safe fixes (files are replaced atomically)."),
    unsafe_fixes: bool = typer.Option(False, "--unsafe-fixes", help="Also apply fixes that can change behaviour."),
    select: list[str] = typer.Option(None, "--select", help="Only these rule codes or prefixes (DDF001, DDF00)."),
    ignore: list[str] = typer.Option(None, "--ignore", help="Skip these rule codes or prefixes."),
    fmt: FixFormat = typer.Option("text", "--format", "-f",
                                  help="text, json (ddoctor.fix/1) or github (Actions annotations). "
                                  "--list-rules: text or json."),
    no_diff: bool = typer.Option(False, "--no-diff", help="List the issues without the diff."),
    diff: bool = typer.Option(False, "--diff", help="Print only the diff (for `| git apply` or `| patch -p1`); "
                              "the summary goes to stderr."),
    list_rules: bool = typer.Option(False, "--list-rules", help="List the rules and exit."),
    no_color: NoColor = False,
) -> None:
    """Rewrite the code patterns behind distributed/device failures (hard-coded "nccl" and "cuda", ...).

    Shows the issues and a unified diff, and exits 1 while issues remain (a CI or pre-commit check);
    --write applies the safe fixes, --unsafe-fixes adds the rest. The diff is printed whole and
    applies with `git apply` or `patch -p1` from the working directory. Directories are walked for
    *.py files, honouring .gitignore. A file that does not parse, or cannot be read or written, is
    reported and the others are still fixed. `ddoctor explain DDF001` documents a rule.

    Examples:

    \b
      ddoctor fix llama/                       # what would change
      ddoctor fix --diff llama/ | git apply    # the same as --write
      ddoctor fix --write --unsafe-fixes llama/generation.py
      ddoctor fix --select DDF001,DDF003 --write train.py
    """
    from ddoctor.cli.fix_cmd import run_fix

    def split(values):
        return [x for v in (values or []) for x in v.split(",") if x.strip()]

    raise typer.Exit(run_fix(paths=list(paths or []), write=write, unsafe=unsafe_fixes, select=split(select),
                             ignore=split(ignore), fmt=fmt.value, show_diff=not no_diff, diff_only=diff,
                             no_color=no_color, list_rules=list_rules))


@app.command()
def reshard(
    ckpt_dir: Path = typer.Argument(..., help="A Meta-format checkpoint directory (params.json, consolidated.NN.pth)."),
    mp: int = typer.Option(..., "--mp", min=1, help="The model-parallel size (number of shards) to produce."),
    out: Path = typer.Option(..., "--out", help="A new directory for the result (never the input)."),
    fmt: ReshardFormat = typer.Option("text", "--format", "-f", help="text or json (ddoctor.reshard/1)."),
    timeout: float = typer.Option(3600.0, "--timeout", min=1.0, help="Seconds before the work is stopped."),
    no_color: NoColor = False,
) -> None:
    """Reshard a Meta LLaMA checkpoint to another number of GPUs ("Loading a checkpoint for MP=2 but world size is 1").

    Every key is merged and re-split along its model-parallel dimension (column-parallel weights on
    dim 0, row-parallel and embedding on dim 1, norms replicated), one output shard at a time from
    memory-mapped inputs. params.json and the tokenizer are copied; the output appears only when
    complete; sizes that do not divide the heads are refused.

    Example:

    \b
      ddoctor reshard llama-2-13b/ --mp 1 --out llama-2-13b-mp1/
    """
    from ddoctor.cli.reshard_cmd import run_reshard

    raise typer.Exit(run_reshard(ckpt_dir=ckpt_dir, mp=mp, out=out, fmt=fmt.value, no_color=no_color,
                                 timeout=timeout))


@app.command(context_settings={"allow_interspersed_args": False})
def run(
    cmd: list[str] = typer.Argument(None, help="The job, after --: e.g. -- torchrun --nproc_per_node 8 train.py"),
    preflight: bool = typer.Option(False, "--preflight", help="Run `ddoctor check` first; do not start on failure."),
    report: Path = typer.Option(None, "--report", metavar="FILE",
                                help="Also write the result (job exit code, diagnosis, host) to FILE, in --format "
                                "(json by default); the job's own stdout and stderr stay untouched."),
    fmt: RunFormat = typer.Option(None, "--format", "-f",
                                  help="Format of the --report file: json (ddoctor.run/1, the default) or text."),
    no_host: bool = typer.Option(False, "--no-host", help="Do not tailor the advice to this host."),
    exit_codes: ExitCodes = typer.Option(ExitCodes.default, "--exit-codes", help="default: the job's own exit "
                                         "code; slurm (0 ok, 1 drain the node, 2 failed, not the node) or kubeflow "
                                         "(0 ok, 20 retryable, 30 fatal), from the failure's root cause."),
    hang_timeout: float = typer.Option(None, "--hang-timeout", min=1.0, metavar="SECONDS",
                                       help="A job that prints nothing new (no output, no progress-bar step) for "
                                       "SECONDS is snapshotted (every rank's stack, the rank the others wait "
                                       "for), reported and stopped: exit 124."),
    bundle: Path = typer.Option(None, "--bundle", help="On a hang or Ctrl-C, also write FILE.tar.gz for an issue "
                                "report: the snapshot, the job's last lines, the check report, secrets redacted."),
    no_color: NoColor = False,
) -> None:
    """Run a job, stream its output unchanged, and diagnose it when it fails (on stderr).

    The exit code is the job's (128+N when a signal killed it; a SIGKILL is attributed: the kernel's
    OOM killer, or someone else), unless --exit-codes maps the outcome for a scheduler: a faulty node
    (GPU, driver, disk) drains, a transient failure (a peer timed out, the network, a held port,
    preemption) is retryable, anything else (the job's code or configuration, a hang) is fatal.
    With --hang-timeout a job that stops making progress is snapshotted, reported and stopped
    (exit 124). Ctrl-C shows where each rank was, then stops the job (a second Ctrl-C kills it at
    once) and exits 130. Nothing is left running.

    Examples:

    \b
      ddoctor run --preflight -- torchrun --nproc_per_node 8 train.py --config run.yaml
      ddoctor run --report ddoctor.json -- torchrun --nproc_per_node 8 train.py   # for CI
      ddoctor run --hang-timeout 600 --bundle hang.tar.gz -- torchrun --nproc_per_node 8 train.py

    Exit codes: the job's own (or the --exit-codes contract's); 124 stopped by --hang-timeout;
    130 interrupted; 126/127 the command cannot run; 2 bad usage.
    """
    from ddoctor.cli.run_cmd import run_job

    raise typer.Exit(run_job(cmd=list(cmd or []), preflight=preflight, fmt=fmt.value if fmt else None,
                             use_host=not no_host, no_color=no_color, report=report, exit_codes=exit_codes.value,
                             hang_timeout=hang_timeout, bundle=bundle))


@app.command()
def snapshot(
    pids: list[str] = typer.Argument(None, help="The job's launcher (torchrun, mpirun, a shell script) or its ranks; "
                                     "nothing: find the rank processes of this user."),
    fmt: SnapshotFormat = typer.Option("text", "--format", "-f", help="text or json (ddoctor.snapshot/1)."),
    timeout: float = typer.Option(20.0, "--timeout", min=1.0, max=600.0,
                                  help="Seconds the whole snapshot may take (stacks, dumps, RAS)."),
    no_native: bool = typer.Option(False, "--no-native", help="Python frames only (skip py-spy --native)."),
    ras: str = typer.Option(None, "--ras", help="HOST:PORT of NCCL's RAS service (default: the ranks' NCCL_RAS_ADDR, "
                            "else localhost:28028, asked only where NCCL is loaded)."),
    bundle: Path = typer.Option(None, "--bundle", help="Also write FILE.tar.gz for an issue report: the snapshot and "
                                "the check report, secrets redacted."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Every group's full stack and each rank's last line."),
    no_color: NoColor = False,
) -> None:
    """Where every rank of a running job is, and which rank the others wait for.

    Finds the ranks from the launcher's process tree (torchrun agents, DeepSpeed, mpirun, srun,
    plain processes), reads each rank's stack with py-spy (native frames too), groups ranks by
    stack as LLNL's STAT does, and names the rank that is not where the others wait, with its
    innermost frame of your code as file:line. Where the job turned the flight recorder on it
    asks for a dump; where NCCL is loaded it asks NCCL's RAS service. Without py-spy (or when the
    kernel refuses ptrace) it says so and shows what the kernel knows of each rank instead.

    Examples:

      ddoctor snapshot $(pgrep -f torchrun)     # a torchrun job: the agent's pid

      ddoctor snapshot                          # the rank processes of this user

      ddoctor snapshot 4242 --format json --bundle hang.tar.gz

    Exit codes: 0 no rank stands out, 1 a rank is behind, mismatched or gone (the suspect is
    named), 2 nothing to examine (no such process, no ranks found, several jobs) or bad usage.
    """
    from ddoctor.cli.snapshot_cmd import run_snapshot

    raise typer.Exit(run_snapshot(pids=list(pids or []), fmt=fmt.value, timeout=timeout, native=not no_native,
                                  bundle=bundle, no_color=no_color, ras=ras, verbose=verbose))


@app.command()
def explain(
    name: str = typer.Argument(..., help="Signature name or code (nccl-unavailable, DD101) or fix rule (DDF001)."),
    fmt: ExplainFormat = typer.Option("text", "--format", "-f", help="text, json or markdown."),
    no_color: NoColor = False,
) -> None:
    """Explain one failure cause (what, why, how to fix) or one `ddoctor fix` rule.

    Example:

    \b
      ddoctor explain DD101
    """
    from ddoctor.cli.diagnose_cmd import run_explain

    raise typer.Exit(run_explain(name, fmt.value, no_color))


@app.command()
def signatures(
    fmt: SignaturesFormat = typer.Option("text", "--format", "-f", help="text, json or markdown."),
    no_color: NoColor = False,
) -> None:
    """List every failure cause ddoctor diagnose knows (`ddoctor explain CODE` tells one in full)."""
    from ddoctor.cli.diagnose_cmd import run_signatures

    raise typer.Exit(run_signatures(fmt.value, no_color))


@app.command()
def smoke(
    nproc: int = typer.Option(None, "--nproc", min=1, help="Ranks on this node (default: one per GPU, else 2)."),
    backend: str = typer.Option(None, "--backend", help="nccl or gloo (default: what this host supports)."),
    device: str = typer.Option(None, "--device", help="cuda, mps or cpu (default: the best this host has)."),
    timeout: float = typer.Option(120.0, "--timeout", min=5.0, help="Seconds before hung ranks are stopped."),
    max_new_tokens: int = typer.Option(16, "--max-new-tokens", min=1, max=40),
    seed: int = typer.Option(1, "--seed", help="Sampling seed (the same on every rank)."),
    launcher: str = typer.Option("local", "--launcher", help="local (plain processes, env://), torchrun, or srun "
                                 "(inside a SLURM allocation)."),
    nnodes: int = typer.Option(1, "--nnodes", min=1, help="Nodes (runs torchrun on each node)."),
    node_rank: int = typer.Option(0, "--node-rank", min=0, help="This node's rank (multi-node)."),
    rdzv_endpoint: str = typer.Option(None, "--rdzv-endpoint", help="HOST:PORT of the rendezvous (multi-node)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the checkpoint and result files."),
    fmt: SmokeFormat = typer.Option("text", "--format", "-f", help="text or json (ddoctor.smoke/1)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show generated text and every diagnosis."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the PASS/FAIL line."),
    no_color: NoColor = False,
    no_host: bool = typer.Option(False, "--no-host", help="Do not tailor failure advice to this host."),
    fault: str = typer.Option(None, "--fault", hidden=True, help="Test hook: raise@R, kill@R, hang@R[:phase]."),
    shards: int = typer.Option(None, "--shards", hidden=True, help="Test hook: write this many shards."),
    ckpt_dir: Path = typer.Option(None, "--ckpt-dir", help="Preflight YOUR Meta-format checkpoint instead: shard "
                                  "count vs --nproc, params.json, every tensor shape vs the split table, memory "
                                  "(memory-mapped, nothing loaded)."),
    load: bool = typer.Option(False, "--load", help="With --ckpt-dir: really load it, one shard per rank, and run "
                              "a forward pass."),
    hf: bool = typer.Option(False, "--hf", help="Also convert the tiny checkpoint to transformers' LlamaForCausalLM "
                            "(with the q/k permutation) and compare greedy tokens (needs transformers)."),
) -> None:
    """Run a tiny LLaMA end to end: Meta-format shards, process group, sharded load, generate, verify.

    Rank 0 writes a seeded tiny checkpoint in Meta's format (params.json, consolidated.NN.pth split
    along fairscale's dimensions); every rank loads only its own shard, exactly as Llama.build
    does (including its shard-count check), runs greedy and top-p generation with the KV cache and
    the model-parallel all-gather/all-reduce points, and rank 0 compares the tokens and logits with
    an unsharded single-process reference. A failing, killed or hung rank is stopped, every rank's
    output is diagnosed, and nothing is left running.

    Examples:

    \b
      ddoctor smoke                       # 2 ranks on CPU (gloo), or one per GPU (nccl)
      ddoctor smoke --nproc 4 --format json
      ddoctor smoke --nnodes 2 --node-rank 0 --rdzv-endpoint 10.0.0.1:29400   # on each node
      ddoctor smoke --ckpt-dir llama-2-13b/ --nproc 2          # preflight a real checkpoint
      ddoctor smoke --ckpt-dir llama-2-13b/ --load             # and load it, one shard per rank
    """
    from ddoctor.cli.smoke_cmd import run_smoke_cmd

    raise typer.Exit(run_smoke_cmd(nproc=nproc, backend=backend, device=device, timeout=timeout,
                                   max_new_tokens=max_new_tokens, seed=seed, launcher=launcher, nnodes=nnodes,
                                   node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, keep=keep, fmt=fmt.value,
                                   verbose=verbose, no_color=no_color, use_host=not no_host, fault=fault,
                                   shards=shards, ckpt_dir=ckpt_dir, load=load, hf=hf, quiet=quiet))


def main() -> None:
    """The installed script of older checkouts points here; the entry point is `cli.entry.main`."""
    from ddoctor.cli.entry import main as entry_main

    entry_main()

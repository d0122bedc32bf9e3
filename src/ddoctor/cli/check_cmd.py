"""`ddoctor check`: compose host → probes → report → renderer, and pick the exit code."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from ddoctor import __version__
from ddoctor.cli.output import Output, error, message
from ddoctor.host.summary import host_facts
from ddoctor.model.report import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    Action,
    CheckReport,
    contract_exit_code,
    finding_action,
)
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.registry import all_probes, select
from ddoctor.probes.runner import NOT_RUN, run_probes

RANK0_PRINT_S = 5.0  # how long a rank with a failing verdict waits before exiting (see _cluster)

def _list(out: Output, fmt: str) -> int:
    from ddoctor.model.report import CheckInfo, CheckList

    checks = CheckList(checks=tuple(CheckInfo(id=p.id, group=p.group, title=p.title, description=p.description)
                                    for p in all_probes()))
    out.emit("check-list", fmt, checks)
    return EXIT_OK


def _scenarios(out: Output, fmt: str) -> int:
    from ddoctor.host.fake import SCENARIOS
    from ddoctor.model.report import Scenario, ScenarioList

    out.emit("scenarios", fmt, ScenarioList(scenarios=tuple(Scenario(name=name, description=description)
                                                             for name, (_, description) in SCENARIOS.items())))
    return EXIT_OK


def _make_host(simulate: str | None, *, deep: bool, use_cache: bool, budget_s: float):
    if simulate:
        from ddoctor.host.fake import SCENARIOS

        if simulate not in SCENARIOS:
            raise KeyError(simulate)
        return SCENARIOS[simulate][0]()
    from ddoctor.host.real import RealHost

    return RealHost(deep=deep, use_cache=use_cache, torch_timeout=min(60.0, budget_s),
                    nvml_timeout=min(10.0, budget_s))


def deadline_window(limit_s: float) -> tuple[float, float]:
    """(monotonic time the checks must end by, seconds left for them): the limit counts from the start of
    this process, and a margin is kept for rendering and exiting, so the command as a whole never overruns."""
    import psutil

    elapsed = max(0.0, time.time() - psutil.Process().create_time())
    left = max(0.0, limit_s - elapsed - min(1.0, 0.1 * limit_s))
    return time.monotonic() + left, left


def actions_for(probes, findings, strict: bool):
    on_fail = {p.id: p.on_fail for p in probes}
    # Live collectives that fail point at the node or its fabric.
    return {f.id: finding_action(f, on_fail=Action(on_fail.get(f.id, "drain" if f.group == "live" else "stop")),
                                 strict=strict) for f in findings}


def _torch_version(host, findings) -> str | None:
    """For the report's header, without waiting on a torch child the deadline left running."""
    if any(f.id.startswith("torch.") and f.error and f.error.type_name == NOT_RUN for f in findings):
        from ddoctor.host.torch_facts import static_torch_facts

        return static_torch_facts().version
    t = host.torch()
    return t.version if t.installed else None


def run_check(*, ids, require, strict, fmt, verbose, list_only, nproc, deep, use_cache, timeout, no_color,
              simulate, quiet: bool = False, live: bool = False, min_busbw=None, live_max_bytes=None,
              fault=None, cluster: bool = False, deadline: float | None = None, exit_codes: str = "default") -> int:
    out = Output(no_color=no_color)
    limit = min(timeout, deadline) if deadline else timeout
    ends_at, left = deadline_window(limit)
    from ddoctor.plugins import plugin_probes

    for problem in plugin_probes()[1]:
        error(problem)
    from ddoctor.render.catalog import Format, usage_error

    mode = "check-list" if list_only else "scenarios" if simulate == "list" else "cluster" if cluster else "check"
    problem = usage_error(mode, Format(fmt))
    if problem:
        error(problem)
        return EXIT_USAGE
    if list_only:
        return _list(out, fmt)
    if simulate == "list":
        return _scenarios(out, fmt)
    if "live" in ids:  # `ddoctor check live` runs only the live collectives
        ids = [i for i in ids if i != "live"]
        live = True
        only_live = not ids
    else:
        only_live = False
    try:
        probes = () if only_live else select(ids)
    except KeyError as exc:
        error(f"unknown check id {exc.args[0]}; `ddoctor check --list` shows them")
        return EXIT_USAGE
    if require:
        from ddoctor.probes.requirements import RequirementError, make_requirement_probes

        try:
            probes += make_requirement_probes(require)
        except RequirementError as exc:
            error(str(exc))
            return EXIT_USAGE
    probes = tuple(replace(p, timeout_s=min(p.timeout_s, limit)) for p in probes)
    try:
        host = _make_host(simulate, deep=deep, use_cache=use_cache, budget_s=max(left, 0.1))
    except KeyError:
        from ddoctor.host.fake import SCENARIOS

        error(f"unknown scenario {simulate!r}; known: {', '.join(SCENARIOS)} (`--simulate list` describes them)")
        return EXIT_USAGE
    ctx = ProbeContext(host=host, nproc=nproc)

    start = time.perf_counter()
    findings = _run_with_progress(probes, ctx, out, ends_at, limit)
    if live and not simulate:
        findings = findings + tuple(_live(host, nproc, max(1.0, ends_at - time.monotonic()), min_busbw,
                                          live_max_bytes, fault))
    duration = time.perf_counter() - start
    report = CheckReport(findings=findings, duration_s=duration, ddoctor_version=__version__,
                         host=replace(host_facts(host), torch_version=_torch_version(host, findings)),
                         actions=actions_for(probes, findings, strict),
                         not_run=tuple(f.id for f in findings if f.error and f.error.type_name == NOT_RUN),
                         simulated=simulate)
    if cluster:
        return _cluster(host, findings, fmt, out, max(1.0, ends_at - time.monotonic()))
    from ddoctor.render.options import RenderOptions

    out.emit("check", fmt, report, RenderOptions(verbose=verbose, strict=strict, quiet=quiet, exit_codes=exit_codes))
    return contract_exit_code(report, strict=strict, contract=exit_codes)


def _cluster(host, findings, fmt, out, timeout) -> int:
    """Every rank sends its fingerprint; rank 0 reports what differs (exit 1 on critical skew)."""
    from ddoctor.live import cluster as c
    from ddoctor.model.cluster import ClusterReport

    rank = host.environ.get("RANK", host.environ.get("SLURM_PROCID"))
    if rank is None:
        error("--cluster runs inside a launched job: torchrun --nnodes N --nproc_per_node M -m ddoctor check "
              "--cluster (or srun ... python -m ddoctor check --cluster, with MASTER_ADDR and MASTER_PORT exported)")
        return EXIT_USAGE
    if rank == "0":
        # Loaded before the gather: once it returns, the other ranks exit with the verdict and torchrun stops
        # the job when one exits 1, so rank 0 must print within moments.
        import ddoctor.live.grouping
        import ddoctor.render.formats  # noqa: F401
    try:
        got = c.gather(c.fingerprint(host, findings), timeout)
    except c.ClusterGatherError as exc:
        error(str(exc))
        return EXIT_PROBLEMS
    if rank != "0":  # every rank exits with rank 0's verdict; rank 0 prints the report
        message(f"ddoctor: rank {rank} on {host.platform().hostname} sent its facts")
        if not got.get("problems"):
            return EXIT_OK
        # torchrun stops every worker once one exits non-zero: give rank 0 a moment to print the report
        # this verdict comes from (a loaded node can take seconds), within what is left of the deadline.
        time.sleep(min(RANK0_PRINT_S, max(0.0, timeout - 1.0)))
        return EXIT_PROBLEMS
    from ddoctor.live.grouping import summarize
    from ddoctor.model.fingerprint import Fingerprint
    from ddoctor.redact import scrub_values

    # Scrubbed before grouping: a secret in one rank's value must not split it from the others' groups.
    fps = scrub_values(got.get("ranks", []), out.secrets)
    summary = summarize([Fingerprint.from_dict(fp) for fp in fps], world_size=got.get("world_size"),
                        deadline_s=timeout)
    out.emit("cluster", fmt, ClusterReport(ranks=tuple(fps), summary=summary))
    return EXIT_PROBLEMS if summary.problems else EXIT_OK


def _live(host, nproc, timeout, min_busbw, max_bytes, fault):
    """Real collectives between local ranks (torch only in the rank processes)."""
    from ddoctor.live.launch import run_live
    from ddoctor.ranks.plan import make_plan

    plan = make_plan(host_facts(host), nproc=nproc)
    if sys.stderr.isatty():
        message(f"live: {plan.nproc} rank{'s' if plan.nproc != 1 else ''}, {plan.backend} on {plan.device}...")
    return run_live(plan, timeout=min(timeout, 120.0), min_busbw=min_busbw,
                    max_bytes=max_bytes or ((256 << 20) if plan.device == "cuda" else (64 << 20)), fault=fault)


def _run_with_progress(probes, ctx, out: Output, ends_at: float, limit: float):
    """A spinner on stderr while checks run, only when a person is watching."""
    done = []
    with out.status(f"checking (0/{len(probes)})...") as update:
        def on_done(finding):
            done.append(finding.id)
            update(f"checking ({len(done)}/{len(probes)}): {finding.title} done...")

        return run_probes(probes, ctx, on_done=on_done, deadline=ends_at, budget_s=limit)

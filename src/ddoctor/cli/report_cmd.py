"""`ddoctor report`: collect_env's facts and ddoctor's verdicts in one paste, redacted."""

from __future__ import annotations

import threading
import time

from ddoctor import __version__
from ddoctor.cli.check_cmd import actions_for, deadline_window
from ddoctor.cli.output import Output, error
from ddoctor.host.summary import host_facts
from ddoctor.model.report import EXIT_USAGE, CheckReport, check_exit_code
from ddoctor.probes import claims
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.registry import all_probes
from ddoctor.probes.runner import NOT_RUN, run_probes


def _cuda_usable(ctx: ProbeContext) -> str:
    why = claims.cuda_blocker(ctx)
    if why:
        return f"no: {why}"
    return (f"yes, {claims.usable_gpus(ctx)} GPU(s) (from the driver and torch's build; `ddoctor check` also "
            "creates a CUDA context on each)")


def run_report(*, fmt: str, timeout: float, no_color: bool, use_cache: bool = True) -> int:
    out = Output(no_color=no_color)
    from ddoctor.render.catalog import Format, usage_error

    problem = usage_error("report", Format(fmt))
    if problem:
        error(problem)
        return EXIT_USAGE
    ends_at, left = deadline_window(timeout)
    from ddoctor.host.envinfo import env_facts
    from ddoctor.host.real import RealHost

    host = RealHost(use_cache=use_cache, live_torch=False, torch_timeout=min(60.0, max(left, 0.1)),
                    nvml_timeout=min(10.0, max(left, 0.1)))
    ctx = ProbeContext(host=host)
    start = time.perf_counter()
    env_box: list = []
    gatherer = threading.Thread(target=lambda: env_box.append(env_facts()), name="envinfo", daemon=True)
    gatherer.start()
    probes = all_probes()
    findings = run_probes(probes, ctx, deadline=ends_at, budget_s=timeout)
    gatherer.join(timeout=max(0.0, ends_at - time.monotonic()))
    not_run = tuple(f.id for f in findings if f.error and f.error.type_name == NOT_RUN)
    if any(i.startswith("torch.") for i in not_run):
        from ddoctor.host.torch_facts import static_torch_facts

        t = static_torch_facts()
    else:
        t = host.torch()
    check = CheckReport(findings=findings, duration_s=time.perf_counter() - start, ddoctor_version=__version__,
                        host=host_facts(host, nvml=False, torch=t),
                        actions=actions_for(probes, findings, False), not_run=not_run)
    code = check_exit_code(check, strict=False)
    if not env_box:
        error(f"the environment facts (compilers, lscpu, packages) did not arrive within {timeout:.0f} s")
        return EXIT_USAGE
    from ddoctor import envreport

    usable = "not known (the torch facts did not arrive in time)" if "torch.install" in not_run else _cuda_usable(ctx)
    rep = envreport.build(env_box[0], t, host.nvml(), check, cuda_usable=usable,
                          duration_s=time.perf_counter() - start)
    out.emit("report", fmt, rep)
    return code

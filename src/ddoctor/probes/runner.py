"""Run probes concurrently, each under a deadline; a crash or overrun becomes an `error` finding.

Python threads cannot be killed, so a late probe's thread is abandoned (daemon) and reported; the
calls that can block in C are already in child processes with their own timeouts.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from ddoctor.model.finding import ErrorInfo, Finding
from ddoctor.model.status import Status
from ddoctor.probes.base import C, Outcome, Probe, Unfinished


def _to_finding(probe: Probe[C], outcome: Outcome, duration: float) -> Finding:
    return Finding(id=probe.id, title=probe.title, group=probe.group, status=outcome.status,
                   summary=outcome.summary, details=outcome.details, messages=outcome.messages,
                   evidence=outcome.evidence,
                   remediation=outcome.remediation, affects=outcome.affects, duration_s=duration)


def _error(probe: Probe[C], summary: str, err: ErrorInfo, duration: float) -> Finding:
    return Finding(id=probe.id, title=probe.title, group=probe.group, status=Status.ERROR, summary=summary,
                   error=err, duration_s=duration)


def run_probe(probe: Probe[C], ctx: C) -> Finding:
    start = time.perf_counter()
    try:
        outcome = probe.run(ctx)
        return _to_finding(probe, outcome, time.perf_counter() - start)
    except Unfinished as exc:
        return _error(probe, str(exc), ErrorInfo(type_name="TimeoutError", message="a fact source ran out of time"),
                      time.perf_counter() - start)
    except Exception as exc:  # a probe bug must not sink the report
        return _error(probe, f"the check crashed: {type(exc).__name__}: {exc}",
                      ErrorInfo(type_name=type(exc).__name__, message=str(exc),
                                traceback_text=traceback.format_exc()), time.perf_counter() - start)


NOT_RUN = "NotRun"


def not_run(probe: Probe[C], seconds: float) -> Finding:
    return _error(probe, f"not run: the {seconds:.0f} s deadline for the whole check passed before it finished",
                  ErrorInfo(type_name=NOT_RUN, message=f"deadline {seconds:.0f} s"), 0.0)


def run_probes(probes: tuple[Probe[C], ...], ctx: C, *,
               on_done: Callable[[Finding], None] | None = None,
               clock: Callable[[], float] = time.monotonic,
               deadline: float | None = None, budget_s: float | None = None) -> tuple[Finding, ...]:
    """Start every probe at once; return findings in registration order.

    `deadline` (a `clock()` time) ends the whole run: a probe still running then is reported as not run
    (`budget_s`, the whole command's limit, is what that report names).
    """
    futures: list[Future[Finding]] = []
    for probe in probes:
        fut: Future[Finding] = Future()

        def work(p: Probe[C] = probe, f: Future[Finding] = fut) -> None:
            result = run_probe(p, ctx)
            f.set_result(result)
            if on_done:
                on_done(result)

        threading.Thread(target=work, name=f"probe-{probe.id}", daemon=True).start()
        futures.append(fut)
    start = clock()
    out = []
    for probe, fut in zip(probes, futures, strict=True):
        remaining = max(0.0, probe.timeout_s - (clock() - start))
        cut = deadline is not None and deadline - clock() < remaining
        if cut:
            remaining = max(0.0, deadline - clock())
        try:
            out.append(fut.result(timeout=remaining))
        except FutureTimeout:
            late = not_run(probe, budget_s or 0.0) if cut else _error(
                probe, f"the check did not finish within {probe.timeout_s:.0f} s",
                ErrorInfo(type_name="TimeoutError", message=f"deadline {probe.timeout_s:.0f} s"), probe.timeout_s)
            if on_done:
                on_done(late)
            out.append(late)
    return tuple(out)

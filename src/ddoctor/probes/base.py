"""What a probe is, what it returns, and the context it reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ddoctor.host.base import Host
from ddoctor.model.finding import Message, Remediation
from ddoctor.model.status import Status
from ddoctor.units import gib, human_bytes  # noqa: F401 - re-exported for probes


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeContext:
    """Inputs every probe may read. `nproc` is how many local ranks the user plans to launch."""

    host: Host
    nproc: int | None = None

    @property
    def env(self) -> Mapping[str, str]:
        return self.host.environ

    def local_ranks(self) -> int:
        """Ranks per node: the user's --nproc, else the launcher's env, else one per GPU, else 1."""
        if self.nproc:
            return self.nproc
        for key in ("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE"):
            v = self.env.get(key, "")
            if v.isdigit() and int(v) > 0:
                return int(v)
        return len(self.host.gpus()) or 1


class Unfinished(Exception):
    """Raised by a probe whose fact source ran out of time: the runner reports an `error` (could not
    verify), never a verdict drawn from the facts that did arrive."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A probe's verdict before the runner stamps id, title, group and timing on it."""

    status: Status
    summary: str
    details: tuple[str, ...] = ()
    messages: tuple[Message, ...] = ()
    evidence: Mapping[str, object] = field(default_factory=dict)
    remediation: Remediation | None = None
    affects: tuple[str, ...] = ()


C = TypeVar("C")


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe(Generic[C]):
    """One verdict over a context: `ProbeContext` (the host) for `check`, or the facts of another
    command (an inspected checkpoint, a finished live run), so every verdict gets the runner's
    deadline, crash handling and ordering."""

    id: str
    title: str
    group: str
    run: Callable[[C], Outcome]
    description: str
    timeout_s: float = 90.0
    # Facts (names in probes/claims.FACTS) the verdict relies on; each non-skip finding records them in
    # its evidence, and the invariant tests check them against every other finding's.
    relies_on: tuple[str, ...] = ()
    # What a scheduler should do when this check fails (model.report.Action): "drain" for node faults,
    # "retry" for transient states, "stop" for a job that cannot run as configured.
    on_fail: str = "stop"



def ok(summary: str, **kw) -> Outcome:
    return Outcome(status=Status.PASS, summary=summary, **kw)


def skip(summary: str, **kw) -> Outcome:
    return Outcome(status=Status.SKIP, summary=summary, **kw)


def warn(summary: str, fix: Remediation, **kw) -> Outcome:
    return Outcome(status=Status.WARN, summary=summary, remediation=fix, **kw)


def fail(summary: str, fix: Remediation, **kw) -> Outcome:
    return Outcome(status=Status.FAIL, summary=summary, remediation=fix, **kw)


def fix(summary: str, *commands: str, links: tuple[str, ...] = (), codes: tuple[str, ...] = ()) -> Remediation:
    return Remediation(summary=summary, commands=tuple(commands), links=links, fix_codes=codes)

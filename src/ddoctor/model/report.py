"""A whole `ddoctor check` run and the exit-code policy that CI gates on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

# re-exported: the commands that build reports take their exit codes from here
from ddoctor.model.exit_codes import EXIT_OK as EXIT_OK
from ddoctor.model.exit_codes import EXIT_PROBLEMS as EXIT_PROBLEMS
from ddoctor.model.exit_codes import EXIT_USAGE as EXIT_USAGE
from ddoctor.model.finding import Finding
from ddoctor.model.host import HostFacts
from ddoctor.model.status import Status, worst_of


class Action(str, Enum):
    """What a scheduler should do with this node and job (the JSON `action` field).

    continue: run the job. retry: nothing is known to be wrong with the node, but the check could not
    finish or hit something transient (a held port, memory in use): run the check again. drain: the node
    is faulty (driver, GPU, memory errors): take it out of service. stop: the job cannot run as
    configured (wrong torch build, bad launcher variables): retrying on any node will fail the same way.
    """

    CONTINUE = "continue"
    RETRY = "retry"
    DRAIN = "drain"
    STOP = "stop"


# A faulty node is the first thing a scheduler must act on, whatever else is wrong.
_ACTION_ORDER = (Action.CONTINUE, Action.RETRY, Action.STOP, Action.DRAIN)
EXIT_CONTRACTS = ("default", "slurm", "kubeflow")


def finding_action(f: Finding, *, on_fail: Action, strict: bool) -> Action:
    """A check that could not finish asks for a retry; a failure (or, strictly, a warning) takes its probe's
    action."""
    if f.status is Status.ERROR:
        return Action.RETRY
    if f.status is Status.FAIL or (strict and f.status is Status.WARN):
        return on_fail
    return Action.CONTINUE


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReport:
    """`simulated` names the --simulate scenario the findings came from (None: this real host), so no
    format can pass off a demo as a machine's verdict."""

    findings: tuple[Finding, ...]
    host: HostFacts
    duration_s: float
    ddoctor_version: str
    actions: Mapping[str, Action] = field(default_factory=lambda: MappingProxyType({}))  # finding id -> action
    not_run: tuple[str, ...] = ()  # checks the deadline stopped before they finished
    simulated: str | None = None

    @property
    def action(self) -> Action:
        return max(self.actions.values(), key=_ACTION_ORDER.index, default=Action.CONTINUE)

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(f.status.value for f in self.findings)
        return {s.value: c.get(s.value, 0) for s in Status}

    @property
    def worst(self) -> Status:
        return worst_of(f.status for f in self.findings)


def check_exit_code(report: CheckReport, *, strict: bool) -> int:
    """0 when nothing is wrong; 1 for any fail or error (warn too under --strict).

    An `error` counts as a problem: a gate that could not verify the host must not pass it.
    """
    bad = {Status.FAIL, Status.ERROR} | ({Status.WARN} if strict else set())
    return EXIT_PROBLEMS if any(f.status in bad for f in report.findings) else EXIT_OK


def contract_exit_code(report: CheckReport, *, strict: bool, contract: str = "default") -> int:
    """The exit code in the scheduler's terms.

    slurm (health check / prolog): 0 keep the node, 1 drain it, 2 could not run (the check did not
    finish, or the job cannot run as configured; the node is not at fault).
    kubeflow (Trainer preflight): 0 pass, 10 warnings only, 20 retryable (retry, or a faulty node the job
    can be rescheduled away from), 30 fatal (the job cannot run as configured).
    """
    if contract == "default":
        return check_exit_code(report, strict=strict)
    return action_exit_code(report.action, contract,
                            warned=any(f.status is Status.WARN for f in report.findings))


def action_exit_code(action: Action, contract: str, *, warned: bool = False) -> int:
    """An action as the exit code of the slurm or kubeflow contract (contract_exit_code says what they mean);
    `ddoctor run` uses the same table for a job's outcome."""
    if contract == "slurm":
        return {Action.CONTINUE: 0, Action.DRAIN: 1}.get(action, 2)
    if contract == "kubeflow":
        if action is Action.CONTINUE:
            return 10 if warned else 0
        return 30 if action is Action.STOP else 20
    raise ValueError(f"unknown exit-code contract {contract!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckInfo:
    """One entry of `ddoctor check --list`."""

    id: str
    group: str
    title: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "group": self.group, "title": self.title, "description": self.description}


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckList:
    checks: tuple[CheckInfo, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A simulated host for `ddoctor check --simulate NAME` (demos and tests; never this machine)."""

    name: str
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioList:
    scenarios: tuple[Scenario, ...]

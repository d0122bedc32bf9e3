"""A whole `ddoctor check` run and the exit-code policy that CI gates on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ddoctor.model.finding import Finding
from ddoctor.model.status import Status, worst_of

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class HostSummary:
    """The one-line identity of the host a report was taken on."""

    hostname: str
    platform: str
    python: str
    torch: str | None

    def to_dict(self) -> dict:
        return {"hostname": self.hostname, "platform": self.platform, "python": self.python, "torch": self.torch}


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReport:
    findings: tuple[Finding, ...]
    host: HostSummary
    duration_s: float
    ddoctor_version: str

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

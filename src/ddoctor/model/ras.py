"""What NCCL's RAS service says about a running job, and what ddoctor concludes from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ddoctor.model.finding import Finding


@dataclass(frozen=True, slots=True, kw_only=True)
class RasRank:
    rank: int
    host: str
    pid: int
    cuda_dev: int
    nvml_dev: int
    init_state: int = 0  # ncclResult_t: 0 ready, 7 initialising, anything else an error
    async_error: int = 0
    abort_flag: bool = False
    finalize_called: bool = False
    counts: tuple[tuple[str, int], ...] = ()  # collective name -> operations launched

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass(frozen=True, slots=True, kw_only=True)
class RasMissing:
    rank: int
    host: str
    pid: int
    cuda_dev: int
    unresponsive: bool
    dead: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RasCommunicator:
    key: str  # hash + secondary hash: unique per communicator
    size: int
    ranks: tuple[RasRank, ...]
    missing: tuple[RasMissing, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RasSnapshot:
    nccl_version: str | None
    timestamp: str | None
    communicators: tuple[RasCommunicator, ...]
    timeouts: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RasReport:
    """The verdict over several polls: `state` is healthy | progressing | in-flight | idle | init | stuck |
    dead | error, or unreachable when no poll was answered."""

    address: str
    polls: int
    nccl_version: str | None
    state: str
    findings: tuple[Finding, ...]
    communicators: int
    ranks: int
    problems: tuple[str, ...] = field(default_factory=tuple)  # polls that failed, in words

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "polls": self.polls, "nccl_version": self.nccl_version,
                "state": self.state, "communicators": self.communicators, "ranks": self.ranks,
                "findings": [f.to_dict() for f in self.findings], "problems": list(self.problems)}

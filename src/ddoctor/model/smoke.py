"""What a smoke run did and found: steps, measurements, verification, and the diagnosis of a failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ddoctor.model.diagnosis import Diagnosis
from ddoctor.model.status import Status


@dataclass(frozen=True, slots=True, kw_only=True)
class SmokeStep:
    name: str
    status: Status
    duration_s: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "duration_s": self.duration_s, "detail": self.detail}


@dataclass(frozen=True, slots=True, kw_only=True)
class RankOutcome:
    rank: int
    exitcode: int | None  # None: still running when stopped
    last_phase: str
    killed_by_ddoctor: bool
    log_tail: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "exitcode": self.exitcode, "last_phase": self.last_phase,
                "killed_by_ddoctor": self.killed_by_ddoctor, "log_tail": list(self.log_tail)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SmokeReport:
    ok: bool
    summary: str
    config: dict[str, Any]
    steps: tuple[SmokeStep, ...]
    ranks: tuple[RankOutcome, ...]
    metrics: dict[str, Any] = field(default_factory=dict)
    verification: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    diagnoses: tuple[Diagnosis, ...] = ()
    duration_s: float = 0.0
    workdir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary, "config": self.config,
                "steps": [s.to_dict() for s in self.steps], "ranks": [r.to_dict() for r in self.ranks],
                "metrics": self.metrics, "verification": self.verification, "outputs": self.outputs,
                "diagnoses": [d.to_dict() for d in self.diagnoses], "duration_s": round(self.duration_s, 3),
                "workdir": self.workdir}

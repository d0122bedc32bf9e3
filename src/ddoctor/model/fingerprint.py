"""What each rank of `ddoctor check --cluster` reports about its host, and what the job's ranks add up to.

A job of a thousand ranks is read as groups: the value most ranks share is said once, and only the
ranks that differ (or never reported) are named, so the report stays a screen long at any size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Fields compared across ranks besides the environment: versions, hardware, what this rank's checks found.
FACT_FIELDS = ("ddoctor", "python", "torch", "torch_cuda", "nccl", "driver", "gpus", "gpu_count", "shm_bytes",
               "interfaces")
# Skew in these makes collectives hang or fail; other differences are worth knowing.
CRITICAL_FIELDS = ("torch", "torch_cuda", "nccl", "driver", "python", "ddoctor")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fingerprint:
    """One rank's facts as compared text (None where the host does not have it, e.g. no driver)."""

    rank: int
    host: str
    facts: Mapping[str, str | None] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # NCCL_*, TORCH_*, ... already redacted
    failed_checks: tuple[str, ...] = ()
    arrived_at: float | None = None  # epoch seconds the rank reached the gather

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Fingerprint:
        """From the JSON a rank sends (live.cluster.fingerprint)."""
        env = d.get("env")
        failed = d.get("failed_checks")
        arrived = d.get("arrived_at")
        rank = d.get("rank")
        return cls(rank=rank if isinstance(rank, int) else -1, host=str(d.get("host", "?")),
                   facts={k: None if d.get(k) is None else str(d.get(k)) for k in FACT_FIELDS},
                   env={str(k): str(v) for k, v in env.items()} if isinstance(env, Mapping) else {},
                   failed_checks=tuple(c for c in str(failed).split(",") if c) if failed else (),
                   arrived_at=float(arrived) if isinstance(arrived, (int, float)) else None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueGroup:
    """The ranks that share one value."""

    value: str
    ranks: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Skew:
    """A field whose value is not the same on every rank: its groups, the largest first."""

    field: str
    critical: bool
    groups: tuple[ValueGroup, ...]

    @property
    def majority(self) -> ValueGroup:
        return self.groups[0]

    @property
    def outliers(self) -> tuple[ValueGroup, ...]:
        return self.groups[1:]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSummary:
    """`missing`: ranks of the job that never reported before the gather's deadline; `failed`: ranks
    grouped by the checks that failed on their own host; `stragglers`: (rank, seconds after the first)."""

    world_size: int
    reported: tuple[int, ...]
    hosts: int
    identical: tuple[tuple[str, str], ...]
    skews: tuple[Skew, ...]
    missing: tuple[int, ...] = ()
    failed: tuple[ValueGroup, ...] = ()
    stragglers: tuple[tuple[int, float], ...] = ()
    deadline_s: float | None = None

    @property
    def critical(self) -> tuple[Skew, ...]:
        return tuple(s for s in self.skews if s.critical)

    @property
    def problems(self) -> bool:
        """Exit 1: a rank that never reported, skew that breaks collectives, or a rank whose own checks failed."""
        return bool(self.missing or self.critical or self.failed)

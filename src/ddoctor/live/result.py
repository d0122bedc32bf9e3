"""The document rank 0 of `check --live` writes and the launcher judges (torch-free; both import it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    rank: int
    local_rank: int
    device: str
    current_device: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepPoint:
    """One all_reduce size of the nccl-tests-style sweep."""

    bytes: int
    time_us: float
    algbw_GBs: float  # the names nccl-tests prints
    busbw_GBs: float
    wrong: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveResult:
    world_size: int
    backend: str
    placement: tuple[Placement, ...]
    collectives_s: dict[str, float]
    wrong: tuple[tuple[str, ...], ...]  # per rank: the collectives that returned wrong values
    sweep: tuple[SweepPoint, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Absent:
    """Rank 0's report when Gloo's monitored_barrier(wait_all_ranks=True) timed out: every rank that
    never reached it (a plain barrier would only hang, naming no one)."""

    ranks: tuple[int, ...]
    timeout_s: float
    message: str

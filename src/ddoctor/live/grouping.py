"""Fingerprints of every rank → a ClusterSummary: what all ranks share, and only the outliers named.

Pure (no I/O, no torch): the rank side of the gather calls it to agree on the verdict, rank 0's
process to report, the tests with simulated jobs of a thousand ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ddoctor.model.fingerprint import CRITICAL_FIELDS, FACT_FIELDS, ClusterSummary, Fingerprint, Skew, ValueGroup
from ddoctor.ranksets import group_by

STRAGGLER_S = 5.0
IDENTICAL_SHOWN = ("torch", "torch_cuda", "nccl", "driver", "python")
UNSET = "<unset>"


def _groups(fps: Sequence[Fingerprint], get: Callable[[Fingerprint], str]) -> tuple[ValueGroup, ...]:
    return tuple(ValueGroup(value=str(g.value), ranks=g.ranks) for g in group_by({fp.rank: get(fp) for fp in fps}))


def summarize(fps: Sequence[Fingerprint], *, world_size: int | None = None, deadline_s: float | None = None,
              straggler_s: float = STRAGGLER_S) -> ClusterSummary:
    """`world_size`: the ranks the job has (WORLD_SIZE); those without a fingerprint are `missing`."""
    world = max(world_size or 0, len(fps))
    reported = tuple(sorted(fp.rank for fp in fps))
    skews: list[Skew] = []
    identical: list[tuple[str, str]] = []
    for name in FACT_FIELDS:
        groups = _groups(fps, lambda fp, name=name: str(fp.facts.get(name)))
        if len(groups) > 1:
            skews.append(Skew(field=name, critical=name in CRITICAL_FIELDS, groups=groups))
        elif groups and name in IDENTICAL_SHOWN:
            identical.append((name, groups[0].value))
    for key in sorted({k for fp in fps for k in fp.env}):
        groups = _groups(fps, lambda fp, key=key: fp.env.get(key, UNSET))
        if len(groups) > 1:
            skews.append(Skew(field=key, critical=key.startswith("NCCL_"), groups=groups))
    # Critical skew first; within each, the fields where fewest ranks stray (the likeliest culprits) first.
    skews.sort(key=lambda s: (not s.critical, len(reported) - len(s.majority.ranks)))
    failed = tuple(g for g in _groups(fps, lambda fp: ",".join(sorted(fp.failed_checks))) if g.value)
    times = [fp.arrived_at for fp in fps if fp.arrived_at is not None]
    first = min(times, default=0.0)
    slow = sorted(((fp.rank, fp.arrived_at - first) for fp in fps
                   if fp.arrived_at is not None and fp.arrived_at - first > straggler_s), key=lambda x: -x[1])
    return ClusterSummary(world_size=world, reported=reported, hosts=len({fp.host for fp in fps}),
                          identical=tuple(identical), skews=tuple(skews),
                          missing=tuple(sorted(set(range(world)) - set(reported))), failed=failed,
                          stragglers=tuple(slow), deadline_s=deadline_s)


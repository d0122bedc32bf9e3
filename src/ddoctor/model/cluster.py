"""What `ddoctor check --cluster` found across the ranks of a job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ddoctor.model.fingerprint import ClusterSummary


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterReport:
    """`ranks`: each rank's fingerprint as it sent it (the JSON lists them all); `summary`: the ranks grouped
    by value (what text shows, a screen long at any job size)."""

    ranks: tuple[Mapping[str, object], ...]
    summary: ClusterSummary

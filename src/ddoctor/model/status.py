"""Statuses of a check result, ordered so that the worst can be computed."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Status(str, Enum):
    """Outcome of one probe.

    `error` is kept apart from `fail`: it means ddoctor could not tell (the probe crashed or ran
    past its deadline), which a CI gate must not read as a pass.
    """

    SKIP = "skip"
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def severity(self) -> int:
        return _ORDER[self]


_ORDER = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


def worst_of(statuses: Iterable[Status]) -> Status:
    """The most severe status; an empty collection counts as a skip."""
    return max(statuses, key=lambda s: s.severity, default=Status.SKIP)

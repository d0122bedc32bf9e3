"""Ranks that timed out in different collectives: a desync told from the NCCL watchdog's own lines.

When every rank runs the same collectives in the same order, a hang leaves the ranks that time out
waiting in the same operation (`WorkNCCL(SeqNum=12, OpType=ALLREDUCE, ...)`). When the watchdog of
one rank reports an ALLREDUCE and another's a BROADCAST, the ranks issued different collectives: one
took a code path the others did not (a rank-dependent branch, an extra `all_gather` on rank 0), and
each waits for peers that are in another call. That is collective-mismatch, whatever the timeout.
Only the operation types are compared: sequence numbers of ranks that timed out may differ by what
completed before the hang.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ddoctor.lazyre import lazy_re
from ddoctor.model.logs import Evidence

TRIGGER = "Watchdog caught collective operation timeout"
_WORK = lazy_re(r"Watchdog caught collective operation timeout: WorkNCCL\(SeqNum=(?P<seq>\d{1,15}), "
                r"OpType=(?P<op>[A-Z_]{2,40})[,)]")  # a cut line names no operation
_RANK = lazy_re(r"\[Rank (?P<rank>\d{1,7})\]")
MAX_OPS = 16  # operation types kept: a desync needs two


@dataclass(slots=True)
class DesyncTracker:
    """Feed every line holding TRIGGER; `verdict` gives the evidence of two ranks in different collectives."""

    first: dict[str, tuple[int | None, Evidence]] = field(default_factory=dict)  # op -> (rank, its first line)

    def feed(self, lineno: int, rank: int | None, text: str, evidence: str) -> None:
        m = _WORK.search(text)
        if m is None or (m.group("op") not in self.first and len(self.first) >= MAX_OPS):
            return
        if rank is None and (r := _RANK.search(text)) is not None:
            rank = int(r.group("rank"))
        self.first.setdefault(m.group("op"), (rank, Evidence(lineno=lineno, rank=rank, text=evidence)))

    def verdict(self) -> tuple[Evidence, Evidence] | None:
        seen = list(self.first.values())
        for i, (rank_a, ev_a) in enumerate(seen):
            for rank_b, ev_b in seen[i + 1:]:
                if rank_a is not None and rank_b is not None and rank_a != rank_b:
                    return (ev_a, ev_b) if ev_a.lineno <= ev_b.lineno else (ev_b, ev_a)
        return None

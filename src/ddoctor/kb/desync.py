"""Ranks that timed out in different collectives: a desync told from the NCCL watchdog's own lines.

When every rank runs the same collectives in the same order, a hang leaves the ranks that time out
waiting in the same operation (`WorkNCCL(SeqNum=12, OpType=ALLREDUCE, ...)`). When the watchdog of
one rank reports an ALLREDUCE and another's a BROADCAST, the ranks issued different collectives: one
took a code path the others did not (a rank-dependent branch, an extra `all_gather` on rank 0), and
each waits for peers that are in another call. That is collective-mismatch, whatever the timeout.
Sequence numbers of ranks that timed out may differ by what completed before the hang (a rank busy
elsewhere is behind), so they alone decide nothing. But ranks that time out in the same collective
(the same SeqNum and operation) with different sizes (`NumelIn=`) passed tensors of different shapes
to it: that is a mismatch too (an all_gather of per-rank lengths, a padded batch on one rank).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ddoctor.lazyre import lazy_re
from ddoctor.model.logs import Evidence

TRIGGER = "Watchdog caught collective operation timeout"
_WORK = lazy_re(r"Watchdog caught collective operation timeout: WorkNCCL\(SeqNum=(?P<seq>\d{1,15}), "
                r"OpType=(?P<op>[A-Z_]{2,40})[,)]")  # a cut line names no operation
_SIZE = lazy_re(r"\bNumelIn=(?P<numel>\d{1,20}), NumelOut=(?P<out>\d{1,20})[,)]")
_RANK = lazy_re(r"\[Rank (?P<rank>\d{1,7})\]")
MAX_OPS = 16  # operation types kept: a desync needs two


@dataclass(slots=True)
class DesyncTracker:
    """Feed every line holding TRIGGER; `verdict` gives two ranks' lines in different collectives. The lines are
    kept as printed: the caller scrubs the two it keeps."""

    first: dict[str, Evidence] = field(default_factory=dict)  # operation -> the first line that timed out in it
    # (SeqNum, operation) -> the first line's (sizes, evidence): the same collective's sizes on every rank
    sized: dict[tuple[str, str], tuple[tuple[str, str], Evidence]] = field(default_factory=dict)
    resized: tuple[Evidence, Evidence] | None = None

    def feed(self, lineno: int, rank: int | None, text: str) -> None:
        m = _WORK.search(text)
        if m is None or (m.group("op") not in self.first and len(self.first) >= MAX_OPS):
            return
        if rank is None and (r := _RANK.search(text)) is not None:
            rank = int(r.group("rank"))
        ev = Evidence(lineno=lineno, rank=rank, text=text)
        self.first.setdefault(m.group("op"), ev)
        size = _SIZE.search(text, m.end() - 1)
        if size is None or rank is None or self.resized is not None:
            return
        key, numel = (m.group("seq"), m.group("op")), (size.group("numel"), size.group("out"))
        if key not in self.sized:
            if len(self.sized) < MAX_OPS:
                self.sized[key] = (numel, ev)
            return
        was, other = self.sized[key]
        if was != numel and other.rank != rank:
            self.resized = (other, ev)

    def verdict(self) -> tuple[Evidence, Evidence] | None:
        if self.resized is not None:
            return self.resized
        seen = list(self.first.values())
        for i, a in enumerate(seen):
            for b in seen[i + 1:]:
                if a.rank is not None and b.rank is not None and a.rank != b.rank:
                    return (a, b) if a.lineno <= b.lineno else (b, a)
        return None

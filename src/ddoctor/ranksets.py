"""Rank lists as people read them: `0-3,7,12-15`, groups by a shared value, outliers first.

At hundreds of ranks a line per rank is noise. Ranks that share a value are one group; the
majority is said once ("1022 ranks at AllReduce 6650") and only the small groups are named, with
lists capped, as NCCL's RAS does.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

MAX_LISTED = 16  # ranges listed before "... (+N more)"


def compress(ranks: Iterable[int], limit: int = MAX_LISTED) -> str:
    """[0, 1, 2, 3, 7, 12] -> '0-3,7,12' (at most `limit` ranges, then '+N more')."""
    rs = sorted(set(ranks))
    ranges: list[tuple[int, int]] = []
    for r in rs:
        if ranges and r == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], r)
        else:
            ranges.append((r, r))
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:limit]]
    rest = sum(b - a + 1 for a, b in ranges[limit:])
    return ",".join(parts) + (f" (+{rest} more)" if rest else "")


def plural_ranks(ranks: Iterable[int]) -> str:
    rs = sorted(set(ranks))
    return f"rank {rs[0]}" if len(rs) == 1 else f"ranks {compress(rs)}"


@dataclass(frozen=True, slots=True)
class Group:
    value: Hashable
    ranks: tuple[int, ...]


def group_by(values: Mapping[int, Hashable]) -> list[Group]:
    """Ranks grouped by value, the largest group first (ties: the smallest first rank)."""
    by: dict[Hashable, list[int]] = {}
    for rank, v in values.items():
        by.setdefault(v, []).append(rank)
    groups = [Group(v, tuple(sorted(rs))) for v, rs in by.items()]
    return sorted(groups, key=lambda g: (-len(g.ranks), g.ranks[0]))

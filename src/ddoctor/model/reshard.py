"""What `ddoctor reshard` produced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ReshardReport:
    """Sizes are bytes; `peak_rss` and `baseline_rss` are the worker's resident memory at its peak and
    before it read anything, so `peak_rss - baseline_rss` is the working memory resharding needed."""

    input: str
    output: str
    from_mp: int
    to_mp: int
    keys: int
    input_bytes: int
    seconds: float
    peak_rss: int
    baseline_rss: int
    largest_input_shard: int
    largest_output_shard: int

    @property
    def largest_shard(self) -> int:
        return max(self.largest_input_shard, self.largest_output_shard, 1)

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output, "from_mp": self.from_mp, "to_mp": self.to_mp,
                "keys": self.keys, "input_bytes": self.input_bytes, "seconds": self.seconds,
                "peak_rss": self.peak_rss, "baseline_rss": self.baseline_rss,
                "largest_input_shard": self.largest_input_shard, "largest_output_shard": self.largest_output_shard,
                "peak_rss_vs_largest_shard": self.peak_rss / self.largest_shard,
                "working_rss_vs_largest_shard": (self.peak_rss - self.baseline_rss) / self.largest_shard}

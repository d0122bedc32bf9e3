"""The document rank 0 of a smoke run writes and the launcher judges (torch-free; both import it).

Encoded with `ranks.protocol.write_document` and decoded, types checked, by `read_document`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    rendezvous_s: float
    load_s: float
    first_token_s: float
    tokens_per_s: float
    collective_latency_s: float
    import_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Generated:
    tokens: tuple[tuple[int, ...], ...]
    text: tuple[str, ...]
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """The unsharded single-process run the sharded one must equal."""

    tokens: tuple[tuple[int, ...], ...]
    sampled_tokens: tuple[tuple[int, ...], ...]
    max_abs_logit_diff: float
    greedy_match: bool
    sampled_match: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class HfCheck:
    """transformers' LlamaForCausalLM on the same checkpoint: skipped, failed, or its greedy tokens."""

    skipped: str | None = None
    error: str | None = None
    transformers: str | None = None
    greedy_match: bool | None = None
    tokens: tuple[tuple[int, ...], ...] = ()

    def summary(self) -> dict[str, Any]:
        """What the report shows: every field that was set, without the tokens."""
        fields = {"skipped": self.skipped, "error": self.error, "transformers": self.transformers,
                  "greedy_match": self.greedy_match}
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class SmokeResult:
    """Generation on the tiny checkpoint (or a user's, with a tokenizer), verified against a reference."""

    world_size: int
    backend: str
    device: str
    torch: str
    prompts: tuple[str, ...]
    greedy: Generated
    sampled: Generated
    lockstep: bool
    timings: Timings
    collectives_per_step: float
    shard_bytes: int
    peak_memory: tuple[int, ...]
    params: dict[str, Any]
    reference: Reference | None = None
    hf: HfCheck | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardResult:
    """One forward pass of a user's checkpoint: logits finite, ranks agreeing."""

    world_size: int
    backend: str
    device: str
    torch: str
    finite: bool
    lockstep: bool
    timings: Timings
    collectives_per_step: float
    shard_bytes: int
    peak_memory: tuple[int, ...]

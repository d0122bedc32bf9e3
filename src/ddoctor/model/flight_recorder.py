"""What a folder of flight-recorder dumps says about a hang: the values `ddoctor diagnose --fr` renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # missing | mismatch
    process_group: str
    seq: int
    text: str
    ranks: tuple[int, ...]


@dataclass
class FrReport:
    ranks: dict[int, str] = field(default_factory=dict)  # rank -> file
    problems: list[Problem] = field(default_factory=list)
    last_completed: dict[int, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ranks": {str(k): v for k, v in sorted(self.ranks.items())},
                "problems": [{"kind": p.kind, "process_group": p.process_group, "seq": p.seq, "text": p.text,
                              "ranks": list(p.ranks)} for p in self.problems],
                "last_completed": {str(k): v for k, v in sorted(self.last_completed.items())},
                "unreadable": self.unreadable}

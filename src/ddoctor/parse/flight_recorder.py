"""Flight-recorder dumps (TORCH_FR_BUFFER_SIZE / TORCH_NCCL_DUMP_ON_TIMEOUT) → which collective, on
which rank, made a job hang: the first sequence number at which ranks disagree or a rank is missing.

Dumps are pickles (or JSON from `_dump_fr_trace_json`). They are read with an unpickler that refuses
every class, so a dump from an untrusted machine cannot run code; only plain containers load. Works
for NCCL and Gloo dumps alike (torchfrtrace 2.13 crashes on Gloo dumps' empty process-group names).
"""

from __future__ import annotations

import io
import json
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a flight-recorder dump")


def load_dump(path: Path) -> Any:
    data = path.read_bytes()
    if data[:1] in (b"{", b"["):
        return json.loads(data)
    return _PlainUnpickler(io.BytesIO(data)).load()


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


def _rank_of(path: Path) -> int | None:
    m = re.search(r"(\d+)(?:\.\w+)?$", path.name)
    return int(m.group(1)) if m else None


def _describe(e: dict[str, Any]) -> str:
    return f"{e.get('profiling_name', '?')} sizes {e.get('input_sizes')} {','.join(e.get('input_dtypes') or [])}"


def analyze(folder: Path) -> FrReport:
    rep = FrReport()
    dumps: dict[int, Any] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        rank = _rank_of(path)
        if rank is None:
            continue
        try:
            dumps[rank] = load_dump(path)
            rep.ranks[rank] = path.name
        except (pickle.UnpicklingError, ValueError, EOFError, OSError, json.JSONDecodeError) as exc:
            rep.unreadable.append(f"{path.name}: {exc}")
    by_pg: dict[str, dict[int, dict[int, dict[str, Any]]]] = {}
    for rank, d in dumps.items():
        for status in (d.get("pg_status") or {}).values():
            done = status.get("last_completed_collective", -1)
            rep.last_completed[rank] = max(rep.last_completed.get(rank, -1), done)
        for e in d.get("entries") or []:
            if e.get("is_p2p"):
                continue
            pg = str((e.get("process_group") or ("?",))[-1] if isinstance(e.get("process_group"), (list, tuple))
                     else e.get("process_group"))
            by_pg.setdefault(pg, {}).setdefault(rank, {})[e["collective_seq_id"]] = e
    for pg, per_rank in by_pg.items():
        ranks = sorted(dumps)
        top = max((max(s) for s in per_rank.values() if s), default=0)
        for seq in range(1, top + 1):
            have = {r: per_rank.get(r, {}).get(seq) for r in ranks}
            present = {r: e for r, e in have.items() if e is not None}
            absent = [r for r, e in have.items() if e is None]
            if not present:
                continue
            kinds: dict[str, list[int]] = {}
            for r, e in present.items():
                kinds.setdefault(_describe(e), []).append(r)
            if len(kinds) > 1:
                detail = "; ".join(f"ranks {','.join(map(str, rs))}: {k}" for k, rs in kinds.items())
                rep.problems.append(Problem(kind="mismatch", process_group=pg, seq=seq, ranks=tuple(sorted(present)),
                                            text=f"collective #{seq} differs between ranks ({detail})"))
                break
            if absent:
                what = next(iter(kinds))
                rep.problems.append(Problem(
                    kind="missing", process_group=pg, seq=seq, ranks=tuple(absent),
                    text=f"rank{'s' if len(absent) > 1 else ''} {', '.join(map(str, absent))} never issued "
                         f"collective #{seq} ({what}) that rank{'s' if len(present) > 1 else ''} "
                         f"{', '.join(map(str, sorted(present)))} entered: the others wait for it forever"))
                break
    return rep

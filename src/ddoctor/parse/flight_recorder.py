"""Flight-recorder dumps (TORCH_FR_BUFFER_SIZE / TORCH_NCCL_DUMP_ON_TIMEOUT) → which collective, on
which rank, made a job hang: the first sequence number at which ranks disagree or a rank is missing.

Dumps are pickles (or JSON from `_dump_fr_trace_json`). They are read with an unpickler that refuses
every class, so a dump from an untrusted machine cannot run code; only plain containers load. Then
every field the analysis reads is checked (types, sizes) into `Entry` values before it is looked at,
so a malformed or hostile dump (memo-shared nests that explode when printed, absurd sequence ids,
deep nesting, a file of gigabytes) is reported unreadable and the other ranks' dumps are still
analysed. Works for NCCL and Gloo dumps alike (torchfrtrace 2.13 crashes on Gloo dumps' empty
process-group names).
"""

from __future__ import annotations

import io
import json
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from ddoctor.model.flight_recorder import FrReport, Problem
from ddoctor.ranksets import plural_ranks

MAX_DUMP_BYTES = 256 << 20  # a 20 000-entry NCCL dump is a few MB
MAX_ENTRIES = 1 << 20
MAX_TENSORS = 1024  # input tensors per collective
MAX_DIMS = 64
MAX_TEXT = 512


class DumpError(ValueError):
    """A file that is not a flight-recorder dump ddoctor can read (the reason is the message)."""


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a flight-recorder dump")


def load_dump(path: Path) -> Any:
    """The dump's plain containers, unchecked (UnpicklingError for anything that would run code)."""
    size = path.stat().st_size
    if size > MAX_DUMP_BYTES:
        raise DumpError(f"{size} bytes is larger than the {MAX_DUMP_BYTES >> 20} MiB a dump may be")
    data = path.read_bytes()
    if data[:1] in (b"{", b"["):
        return json.loads(data)
    return _PlainUnpickler(io.BytesIO(data)).load()


@dataclass(frozen=True, slots=True)
class Entry:
    """One collective of one rank, as the analysis compares it."""

    seq: int
    process_group: str
    description: str  # name, input sizes and dtypes: what must match across ranks


@dataclass(frozen=True, slots=True)
class Dump:
    entries: tuple[Entry, ...]
    last_completed: int | None


def read_dump(path: Path) -> Dump:
    """Load and check one dump; DumpError says why it cannot be used."""
    try:
        raw = load_dump(path)
    except DumpError:
        raise
    except pickle.UnpicklingError as exc:
        raise DumpError(str(exc)) from None
    except RecursionError:
        raise DumpError("nested too deeply to be a flight-recorder dump") from None
    except Exception as exc:  # hostile bytes reach the unpickler: any failure means "not a dump"
        raise DumpError(f"not a flight-recorder dump ({type(exc).__name__}: {exc})") from None
    return _check(raw)


def _check(raw: object) -> Dump:
    if not isinstance(raw, dict):
        raise DumpError(f"a dump is a mapping, not a {type(raw).__name__}")
    items = raw.get("entries") or []
    if not isinstance(items, list) or len(items) > MAX_ENTRIES:
        raise DumpError(f"`entries` is not a list of at most {MAX_ENTRIES} collectives")
    entries = tuple(e for e in (_entry(i, item) for i, item in enumerate(items)) if e is not None)
    status = raw.get("pg_status") or {}
    if not isinstance(status, dict):
        raise DumpError("`pg_status` is not a mapping")
    done = None
    for pg, st in status.items():
        if not isinstance(st, dict):
            raise DumpError(f"`pg_status[{_short(pg)}]` is not a mapping")
        last = st.get("last_completed_collective", -1)
        if not _is_int(last):
            raise DumpError(f"`pg_status[{_short(pg)}].last_completed_collective` is not an integer")
        done = last if done is None else max(done, last)
    return Dump(entries=entries, last_completed=done)


def _entry(i: int, e: object) -> Entry | None:
    """Entry `i` checked field by field; None for point-to-point operations (not compared)."""
    if not isinstance(e, dict):
        raise DumpError(f"entry {i} is not a mapping")
    if e.get("is_p2p"):
        return None
    seq = e.get("collective_seq_id")
    if not _is_int(seq) or seq < 0:
        raise DumpError(f"entry {i}: collective_seq_id is {_short(seq)}, not a sequence number")
    name = e.get("profiling_name", "?")
    if not isinstance(name, str) or len(name) > MAX_TEXT:
        raise DumpError(f"entry {i}: profiling_name is not a short string")
    sizes = e.get("input_sizes")
    if sizes is not None and not (isinstance(sizes, list) and len(sizes) <= MAX_TENSORS and all(
            isinstance(t, list) and len(t) <= MAX_DIMS and all(_is_int(d) for d in t) for t in sizes)):
        raise DumpError(f"entry {i}: input_sizes is not a list of tensor shapes")
    dtypes = e.get("input_dtypes") or []
    if not (isinstance(dtypes, list) and len(dtypes) <= MAX_TENSORS
            and all(isinstance(d, str) and len(d) <= MAX_TEXT for d in dtypes)):
        raise DumpError(f"entry {i}: input_dtypes is not a list of names")
    pg = e.get("process_group")
    if isinstance(pg, (list, tuple)):
        pg = pg[-1] if pg else "?"
    if not isinstance(pg, (str, int)) or isinstance(pg, bool) or len(str(pg)) > MAX_TEXT:
        raise DumpError(f"entry {i}: process_group is not a name")
    return Entry(seq=seq, process_group=str(pg), description=f"{name} sizes {sizes} {','.join(dtypes)}")


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _short(v: object) -> str:
    """A value from the dump, shown without walking it (a memo-shared nest can be astronomically long)."""
    return repr(v)[:40] if isinstance(v, (int, float, str, bytes, type(None))) else f"a {type(v).__name__}"


def _rank_of(path: Path) -> int | None:
    m = re.search(r"(\d+)(?:\.\w+)?$", path.name)
    return int(m.group(1)) if m else None


def analyze(folder: Path) -> FrReport:
    """The dumps in one folder, each file's rank from the number that ends its name."""
    paths: dict[int, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        rank = _rank_of(path)
        if rank is not None:
            paths.setdefault(rank, path)
    return analyze_dumps(paths)


def analyze_dumps(paths: Mapping[int, Path]) -> FrReport:
    """Dumps wherever they lie (a log tree's hosts each wrote their own), by rank."""
    rep = FrReport()
    dumps: dict[int, Dump] = {}
    for rank, path in sorted(paths.items()):
        try:
            dumps[rank] = read_dump(path)
            rep.ranks[rank] = path.name
        except (DumpError, OSError) as exc:
            rep.unreadable.append(f"{path.name}: {exc}")
    by_pg: dict[str, dict[int, dict[int, Entry]]] = {}
    for rank, d in dumps.items():
        if d.last_completed is not None:
            rep.last_completed[rank] = d.last_completed
        for e in d.entries:
            by_pg.setdefault(e.process_group, {}).setdefault(rank, {})[e.seq] = e
    for pg, per_rank in by_pg.items():
        ranks = sorted(dumps)
        # Only the ids some rank recorded: a hostile id of 10**12 costs one step, not 10**12.
        for seq in sorted({s for entries in per_rank.values() for s in entries if s >= 1}):
            have = {r: per_rank.get(r, {}).get(seq) for r in ranks}
            present = {r: e for r, e in have.items() if e is not None}
            absent = [r for r, e in have.items() if e is None]
            kinds: dict[str, list[int]] = {}
            for r, e in present.items():
                kinds.setdefault(e.description, []).append(r)
            if len(kinds) > 1:
                detail = "; ".join(f"{plural_ranks(rs)}: {k}" for k, rs in kinds.items())
                rep.problems.append(Problem(kind="mismatch", process_group=pg, seq=seq, ranks=tuple(sorted(present)),
                                            text=f"collective #{seq} differs between ranks ({detail})"))
                break
            if absent:
                what = next(iter(kinds))
                rep.problems.append(Problem(
                    kind="missing", process_group=pg, seq=seq, ranks=tuple(absent),
                    text=f"{plural_ranks(absent)} never issued collective #{seq} ({what}) that "
                         f"{plural_ranks(present)} entered: the others wait for it forever"))
                break
    return rep

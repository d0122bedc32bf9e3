"""The contract between a rank process and the launcher that watches it (torch-free; both import it).

A rank prints one event line per phase on stdout (`@@ddoctor {json}`), so the launcher can show
progress and name the rank that stopped where; rank 0 writes a result document, a frozen dataclass
encoded as JSON and decoded (with its types checked) by the launcher.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
import time
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard, TypeVar, cast

MARKER = "@@ddoctor "
EventKind = Literal["start", "phase", "done"]
_KINDS = ("start", "phase", "done")
T = TypeVar("T")


class ProtocolError(ValueError):
    """A line or document that does not follow the protocol (a different ddoctor, or a corrupt file)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RankEvent:
    """`start` (with the rank's pid and world size), `phase` (entering `phase`), or `done`."""

    event: EventKind
    rank: int
    phase: str | None = None
    world: int | None = None
    pid: int | None = None

    @property
    def stage(self) -> str:
        """Where the rank is now: the phase it entered, or `start` / `done`."""
        return self.phase or self.event

    def to_line(self) -> str:
        data = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return MARKER + json.dumps(data)

    @classmethod
    def from_line(cls, line: str) -> RankEvent | None:
        """The event on `line`, or None when the line is ordinary output (or a malformed event)."""
        if not line.startswith(MARKER):
            return None
        try:
            data = json.loads(line[len(MARKER):])
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("event") not in _KINDS:
            return None
        rank, phase, world, pid = data.get("rank"), data.get("phase"), data.get("world"), data.get("pid")
        if not _is_int(rank) or not (phase is None or isinstance(phase, str)):
            return None
        if not (world is None or _is_int(world)) or not (pid is None or _is_int(pid)):
            return None
        return cls(event=cast(EventKind, data["event"]), rank=rank, phase=phase, world=world, pid=pid)


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def emit(event: EventKind, *, rank: int, phase: str | None = None, world: int | None = None,
         pid: int | None = None) -> None:
    sys.stdout.write(RankEvent(event=event, rank=rank, phase=phase, world=world, pid=pid).to_line() + "\n")
    sys.stdout.flush()


def env_ranks() -> tuple[int, int, int]:
    """RANK/WORLD_SIZE/LOCAL_RANK from torchrun or ddoctor's launcher, else from SLURM (srun)."""
    env = os.environ
    if "RANK" not in env and "SLURM_PROCID" in env:
        env["RANK"], env["WORLD_SIZE"] = env["SLURM_PROCID"], env.get("SLURM_NTASKS", "1")
        env["LOCAL_RANK"] = env.get("SLURM_LOCALID", "0")
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def inject_fault(spec: str | None, rank: int, phase: str, *, default_phase: str = "load") -> None:
    """Test hook (--fault KIND@RANK[:PHASE]): make one rank fail the way real ranks do."""
    if not spec:
        return
    kind, _, rest = spec.partition("@")
    target, _, at = rest.partition(":")
    if int(target) != rank or (at or default_phase) != phase:
        return
    if kind == "raise":
        raise RuntimeError(f"injected failure in rank {rank} during {phase}")
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "hang":
        time.sleep(3600)


def watch_parent(interval: float = 0.5) -> None:
    """Die with the launcher: a rank whose parent is gone (the launcher was killed, even with -9)
    kills itself. The parent-death signal covers only direct children; torchrun's workers are
    grandchildren, and macOS has no such signal."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="ddoctor-parent-watchdog", daemon=True).start()


# -- result documents ---------------------------------------------------------------------------------


def write_document(path: Path, doc: object) -> None:
    """Write a result dataclass atomically: a reader never sees half a document."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(cast(Any, doc))))
    os.replace(tmp, path)


def read_document(path: Path, cls: type[T]) -> T | None:
    """The document at `path` as `cls`, or None when no rank wrote one; ProtocolError when it is malformed."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"{path.name} is not JSON: {exc}") from None
    return decode(cls, data)


def decode(cls: type[T], data: object) -> T:
    """Build the dataclass `cls` from decoded JSON, checking every field against its annotation."""
    return cast(T, _decode(cls, data, cls.__name__))


def _decode(tp: Any, value: object, where: str) -> object:
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return value
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(tp):
            try:
                return _decode(arm, value, where)
            except ProtocolError:
                continue
        raise ProtocolError(f"{where}: {value!r:.80} is none of {tp}")
    if tp is type(None):
        if value is not None:
            raise ProtocolError(f"{where}: expected null")
        return None
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ProtocolError(f"{where}: {value!r:.80} is not one of {typing.get_args(tp)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ProtocolError(f"{where}: expected a boolean")
        return value
    if tp is int:
        if not _is_int(value):
            raise ProtocolError(f"{where}: expected an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError(f"{where}: expected a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ProtocolError(f"{where}: expected a string")
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise ProtocolError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ProtocolError(f"{where}: expected {len(args)} items")
        return tuple(_decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        if not isinstance(value, dict) or key_t is not str:
            raise ProtocolError(f"{where}: expected an object")
        return {k: _decode(val_t, v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ProtocolError(f"{where}: expected an object")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = _decode(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"{where}: {f.name} is missing")
        return tp(**kwargs)
    raise ProtocolError(f"{where}: cannot decode {tp}")

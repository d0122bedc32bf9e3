"""Parsed log values: tracebacks, torchrun rank failures, and evidence lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    filename: str
    lineno: int | None
    function: str | None
    line: str | None = None

    @property
    def is_library(self) -> bool:
        """Installed code (site-packages, the stdlib, torch itself) rather than the user's own."""
        f = self.filename.replace("\\", "/")
        return any(s in f for s in ("site-packages/", "dist-packages/", "/lib/python", "<frozen", "/torch/",
                                    "/usr/lib/", "<string>")) or f.startswith("<")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionBlock:
    """One exception in a chain. `link` is its relation to the block printed before it."""

    type_name: str
    message: str
    frames: tuple[Frame, ...] = ()
    link: str = "root"  # root | cause ("direct cause") | context ("during handling") | group (a sub-exception)
    lineno: int = 0  # where the exception line is in the input

    @property
    def short_type(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Traceback:
    blocks: tuple[ExceptionBlock, ...]
    rank: int | None
    start_line: int
    end_line: int

    @property
    def final(self) -> ExceptionBlock:
        return self.blocks[-1]

    @property
    def user_frame(self) -> Frame | None:
        """The innermost frame of the user's own code in the final exception (Sentry's in-app rule)."""
        for block in reversed(self.blocks):
            for fr in reversed(block.frames):
                if not fr.is_library:
                    return fr
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RankFailure:
    """A rank (or process) that exited non-zero, as a launcher reported it: torchrun's summary and agent
    lines, DeepSpeed, mpirun, srun, bash, faulthandler, the kernel (see parse/exits.py)."""

    rank: int | None
    local_rank: int | None
    exitcode: int | None
    signal: str | None
    host: str | None = None
    pid: int | None = None
    error_file: str | None = None
    detail: str | None = None
    root_cause: bool = False
    launcher: str = "torchrun"
    lineno: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    lineno: int  # numbered across all inputs of one run, so evidence stays unique
    rank: int | None
    text: str
    source: str | None = None  # the input it came from, when there were several
    source_line: int | None = None  # the line number inside that input

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"line": self.lineno, "rank": self.rank, "text": self.text}
        if self.source is not None:
            d.update(source=self.source, source_line=self.source_line)
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class LogOrigin:
    """What the log tells about the machine it came from (None: it does not say)."""

    system: str | None  # Darwin | Windows | Linux | Darwin-or-Windows
    clue: str | None  # why we think so, in words
    torch_version: str | None = None
    torch_cuda: str | None = None
    driver_version: str | None = None
    gpus: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"system": self.system, "clue": self.clue, "torch": self.torch_version, "torch_cuda": self.torch_cuda,
                "driver": self.driver_version, "gpus": list(self.gpus)}

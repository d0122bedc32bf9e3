"""What a probe concludes about the host, with the evidence and the exact fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from ddoctor.model.status import Status

Evidence = Mapping[str, "str | int | float | bool | None"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Remediation:
    """An imperative sentence plus copy-pasteable commands filled with this host's values.

    Commands are kept apart from the summary so that renderers can show them as a block and JSON
    consumers can run them.
    """

    summary: str
    commands: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    fix_codes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "commands": list(self.commands),
            "links": list(self.links),
            "fix_codes": list(self.fix_codes),
        }


class Level(str, Enum):
    """How a message beside a verdict reads (Flutter's ValidationMessage): a fact, advice, or a problem."""

    INFO = "info"
    HINT = "hint"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    level: Level
    text: str
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level.value, "text": self.text, "url": self.url}


def info(text: str, url: str | None = None) -> Message:
    return Message(level=Level.INFO, text=text, url=url)


def hint(text: str, url: str | None = None) -> Message:
    return Message(level=Level.HINT, text=text, url=url)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """Why a probe could not reach a verdict (crash or timeout)."""

    type_name: str
    message: str
    traceback_text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "message": self.message, "traceback": self.traceback_text}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One check's verdict.

    `summary` states the observed fact in one line with real values; `details` add further facts
    (shown with -v); `messages` carry a level, so advice (a hint) is told apart from a problem (an
    error), and a passing check can give advice without reading as a failure. `remediation` is
    required for warn/fail so that no problem is reported without a way out.
    """

    id: str
    title: str
    group: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    messages: tuple[Message, ...] = ()
    evidence: Evidence = field(default_factory=lambda: MappingProxyType({}))
    remediation: Remediation | None = None
    affects: tuple[str, ...] = ()
    duration_s: float = 0.0
    error: ErrorInfo | None = None

    def __post_init__(self) -> None:
        if self.status in (Status.WARN, Status.FAIL) and self.remediation is None:
            raise ValueError(f"finding {self.id} is {self.status.value} but has no remediation")
        if self.status is Status.PASS and self.remediation is not None:
            raise ValueError(f"finding {self.id} passes but carries a remediation")
        if self.status in (Status.PASS, Status.SKIP) and any(m.level is Level.ERROR for m in self.messages):
            raise ValueError(f"finding {self.id} is {self.status.value} but carries an error message")
        if not isinstance(self.evidence, MappingProxyType):
            object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))

    @property
    def all_messages(self) -> tuple[Message, ...]:
        """`details` as information, then the levelled messages: what -v and JSON show."""
        return tuple(Message(level=Level.INFO, text=d) for d in self.details) + self.messages

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "status": self.status.value,
            "summary": self.summary,
            "details": list(self.details),
            "messages": [m.to_dict() for m in self.all_messages],
            "evidence": dict(self.evidence),
            "remediation": self.remediation.to_dict() if self.remediation else None,
            "affects": list(self.affects),
            "duration_s": round(self.duration_s, 4),
            "error": self.error.to_dict() if self.error else None,
        }

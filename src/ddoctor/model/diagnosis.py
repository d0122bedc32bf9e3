"""Knowledge-base entries (signatures) and what diagnose concludes from a log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ddoctor.model.logs import Evidence, Frame, LogOrigin

if TYPE_CHECKING:  # only for annotations: a diagnosis without host facts never loads them
    from ddoctor.model.host import HostFacts


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One way a signature shows up. Every field that is set must hold.

    Exception rules: `exception` names exception types (short names); `message` is searched in the
    exception message; `frame` in `file:function` of the innermost frames of that exception (where
    the library raised), or with `innermost` in the innermost frame alone (the code that raised or made
    the failing call); `source` in the source lines printed under those frames. Frames and source
    lines are code, never translated, so they still carry the diagnosis when the message was
    machine-translated or mis-encoded. `line` is searched in any printed line. Exit rules:
    `exitcode` / `signal` match rank exits reported by any launcher (torchrun, DeepSpeed, mpirun,
    srun, bash, `torch.distributed.launch`...). `warning` marks a line that counts only when the
    log failed (a warning printed before the crash). `stalled` marks a line a program repeats while
    it waits (a store barrier): it counts as a failure when the input ends while one rank still
    repeats it (the job hung there), and otherwise as a warning; `until` is the line that ends
    such a wait (the barrier completed).
    `symptom` marks a rule whose match is a consequence of another failure (a peer crashed, a
    collective timed out). `explains_only` marks a warning that counts only as the reason for a
    later failure whose signature names this one in `explained_by` and whose own evidence is
    weaker than the warning's weight (torch.distributed.launch's notice that it passes
    `--local-rank`, before a script's argparse usage cut from its error line): printed by every run
    of that launcher, it says nothing about other failures, nor about one whose lines say more.
    """

    exception: tuple[str, ...] = ()
    message: str | None = None
    frame: str | None = None
    source: str | None = None
    innermost: bool = False
    line: str | None = None
    exitcode: tuple[int, ...] = ()
    signal: tuple[str, ...] = ()
    warning: bool = False
    stalled: bool = False
    until: str | None = None
    # conditions over the values the regex captured (`worker_count > world_size`), see kb/conditions.py
    when: tuple[str, ...] = ()
    weight: float = 1.0
    symptom: bool = False
    explains_only: bool = False

    @property
    def kind(self) -> str:
        if self.line is not None:
            return "line"
        if self.exitcode or self.signal:
            return "exit"
        return "exception"


@dataclass(frozen=True, slots=True, kw_only=True)
class HostAdvice:
    """Host tailoring as data: when every condition holds for the host the log came from, add a note
    and commands. Conditions are `fact op literal` (see kb/conditions.py); `{fact}` placeholders in
    the note and commands are filled from the same facts."""

    when: tuple[str, ...] = ()
    note: str | None = None
    commands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    kind: str  # match | no_match
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    name: str
    code: str
    title: str
    category: str
    priority: int  # how specific a root cause this is (higher wins between two matches)
    rules: tuple[Rule, ...]
    what: str
    why: str
    fix_summary: str
    fix_steps: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    snippet: str | None = None
    fix_codes: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    symptom: bool = False
    # user-code: what an unexplained exception becomes; unknown: what an unexplained failed log becomes
    role: str = "cause"
    # causes that explain this one when both are present (an NCCL error caused by a full /dev/shm)
    explained_by: tuple[str, ...] = ()
    # exception types that only report that a child failed (the child's own error is the story)
    wrappers: tuple[str, ...] = ()
    advice: tuple[HostAdvice, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "code": self.code, "title": self.title, "category": self.category,
                "priority": self.priority, "symptom": self.symptom, "what": self.what, "why": self.why,
                "remediation": {"summary": self.fix_summary, "steps": list(self.fix_steps),
                                "commands": list(self.commands), "snippet": self.snippet,
                                "fix_codes": list(self.fix_codes)},
                "references": list(self.references)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    name: str
    code: str
    title: str
    score: float  # 0..1 confidence that this is a cause present in the log
    symptom: bool
    evidence: tuple[Evidence, ...]
    occurrences: int
    ranks: tuple[int, ...]
    what: str
    why: str
    fix_summary: str
    fix_steps: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    snippet: str | None = None
    fix_codes: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    user_frame: Frame | None = None
    host_notes: tuple[str, ...] = field(default_factory=tuple)
    explains: tuple[str, ...] = ()  # names of the diagnoses this one is the cause of

    def to_dict(self) -> dict[str, Any]:
        uf = self.user_frame
        return {
            "name": self.name, "code": self.code, "title": self.title, "score": round(self.score, 3),
            "symptom": self.symptom, "occurrences": self.occurrences, "ranks": list(self.ranks),
            "evidence": {"lines": [e.to_dict() for e in self.evidence]},
            "explanation": {"what": self.what, "why": self.why},
            "remediation": {"summary": self.fix_summary, "steps": list(self.fix_steps),
                            "commands": list(self.commands), "snippet": self.snippet,
                            "fix_codes": list(self.fix_codes), "host_notes": list(self.host_notes)},
            "user_frame": None if uf is None else {"file": uf.filename, "line": uf.lineno, "function": uf.function},
            "references": list(self.references),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnoseHost:
    """The host the advice was tailored to (JSON `host`), so a reader knows which machine it fits."""

    system: str
    machine: str
    torch: str | None
    nvidia_gpus: int
    driver: str | None

    @classmethod
    def of(cls, facts: HostFacts | None) -> DiagnoseHost | None:
        """The block for these facts (None: the advice was not tailored)."""
        if facts is None:
            return None
        return cls(system=facts.system, machine=facts.machine, torch=facts.torch_version,
                   nvidia_gpus=facts.nvidia_gpus, driver=facts.driver_version)

    def to_dict(self) -> dict[str, Any]:
        return {"system": self.system, "machine": self.machine, "torch": self.torch,
                "nvidia_gpus": self.nvidia_gpus, "driver": self.driver}


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnoseResult:
    """Everything one diagnose run concluded, ranked best first; `host` (the machine the advice was
    tailored to) is None when not tailored."""

    diagnoses: tuple[Diagnosis, ...]
    bytes_read: int
    lines_parsed: int
    tracebacks: int
    sources: tuple[str, ...]
    origin: LogOrigin | None = None  # the machine the log says it came from
    notices: tuple[str, ...] = ()  # what the reader had to leave out (a gzip expansion cap, ...)
    host: DiagnoseHost | None = None

    @property
    def root(self) -> Diagnosis | None:
        return self.diagnoses[0] if self.diagnoses else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureList:
    """The knowledge base as `ddoctor signatures` lists it."""

    signatures: tuple[Signature, ...]

"""What `ddoctor run` reports about a job it ran."""

from __future__ import annotations

from dataclasses import dataclass

from ddoctor.model.diagnosis import DiagnoseResult
from ddoctor.model.hang import KillCause
from ddoctor.model.report import Action


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """The job's command and exit code (128+N for a signal), and the diagnosis of its output."""

    command: tuple[str, ...]
    exit_code: int
    diagnosis: DiagnoseResult
    contract: tuple[Action, int] | None = None  # --exit-codes slurm|kubeflow: the action and that contract's code
    sigkill: KillCause | None = None  # who sent the SIGKILL that ended the job or a rank (the kernel's evidence)

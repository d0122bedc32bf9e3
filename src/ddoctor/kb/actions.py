"""A failed job's root cause → what a scheduler should do (the `Action` of `ddoctor check`), so
`ddoctor run --exit-codes slurm|kubeflow` tells a faulty node from a transient failure from a job
that will fail the same way wherever it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from ddoctor.model.diagnosis import Diagnosis
from ddoctor.model.report import Action

# The node is at fault: its GPU, its driver, its disk.
DRAIN = frozenset({"gpu-hardware-error", "driver-too-old", "no-gpu-visible", "disk-full"})
# Nothing is known to be wrong with the job: a peer that was slow or died, the network, a port or
# memory another job held, a preemption. Running it again (elsewhere) can succeed.
RETRY = frozenset({"nccl-timeout", "nccl-watchdog-hang", "nccl-network-error", "nccl-internal-error",
                   "gloo-timeout", "gloo-connect", "rendezvous-timeout", "rendezvous-unreachable",
                   "store-barrier-timeout", "port-in-use", "host-oom-killed", "shm-exhausted", "job-interrupted",
                   "unknown"})


def failure_action(diagnoses: Sequence[Diagnosis]) -> Action:
    """By the root cause (the first diagnosis); a failure nothing explains is retried. Everything else
    (the job's code, its configuration, its checkpoint, its build of torch) stops: retrying fails the same way."""
    if not diagnoses:
        return Action.RETRY
    name = diagnoses[0].name
    return Action.DRAIN if name in DRAIN else Action.RETRY if name in RETRY else Action.STOP

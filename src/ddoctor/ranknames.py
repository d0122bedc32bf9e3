"""Which rank a name says it is: Kubernetes pods of a training job, flight-recorder dump files.

Kubeflow's PyTorchJob names pods `<job>-master-0` and `<job>-worker-<i>` and gives the master RANK 0
and worker i RANK i + 1 (without a master, worker i is rank i); JobSet and Trainer v2 name them
`<job>-<replicated-job>-<job-index>-<pod-index>-<suffix>` (`<job>-node-0-3-x7k2p`: node 3). Pods
that run torchrun with several processes each stand for a node, so the number is the node's rank
unless the pod's lines carry their own `[rankN]:` prefix. Pure (no I/O): read by parse/ and host/.
"""

from __future__ import annotations

import re

from ddoctor.lazyre import lazy_re

_POD = lazy_re(r"(?:^|[-_])(?P<role>master|worker|node|trainer|rank|launcher)-(?:\d{1,6}-)?(?P<index>\d{1,6})"
               r"(?:-[a-z0-9]{5})?$", re.IGNORECASE)
_FR_RANK = lazy_re(r"rank[-_]?(?P<rank>\d{1,6})", re.IGNORECASE)
_FR_TRAILING = lazy_re(r"(?P<rank>\d{1,6})(?:\.\w{1,8})?$")


def pod_role(pod: str) -> tuple[str, int] | None:
    """('worker', 3) for `job-worker-3`, ('node', 3) for `job-node-0-3-x7k2p`; None for other names."""
    m = _POD.search(pod)
    return (m.group("role").lower(), int(m.group("index"))) if m else None


def pod_rank(pod: str, *, has_master: bool = False) -> int | None:
    """The rank a pod's name gives it; `has_master`: the job has a master pod (PyTorchJob numbering)."""
    role = pod_role(pod)
    if role is None:
        return None
    kind, index = role
    return index + 1 if kind == "worker" and has_master else index


def dump_rank(name: str) -> int | None:
    """The rank in a flight-recorder dump's file name (`nccl_trace_rank_3`, `node7_trace_rank_3.pkl`)."""
    m = _FR_RANK.search(name) or _FR_TRAILING.search(name)
    return int(m.group("rank")) if m else None

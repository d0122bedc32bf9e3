"""Launcher environment and rendezvous: the variables env:// reads, the port, the address.

Launchers describe a job in their own variables: torchrun (RANK, LOCAL_WORLD_SIZE, GROUP_WORLD_SIZE),
Slurm (SLURM_*), Kubeflow PyTorchJob and Trainer/JobSet (PET_*, a master service name), DeepSpeed
(CROSS_SIZE, LOCAL_SIZE) and MPI (OMPI_COMM_WORLD_*, PMI_*). When several describe the same job they
must agree, above all on WORLD_SIZE = nodes × processes per node.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ddoctor import redact
from ddoctor.model.finding import Remediation
from ddoctor.probes import claims
from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, skip, warn
from ddoctor.ranknames import pod_role

TORCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
REQUIRED_ENV_INIT = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
DEFAULT_PORT = 29500

# Variables each launcher sets; the first ones name it.
LAUNCHER_VARS = {
    "torchrun": ("TORCHELASTIC_RUN_ID", "GROUP_RANK", "GROUP_WORLD_SIZE", "ROLE_WORLD_SIZE"),
    "slurm": ("SLURM_JOB_ID", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_JOB_NUM_NODES",
              "SLURM_NNODES", "SLURM_NTASKS_PER_NODE", "SLURM_NODEID", "SLURM_STEP_NUM_TASKS", "SLURM_GPUS_ON_NODE"),
    "kubeflow": ("PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR", "PET_MASTER_PORT"),
    "deepspeed": ("CROSS_RANK", "CROSS_SIZE", "LOCAL_SIZE"),
    "mpi": ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE",
            "PMI_RANK", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_RANK",
            "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_SIZE"),
}
# Counts that must be integers wherever they are set (PET_NNODES may be a `min:max` range, PET_NPROC_PER_NODE
# may be `auto`, `gpu` or `cpu`: both are read by torchrun, which accepts those forms).
INT_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE", "SLURM_PROCID",
            "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_JOB_NUM_NODES", "SLURM_NNODES", "SLURM_NODEID", "PET_NODE_RANK",
            "CROSS_RANK", "CROSS_SIZE", "LOCAL_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
            "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID",
            "MPI_LOCALNRANKS", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_LOCAL_RANK",
            "MV2_COMM_WORLD_LOCAL_SIZE", "JOB_COMPLETION_INDEX")
MPI_WORLD = (("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"),
             ("PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID"), ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK",
                                                          "MV2_COMM_WORLD_LOCAL_RANK"))
# Open MPI, MPICH/Intel MPI (Hydra) and MVAPICH: the processes on this node.
MPI_LOCAL_SIZE = {"OMPI_COMM_WORLD_SIZE": "OMPI_COMM_WORLD_LOCAL_SIZE", "PMI_SIZE": "MPI_LOCALNRANKS",
                  "MV2_COMM_WORLD_SIZE": "MV2_COMM_WORLD_LOCAL_SIZE"}


def _int(env, key):
    v = env.get(key)
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return "bad"


def in_launched_job(env) -> bool:
    return "TORCHELASTIC_RUN_ID" in env or ("RANK" in env and "WORLD_SIZE" in env)


def launchers(env) -> tuple[str, ...]:
    return tuple(name for name, keys in LAUNCHER_VARS.items() if any(k in env for k in keys))


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    summary: str
    remedy: Remediation
    fatal: bool = True  # fail, else warn


def _slurm_nodes(env) -> int | None:
    for key in ("SLURM_JOB_NUM_NODES", "SLURM_NNODES"):
        n = _int(env, key)
        if isinstance(n, int):
            return n
    return None


def _world_problems(env) -> list[Problem]:
    """WORLD_SIZE against every launcher's nodes × processes, and ranks against their launcher's ranks."""
    out: list[Problem] = []
    world, rank = _int(env, "WORLD_SIZE"), _int(env, "RANK")
    lws, lrank = _int(env, "LOCAL_WORLD_SIZE"), _int(env, "LOCAL_RANK")
    torchrun = "TORCHELASTIC_RUN_ID" in env
    gws = _int(env, "GROUP_WORLD_SIZE")
    if torchrun and isinstance(world, int) and isinstance(gws, int) and isinstance(lws, int) and world != gws * lws:
        out.append(Problem(summary=f"WORLD_SIZE={world} but torchrun's GROUP_WORLD_SIZE={gws} nodes × "
                                   f"LOCAL_WORLD_SIZE={lws} = {gws * lws}",
                           remedy=fix("Let torchrun set WORLD_SIZE: do not export it around torchrun.",
                                      "unset WORLD_SIZE RANK LOCAL_RANK  # before torchrun")))
    nodes = _slurm_nodes(env)
    ntasks = _int(env, "SLURM_NTASKS")
    per_node = _int(env, "SLURM_NTASKS_PER_NODE")
    if isinstance(nodes, int) and isinstance(per_node, int) and isinstance(ntasks, int) and ntasks != nodes * per_node:
        out.append(Problem(summary=f"SLURM_NTASKS={ntasks} but SLURM_JOB_NUM_NODES={nodes} × "
                                   f"SLURM_NTASKS_PER_NODE={per_node} = {nodes * per_node}",
                           remedy=fix("Request tasks per node, not a total, so every node runs the same number of "
                                      "ranks.", f"sbatch --nodes={nodes} --ntasks-per-node={per_node} ...")))
    if torchrun and isinstance(nodes, int) and isinstance(world, int) and isinstance(lws, int) and nodes > 1 \
            and world != nodes * lws:
        out.append(Problem(summary=f"WORLD_SIZE={world} but the Slurm allocation has {nodes} nodes × "
                                   f"LOCAL_WORLD_SIZE={lws} = {nodes * lws}: torchrun's --nnodes differs from the "
                                   "allocation", remedy=fix("Start one torchrun per allocated node.",
                                                            "srun --ntasks-per-node=1 torchrun --nnodes "
                                                            "$SLURM_JOB_NUM_NODES --nproc_per_node N ..."),
                           fatal=False))
    node_id = _int(env, "SLURM_NODEID")
    if isinstance(nodes, int) and isinstance(node_id, int) and not 0 <= node_id < nodes:
        out.append(Problem(summary=f"SLURM_NODEID={node_id} is outside 0..SLURM_JOB_NUM_NODES-1 ({nodes})",
                           remedy=fix("Do not copy Slurm's variables between jobs or steps: run inside the "
                                      "allocation (srun), which sets them.", "env | grep ^SLURM_  # inside srun")))
    localid = _int(env, "SLURM_LOCALID")
    if isinstance(per_node, int) and isinstance(localid, int) and not 0 <= localid < per_node:
        out.append(Problem(summary=f"SLURM_LOCALID={localid} is outside 0..SLURM_NTASKS_PER_NODE-1 ({per_node})",
                           remedy=fix("Do not copy Slurm's variables between jobs or steps: run inside the "
                                      "allocation (srun), which sets them.", "env | grep ^SLURM_  # inside srun")))
    procid = _int(env, "SLURM_PROCID")
    if not torchrun and isinstance(procid, int) and isinstance(ntasks, int) and ntasks > 1:
        if isinstance(world, int) and world != ntasks:
            out.append(Problem(summary=f"WORLD_SIZE={world} but srun started SLURM_NTASKS={ntasks} ranks",
                               remedy=fix("Map the ranks from Slurm's variables.", _SLURM_MAP)))
        if isinstance(rank, int) and rank != procid:
            out.append(Problem(summary=f"RANK={rank} but this task is SLURM_PROCID={procid}",
                               remedy=fix("Map the ranks from Slurm's variables.", _SLURM_MAP)))
        localid = _int(env, "SLURM_LOCALID")
        if isinstance(lrank, int) and isinstance(localid, int) and lrank != localid:
            out.append(Problem(summary=f"LOCAL_RANK={lrank} but this task is SLURM_LOCALID={localid}",
                               remedy=fix("Map the ranks from Slurm's variables.", _SLURM_MAP)))
    pet_nodes, pet_rank = claims.max_nodes(env.get("PET_NNODES")), _int(env, "PET_NODE_RANK")
    pet_nproc = _int(env, "PET_NPROC_PER_NODE")
    if isinstance(pet_nodes, int) and isinstance(pet_rank, int) and not 0 <= pet_rank < pet_nodes:
        out.append(Problem(summary=f"PET_NODE_RANK={pet_rank} is outside 0..PET_NNODES-1 ({pet_nodes})",
                           remedy=fix("Let the Kubeflow controller set the PET_* variables; do not override them "
                                      "in the container spec.", "kubectl get pod $HOSTNAME -o yaml | grep -A1 PET_")))
    if isinstance(pet_nodes, int) and isinstance(pet_nproc, int) and isinstance(world, int):
        if torchrun and world != pet_nodes * pet_nproc:
            out.append(Problem(summary=f"WORLD_SIZE={world} but PET_NNODES={pet_nodes} × PET_NPROC_PER_NODE="
                                       f"{pet_nproc} = {pet_nodes * pet_nproc}",
                               remedy=fix("Start the container command with plain torchrun so it reads PET_*.",
                                          "torchrun train.py  # torchrun reads PET_NNODES, PET_NPROC_PER_NODE, ...")))
        if not torchrun and pet_nproc > 1 and world == pet_nodes:
            out.append(Problem(summary=f"PET_NPROC_PER_NODE={pet_nproc} but this process was not started by "
                                       f"torchrun: WORLD_SIZE={world} counts pods, so each pod runs one rank",
                               remedy=fix("Start the container command with torchrun, which starts "
                                          "PET_NPROC_PER_NODE ranks per pod and sets WORLD_SIZE = nodes × procs.",
                                          "torchrun train.py  # torchrun reads PET_NNODES, PET_NPROC_PER_NODE, ..."),
                               fatal=False))
    if not torchrun and isinstance(pet_rank, int) and isinstance(rank, int) and pet_nproc in (None, 1) \
            and rank != pet_rank:
        out.append(Problem(summary=f"RANK={rank} but this pod is PET_NODE_RANK={pet_rank} (one rank per pod)",
                           remedy=fix("Let the Kubeflow controller set RANK and PET_NODE_RANK; do not override "
                                      "them in the container spec.", "kubectl get pod $HOSTNAME -o yaml | grep -B1 "
                                      "-A1 -E 'RANK|PET_'")))
    index = _int(env, "JOB_COMPLETION_INDEX")
    if isinstance(index, int) and isinstance(pet_rank, int) and index != pet_rank:
        out.append(Problem(summary=f"PET_NODE_RANK={pet_rank} but this pod is JOB_COMPLETION_INDEX={index} of its "
                                   "JobSet: the node rank the controller gave is not the pod's index",
                           remedy=fix("Take PET_NODE_RANK from the pod's completion index (Trainer and JobSet do), "
                                      "not from a value written into the spec.",
                                      "kubectl get pod $HOSTNAME -o jsonpath="
                                      "'{.metadata.annotations.batch\\.kubernetes\\.io/job-completion-index}'"),
                           fatal=False))
    out += _deepspeed_problems(env, world, lrank, lws)
    cross, local_size = _int(env, "CROSS_SIZE"), _int(env, "LOCAL_SIZE")
    if all(isinstance(v, int) for v in (cross, local_size, world)) and world != cross * local_size:
        out.append(Problem(summary=f"WORLD_SIZE={world} but DeepSpeed's CROSS_SIZE={cross} nodes × LOCAL_SIZE="
                                   f"{local_size} = {cross * local_size} (nodes with different GPU counts?)",
                           remedy=fix("Give every host in the hostfile the same slots, or check the hostfile.",
                                      "cat /job/hostfile  # host slots=N, the same N on every line"), fatal=False))
    for size_key, rank_key, _ in MPI_WORLD:
        size, mrank = _int(env, size_key), _int(env, rank_key)
        if isinstance(size, int) and isinstance(world, int) and size != world:
            out.append(Problem(summary=f"WORLD_SIZE={world} but MPI started {size_key}={size} ranks",
                               remedy=fix("Map the ranks from MPI's variables.", _mpi_map(size_key))))
        if isinstance(mrank, int) and isinstance(rank, int) and mrank != rank:
            out.append(Problem(summary=f"RANK={rank} but this process is {rank_key}={mrank}",
                               remedy=fix("Map the ranks from MPI's variables.", _mpi_map(size_key))))
        out += _mpi_local_problems(env, size_key, lrank, lws)
    return out


def _deepspeed_problems(env, world, lrank, lws) -> list[Problem]:
    """DeepSpeed's launcher: CROSS_RANK is the node among CROSS_SIZE, LOCAL_SIZE the ranks on it."""
    out: list[Problem] = []
    cross, cross_rank, local_size = _int(env, "CROSS_SIZE"), _int(env, "CROSS_RANK"), _int(env, "LOCAL_SIZE")
    remedy = fix("Let the DeepSpeed launcher set its variables, and give every host the same slots.",
                 "cat /job/hostfile  # host slots=N, the same N on every line")
    if isinstance(cross, int) and isinstance(cross_rank, int) and not 0 <= cross_rank < cross:
        out.append(Problem(summary=f"CROSS_RANK={cross_rank} is outside 0..CROSS_SIZE-1 ({cross})", remedy=remedy))
    if isinstance(local_size, int) and isinstance(lrank, int) and not 0 <= lrank < local_size:
        out.append(Problem(summary=f"LOCAL_RANK={lrank} is outside 0..LOCAL_SIZE-1 ({local_size})", remedy=remedy))
    if isinstance(local_size, int) and isinstance(lws, int) and local_size != lws:
        out.append(Problem(summary=f"LOCAL_WORLD_SIZE={lws} but DeepSpeed's LOCAL_SIZE={local_size}", remedy=remedy))
    return out


def _mpi_local_problems(env, size_key: str, lrank, lws) -> list[Problem]:
    """This node's ranks as MPI counts them against LOCAL_RANK / LOCAL_WORLD_SIZE, and ranks against the size."""
    out: list[Problem] = []
    _, rank_key, local_key = next(w for w in MPI_WORLD if w[0] == size_key)
    size, mrank, mlocal = _int(env, size_key), _int(env, rank_key), _int(env, local_key)
    nlocal = _int(env, MPI_LOCAL_SIZE[size_key])
    remedy = fix("Map the ranks from MPI's variables.", _mpi_map(size_key))
    if isinstance(size, int) and isinstance(mrank, int) and not 0 <= mrank < size:
        out.append(Problem(summary=f"{rank_key}={mrank} is outside 0..{size_key}-1 ({size})", remedy=remedy))
    if isinstance(mlocal, int) and isinstance(lrank, int) and mlocal != lrank:
        out.append(Problem(summary=f"LOCAL_RANK={lrank} but this process is {local_key}={mlocal}: two ranks may "
                                   "share a GPU", remedy=remedy))
    if isinstance(nlocal, int) and isinstance(lws, int) and nlocal != lws:
        out.append(Problem(summary=f"LOCAL_WORLD_SIZE={lws} but MPI started {MPI_LOCAL_SIZE[size_key]}={nlocal} "
                                   "ranks on this node", remedy=remedy))
    return out


_SLURM_MAP = "export RANK=$SLURM_PROCID WORLD_SIZE=$SLURM_NTASKS LOCAL_RANK=$SLURM_LOCALID"


def _mpi_map(size_key: str) -> str:
    for size, rank, local in MPI_WORLD:
        if size == size_key:
            return f"export RANK=${rank} WORLD_SIZE=${size} LOCAL_RANK=${local}"
    return _SLURM_MAP


def _mapping_hints(env, names) -> tuple[str, ...]:
    """How to get env:// variables from a launcher that does not set them (shown, not judged)."""
    hints = []
    if "RANK" not in env and "slurm" in names and "SLURM_PROCID" in env:
        hints.append(f"for srun-launched ranks without torchrun: {_SLURM_MAP}")
    for size, _, _ in MPI_WORLD:
        if "RANK" not in env and size in env:
            hints.append(f"for MPI-launched ranks: {_mpi_map(size)}")
    if "kubeflow" in names and "TORCHELASTIC_RUN_ID" not in env:
        hints.append("under Kubeflow, start the container with torchrun: it reads PET_NNODES, PET_NPROC_PER_NODE, "
                     "PET_NODE_RANK and PET_MASTER_ADDR/PORT")
    return tuple(hints)


def check_launcher_env(ctx: ProbeContext) -> Outcome:
    env = ctx.env
    names = launchers(env)
    keys = [*TORCH_VARS, *(k for n in names for k in LAUNCHER_VARS[n])]
    ev = {k: redact.redact_env_value(k, env[k]) for k in dict.fromkeys(keys) if k in env}
    ev["launchers"] = ",".join(names) or None
    present = {k: ev[k] for k in TORCH_VARS if k in env}
    bad = [k for k in INT_VARS if k in env and _int(env, k) == "bad"]
    if bad:
        return fail(f"{', '.join(f'{k}={ev[k]!r}' for k in bad)} is not an integer", fix(
            "Set integer values, or unset them and let the launcher set them.", f"unset {' '.join(bad)}"),
            evidence=ev)
    missing = [k for k in REQUIRED_ENV_INIT if k not in env]
    if missing and any(k in env for k in ("RANK", "WORLD_SIZE")):
        port = ctx.host.free_port()
        sets = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        return fail(f"env:// rendezvous needs {', '.join(REQUIRED_ENV_INIT)}; missing {', '.join(missing)} "
                    "(init_process_group raises 'environment variable ... expected, but not set')",
                    fix("Launch with torchrun, or export the missing variables.",
                        "torchrun --standalone --nproc_per_node N script.py",
                        "export " + " ".join(f"{k}={sets[k]}" for k in missing)), evidence=ev)
    rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
    if rank is not None and world is not None and not (0 <= rank < world):
        return fail(f"RANK={rank} is outside 0..WORLD_SIZE-1 (WORLD_SIZE={world})", fix(
            "Give each process a distinct RANK below WORLD_SIZE (torchrun does this).",
            "torchrun --nnodes N --nproc_per_node M ..."), evidence=ev)
    lr, lws = _int(env, "LOCAL_RANK"), _int(env, "LOCAL_WORLD_SIZE")
    if lr is not None and lws is not None and not (0 <= lr < lws):
        return fail(f"LOCAL_RANK={lr} is outside 0..LOCAL_WORLD_SIZE-1 ({lws})", fix(
            "Let torchrun set LOCAL_RANK, or fix the per-node rank count.", "unset LOCAL_RANK LOCAL_WORLD_SIZE"),
            evidence=ev)
    if lws is not None and world is not None and lws > world:
        return fail(f"LOCAL_WORLD_SIZE={lws} exceeds WORLD_SIZE={world}", fix(
            "Make WORLD_SIZE = nodes × ranks per node.", "unset LOCAL_WORLD_SIZE WORLD_SIZE"), evidence=ev)
    problems = _world_problems(env)
    if problems:
        first = problems[0]
        make = fail if any(p.fatal for p in problems) else warn
        cmds = [c for p in problems for c in p.remedy.commands]
        return make("; ".join(p.summary for p in problems), fix(first.remedy.summary, *dict.fromkeys(cmds)),
                    evidence=ev)
    hints = _mapping_hints(env, names)
    via = f"; set by: {', '.join(names)}" if names else ""
    if not present:
        return ok("no env:// variables set (torchrun sets them for each rank)" + via, evidence=ev, details=hints)
    return ok("launcher variables are coherent: " + " ".join(f"{k}={v}" for k, v in present.items()) + via,
              evidence=ev, details=hints)


def check_port(ctx: ProbeContext) -> Outcome:
    env = ctx.env
    raw = env.get("MASTER_PORT")
    if raw is not None:
        try:
            port = int(raw)
        except ValueError:
            port = -1
        if not 1 <= port <= 65535:
            return fail(f"MASTER_PORT={redact.redact_env_value('MASTER_PORT', raw)!r} is not a TCP port", fix(
                "Set a port number between 1024 and 65535.", f"export MASTER_PORT={ctx.host.free_port()}"))
    else:
        port = DEFAULT_PORT
    if in_launched_job(env):
        return skip(f"inside a launched job: port {port} belongs to its rendezvous store")
    use = claims.port_used(ctx)
    st = ctx.host.port_state(port)
    source = "MASTER_PORT" if raw is not None else "torchrun's default port"
    ev = {"port": port, "free": st.free, "holder_pid": st.holder_pid, "holder": st.holder_name,
          **claims.claims(ctx, "port_used")}
    who = (f" by pid {st.holder_pid} ({st.holder_cmdline or st.holder_name})" if st.holder_pid
           else " (the holder is not visible to this user)")
    if not use.used:
        details = (f"port {port} is in use{who}: that matters only for multi-node runs (--master_port defaults to "
                   f"{DEFAULT_PORT}) and scripts that set MASTER_PORT={port} themselves; give those "
                   f"--master_port {ctx.host.free_port()}",) if not st.free else ()
        return ok(f"{use.why}: nothing here binds {port} by default", evidence=ev, details=details)
    if st.free:
        return ok(f"{source} {port} is free on this host", evidence=ev, details=(use.why,))
    free = ctx.host.free_port()
    cmds = [f"torchrun --master_port {free} ...", f"export MASTER_PORT={free}"]
    if not claims.multi_node(ctx):
        cmds.append("torchrun --standalone ...  # single node: picks a free port itself")
    if st.holder_pid:
        cmds.append(f"kill {st.holder_pid}  # if it is a leftover job")
    make = fail if raw is not None else warn
    return make(f"{source} {port} is already in use{who} and will be bound ({use.why}): the rendezvous store "
                "fails with EADDRINUSE",
                fix(f"Use a free port ({free} is free now) or stop the process holding {port}.", *cmds),
                evidence={**ev, "suggested_port": free})


def check_addr(ctx: ProbeContext) -> Outcome:
    key = "MASTER_ADDR" if ctx.env.get("MASTER_ADDR") else "PET_MASTER_ADDR" if ctx.env.get("PET_MASTER_ADDR") \
        else None
    if key is None:
        return skip("MASTER_ADDR is not set (torchrun --standalone uses localhost)")
    addr = ctx.env[key]
    shown = redact.redact_env_value(key, addr)
    res = ctx.host.resolve(addr)
    if isinstance(res, str):
        kube = "PET_NNODES" in ctx.env or key == "PET_MASTER_ADDR" or (pod_role(addr.split(".")[0]) or ("",))[0] \
            in ("master", "node")
        service = " (under Kubeflow this is the master pod's service: is the job's headless Service up?)" \
            if kube else ""
        return fail(f"{key}={shown!r} does not resolve: {res}{service}", fix(
            "Use an IP address or a hostname every node can resolve.", f"getent hosts {shown}",
            f"export {key}=<IP of the rank-0 node>"), evidence={key: shown})
    loopback = all(ipaddress.ip_address(a).is_loopback for a in res)
    ev = {key: shown, "resolves_to": ",".join(res)}
    nodes = claims.multi_node(ctx)
    if nodes and loopback:
        return fail(f"{key}={shown} resolves to loopback ({', '.join(res)}) in a multi-node job ({nodes}): other "
                    "nodes cannot reach it", fix("Use the rank-0 node's routable address.",
                                                 f"export {key}=$(hostname -I | awk '{{print $1}}')  # on rank 0"),
                    evidence=ev)
    return ok(f"{key}={shown} resolves to {', '.join(res)}", evidence=ev)

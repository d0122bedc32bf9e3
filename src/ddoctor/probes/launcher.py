"""Launcher environment and rendezvous: the variables env:// reads, the port, the address."""

from __future__ import annotations

import ipaddress

from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, skip, warn

TORCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
REQUIRED_ENV_INIT = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
DEFAULT_PORT = 29500


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


def check_launcher_env(ctx: ProbeContext) -> Outcome:
    env = ctx.env
    present = {k: env[k] for k in TORCH_VARS if k in env}
    slurm = {k: env[k] for k in ("SLURM_JOB_ID", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID") if k in env}
    ev = {**present, **slurm}
    if not present:
        details = ()
        if slurm:
            details = ("under SLURM, torchrun sets RANK/WORLD_SIZE itself; for srun-launched ranks map them: "
                       "RANK=$SLURM_PROCID WORLD_SIZE=$SLURM_NTASKS LOCAL_RANK=$SLURM_LOCALID",)
        return ok("no launcher variables set (torchrun sets them for each rank)", evidence=ev, details=details)
    bad = [k for k in present if k != "MASTER_ADDR" and _int(env, k) == "bad"]
    if bad:
        return fail(f"{', '.join(f'{k}={env[k]!r}' for k in bad)} is not an integer", fix(
            "Set integer values, or unset them and let torchrun set them.", f"unset {' '.join(bad)}"),
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
    return ok("launcher variables are coherent: " + " ".join(f"{k}={v}" for k, v in present.items()),
              evidence=ev)


def check_port(ctx: ProbeContext) -> Outcome:
    env = ctx.env
    raw = env.get("MASTER_PORT")
    if raw is not None:
        try:
            port = int(raw)
        except ValueError:
            port = -1
        if not 1 <= port <= 65535:
            return fail(f"MASTER_PORT={raw!r} is not a TCP port", fix(
                "Set a port number between 1024 and 65535.", f"export MASTER_PORT={ctx.host.free_port()}"))
    else:
        port = DEFAULT_PORT
    if in_launched_job(env):
        return skip(f"inside a launched job: port {port} belongs to its rendezvous store")
    st = ctx.host.port_state(port)
    source = "MASTER_PORT" if raw is not None else "torchrun's default port"
    ev = {"port": port, "free": st.free, "holder_pid": st.holder_pid, "holder": st.holder_name}
    if st.free:
        return ok(f"{source} {port} is free on this host", evidence=ev)
    free = ctx.host.free_port()
    who = (f" by pid {st.holder_pid} ({st.holder_cmdline or st.holder_name})" if st.holder_pid
           else " (the holder is not visible to this user)")
    cmds = [f"torchrun --master_port {free} ...", f"export MASTER_PORT={free}",
            "torchrun --standalone ...  # single node: picks a free port itself"]
    if st.holder_pid:
        cmds.append(f"kill {st.holder_pid}  # if it is a leftover job")
    make = fail if raw is not None else warn
    return make(f"{source} {port} is already in use{who}: the rendezvous store fails with EADDRINUSE",
                fix(f"Use a free port ({free} is free now) or stop the process holding {port}.", *cmds),
                evidence={**ev, "suggested_port": free})


def check_addr(ctx: ProbeContext) -> Outcome:
    addr = ctx.env.get("MASTER_ADDR")
    if not addr:
        return skip("MASTER_ADDR is not set (torchrun --standalone uses localhost)")
    res = ctx.host.resolve(addr)
    if isinstance(res, str):
        return fail(f"MASTER_ADDR={addr!r} does not resolve: {res}", fix(
            "Use an IP address or a hostname every node can resolve.", f"getent hosts {addr}",
            "export MASTER_ADDR=<IP of the rank-0 node>"), evidence={"MASTER_ADDR": addr})
    world, local = ctx.env.get("WORLD_SIZE"), ctx.env.get("LOCAL_WORLD_SIZE")
    multi_node = world and local and world.isdigit() and local.isdigit() and int(world) > int(local)
    loopback = all(ipaddress.ip_address(a).is_loopback for a in res)
    ev = {"MASTER_ADDR": addr, "resolves_to": ",".join(res)}
    if multi_node and loopback:
        return fail(f"MASTER_ADDR={addr} resolves to loopback ({', '.join(res)}) in a multi-node job: other nodes "
                    "cannot reach it", fix("Use the rank-0 node's routable address.",
                                           "export MASTER_ADDR=$(hostname -I | awk '{print $1}')  # on rank 0"),
                    evidence=ev)
    return ok(f"MASTER_ADDR={addr} resolves to {', '.join(res)}", evidence=ev)

"""NCCL/CUDA/torch variables left on from debugging, deprecated, or silently slowing jobs down."""

from __future__ import annotations

from ddoctor import redact
from ddoctor.model.finding import hint
from ddoctor.probes.base import Outcome, ProbeContext, fix, ok, warn

SLOW_WHEN_SET = {
    "NCCL_P2P_DISABLE": "disables NVLink/PCIe peer-to-peer: collectives fall back to slower paths",
    "NCCL_IB_DISABLE": "disables InfiniBand: inter-node traffic goes over TCP sockets",
    "NCCL_SHM_DISABLE": "disables shared-memory transport between local ranks",
    "CUDA_LAUNCH_BLOCKING": "makes every CUDA kernel launch synchronous (debug only)",
    "NCCL_BUFFSIZE": "changes NCCL's buffer size; too large a value fails registration with ncclSystemError",
    "TORCH_NCCL_BLOCKING_WAIT": "makes every collective block the host thread",
}
DEPRECATED = {
    "NCCL_ASYNC_ERROR_HANDLING": "TORCH_NCCL_ASYNC_ERROR_HANDLING",
    "NCCL_BLOCKING_WAIT": "TORCH_NCCL_BLOCKING_WAIT",
    "NCCL_DESYNC_DEBUG": "TORCH_NCCL_DESYNC_DEBUG",
    "TORCH_NCCL_TRACE_BUFFER_SIZE": "TORCH_FR_BUFFER_SIZE",
}
# Variables DCGM's diagnostic flags because they inject tools or change CUDA behaviour.
INJECTED = ("NSIGHT_CUDA_DEBUGGER", "CUDA_INJECTION32_PATH", "CUDA_INJECTION64_PATH", "CUDA_AUTO_BOOST",
            "CUDA_ENABLE_COREDUMP_ON_EXCEPTION", "CUDA_COREDUMP_FILE", "CUDA_DEVICE_WAITS_ON_EXCEPTION",
            "CUDA_PROFILE", "COMPUTE_PROFILE", "OPENCL_PROFILE")
OFF_VALUES = {"", "0", "false", "no", "off"}


def check_env_hygiene(ctx: ProbeContext) -> Outcome:
    settings = [(k, v, "environment") for k, v in ctx.env.items()]
    for conf in ctx.host.nccl_conf_files():
        settings += [(k, v, conf.path) for k, v in conf.entries]
    issues, cmds, affects = [], [], []
    for key, value, where in settings:
        shown = redact.redact_env_value(key, value)
        src = "" if where == "environment" else f" (from {where})"
        if key in SLOW_WHEN_SET and value.strip().lower() not in OFF_VALUES:
            issues.append(f"{key}={shown}{src} {SLOW_WHEN_SET[key]}")
            cmds.append(f"unset {key}" if not src else f"sed -i '/^{key}=/d' {where}")
        elif key in DEPRECATED:
            issues.append(f"{key}{src} is deprecated; torch reads {DEPRECATED[key]}")
            cmds.append(f"export {DEPRECATED[key]}={shown} && unset {key}")
        elif key in INJECTED:
            issues.append(f"{key}={shown}{src} injects a CUDA tool or changes CUDA error handling")
            cmds.append(f"unset {key}")
        else:
            continue
        affects.append(key)
    if issues:
        return warn("; ".join(issues), fix("Unset debugging leftovers and use the current variable names.",
                                           *dict.fromkeys(cmds)), affects=tuple(affects))
    nccl = sorted(k for k, _, _ in settings if k.startswith("NCCL_"))
    return ok("no risky NCCL/CUDA variables set" + (f" ({', '.join(nccl)} set)" if nccl else ""))


def check_debuggability(ctx: ProbeContext) -> Outcome:
    """Facts in the summary, advice as hints: a pass never reads as a verdict against the host."""
    env = ctx.env
    fr = env.get("TORCH_FR_BUFFER_SIZE") or env.get("TORCH_NCCL_TRACE_BUFFER_SIZE")
    recorder = bool(fr) and fr != "0"
    tips = []
    if not recorder:
        tips.append(hint("a hang would leave no trace: export TORCH_FR_BUFFER_SIZE=2000 TORCH_NCCL_DUMP_ON_TIMEOUT=1"))
    if "NCCL_DEBUG" not in env:
        tips.append(hint("for NCCL failures rerun with NCCL_DEBUG=INFO (WARN is quieter)"))
    if env.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper() != "DETAIL":
        tips.append(hint("mismatched collectives hang silently; TORCH_DISTRIBUTED_DEBUG=DETAIL names them (slower)"))
    tips.append(hint("decorate your entry point with torch.distributed.elastic.multiprocessing.errors.record so "
                     "torchrun reports the real traceback"))
    summary = (f"flight recorder {'on' if recorder else 'off'}, NCCL_DEBUG={env.get('NCCL_DEBUG') or 'unset'}, "
               f"TORCH_DISTRIBUTED_DEBUG={env.get('TORCH_DISTRIBUTED_DEBUG') or 'unset'}")
    return ok(summary, messages=tuple(tips),
              evidence={"TORCH_FR_BUFFER_SIZE": fr, "NCCL_DEBUG": env.get("NCCL_DEBUG")})

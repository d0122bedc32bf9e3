"""Every check `ddoctor check` runs, in the order reports show them. Explicit, never discovered."""

from __future__ import annotations

from ddoctor.probes import backends, cuda, env_hygiene, gpus, launcher, network, system, torch_install
from ddoctor.probes.base import Probe

PROBES: tuple[Probe, ...] = (
    Probe(id="torch.install", title="torch installation", group="torch", run=torch_install.check_torch_install,
          description="torch is installed once for this interpreter and imports cleanly",
          relies_on=("torch_build",)),
    Probe(id="torch.flavour", title="wheel flavour vs host", group="torch", run=torch_install.check_wheel_flavour,
          description="a CUDA wheel where NVIDIA GPUs exist (not a CPU-only wheel)",
          relies_on=("nvidia_gpus", "torch_build", "torch_fits_host")),
    Probe(id="cuda.driver", title="NVIDIA driver (NVML)", group="gpu", run=cuda.check_driver,
          description="NVML loads and lists the GPUs; driver and CUDA driver versions",
          relies_on=("driver_cuda", "nvidia_gpus"), on_fail="drain"),
    Probe(id="cuda.compat", title="driver vs torch CUDA", group="gpu", run=cuda.check_driver_vs_torch,
          description="the driver supports the CUDA version torch was built with",
          relies_on=("driver_cuda", "torch_cuda")),
    Probe(id="cuda.arch", title="GPU architecture vs wheel", group="gpu", run=cuda.check_arch,
          description="every GPU's compute capability is in torch.cuda.get_arch_list()",
          relies_on=("torch_cuda",)),
    Probe(id="cuda.visible", title="visible GPUs", group="gpu", run=cuda.check_visible,
          description="CUDA_VISIBLE_DEVICES, NVML vs torch device counts, ranks vs GPUs",
          relies_on=("nvidia_gpus",)),
    Probe(id="cuda.init", title="CUDA context", group="gpu", run=cuda.check_cuda_init,
          description="a CUDA context can be created on every GPU (in a child process, with a deadline)",
          relies_on=("cuda_usable",), on_fail="drain"),
    Probe(id="gpu.health", title="GPU memory health", group="gpu", run=gpus.check_health,
          description="uncorrected ECC errors, pending page retirement, row remapping", on_fail="drain"),
    Probe(id="gpu.occupancy", title="GPU occupancy and modes", group="gpu", run=gpus.check_occupancy,
          description="processes already holding GPU memory, exclusive/prohibited compute mode, MIG", on_fail="drain"),
    Probe(id="dist.nccl", title="NCCL", group="distributed", run=backends.check_nccl,
          description="NCCL built into torch and its version",
          relies_on=("nccl_available", "nvidia_gpus", "torch_fits_host")),
    Probe(id="dist.backends", title="backend for this host", group="distributed", run=backends.check_backends,
          description="Gloo/NCCL/MPI availability and the backend this host should use",
          relies_on=("backend", "torch_fits_host", "cuda_usable", "nvidia_gpus")),
    Probe(id="mps", title="Apple MPS", group="distributed", run=backends.check_mps,
          description="MPS built and available; x86 Python under Rosetta"),
    Probe(id="launch.env", title="launcher variables", group="launch", run=launcher.check_launcher_env,
          description="RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* coherence; SLURM variables"),
    Probe(id="launch.port", title="rendezvous port", group="launch", run=launcher.check_port,
          description="MASTER_PORT (or 29500) can be bound; who holds it if not",
          relies_on=("port_used",), on_fail="retry"),
    Probe(id="launch.addr", title="rendezvous address", group="launch", run=launcher.check_addr,
          description="MASTER_ADDR resolves, and is not loopback for multi-node jobs"),
    Probe(id="net.interfaces", title="network interfaces", group="launch", run=network.check_interfaces,
          description="NCCL_SOCKET_IFNAME/GLOO_SOCKET_IFNAME name real interfaces; virtual default routes"),
    Probe(id="env.hygiene", title="NCCL/CUDA variables", group="launch", run=env_hygiene.check_env_hygiene,
          description="risky, deprecated or tool-injecting variables, including /etc/nccl.conf"),
    Probe(id="sys.shm", title="/dev/shm", group="system", run=system.check_shm,
          description="shared memory size for NCCL and DataLoader workers", on_fail="drain"),
    Probe(id="sys.memory", title="host memory", group="system", run=system.check_memory,
          description="available RAM (ranks are OOM-killed with exitcode -9 when it runs out)", on_fail="retry"),
    Probe(id="sys.ulimits", title="resource limits", group="system", run=system.check_ulimits,
          description="open files limit; locked memory where InfiniBand exists"),
    Probe(id="sys.threads", title="CPU threads", group="system", run=system.check_threads,
          description="OMP_NUM_THREADS × local ranks vs usable cores"),
    Probe(id="debug.readiness", title="debuggability", group="system", run=env_hygiene.check_debuggability,
          description="whether a hang or crash of the next job will leave evidence"),
)


def all_probes() -> tuple[Probe, ...]:
    """The built-in probes, then those of installed plugins (ids must not collide with ours)."""
    from ddoctor.plugins import plugin_probes

    extra, _ = plugin_probes()
    ours = {p.id for p in PROBES}
    return PROBES + tuple(p for p in extra if p.id not in ours)


def select(ids: list[str]) -> tuple[Probe, ...]:
    """Probes whose id equals or starts with one of `ids` (`cuda` selects every cuda.* check)."""
    probes = all_probes()
    if not ids:
        return probes
    unknown = [i for i in ids if not any(p.id == i or p.id.startswith(i + ".") for p in probes)]
    if unknown:
        raise KeyError(", ".join(unknown))
    return tuple(p for p in probes if any(p.id == i or p.id.startswith(i + ".") for i in ids))

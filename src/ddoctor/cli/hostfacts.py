"""Facts about this host for commands other than `check`, gathered without importing torch."""

from __future__ import annotations

import os


def tailor_facts():
    from ddoctor.host import system
    from ddoctor.host.facts import NvmlFacts
    from ddoctor.host.nvml import collect_nvml_facts
    from ddoctor.host.torch_facts import static_torch_facts
    from ddoctor.kb.tailor import TailorFacts

    env = dict(os.environ)
    plat = system.platform_facts()
    nv = collect_nvml_facts(environ=env, timeout=10)
    nv = nv if isinstance(nv, NvmlFacts) else NvmlFacts(available=False)
    t = static_torch_facts()
    shm = system.disk_facts("/dev/shm") if plat.system == "Linux" else None
    mem = system.memory_facts()
    return TailorFacts(system=plat.system, machine=plat.machine, python=plat.python_executable,
                       torch_version=t.version, torch_cuda=t.cuda, nvidia_gpus=len(nv.gpus),
                       driver_version=nv.driver_version, driver_cuda=nv.cuda_driver_version_str,
                       free_port=system.free_port(), cuda_visible_devices=env.get("CUDA_VISIBLE_DEVICES"),
                       shm_bytes=shm.total if shm else None, ram_total=mem.total, ram_available=mem.available)

"""The real machine: each fact is gathered once, on first use, safely from many threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from ddoctor.host import system
from ddoctor.host.base import NvmlAnswers
from ddoctor.host.facts import NvmlFacts, ProbeFailure, TorchFacts, TorchRuntimeFacts
from ddoctor.host.nvml import NOT_FOUND as NVML_NOT_FOUND
from ddoctor.host.nvml import collect_nvml_facts, nvml_absent
from ddoctor.host.torch_facts import collect_torch_facts, static_torch_facts

T = TypeVar("T")


class RealHost(NvmlAnswers):
    """`import_torch=False` reads torch's build from its files only (no child import): for commands
    such as `diagnose` that must stay fast and work where torch is broken."""

    def __init__(self, environ: dict[str, str] | None = None, *, deep: bool = False, use_cache: bool = True,
                 torch_timeout: float = 60.0, nvml_timeout: float = 10.0, live_torch: bool = True,
                 import_torch: bool = True) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.deep = deep
        self.live_torch = live_torch  # False: never create CUDA contexts (ddoctor report reads facts only)
        self.import_torch = import_torch
        self.use_cache = use_cache
        self.torch_timeout = torch_timeout
        self.nvml_timeout = nvml_timeout
        self._values: dict[str, object] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _memo(self, key: str, make: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = make()
            return self._values[key]  # type: ignore[return-value]

    def platform(self):
        return self._memo("platform", system.platform_facts)

    def nvml(self) -> NvmlFacts | ProbeFailure:
        def snapshot():
            if nvml_absent(self.environ):
                return NvmlFacts(available=False, error=NVML_NOT_FOUND)
            return collect_nvml_facts(environ=self.environ, timeout=self.nvml_timeout)

        return self._memo("nvml", snapshot)

    def _needs_runtime(self) -> bool:
        """Import torch live only where devices exist to ask about (or when asked to). Decided from the
        device nodes, not from NVML, so that the torch child and the NVML child run side by side."""
        if self.deep:
            return True
        if not self.live_torch:
            return False
        import glob

        return bool(glob.glob("/dev/nvidia[0-9]*")) or self.platform().system == "Darwin"

    def _torch_all(self) -> tuple[TorchFacts, TorchRuntimeFacts | None, ProbeFailure | None]:
        if not self.import_torch:
            return self._memo("torch-static", lambda: (static_torch_facts(), None, None))
        return self._memo("torch", lambda: collect_torch_facts(
            environ=self.environ, runtime=self._needs_runtime(), use_cache=self.use_cache,
            timeout=self.torch_timeout))

    def torch(self) -> TorchFacts:
        return self._torch_all()[0]

    def torch_runtime(self) -> TorchRuntimeFacts | None:
        return self._torch_all()[1]

    def torch_failure(self) -> ProbeFailure | None:
        return self._torch_all()[2]

    def memory(self):
        return self._memo("memory", system.memory_facts)

    def disk(self, path: str):
        return self._memo(f"disk:{path}", lambda: system.disk_facts(path))

    def limits(self):
        return self._memo("limits", system.limits)

    def interfaces(self):
        return self._memo("interfaces", system.interfaces)

    def default_route_interface(self):
        return self._memo("route", system.default_route_interface)

    def port_state(self, port: int):
        return self._memo(f"port:{port}", lambda: system.port_state(port))

    def free_port(self) -> int:
        return self._memo("free_port", system.free_port)

    def resolve(self, name: str):
        return self._memo(f"resolve:{name}", lambda: system.resolve(name))

    def nccl_conf_files(self):
        return self._memo("nccl_conf", lambda: system.nccl_conf_files(self.environ))

    def infiniband_devices(self):
        return self._memo("ib", system.infiniband_devices)

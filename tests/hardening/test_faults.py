"""Faults on broken machines: every NVML error, a crashing/hanging/garbage-printing/OOM-killed probe child,
read-only or unusable temp dirs, Ctrl-C mid-check. Each gives a clear finding or message, the rest of the
report, the documented exit code, and nothing left running."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from ddoctor.host.base import NvmlAnswers
from ddoctor.host.facts import NvmlFacts, ProbeFailure
from ddoctor.host.nvml import collect_nvml_facts
from ddoctor.model.host import HostFacts
from ddoctor.model.status import Status
from ddoctor.probes import cuda
from ddoctor.probes.base import ProbeContext

pytestmark = pytest.mark.slow

# The NVML errors nvidia-ml-py defines for nvmlInit failures (and what a user must do about each).
NVML_ERRORS = ["NVMLError_Uninitialized", "NVMLError_InvalidArgument", "NVMLError_NotSupported",
               "NVMLError_NoPermission", "NVMLError_AlreadyInitialized", "NVMLError_NotFound",
               "NVMLError_InsufficientSize", "NVMLError_InsufficientPower", "NVMLError_DriverNotLoaded",
               "NVMLError_Timeout", "NVMLError_IrqIssue", "NVMLError_LibraryNotFound", "NVMLError_FunctionNotFound",
               "NVMLError_CorruptedInforom", "NVMLError_GpuIsLost", "NVMLError_ResetRequired",
               "NVMLError_OperatingSystem", "NVMLError_LibRmVersionMismatch", "NVMLError_Memory",
               "NVMLError_Unknown"]


def fake_pynvml(tmp_path, body: str):
    site = tmp_path / "fakenvml"
    site.mkdir(exist_ok=True)
    (site / "pynvml.py").write_text(textwrap.dedent(body))
    return {**os.environ, "PYTHONPATH": str(site)}


class _Host(NvmlAnswers):
    """Only NVML differs; everything else as on a machine with device nodes present."""

    def __init__(self, nv):
        self.nv = nv
        self.environ = {}

    def nvml(self):
        return self.nv


@pytest.mark.parametrize("name", NVML_ERRORS)
def test_every_nvml_init_error_becomes_a_finding(tmp_path, name, hardening_stats):
    import pynvml

    assert hasattr(pynvml, name), f"nvidia-ml-py no longer defines {name}"
    env = fake_pynvml(tmp_path, f"""
        class {name}(Exception):
            pass
        def nvmlInit():
            raise {name}("{name.split('_', 1)[1]}")
    """)
    nv = collect_nvml_facts(environ=env, timeout=30)
    hardening_stats["faults_injected"] += 1
    assert isinstance(nv, NvmlFacts)
    assert not nv.available
    assert name in nv.error
    nv = NvmlFacts(available=False, error=nv.error, device_nodes=("/dev/nvidia0",))
    finding = cuda.check_driver(ProbeContext(host=_Host(nv)))
    assert finding.status is Status.FAIL
    assert finding.remediation.commands
    hardening_stats["faults_handled"] += 1


@pytest.mark.parametrize(("body", "expect"), [
    ("import time\ndef nvmlInit():\n    time.sleep(60)\n", "timed out"),
    ("import os, signal\ndef nvmlInit():\n    os.kill(os.getpid(), signal.SIGKILL)\n", "killed by SIGKILL"),
    ("import ctypes\ndef nvmlInit():\n    ctypes.string_at(0)\n", "killed by SIGSEGV"),
    ("import sys\nsys.stdout.write('garbage, not json\\n')\nsys.exit(0)\n", "exited with code 0"),
])
def test_nvml_child_that_hangs_crashes_or_prints_garbage(tmp_path, body, expect, hardening_stats):
    env = fake_pynvml(tmp_path, body)
    result = collect_nvml_facts(environ=env, timeout=3)
    hardening_stats["faults_injected"] += 1
    assert isinstance(result, ProbeFailure)
    assert expect in result.reason
    assert cuda.check_driver(ProbeContext(host=_Host(result))).status is Status.FAIL
    hardening_stats["faults_handled"] += 1


def test_per_device_queries_that_fail_are_nulls_not_crashes(tmp_path, hardening_stats):
    env = fake_pynvml(tmp_path, """
        class NVMLError_NotSupported(Exception):
            pass
        NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
        NVML_VOLATILE_ECC = 0
        NVML_TEMPERATURE_GPU = 0
        def _ns(*a):
            raise NVMLError_NotSupported("Not Supported")
        def nvmlInit(): pass
        def nvmlShutdown(): pass
        def nvmlSystemGetDriverVersion(): return "535.104.05"
        def nvmlSystemGetCudaDriverVersion_v2(): return 12020
        def nvmlDeviceGetCount(): return 1
        def nvmlDeviceGetHandleByIndex(i): return i
        def nvmlDeviceGetName(h): return b"Tesla T4"
        nvmlDeviceGetUUID = nvmlDeviceGetMemoryInfo = nvmlDeviceGetCudaComputeCapability = _ns
        nvmlDeviceGetMigMode = nvmlDeviceGetRemappedRows = nvmlDeviceGetPciInfo = _ns
        nvmlDeviceGetComputeRunningProcesses = nvmlDeviceGetRetiredPagesPendingStatus = _ns
        nvmlDeviceGetTotalEccErrors = nvmlDeviceGetComputeMode = nvmlDeviceGetPersistenceMode = _ns
        nvmlDeviceGetTemperature = _ns
    """)
    nv = collect_nvml_facts(environ=env, timeout=30)
    hardening_stats["faults_injected"] += 1
    assert nv.available
    assert nv.gpus[0].name == "Tesla T4"
    assert nv.gpus[0].capability is None
    assert nv.cuda_driver_version_str == "12.2"
    hardening_stats["faults_handled"] += 1


def test_read_only_cache_dir_still_checks(run_cli, tmp_path, hardening_stats):
    cache = tmp_path / "ro"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        r = run_cli("check", "torch", "--format", "json", env={"XDG_CACHE_HOME": str(cache)})
    finally:
        cache.chmod(0o700)
    hardening_stats["faults_injected"] += 1
    if os.geteuid() != 0:  # root ignores the mode bits: the directory is writable anyway
        assert not list(cache.iterdir())
    assert r.returncode == 0
    assert json.loads(r.stdout)["findings"][0]["status"] == "pass"
    hardening_stats["faults_handled"] += 1


def test_full_temp_dir_for_smoke_is_a_clear_error(monkeypatch, hardening_stats):
    import errno
    import tempfile

    from ddoctor.smoke import launch

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", full)
    opts = launch.SmokeOptions(nproc=2)
    plan = launch.plan_for(opts, HostFacts(system="Linux", machine="x86_64", torch_installed=True))
    hardening_stats["faults_injected"] += 1
    with pytest.raises(launch.SmokeSetupError, match=r"cannot create a working directory in .*No space left"):
        launch.run_smoke(opts, plan)
    hardening_stats["faults_handled"] += 1


def test_ctrl_c_mid_check_leaves_no_child(tmp_path, hardening_stats):
    site = tmp_path / "site" / "torch"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("import time\ntime.sleep(120)\n")
    (site / "version.py").write_text("__version__ = '9.9.9'\ncuda = None\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "XDG_CACHE_HOME": str(tmp_path / "c")}
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "check", "--no-cache", "--deep"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    children = []
    while time.monotonic() < deadline and not children:
        children = [c for c in psutil.Process(p.pid).children(recursive=True)]
        time.sleep(0.1)
    hardening_stats["faults_injected"] += 1
    assert children, "the torch probe child never started"
    time.sleep(1)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    assert p.returncode in (1, 130)
    time.sleep(0.3)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    hardening_stats["faults_handled"] += 1


def test_smoke_binds_only_loopback(hardening_stats):
    from ddoctor.smoke.launch import SmokeOptions, plan_for, run_smoke

    facts = HostFacts(system="Linux", machine="x86_64", nvidia_gpus=0, torch_cuda=None, torch_installed=True)
    listeners: set[str] = set()

    def on_event(rank, phase):
        if phase != "generate":
            return
        for proc in psutil.process_iter(["cmdline"]):
            if "ddoctor.smoke.rank" in " ".join(proc.info["cmdline"] or []):
                try:
                    listeners.update(c.laddr.ip for c in proc.net_connections(kind="tcp")
                                     if c.status == psutil.CONN_LISTEN)
                except psutil.Error:
                    pass

    opts = SmokeOptions(nproc=2, timeout=60)
    assert run_smoke(opts, plan_for(opts, facts), on_event=on_event).ok
    assert listeners, listeners
    assert all(ip.startswith("127.") or ip == "::1" for ip in listeners), listeners

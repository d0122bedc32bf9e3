"""ddoctor's NVML snapshot against nvidia-smi on a real GPU: driver, names, memory, ECC, MIG, modes, processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ddoctor.host.facts import NvmlFacts
from ddoctor.host.nvml import collect_nvml_facts
from tests.gpu.conftest import (
    MIB,
    PROGRAMS,
    ddoctor_json,
    findings_by_id,
    program_env,
    smi_compute_processes,
    smi_cuda_version,
    smi_gpus,
)

pytestmark = pytest.mark.gpu
HELD_MIB = 512


def snapshot() -> NvmlFacts:
    nv = collect_nvml_facts(environ=dict(os.environ), timeout=60)
    assert isinstance(nv, NvmlFacts), nv
    return nv


@pytest.fixture(scope="module")
def nvml() -> NvmlFacts:
    return snapshot()


@pytest.fixture(scope="module")
def pairs(nvml):
    """(ddoctor's GPU, nvidia-smi's GPU) by index."""
    smi = {g.index: g for g in smi_gpus()}
    assert sorted(smi) == [g.index for g in nvml.gpus]
    return [(g, smi[g.index]) for g in nvml.gpus]


def test_nvml_initialises(nvml):
    assert nvml.available, nvml.error


def test_driver_version_matches(nvml):
    assert nvml.driver_version == smi_gpus()[0].driver_version


def test_cuda_driver_version_matches(nvml):
    assert nvml.cuda_driver_version_str == smi_cuda_version()


def test_every_gpu_is_listed(nvml):
    assert len(nvml.gpus) == len(smi_gpus()) > 0


def test_device_nodes_are_seen(nvml):
    assert "/dev/nvidia0" in nvml.device_nodes


def test_names(pairs):
    assert [g.name for g, _ in pairs] == [s.name for _, s in pairs]


def test_uuids(pairs):
    assert [g.uuid for g, _ in pairs] == [s.uuid for _, s in pairs]


def test_pci_bus_ids(pairs):
    assert [g.pci_bus_id.upper() for g, _ in pairs] == [s.pci_bus_id.upper() for _, s in pairs]


def test_total_memory(pairs):
    for g, s in pairs:
        assert abs(g.memory_total // MIB - s.memory_total_mib) <= 1, (g.memory_total, s.memory_total_mib)


def test_used_memory_within_what_the_driver_reserves(pairs):
    """NVML's v1 memory query counts the driver's reservation as used; nvidia-smi shows it apart."""
    for g, s in pairs:
        slack = (s.memory_reserved_mib or 1024) + 64
        assert s.memory_used_mib - 64 <= g.memory_used // MIB <= s.memory_used_mib + slack, (g.memory_used, s)


def test_compute_capability(pairs):
    assert [g.capability for g, _ in pairs] == [s.capability for _, s in pairs]


def test_ecc_errors(pairs):
    assert [g.ecc_uncorrected_volatile for g, _ in pairs] == [s.ecc_uncorrected_volatile for _, s in pairs]


def test_mig_mode(pairs):
    expected = [None if s.mig_mode is None else s.mig_mode == "Enabled" for _, s in pairs]
    assert [g.mig_enabled for g, _ in pairs] == expected


def test_compute_mode(pairs):
    assert [g.compute_mode for g, _ in pairs] == [s.compute_mode.upper() for _, s in pairs]


def test_persistence_mode(pairs):
    expected = [None if s.persistence_mode is None else s.persistence_mode == "Enabled" for _, s in pairs]
    assert [g.persistence_mode for g, _ in pairs] == expected


@pytest.fixture(scope="module")
def holder():
    """A process that holds HELD_MIB on GPU 0 while the tests below look at it."""
    p = subprocess.Popen([sys.executable, str(PROGRAMS / "hold_memory.py"), str(HELD_MIB)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=program_env(), start_new_session=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "ready", f"the holder did not start (exit {p.poll()})"
        yield p
    finally:
        p.kill()
        p.wait(timeout=30)


@pytest.fixture(scope="module")
def held(holder):
    """ddoctor's and nvidia-smi's process lists, taken while the holder runs."""
    return snapshot(), smi_compute_processes()


def test_nvidia_smi_lists_the_holder(holder, held):
    assert holder.pid in held[1]


def test_processes_match_nvidia_smi(held):
    nv, smi = held
    assert {p.pid for g in nv.gpus for p in g.processes} == set(smi)


def test_holder_memory_is_counted(holder, held):
    used = {p.pid: p.used_memory for g in held[0].gpus for p in g.processes}
    assert (used.get(holder.pid) or 0) >= HELD_MIB * MIB


def test_holder_is_named_by_its_command_line(holder, held):
    names = {p.pid: p.name or "" for g in held[0].gpus for p in g.processes}
    assert "hold_memory.py" in names.get(holder.pid, "")


def test_occupancy_check_names_the_holder(holder, cache_dir):
    _, doc = ddoctor_json("check", "gpu.occupancy", cache=cache_dir)
    f = findings_by_id(doc)["gpu.occupancy"]
    assert f["status"] == "warn"
    assert f"pid {holder.pid}" in f["summary"]

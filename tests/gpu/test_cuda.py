"""The CUDA-context child and the CUDA verdicts of `ddoctor check` on the real driver/wheel pair."""

from __future__ import annotations

import json
import os

import pytest

from ddoctor.host.torch_facts import collect_torch_facts
from tests.gpu.conftest import ddoctor, ddoctor_json, findings_by_id, smi_cuda_version, smi_gpus

pytestmark = pytest.mark.gpu
GPU_CHECKS = ("torch.flavour", "cuda.driver", "cuda.compat", "cuda.arch", "cuda.visible", "cuda.init", "gpu.health",
              "gpu.occupancy", "dist.nccl", "dist.backends")


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    """ddoctor's torch child with the runtime phase: build facts, devices, one CUDA context per GPU."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache"))}
    return collect_torch_facts(environ=env, runtime=True, use_cache=False, timeout=180)


def test_child_finishes(child):
    assert child[2] is None


def test_child_sees_cuda(child):
    assert child[1].cuda_available is True


def test_child_counts_the_gpus(child):
    assert child[1].device_count == len(smi_gpus())


def test_child_names_the_gpus(child):
    assert [d.name for d in child[1].devices] == [g.name for g in smi_gpus()]


def test_child_capabilities(child):
    assert [d.capability for d in child[1].devices] == [g.capability for g in smi_gpus()]


def test_child_total_memory_matches_torch(child, torch_truth):
    assert [d.total_memory for d in child[1].devices] == [d["total_memory"] for d in torch_truth["devices"]]


def test_a_context_is_created_on_every_gpu(child):
    assert [(i, ok) for i, ok, _ in child[1].cuda_init] == [(g.index, True) for g in smi_gpus()]


def test_context_creation_is_timed(child):
    assert all(detail.endswith(" ms") for _, _, detail in child[1].cuda_init), child[1].cuda_init


def test_build_facts_cuda(child, torch_truth):
    assert child[0].cuda == torch_truth["cuda"]


def test_build_facts_arch_list(child, torch_truth):
    assert list(child[0].arch_list) == torch_truth["arch_list"]


def test_build_facts_nccl(child, torch_truth):
    assert (child[0].nccl_available, child[0].nccl_version) == (True, torch_truth["nccl_version"])


@pytest.fixture(scope="module")
def gpu_check(cache_dir, gpu_out):
    code, doc = ddoctor_json("check", "-v", *GPU_CHECKS, cache=cache_dir)
    (gpu_out / "check-gpu.json").write_text(json.dumps(doc, indent=1))
    return code, findings_by_id(doc)


@pytest.mark.parametrize("check_id", GPU_CHECKS)
def test_gpu_verdict_passes_on_this_host(gpu_check, check_id):
    f = gpu_check[1][check_id]
    assert f["status"] == "pass", f"{check_id}: {f['summary']}"


def test_gpu_checks_exit_zero(gpu_check):
    assert gpu_check[0] == 0


def test_compat_compares_the_real_pair(gpu_check, torch_truth):
    ev = gpu_check[1]["cuda.compat"]["evidence"]
    assert (ev["driver_cuda"], ev["torch_cuda"]) == (smi_cuda_version(), torch_truth["cuda"])


def test_arch_compares_the_real_pair(gpu_check, torch_truth):
    ev = gpu_check[1]["cuda.arch"]["evidence"]
    caps = " ".join(sorted({f"sm_{g.capability[0]}{g.capability[1]}" for g in smi_gpus()}))
    assert (ev["capabilities"], ev["arch_list"]) == (caps, " ".join(torch_truth["arch_list"]))


def test_driver_evidence(gpu_check):
    ev = gpu_check[1]["cuda.driver"]["evidence"]
    assert (ev["driver"], ev["nvidia_gpus"]) == (smi_gpus()[0].driver_version, len(smi_gpus()))


def test_backend_for_this_host_is_nccl(gpu_check):
    assert "nccl" in gpu_check[1]["dist.backends"]["summary"]


def test_more_ranks_than_gpus_fails_the_visibility_check(cache_dir):
    n = len(smi_gpus()) + 1
    code, doc = ddoctor_json("check", "cuda.visible", "--nproc", str(n), cache=cache_dir)
    assert findings_by_id(doc)["cuda.visible"]["status"] == "fail"
    assert code == 1


def test_a_visible_device_that_does_not_exist_fails(cache_dir):
    r = ddoctor("check", "cuda.visible", "--format", "json", cache=cache_dir,
                env={"CUDA_VISIBLE_DEVICES": str(len(smi_gpus()) + 3)})
    f = findings_by_id(json.loads(r.stdout))["cuda.visible"]
    assert f["status"] == "fail"
    assert "does not exist" in f["summary"]


@pytest.fixture(scope="module")
def full_check(cache_dir, gpu_out):
    """`check -v` as a user runs it, in both formats; saved for the lane's report."""
    text = ddoctor("check", "-v", "--no-color", cache=cache_dir)
    (gpu_out / "check-v.txt").write_text(text.stdout)
    code, doc = ddoctor_json("check", "-v", cache=cache_dir)
    (gpu_out / "check.json").write_text(json.dumps(doc, indent=1))
    return text, code, doc


def test_check_verbose_names_the_gpu(full_check):
    assert smi_gpus()[0].name in full_check[0].stdout


def test_check_verbose_shows_the_cuda_context_line(full_check):
    assert "CUDA context created on all" in full_check[0].stdout


def test_no_check_errors(full_check):
    errors = [f["id"] for f in full_check[2]["findings"] if f["status"] == "error"]
    assert errors == []


def test_text_and_json_agree_on_the_exit_code(full_check):
    assert full_check[0].returncode == full_check[1]

"""`ddoctor smoke` on the GPU: the tiny LLaMA over NCCL, one rank per GPU, and the transformers cross-check."""

from __future__ import annotations

import json

import pytest

from tests.gpu.conftest import ddoctor_json, smi_gpus

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def smoke(cache_dir, gpu_out):
    code, doc = ddoctor_json("smoke", cache=cache_dir, timeout=400)
    (gpu_out / "smoke.json").write_text(json.dumps(doc, indent=1))
    return code, doc


@pytest.fixture(scope="module")
def smoke_hf(cache_dir, gpu_out):
    code, doc = ddoctor_json("smoke", "--hf", cache=cache_dir, timeout=400)
    (gpu_out / "smoke-hf.json").write_text(json.dumps(doc, indent=1))
    return code, doc


def test_smoke_passes(smoke):
    assert (smoke[0], smoke[1]["ok"]) == (0, True), smoke[1]["summary"]


def test_smoke_runs_nccl_on_cuda(smoke):
    cfg = smoke[1]["config"]
    assert (cfg["backend"], cfg["device"]) == ("nccl", "cuda")


def test_smoke_one_rank_per_gpu(smoke):
    assert smoke[1]["config"]["world_size"] == len(smi_gpus())


def test_greedy_tokens_match_the_reference(smoke):
    assert smoke[1]["verification"]["greedy_tokens_match_reference"] is True


def test_logits_within_tolerance(smoke):
    v = smoke[1]["verification"]
    assert v["max_abs_logit_diff"] <= v["tolerance"]


def test_sampled_tokens_match_the_reference(smoke):
    assert smoke[1]["verification"]["sampled_tokens_match_reference"] is True


def test_peak_memory_is_measured_per_rank(smoke):
    assert len(smoke[1]["metrics"]["peak_memory_per_rank"]) == len(smi_gpus())


def test_smoke_hf_passes(smoke_hf):
    assert (smoke_hf[0], smoke_hf[1]["ok"]) == (0, True), smoke_hf[1]["summary"]


def test_smoke_hf_runs_on_cuda(smoke_hf):
    assert smoke_hf[1]["config"]["device"] == "cuda"


def test_transformers_agrees_with_the_sharded_run(smoke_hf):
    v = smoke_hf[1]["verification"]
    assert v["hf_greedy_tokens_match"] is True, v.get("hf")

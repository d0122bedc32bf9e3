"""Failures produced for real on the GPU, diagnosed: each program in fixtures/gpu_programs/ is run as a user
would (stdout and stderr interleaved), its log is kept in $DDOCTOR_GPU_OUT/logs/ with how it was made (for
fixtures/logs/gpu/), and `ddoctor diagnose` must name the cause."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.gpu.conftest import PROGRAMS, ROOT, ddoctor, program_env, smi_gpus

pytestmark = pytest.mark.gpu


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    name: str
    program: str
    cause: str
    evidence: str  # a line the real failure prints, so a program that fails otherwise is caught
    notes: str
    torchrun: bool = False


CASES = (
    Case(name="gpu-cuda-oom", program="cuda_oom.py", cause="cuda-oom", evidence="CUDA out of memory",
         notes="a KV cache preallocated at twice the GPU's memory"),
    Case(name="gpu-hf-forward-cpu-input-ids", program="hf_forward_cpu_input_ids.py", cause="device-mismatch",
         evidence="Expected all tensors to be on the same device",
         notes="LlamaForCausalLM on CUDA, forward() with input_ids on the CPU"),
    Case(name="gpu-invalid-device-ordinal", program="invalid_ordinal.py", cause="invalid-device-ordinal",
         evidence="invalid device ordinal", torchrun=True,
         notes="torchrun with one rank more than there are GPUs; each rank calls set_device(LOCAL_RANK)"),
    Case(name="gpu-device-side-assert", program="device_assert.py", cause="device-side-assert",
         evidence="device-side assert triggered", notes="an embedding lookup with a token id equal to the vocabulary size"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def argv_for(case: Case) -> list[str]:
    script = str(PROGRAMS / case.program)
    if not case.torchrun:
        return [sys.executable, script]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(len(smi_gpus()) + 1),
            "--master_addr", "127.0.0.1", "--master_port", str(free_port()), script]


def produce(case: Case, gpu_out, torch_truth, cache) -> tuple[int, str, dict]:
    """Run the program, keep its log and provenance, and diagnose the log with the real CLI."""
    argv = argv_for(case)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=program_env(), timeout=300,
                       cwd=ROOT)
    log = p.stdout.decode("utf-8", "replace")
    logs = gpu_out / "logs"
    logs.mkdir(exist_ok=True)
    (logs / f"{case.name}.log").write_text(log)
    shown = [a.replace(sys.executable, "python").replace(str(ROOT) + "/", "") for a in argv]
    entry = {"file": f"{case.name}.log", "cause": case.cause if p.returncode else "none", "torch": torch_truth["version"],
             "transformers": torch_truth["transformers"], "gpu": smi_gpus()[0].name,
             "driver": smi_gpus()[0].driver_version, "exit_status": p.returncode, "command": " ".join(shown),
             "notes": case.notes, "set": "gpu"}
    with open(logs / "index.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")
    r = ddoctor("diagnose", "--format", "json", str(logs / f"{case.name}.log"), cache=cache, timeout=120)
    (logs / f"{case.name}.diagnosis.json").write_text(r.stdout)
    return p.returncode, log, {"exit": r.returncode, **json.loads(r.stdout)}


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def produced(request, gpu_out, torch_truth, cache_dir):
    return request.param, *produce(request.param, gpu_out, torch_truth, cache_dir)


def test_the_program_fails(produced):
    _, rc, log, _ = produced
    assert rc != 0, log[-2000:]


def test_the_log_shows_the_real_failure(produced):
    case, _, log, _ = produced
    assert case.evidence in log, log[-2000:]


def test_diagnose_names_the_cause(produced):
    case, _, _, diagnosis = produced
    assert [d["name"] for d in diagnosis["diagnoses"]][:1] == [case.cause]


def test_diagnose_exits_one(produced):
    assert produced[3]["exit"] == 1


GENERATE = Case(name="gpu-hf-generate-cpu-input-ids", program="hf_generate_cpu_input_ids.py",
                cause="device-mismatch", evidence="Expected all tensors to be on the same device",
                notes="LlamaForCausalLM on CUDA, generate() with input_ids on the CPU")
MOVED = "`input_ids` is on cpu, whereas the model is on cuda"


@pytest.fixture(scope="module")
def generate(gpu_out, torch_truth, cache_dir):
    """The classic generate() mistake. Recent transformers move generate()'s inputs to the model and only warn;
    older ones fail. Either outcome is a fixture: a failure that diagnoses as a device mismatch, or a clean run
    that must diagnose as nothing wrong."""
    return produce(GENERATE, gpu_out, torch_truth, cache_dir)


def test_generate_either_fails_with_the_mismatch_or_warns_and_runs(generate):
    rc, log, _ = generate
    assert (GENERATE.evidence in log) if rc else (MOVED in log), log[-2000:]


def test_generate_diagnosis_follows_the_outcome(generate):
    rc, _, diagnosis = generate
    assert [d["name"] for d in diagnosis["diagnoses"]][:1] == ([GENERATE.cause] if rc else [])

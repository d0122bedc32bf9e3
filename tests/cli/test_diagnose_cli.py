"""`ddoctor diagnose` as users run it: pipes, files, bad input, formats and exit codes."""

import gzip
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SHARED

CORPUS = SHARED / "corpus"
pytestmark = pytest.mark.slow


@pytest.mark.needs_shared
def test_pipe_on_stdin_json(run_cli):
    log = (CORPUS / "g001-nccl-unavailable.log").read_text()
    r = run_cli("diagnose", "--format", "json", input=log)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "ddoctor.diagnosis/1"
    assert doc["ddoctor_version"]
    d = doc["diagnoses"][0]
    assert d["name"] == "nccl-unavailable"
    assert d["code"] == "DD101"
    assert 0 < d["score"] <= 1
    assert d["evidence"]["lines"][0]["text"].startswith("RuntimeError: Distributed package")
    assert d["remediation"]["snippet"]
    assert d["user_frame"]["file"].endswith("llama/generation.py")
    # tailored to this host: no NVIDIA GPU here
    assert any("gloo" in n for n in d["remediation"]["host_notes"])
    assert doc["host"]["nvidia_gpus"] == 0


@pytest.mark.needs_shared
def test_no_host_leaves_placeholders_generic(run_cli):
    r = run_cli("diagnose", "--no-host", "--format", "json", str(CORPUS / "r039-env-not-set.log"))
    d = json.loads(r.stdout)["diagnoses"][0]
    assert d["name"] == "env-not-set"
    assert json.loads(r.stdout)["host"] is None
    assert any("MASTER_PORT=<free port>" in c for c in d["remediation"]["commands"])


@pytest.mark.needs_shared
def test_host_fills_a_real_free_port(run_cli):
    r = run_cli("diagnose", "--format", "json", str(CORPUS / "r039-env-not-set.log"))
    cmds = json.loads(r.stdout)["diagnoses"][0]["remediation"]["commands"]
    port = next(c for c in cmds if "MASTER_PORT=" in c).split("MASTER_PORT=")[1]
    assert port.isdigit()


@pytest.mark.needs_shared
def test_several_files_and_gzip(run_cli, tmp_path):
    gz = tmp_path / "rank1.log.gz"
    gz.write_bytes(gzip.compress((CORPUS / "g023-host-oom-killed.log").read_bytes()))
    r = run_cli("diagnose", "--format", "json", str(CORPUS / "g008-none.log"), str(gz))
    doc = json.loads(r.stdout)
    assert r.returncode == 1
    assert doc["diagnoses"][0]["name"] == "host-oom-killed"
    assert len(doc["sources"]) == 2


@pytest.mark.needs_shared
def test_clean_log_exits_zero(run_cli):
    r = run_cli("diagnose", str(CORPUS / "g008-none.log"))
    assert r.returncode == 0
    assert "No failure found" in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["/no/such/file.log"], "no such file"),
])
def test_bad_paths_are_usage_errors(run_cli, args, message):
    r = run_cli("diagnose", *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_binary_input_is_refused_clearly(run_cli, tmp_path):
    f = tmp_path / "model.pth"
    f.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 64)
    r = run_cli("diagnose", str(f))
    assert r.returncode == 2
    assert "binary" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.needs_shared
def test_text_output_shows_root_cause_evidence_and_fix(run_cli):
    r = run_cli("diagnose", str(CORPUS / "r068-device-mismatch.log"))
    out = r.stdout
    assert r.returncode == 1
    assert "Root cause: Tensors of one operation on different devices" in out
    assert "line 19" in out
    assert ".to(model.device)" in out
    assert "your code: /home/yq/play/subsent/model/encoder.py:88" in out


@pytest.mark.needs_shared
def test_markdown(run_cli):
    r = run_cli("diagnose", "--format", "markdown", str(CORPUS / "r005-mp-size-mismatch.log"))
    assert "### Root cause:" in r.stdout
    assert "torchrun --nproc_per_node 1" in r.stdout


def test_secrets_in_logs_are_redacted(run_cli):
    token = "hf_" + "Q" * 34
    log = f"HF_TOKEN={token}\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n" \
          f"KeyError: 'auth {token}'\n"
    for fmt in ("text", "json", "markdown"):
        r = run_cli("diagnose", "--format", fmt, input=log)
        assert r.returncode == 1
        assert token not in r.stdout


def test_explain_and_signatures(run_cli):
    r = run_cli("explain", "DD101")
    assert r.returncode == 0
    assert "nccl-unavailable" in r.stdout
    assert "gloo" in r.stdout
    assert json.loads(run_cli("explain", "device-mismatch", "--format", "json").stdout)["code"] == "DD303"
    assert run_cli("explain", "nope").returncode == 2
    sigs = json.loads(run_cli("signatures", "--format", "json").stdout)["signatures"]
    from ddoctor.kb.loader import load_signatures

    assert len(sigs) == len(load_signatures())


def test_real_torchrun_failure_piped_into_diagnose(tmp_path):
    """The seed failure end to end: a real torchrun job calling init_process_group('nccl') on this CPU host."""
    from ddoctor.host.system import free_port

    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path), "NO_COLOR": "1"}
    job = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                          "127.0.0.1", "--master_port", str(free_port()), str(ROOT / "fixtures/programs/nccl_init.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=120)
    assert job.returncode != 0
    r = subprocess.run([sys.executable, "-m", "ddoctor", "diagnose", "--format", "json"], input=job.stdout,
                       capture_output=True, env=env, timeout=60)
    doc = json.loads(r.stdout)
    assert r.returncode == 1
    assert doc["diagnoses"][0]["name"] == "nccl-unavailable"
    # rank 1 prints the same error unless torchrun stops it first (a race): at least one occurrence
    assert doc["diagnoses"][0]["occurrences"] >= 1


@pytest.mark.needs_shared
def test_fix_hints_point_at_the_user_frame_and_rule(run_cli):
    r = run_cli("diagnose", "--fix-hints", "--format", "json", str(CORPUS / "g001-nccl-unavailable.log"))
    d = json.loads(r.stdout)["diagnoses"][0]
    assert d["fix_hints"] == ["ddoctor fix --write --select DDF001 /home/dev/proj/llama_ref/llama/generation.py"]
    text = run_cli("diagnose", "--fix-hints", str(CORPUS / "g005-cuda-unavailable-build.log")).stdout
    assert "ddoctor fix --write --unsafe-fixes --select DDF002,DDF003,DDF005,DDF006" in text

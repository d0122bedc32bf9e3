"""`ddoctor fix` on real files: diff and exit codes, atomic --write, and the seed flows really fixed."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "fixtures" / "fix"


def test_check_mode_shows_a_diff_and_exits_1(run_cli, tmp_path):
    f = tmp_path / "train.py"
    f.write_text('import torch.distributed as dist\ndist.init_process_group("nccl")\n')
    before = f.read_text()
    r = run_cli("fix", str(f))
    assert r.returncode == 1 and "DDF001" in r.stdout and "+import torch" in r.stdout
    assert f.read_text() == before  # check mode never writes


def test_write_is_atomic_keeps_mode_and_is_idempotent(run_cli, tmp_path):
    f = tmp_path / "train.py"
    f.write_text('import torch\ntorch.cuda.set_device(0)\n')
    f.chmod(0o751)
    r = run_cli("fix", "--write", str(f))
    assert r.returncode == 0, r.stdout
    assert "if torch.cuda.is_available():" in f.read_text()
    assert stat.S_IMODE(f.stat().st_mode) == 0o751
    assert not [p for p in tmp_path.iterdir() if p.name != "train.py"]  # no temp files left
    again = run_cli("fix", str(f))
    assert again.returncode == 0 and "No issues found" in again.stdout


def test_unsafe_remaining_keeps_exit_1(run_cli, tmp_path):
    f = tmp_path / "m.py"
    f.write_text('import torch\nx = torch.ones(1, device="cuda")\n')
    r = run_cli("fix", "--write", str(f))
    assert r.returncode == 1 and "--unsafe-fixes" in r.stdout and 'device="cuda"' in f.read_text()


def test_unparsable_file_is_reported_and_untouched(run_cli, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n")
    good = tmp_path / "good.py"
    good.write_text('import torch.distributed as dist\ndist.init_process_group("nccl")\n')
    r = run_cli("fix", "--write", str(tmp_path))
    assert r.returncode == 2 and "cannot parse" in r.stdout and bad.read_text() == "def f(:\n"
    assert '"gloo"' in good.read_text()


def test_json_and_missing_path(run_cli, tmp_path):
    f = tmp_path / "a.py"
    f.write_text("import torch\nstate = torch.load('x.pth')\n")
    doc = json.loads(run_cli("fix", "--format", "json", str(f)).stdout)
    assert doc["schema"] == "ddoctor.fix/1" and doc["files"][0]["edits"][0]["code"] == "DDF005"
    assert run_cli("fix", str(tmp_path / "nope.py")).returncode == 2


def test_explain_a_rule(run_cli):
    r = run_cli("explain", "DDF003")
    assert r.returncode == 0 and "unguarded-set-device" in r.stdout


def test_hf_generate_seed_flow_gets_inputs_on_model_device(run_cli, tmp_path):
    f = tmp_path / "hf_generate.py"
    shutil.copy(FIXTURES / "hf_generate.py", f)
    r = run_cli("fix", "--write", str(f))
    assert r.returncode == 0, r.stdout
    assert 'inputs = tokenizer("The meaning of life is", return_tensors="pt").to(model.device)' in f.read_text()


@pytest.mark.slow
def test_meta_style_llama_build_runs_on_cpu_gloo_after_fix(run_cli, tmp_path):
    """The first seed failure end to end: fails on this CPU host, then really runs under torchrun with Gloo."""
    from ddoctor.host.system import free_port

    script = tmp_path / "llama_build.py"
    shutil.copy(FIXTURES / "llama_build.py", script)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def torchrun():
        return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                               "--master_addr", "127.0.0.1", "--master_port", str(free_port()), str(script)],
                              capture_output=True, text=True, env=env, timeout=180)

    before = torchrun()
    assert before.returncode != 0 and "doesn't have NCCL built in" in before.stdout + before.stderr
    r = run_cli("fix", "--write", "--unsafe-fixes", str(script))
    assert r.returncode == 0, r.stdout
    after = torchrun()
    assert after.returncode == 0, after.stdout + after.stderr
    assert "rank 0 generated" in after.stdout and "rank 1 generated" in after.stdout

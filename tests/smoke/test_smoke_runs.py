"""Real multi-process smoke runs on CPU with Gloo, including faults: each must end within its timeout,
with the right verdict and diagnosis, and leave no process behind."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from ddoctor.kb.engine import Session
from ddoctor.model.host import HostFacts
from ddoctor.smoke.launch import SmokeOptions, plan_for, run_smoke

pytestmark = pytest.mark.slow
CPU = HostFacts(system="Linux", machine="x86_64", nvidia_gpus=0, torch_cuda=None, torch_installed=True)


def rank_processes():
    """Smoke ranks started by this checkout's interpreter (other checkouts on the machine run their own)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        argv = p.info["cmdline"] or []
        if argv and argv[0] == sys.executable and "ddoctor.smoke.rank" in " ".join(argv):
            found.append(p)
    return found


def diagnose(text):
    s = Session()
    s.add_text(text)
    return s.result().diagnoses


def smoke(**kw):
    opts = SmokeOptions(**{"timeout": 60, **kw})
    report = run_smoke(opts, plan_for(opts, CPU), diagnose=diagnose)
    assert rank_processes() == [], "a rank was left running"
    return report


@pytest.mark.parametrize("nproc", [1, 2, 4])
def test_sharded_generation_matches_reference(nproc):
    r = smoke(nproc=nproc)
    assert r.ok, r.summary
    v = r.verification
    assert v["greedy_tokens_match_reference"]
    assert v["ranks_in_lockstep"]
    assert v["max_abs_logit_diff"] <= 1e-4
    assert v["sampled_tokens_match_reference"]
    assert r.metrics["collectives_per_step"] == (6 if nproc > 1 else 0)  # 2 per layer + embedding + output
    assert len(r.metrics["peak_memory_per_rank"]) == nproc
    assert [s.name for s in r.steps] == ["launch", "rendezvous", "shard load", "generate", "verify"]


def test_a_rank_that_raises():
    r = smoke(fault="raise@1")
    assert not r.ok
    assert r.diagnoses[0].name == "user-code-error"
    assert "injected failure in rank 1" in r.diagnoses[0].evidence[0].text
    assert next(x for x in r.ranks if x.rank == 1).exitcode == 1


def test_a_rank_killed_with_sigkill():
    r = smoke(fault="kill@1")
    assert not r.ok
    assert r.diagnoses[0].name == "host-oom-killed"
    assert next(x for x in r.ranks if x.rank == 1).exitcode == -signal.SIGKILL


def test_a_hung_rank_is_stopped_and_named():
    r = smoke(fault="hang@1:generate", timeout=40)  # room for the survivors to fail on their own under load
    assert not r.ok
    hung = next(x for x in r.ranks if x.rank == 1)
    assert hung.killed_by_ddoctor
    assert hung.last_phase == "generate"
    assert "rank 1 in generate never finished" in r.summary
    assert r.diagnoses
    assert r.diagnoses[0].name == "gloo-timeout"


def test_shard_count_differs_from_world_size():
    r = smoke(nproc=2, shards=1)
    assert not r.ok
    assert r.diagnoses[0].name == "mp-size-mismatch"
    assert r.diagnoses[0].commands[0] == "torchrun --nproc_per_node 1 ..."


def test_cli_json_and_exit_codes(run_cli):
    r = run_cli("smoke", "--format", "json", "--nproc", "2", timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "ddoctor.smoke/1"
    assert doc["ok"] is True
    assert doc["config"]["backend"] == "gloo"
    assert doc["config"]["device"] == "cpu"
    bad = run_cli("smoke", "--nproc", "3")
    assert bad.returncode == 2
    assert "1, 2, 4 or 8 ranks" in bad.stderr
    fail = run_cli("smoke", "--format", "json", "--fault", "raise@0", timeout=180)
    assert fail.returncode == 1
    assert json.loads(fail.stdout)["diagnoses"][0]["name"] == "user-code-error"


def test_two_nodes_on_loopback_through_torchrun(run_cli):
    from ddoctor.host.system import free_port

    port = free_port()
    base = ["smoke", "--format", "json", "--nnodes", "2", "--nproc", "1", "--rdzv-endpoint", f"127.0.0.1:{port}",
            "--timeout", "120"]
    env = {**os.environ, "XDG_CACHE_HOME": "/tmp/ddoctor-test-cache", "NO_COLOR": "1"}
    nodes = [subprocess.Popen([sys.executable, "-m", "ddoctor", *base, "--node-rank", str(n)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, text=True) for n in (0, 1)]
    docs = [json.loads(p.communicate(timeout=240)[0]) for p in nodes]
    assert all(d["ok"] for d in docs), docs
    verified = [d for d in docs if d["verification"]]
    assert len(verified) == 1
    assert verified[0]["verification"]["greedy_tokens_match_reference"]
    assert rank_processes() == []


def test_ctrl_c_stops_every_rank(tmp_path):
    env = {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": str(tmp_path)}
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "smoke", "--fault", "hang@1:load", "--timeout", "200"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while len(rank_processes()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # ranks are importing torch / hanging
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130
    assert "interrupted" in err
    time.sleep(0.5)
    assert rank_processes() == []


def test_preflight_of_a_real_checkpoint_dir(run_cli, tmp_path):
    from ddoctor.smoke import checkpoint

    checkpoint.write(tmp_path / "ck", 4)
    ok = run_cli("smoke", "--ckpt-dir", str(tmp_path / "ck"), "--format", "json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["schema"] == "ddoctor.smoke-preflight/1"
    assert {f["id"]: f["status"] for f in doc["findings"]}["ckpt.shapes"] == "pass"
    wrong = run_cli("smoke", "--ckpt-dir", str(tmp_path / "ck"), "--nproc", "2", "--format", "json")
    f = {x["id"]: x for x in json.loads(wrong.stdout)["findings"]}
    assert wrong.returncode == 1
    assert f["ckpt.world"]["status"] == "fail"
    assert "Loading a checkpoint for MP=4 but world size is 2" in f["ckpt.world"]["summary"]


def test_preflight_finds_a_shard_split_on_the_wrong_dimension(tmp_path):
    import torch

    from ddoctor.smoke import checkpoint
    from ddoctor.smoke.ckpt_check import inspect_dir, judge

    checkpoint.write(tmp_path, 2)
    shard = torch.load(tmp_path / "consolidated.01.pth", weights_only=True)
    shard["layers.0.attention.wo.weight"] = shard["layers.0.attention.wo.weight"].t().contiguous()
    torch.save(shard, tmp_path / "consolidated.01.pth")
    findings = {f.id: f for f in judge(inspect_dir(tmp_path), nproc=None)}
    assert findings["ckpt.shapes"].status.value == "fail"
    assert "layers.0.attention.wo.weight is [64, 128], expected [128, 64]" in findings["ckpt.shapes"].summary


def test_preflight_finds_stray_and_unreadable_files(tmp_path):
    from ddoctor.smoke import checkpoint
    from ddoctor.smoke.ckpt_check import inspect_dir, judge

    checkpoint.write(tmp_path, 2)
    (tmp_path / "stray.pth").write_bytes(b"not a checkpoint")
    findings = {f.id: f for f in judge(inspect_dir(tmp_path), nproc=2)}
    assert findings["ckpt.files"].status.value == "fail"
    assert "stray.pth" in findings["ckpt.files"].summary
    assert findings["ckpt.shards"].status.value == "warn"
    assert findings["ckpt.world"].status.value == "fail"  # 3 *.pth files for 2 ranks, as Llama.build counts


def test_load_really_loads_a_checkpoint_and_runs_forward(run_cli, tmp_path):
    from ddoctor.smoke import checkpoint

    checkpoint.write(tmp_path / "ck", 2)
    r = run_cli("smoke", "--ckpt-dir", str(tmp_path / "ck"), "--load", "--format", "json", timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)  # one document: the preflight passed silently
    assert doc["schema"] == "ddoctor.smoke/1"
    assert doc["ok"]
    assert doc["verification"] == {"finite_logits": True, "ranks_in_lockstep": True}


def test_under_srun(run_cli):
    """srun is stood in for by tests/smoke/fake_slurm/srun, which sets the SLURM_* variables srun sets."""
    from tests.conftest import ROOT

    fake = ROOT / "tests" / "smoke" / "fake_slurm"
    r = run_cli("smoke", "--launcher", "srun", "--nproc", "2", "--format", "json",
                env={"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}, timeout=180)
    doc = json.loads(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["ok"], r.stdout + r.stderr
    assert doc["config"]["launcher"] == "srun", r.stdout + r.stderr
    assert rank_processes() == []


@pytest.mark.parametrize(("field", "value"), [("n_layers", 10**9), ("n_heads", 0), ("dim", "wide"),
                                              ("n_kv_heads", [8])])
def test_preflight_reports_absurd_params_as_a_failed_finding(run_cli, tmp_path, field, value):
    from ddoctor.smoke import checkpoint

    checkpoint.write(tmp_path / "ck", 2)
    params = json.loads((tmp_path / "ck" / "params.json").read_text())
    (tmp_path / "ck" / "params.json").write_text(json.dumps({**params, field: value}))
    r = run_cli("smoke", "--ckpt-dir", str(tmp_path / "ck"), "--format", "json", timeout=120)
    assert r.returncode == 1, r.stderr
    f = {x["id"]: x for x in json.loads(r.stdout)["findings"]}
    assert f["ckpt.params"]["status"] == "fail"
    assert field in f["ckpt.params"]["summary"]
    assert "ckpt.shapes" not in f

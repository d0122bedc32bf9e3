"""ddoctor reshard: 1 -> 2 -> 4 -> 1 with identical generation at every size; refusals; input untouched."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ddoctor.model.host import HostFacts
from ddoctor.smoke import checkpoint
from ddoctor.smoke.launch import SmokeOptions, plan_for, run_smoke

pytestmark = pytest.mark.slow
CPU = HostFacts(system="Linux", machine="x86_64", nvidia_gpus=0, torch_cuda=None, torch_installed=True)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def greedy(ckpt, nproc):
    opts = SmokeOptions(nproc=nproc, user_ckpt=str(ckpt), forward_only=False, timeout=90)
    report = run_smoke(opts, plan_for(opts, CPU))
    assert report.ok, report.summary
    return report.outputs["greedy"]


def test_chain_keeps_generation_identical(run_cli, tmp_path):
    checkpoint.write(tmp_path / "mp1", 1)
    before = digest(tmp_path / "mp1")
    reference = greedy(tmp_path / "mp1", 1)
    chain = [("mp1", "mp2", 2), ("mp2", "mp4", 4), ("mp4", "back1", 1)]
    for src, dst, mp in chain:
        r = run_cli("reshard", str(tmp_path / src), "--mp", str(mp), "--out", str(tmp_path / dst), "--format", "json",
                    timeout=300)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["to_mp"] == mp
        assert sorted(p.name for p in (tmp_path / dst).glob("*.pth")) == \
            [f"consolidated.{i:02d}.pth" for i in range(mp)]
        assert greedy(tmp_path / dst, mp) == reference
    a = torch.load(tmp_path / "mp1" / "consolidated.00.pth", weights_only=True)
    b = torch.load(tmp_path / "back1" / "consolidated.00.pth", weights_only=True)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert digest(tmp_path / "mp1") == before  # the input is never modified


def test_refusals(run_cli, tmp_path):
    checkpoint.write(tmp_path / "ck", 2)
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "3", "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert "n_kv_heads=8 is not divisible by 3" in r.stderr
    assert not (tmp_path / "x").exists()
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "1", "--out", str(tmp_path / "ck" / "inner"))
    assert r.returncode == 2
    assert "refusing" in r.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "1", "--out", str(tmp_path / "full"))
    assert r.returncode == 2
    assert "never overwrites" in r.stderr
    assert (tmp_path / "full" / "keep.txt").exists()


def test_a_failing_reshard_leaves_nothing(run_cli, tmp_path):
    checkpoint.write(tmp_path / "ck", 2)
    shard = torch.load(tmp_path / "ck" / "consolidated.01.pth", weights_only=True)
    del shard["layers.1.feed_forward.w2.weight"]
    torch.save(shard, tmp_path / "ck" / "consolidated.01.pth")
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "1", "--out", str(tmp_path / "out"))
    assert r.returncode == 1
    assert "KeyError" in r.stderr
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def big_checkpoint(folder, dim=1024, layers=6, vocab=8192):
    """A checkpoint large enough (~150 MB) that resharding it takes a while: zeros, written fast."""
    from ddoctor.llama_format import full_shapes, parse_params

    params = {"dim": dim, "n_layers": layers, "n_heads": 8, "n_kv_heads": 8, "vocab_size": vocab, "multiple_of": 256,
              "norm_eps": 1e-5}
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps(params))
    shapes = full_shapes(parse_params(params))
    torch.save({k: torch.zeros(s, dtype=torch.bfloat16) for k, s in shapes.items()}, folder / "consolidated.00.pth")
    return folder


def partial_dirs(parent, out_name):
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{out_name}.")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_reshard_leaves_no_partial_output(tmp_path, sig):
    src = big_checkpoint(tmp_path / "ck")
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "reshard", str(src), "--mp", "2", "--out",
                          str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "NO_COLOR": "1"})
    deadline = time.monotonic() + 120
    while not partial_dirs(tmp_path, "out") and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert partial_dirs(tmp_path, "out"), "the reshard finished before it could be interrupted"
    p.send_signal(sig)
    p.communicate(timeout=60)
    assert p.returncode == 128 + sig
    assert partial_dirs(tmp_path, "out") == []
    assert not (tmp_path / "out").exists()


def test_a_reshard_that_runs_out_of_time_leaves_no_partial_output(run_cli, tmp_path):
    src = big_checkpoint(tmp_path / "ck")
    r = run_cli("reshard", str(src), "--mp", "2", "--out", str(tmp_path / "out"), "--timeout", "1")
    assert r.returncode == 1
    assert "timed out" in r.stderr
    assert partial_dirs(tmp_path, "out") == []


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB filesystem (tmpfs; needs root, as CI runs)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_is_a_clear_error(run_cli, tmp_path, small_disk):
    checkpoint.write(tmp_path / "ck", 1)
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "2", "--out", str(small_disk / "out"))
    assert r.returncode == 2
    assert "No space left on device" in r.stderr
    assert list(small_disk.iterdir()) == []


@pytest.mark.parametrize(("field", "value"), [("n_layers", 10**9), ("n_heads", 0), ("dim", "wide"),
                                              ("norm_eps", "Infinity"), ("n_kv_heads", [8])])
def test_absurd_params_are_refused_before_any_work(run_cli, tmp_path, field, value):
    checkpoint.write(tmp_path / "ck", 1)
    params = json.loads((tmp_path / "ck" / "params.json").read_text())
    params[field] = value
    (tmp_path / "ck" / "params.json").write_text(json.dumps(params).replace('"Infinity"', "Infinity"))
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "2", "--out", str(tmp_path / "out"), timeout=60)
    assert r.returncode == 2
    assert "params.json" in r.stderr
    assert field in r.stderr
    assert "internal error" not in r.stderr

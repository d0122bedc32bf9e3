"""ddoctor reshard: 1 -> 2 -> 4 -> 1 with identical generation at every size; refusals; input untouched."""

import hashlib
import json

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
        assert doc["to_mp"] == mp and sorted(p.name for p in (tmp_path / dst).glob("*.pth")) == \
            [f"consolidated.{i:02d}.pth" for i in range(mp)]
        assert greedy(tmp_path / dst, mp) == reference
    a = torch.load(tmp_path / "mp1" / "consolidated.00.pth", weights_only=True)
    b = torch.load(tmp_path / "back1" / "consolidated.00.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert digest(tmp_path / "mp1") == before  # the input is never modified


def test_refusals(run_cli, tmp_path):
    checkpoint.write(tmp_path / "ck", 2)
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "3", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "n_kv_heads=8 is not divisible by 3" in r.stderr and not (tmp_path / "x").exists()
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "1", "--out", str(tmp_path / "ck" / "inner"))
    assert r.returncode == 2 and "refusing" in r.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "1", "--out", str(tmp_path / "full"))
    assert r.returncode == 2 and "never overwrites" in r.stderr and (tmp_path / "full" / "keep.txt").exists()


def test_a_failing_reshard_leaves_nothing(run_cli, tmp_path):
    checkpoint.write(tmp_path / "ck", 2)
    shard = torch.load(tmp_path / "ck" / "consolidated.01.pth", weights_only=True)
    del shard["layers.1.feed_forward.w2.weight"]
    torch.save(shard, tmp_path / "ck" / "consolidated.01.pth")
    r = run_cli("reshard", str(tmp_path / "ck"), "--mp", "1", "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "KeyError" in r.stderr
    assert not (tmp_path / "out").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]

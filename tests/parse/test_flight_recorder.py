"""Flight-recorder forensics on dumps produced by real Gloo runs (two ranks on loopback)."""

import os
import pickle
import subprocess
import sys
import textwrap

import pytest

from ddoctor.host.system import free_port
from ddoctor.parse.flight_recorder import analyze, load_dump

pytestmark = pytest.mark.slow

JOB = textwrap.dedent('''
    import os, sys, torch, torch.distributed as dist
    out, mode = sys.argv[1], sys.argv[2]
    dist.init_process_group("gloo")
    r = dist.get_rank()
    t = torch.ones(4)
    dist.all_reduce(t)
    dist.broadcast(t, 0)
    if mode == "missing" and r == 0:
        dist.all_reduce(torch.ones(4, 5), async_op=True)      # rank 1 never issues this one
    if mode == "mismatch":
        if r == 0:
            dist.all_reduce(torch.ones(4, 5), async_op=True)
        else:
            dist.all_gather([torch.empty(3), torch.empty(3)], torch.ones(3), async_op=True)
    open(os.path.join(out, f"trace_rank_{r}"), "wb").write(torch._C._distributed_c10d._dump_fr_trace())
    os._exit(0)
''')


def dumps(tmp_path, mode):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    port = free_port()
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path), mode],
                              env={**os.environ, "TORCH_FR_BUFFER_SIZE": "2000", "RANK": str(r), "WORLD_SIZE": "2",
                                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "GLOO_SOCKET_IFNAME": "lo"})
             for r in (0, 1)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    script.unlink()
    return tmp_path


def test_names_the_rank_that_never_issued_the_collective(tmp_path):
    rep = analyze(dumps(tmp_path, "missing"))
    assert sorted(rep.ranks) == [0, 1]
    assert len(rep.problems) == 1
    p = rep.problems[0]
    assert p.kind == "missing"
    assert p.seq == 3
    assert p.ranks == (1,)
    assert "rank 1 never issued collective #3 (gloo:all_reduce sizes [[4, 5]]" in p.text


def test_names_a_mismatched_collective(tmp_path):
    p = analyze(dumps(tmp_path, "mismatch")).problems[0]
    assert p.kind == "mismatch"
    assert p.seq == 3
    assert "gloo:all_reduce" in p.text
    assert "gloo:all_gather" in p.text


def test_consistent_ranks_report_nothing(tmp_path, run_cli):
    folder = dumps(tmp_path, "ok")
    assert analyze(folder).problems == []
    r = run_cli("diagnose", "--fr", str(folder))
    assert r.returncode == 0
    assert "same collectives in the same order" in r.stdout


def test_cli_exit_code_and_json(tmp_path, run_cli):
    import json

    r = run_cli("diagnose", "--fr", str(dumps(tmp_path, "missing")), "--format", "json")
    doc = json.loads(r.stdout)
    assert r.returncode == 1
    assert doc["schema"] == "ddoctor.fr/1"
    assert doc["problems"][0]["ranks"] == [1]


def test_a_dump_that_tries_to_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (tmp_path / "trace_rank_0").write_bytes(pickle.dumps({"entries": [Evil()]}))
    with pytest.raises(pickle.UnpicklingError):
        load_dump(tmp_path / "trace_rank_0")
    rep = analyze(tmp_path)
    assert rep.unreadable
    assert not (tmp_path / "pwned").exists()

"""`ddoctor check --cluster` on loopback through torchrun (2 nodes) and srun-style: rank 0 names what
differs, and the ranks that never reported."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _env(tmp_path, **over) -> dict:
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1", "OMP_NUM_THREADS": "1",
            "GLOO_SOCKET_IFNAME": "lo", "NCCL_DEBUG": "WARN", **over}


def _communicate(procs, timeout):
    try:
        return [p.communicate(timeout=timeout) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        got = [p.communicate() for p in procs]
        raise AssertionError(f"cluster check did not finish: {got}") from None


def _document(text: str) -> dict:
    """The JSON document among torchrun's prefixed lines."""
    docs = [line.split("]:", 1)[1] if line.startswith("[default") else line for line in text.splitlines()]
    start = next(i for i, line in enumerate(docs) if line.strip() == "{")
    depth, end = 0, start
    for end in range(start, len(docs)):
        depth += docs[end].count("{") - docs[end].count("}")
        if depth == 0:
            break
    return json.loads("\n".join(docs[start:end + 1]))


def _torchrun_nodes(tmp_path, nproc: int, node_env: list[dict]):
    from ddoctor.host.system import free_port

    port = free_port()
    base = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(len(node_env)), "--nproc_per_node",
            str(nproc), "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--tee", "3"]
    cmd = ["-m", "ddoctor", "check", "sys", "--cluster", "--format", "json"]
    nodes = [subprocess.Popen([*base, "--node_rank", str(n), *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for n, env in enumerate(node_env)]
    outs = _communicate(nodes, 240)
    return nodes, _document("".join(o for o, _ in outs))


def test_two_nodes_two_ranks_with_skewed_nccl_settings(tmp_path):
    nodes, doc = _torchrun_nodes(tmp_path, 2, [_env(tmp_path), _env(tmp_path, NCCL_IB_DISABLE="1",
                                                                     NCCL_DEBUG="INFO")])
    assert doc["schema"] == "ddoctor.cluster/1"
    assert len(doc["ranks"]) == 4
    diffs = {d["field"]: d for d in doc["differences"]}
    assert diffs["NCCL_IB_DISABLE"]["critical"]
    assert sorted(diffs["NCCL_IB_DISABLE"]["values"]["<unset>"]) != []
    assert set(diffs["NCCL_DEBUG"]["values"]) == {"WARN", "INFO"}
    assert "torch" not in diffs
    assert 1 in {p.returncode for p in nodes}  # the verdict; both agents stop within the timeout (no exit-barrier wait)


def test_two_nodes_of_four_ranks_gather_all_eight(tmp_path):
    nodes, doc = _torchrun_nodes(tmp_path, 4, [_env(tmp_path), _env(tmp_path, NCCL_IB_DISABLE="1")])
    assert sorted(fp["rank"] for fp in doc["ranks"]) == list(range(8))
    assert doc["missing"] == []
    skew = next(d for d in doc["differences"] if d["field"] == "NCCL_IB_DISABLE")
    assert sorted(len(ranks) for ranks in skew["values"].values()) == [4, 4]
    assert {p.returncode for p in nodes} == {1}  # every agent exits with rank 0's verdict


def test_a_rank_that_never_starts_is_named_not_waited_for(tmp_path):
    """srun-style (no torchrun agent): rank 0 serves the store; rank 3 of 4 is never launched."""
    from ddoctor.host.system import free_port

    port = str(free_port())
    procs = [subprocess.Popen([sys.executable, "-m", "ddoctor", "check", "sys", "--cluster", "--format", "json",
                               "--timeout", "40"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env(tmp_path, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="4",
                                       LOCAL_WORLD_SIZE="4", MASTER_ADDR="127.0.0.1", MASTER_PORT=port))
             for r in range(3)]
    outs = _communicate(procs, 120)
    doc = json.loads(outs[0][0])
    assert doc["missing"] == [3]
    assert sorted(fp["rank"] for fp in doc["ranks"]) == [0, 1, 2]
    assert [p.returncode for p in procs] == [1, 1, 1]

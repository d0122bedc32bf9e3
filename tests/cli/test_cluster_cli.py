"""`ddoctor check --cluster` as 2 nodes x 2 ranks on loopback through torchrun: rank 0 names what differs."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_two_nodes_two_ranks_with_skewed_nccl_settings(tmp_path):
    from ddoctor.host.system import free_port

    port = free_port()
    base = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "2",
            "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--tee", "3",
            "-m", "ddoctor", "check", "sys", "--cluster", "--format", "json"]
    common = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1", "OMP_NUM_THREADS": "1",
              "GLOO_SOCKET_IFNAME": "lo", "NCCL_DEBUG": "WARN"}
    node_env = [dict(common), {**common, "NCCL_IB_DISABLE": "1", "NCCL_DEBUG": "INFO"}]
    nodes = [subprocess.Popen([*base[:7], "--node_rank", str(n), *base[7:]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=node_env[n]) for n in (0, 1)]
    try:
        outs = [p.communicate(timeout=150) for p in nodes]
    except subprocess.TimeoutExpired:
        for p in nodes:
            p.kill()
        got = [p.communicate() for p in nodes]
        raise AssertionError(f"cluster check did not finish: {got}") from None
    text = "".join(o for o, _ in outs)
    docs = [line.split("]:", 1)[1] if line.startswith("[default") else line for line in text.splitlines()]
    start = next(i for i, line in enumerate(docs) if line.strip() == "{")
    depth, end = 0, start
    for end in range(start, len(docs)):
        depth += docs[end].count("{") - docs[end].count("}")
        if depth == 0:
            break
    doc = json.loads("\n".join(docs[start:end + 1]))
    assert doc["schema"] == "ddoctor.cluster/1" and len(doc["ranks"]) == 4
    diffs = {d["field"]: d for d in doc["differences"]}
    assert diffs["NCCL_IB_DISABLE"]["critical"] and sorted(diffs["NCCL_IB_DISABLE"]["values"]["<unset>"]) != []
    assert set(diffs["NCCL_DEBUG"]["values"]) == {"WARN", "INFO"}
    assert "torch" not in diffs
    assert 1 in {p.returncode for p in nodes}  # the verdict; both agents stop within the timeout (no exit-barrier wait)

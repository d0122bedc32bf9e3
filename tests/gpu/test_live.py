"""`check --live` on the GPU: NCCL collectives and the all_reduce sweep (busbw table), then the Gloo passes
(CPU tensors between two ranks, and CUDA tensors through Gloo) on the same host."""

from __future__ import annotations

import json
import re

import pytest

from ddoctor.live.launch import run_live
from ddoctor.model.status import Status
from ddoctor.ranks.plan import Plan
from tests.gpu.conftest import ddoctor_json, findings_by_id, smi_gpus

pytestmark = pytest.mark.gpu
# The default sweep on CUDA: 1 KiB to 256 MiB in steps of 4.
DEFAULT_SIZES = [1024 * 4**i for i in range(10)]
ROW = re.compile(r"^\s*([\d,]+) B\s+([\d.]+) us\s+algbw ([\d.]+) GB/s\s+busbw ([\d.]+) GB/s\s+#wrong (\d+)$")


@pytest.fixture(scope="module")
def live(cache_dir, gpu_out):
    code, doc = ddoctor_json("check", "live", "-v", cache=cache_dir, timeout=400)
    (gpu_out / "check-live.json").write_text(json.dumps(doc, indent=1))
    return code, findings_by_id(doc)


@pytest.fixture(scope="module")
def table(live):
    rows = [ROW.match(line) for line in live[1]["live.bandwidth"]["details"]]
    assert all(rows), live[1]["live.bandwidth"]["details"]
    return [(int(m[1].replace(",", "")), float(m[2]), float(m[3]), float(m[4]), int(m[5])) for m in rows]


def test_live_exits_zero(live):
    assert live[0] == 0


def test_collectives_verified_over_nccl(live):
    f = live[1]["live.collectives"]
    assert f["status"] == "pass", f["summary"]
    assert "(nccl)" in f["summary"]


def test_one_rank_per_gpu(live):
    placed = re.findall(r"rank (\d+) → (\S+?)(?:,|$)", live[1]["live.placement"]["summary"])
    assert placed == [(str(g.index), f"cuda:{g.index}") for g in smi_gpus()]


def test_sweep_covers_the_default_sizes(table):
    assert [row[0] for row in table] == DEFAULT_SIZES


def test_sweep_has_no_wrong_values(table):
    assert sum(row[4] for row in table) == 0


def test_largest_all_reduce_moves_data(table):
    assert table[-1][2] > 0


def test_busbw_is_algbw_times_the_ring_factor(table):
    """nccl-tests' all_reduce factor 2(n-1)/n: zero on one GPU, algbw's share on several."""
    n = len(smi_gpus())
    for size, _, algbw, busbw, _ in table:
        assert busbw == pytest.approx(algbw * 2 * (n - 1) / n, abs=2e-3), size


def test_bandwidth_verdict(live):
    assert live[1]["live.bandwidth"]["status"] == "pass"


@pytest.fixture(scope="module", params=[("gloo", "cpu", 2), ("gloo", "cuda", 1)], ids=["gloo-cpu", "gloo-cuda"])
def gloo(request, gpu_out):
    backend, device, nproc = request.param
    plan = Plan(nproc=nproc, backend=backend, device=device, reason="the GPU lane's Gloo pass")
    findings = run_live(plan, timeout=120, min_busbw=None, max_bytes=16 << 20)
    (gpu_out / f"live-{backend}-{device}.json").write_text(json.dumps([f.to_dict() for f in findings], indent=1))
    return device, {f.id: f for f in findings}


def test_gloo_collectives(gloo):
    f = gloo[1]["live.collectives"]
    assert f.status is Status.PASS, f.summary


def test_gloo_placement(gloo):
    assert f"rank 0 → {'cuda:0' if gloo[0] == 'cuda' else 'cpu'}" in gloo[1]["live.placement"].summary


def test_gloo_bandwidth_has_no_wrong_values(gloo):
    f = gloo[1]["live.bandwidth"]
    assert f.status is Status.PASS, f.summary
    assert f.evidence["wrong"] == 0

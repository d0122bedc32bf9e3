"""`ddoctor check --live`: real Gloo collectives between local ranks, verified; a hung rank is named."""

import json

import pytest

pytestmark = pytest.mark.slow


def findings(r):
    return {f["id"]: f for f in json.loads(r.stdout)["findings"]}


def test_live_collectives_and_bandwidth(run_cli):
    r = run_cli("check", "live", "--format", "json", "--live-max-bytes", str(4 << 20), timeout=180)
    f = findings(r)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f["live.collectives"]["status"] == "pass"
    assert "all_reduce, broadcast, all_gather and barrier" in \
        f["live.collectives"]["summary"]
    assert f["live.placement"]["status"] == "pass"
    bw = f["live.bandwidth"]
    assert bw["status"] == "pass"
    assert bw["evidence"]["wrong"] == 0
    assert bw["evidence"]["sizes"] == 7
    assert bw["evidence"]["peak_busbw_GBs"] > 0


def test_min_busbw_floor_fails_the_gate(run_cli):
    r = run_cli("check", "live", "--format", "json", "--live-max-bytes", str(1 << 20), "--min-busbw", "10000",
                timeout=180)
    assert r.returncode == 1
    assert findings(r)["live.bandwidth"]["status"] == "fail"


def test_a_rank_that_never_arrives_is_named(run_cli):
    r = run_cli("check", "live", "--format", "json", "--fault", "hang@1:all_reduce", "--timeout", "20", timeout=180)
    f = findings(r)["live.collectives"]
    assert r.returncode == 1
    assert f["status"] == "fail"
    assert "rank 1 never arrived at all_reduce" in f["summary"]
    assert f["affects"] == ["rank 1"]


def test_a_killed_rank_is_named_with_its_signal(run_cli):
    r = run_cli("check", "live", "--format", "json", "--fault", "kill@1:all_reduce", "--timeout", "30", timeout=180)
    f = findings(r)["live.collectives"]
    assert r.returncode == 1
    assert "rank 1 never arrived at all_reduce" in f["summary"]
    assert "rank 1 was killed by SIGKILL" in f["summary"]
    assert f["affects"] == ["rank 1"]


def test_ranks_absent_from_the_monitored_barrier_are_named(run_cli):
    r = run_cli("check", "live", "--format", "json", "--nproc", "3", "--fault", "hang@2:monitored_barrier",
                "--timeout", "40", timeout=180)
    f = findings(r)["live.collectives"]
    assert f["affects"] == ["rank 2"]
    assert "rank 2 never reached the monitored barrier" in f["summary"]

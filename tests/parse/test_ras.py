"""NCCL RAS: the client against a fake RAS server on loopback that speaks the documented protocol and
replays answers in NCCL's JSON format, and the verdict over several polls."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from ddoctor.host.nccl_ras import RasError, parse_address, query
from ddoctor.parse.ras import RasFormatError, analyze, parse_snapshot
from ddoctor.ranksets import compress

# The sample document of NCCL's docs/userguide/source/troubleshooting/ras.rst, extended to 4 ranks.
BASE = {
    "nccl_version": "2.29.1", "cuda_runtime_version": 13000, "cuda_driver_version": 13000,
    "timestamp": "2025-12-19 13:06:53", "communicators_count": 1,
    "communicators": [{
        "hash": "0xae94423cfbb2ef4a", "secondary_hash": "0xb7e7187447156001:0xb8242ed28a71381e", "size": 4,
        "ranks_count": 4, "missing_ranks_count": 0,
        "ranks": [{"rank": r, "host": "10.0.0.1" if r < 2 else "10.0.0.2", "pid": 1000 + r, "cuda_dev": r % 2,
                   "nvml_dev": r % 2,
                   "status": {"init_state": 0, "async_error": 0, "finalize_called": False, "destroy_flag": False,
                              "abort_flag": False},
                   "collective_counts": {"Broadcast": 1, "Reduce": 0, "AllGather": 0, "ReduceScatter": 0,
                                         "AllReduce": 6650}} for r in range(4)],
        "missing_ranks": [],
    }],
    "ras": {"collection_time_sec": 0.002, "timeouts_count": 0},
}


def doc(**changes) -> dict:
    d = copy.deepcopy(BASE)
    comm = d["communicators"][0]
    for rank, count in changes.get("counts", {}).items():
        comm["ranks"][rank]["collective_counts"]["AllReduce"] = count
    for rank in changes.get("dead", ()):
        r = comm["ranks"].pop(next(i for i, x in enumerate(comm["ranks"]) if x["rank"] == rank))
        comm["missing_ranks"].append({"rank": rank, "host": r["host"], "pid": r["pid"], "cuda_dev": r["cuda_dev"],
                                      "nvml_dev": r["nvml_dev"], "status": {"unresponsive": True,
                                                                            "considered_dead": True}})
    for rank, code in changes.get("errors", {}).items():
        comm["ranks"][rank]["status"]["async_error"] = code
    return d


class FakeRas:
    """Loopback server: CLIENT PROTOCOL -> SERVER PROTOCOL 2; TIMEOUT/SET FORMAT -> OK; STATUS -> next doc."""

    def __init__(self, docs: list, *, greeting: bytes = b"SERVER PROTOCOL 2\n") -> None:
        self.docs, self.greeting = list(docs), greeting
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.commands: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as f:  # the file shares the socket: close both to send EOF
                for raw in f:
                    line = raw.decode().strip()
                    self.commands.append(line)
                    if line.startswith("CLIENT PROTOCOL"):
                        conn.sendall(self.greeting)
                    elif line.startswith(("TIMEOUT", "SET FORMAT")):
                        conn.sendall(b"OK\n")
                    elif line.endswith("STATUS"):
                        d = self.docs.pop(0) if len(self.docs) > 1 else self.docs[0]
                        conn.sendall(d if isinstance(d, bytes) else json.dumps(d, indent=2).encode())
                        break

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fake():
    servers = []

    def make(docs, **kw):
        s = FakeRas(docs, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_the_client_speaks_the_protocol(fake):
    srv = fake([BASE])
    text = query(srv.address, timeout_s=5)
    assert json.loads(text)["nccl_version"] == "2.29.1"
    assert srv.commands == ["CLIENT PROTOCOL 2", "TIMEOUT 5", "SET FORMAT json", "VERBOSE STATUS"]


def test_another_service_on_the_port_is_named(fake):
    srv = fake([BASE], greeting=b"HTTP/1.1 400 Bad Request\n")
    with pytest.raises(RasError, match="not a NCCL RAS service"):
        query(srv.address, timeout_s=5)


def test_nothing_listening_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RasError, match="cannot connect"):
        query(f"127.0.0.1:{port}", timeout_s=2)


def test_text_answers_of_old_nccl_are_refused_as_format():
    with pytest.raises(RasFormatError, match=r"2\.28\.7"):
        parse_snapshot("Job summary\n===========\n")


def test_progress_between_polls_is_healthy():
    r = analyze("x", [parse_snapshot(json.dumps(doc())), parse_snapshot(json.dumps(doc(counts={0: 6651, 1: 6651,
                                                                                              2: 6651, 3: 6651})))])
    assert r.state == "progressing"


def test_a_mismatch_that_does_not_move_names_the_ranks_behind():
    stuck = doc(counts={3: 6649})
    r = analyze("x", [parse_snapshot(json.dumps(stuck))] * 3)
    assert r.state == "stuck"
    f = next(f for f in r.findings if f.id == "ras.stuck")
    assert f.summary.startswith("rank 3 of communicator")
    assert "ranks 0-2 launched more" in f.summary
    assert "10.0.0.2 pid 1003 GPU 1" in f.details[0]


def test_one_snapshot_with_a_mismatch_is_only_a_warning():
    r = analyze("x", [parse_snapshot(json.dumps(doc(counts={3: 6649})))])
    assert r.state == "in-flight"


def test_dead_ranks_are_named_with_host_pid_and_gpu():
    r = analyze("x", [parse_snapshot(json.dumps(doc(dead=[2])))])
    assert r.state == "dead"
    assert "rank 2: 10.0.0.2 pid 1002 GPU 0" in r.findings[0].details


def test_async_errors_are_named_by_their_nccl_result():
    r = analyze("x", [parse_snapshot(json.dumps(doc(errors={1: 6})))])
    assert r.state == "error"
    assert "ncclRemoteError" in r.findings[0].summary


def test_hundreds_of_ranks_are_grouped_not_listed():
    big = copy.deepcopy(BASE)
    comm = big["communicators"][0]
    tmpl = comm["ranks"][0]
    comm["ranks"] = []
    for r in range(1024):
        x = copy.deepcopy(tmpl)
        x["rank"], x["pid"] = r, 5000 + r
        x["collective_counts"]["AllReduce"] = 6649 if r in (17, 512) else 6650
        comm["ranks"].append(x)
    comm["size"] = 1024
    snap = parse_snapshot(json.dumps(big))
    f = next(f for f in analyze("x", [snap, snap]).findings if f.id == "ras.stuck")
    assert "ranks 17,512 of communicator" in f.summary
    assert "ranks 0-16,18-511,513-1023 launched more" in f.summary
    assert compress(range(0, 100, 2), limit=4) == "0,2,4,6 (+46 more)"


def test_malformed_documents_never_crash():
    for bad in ("[]", '{"communicators": "x"}', '{"communicators": [1, {"ranks": [null, {"rank": "a"}]}]}'):
        try:
            snap = parse_snapshot(bad)
        except RasFormatError:
            continue
        analyze("x", [snap])


def test_addresses():
    assert parse_address("node7:28028") == ("node7", 28028)
    assert parse_address("[::1]:1234") == ("::1", 1234)
    with pytest.raises(ValueError):
        parse_address("node7:http")


@pytest.mark.slow
def test_diagnose_ras_polls_a_live_service(fake):
    srv = fake([doc(counts={3: 6649})] * 3)
    r = subprocess.run([sys.executable, "-m", "ddoctor", "diagnose", "--ras", srv.address, "--polls", "3",
                        "--interval", "0", "--format", "json"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "NO_COLOR": "1"})
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["schema"] == "ddoctor.ras/1"
    assert out["state"] == "stuck"


@pytest.mark.slow
def test_diagnose_ras_with_nothing_listening_exits_2():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = subprocess.run([sys.executable, "-m", "ddoctor", "diagnose", "--ras", f"127.0.0.1:{port}", "--polls", "2",
                        "--interval", "0"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "NO_COLOR": "1"})
    assert r.returncode == 2
    assert "cannot connect" in r.stdout + r.stderr

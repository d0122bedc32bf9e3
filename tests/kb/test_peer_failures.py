"""A rank that sees its peer go away reports the peer's failure as its own error: the peer's cause ranks first."""

from ddoctor.kb.engine import diagnose_text

PEER_CLOSED = "[rank0]: RuntimeError: [../third_party/gloo/gloo/transport/tcp/pair.cc:598] Connection closed by peer " \
              "[10.0.0.3]:30872\n"


def _ranked(text: str) -> list[tuple[str, bool]]:
    return [(d.name, d.symptom) for d in diagnose_text(text).diagnoses]


def test_a_peer_closing_its_gloo_connection_alone_is_still_the_diagnosis():
    assert _ranked(PEER_CLOSED)[:1] == [("gloo-peer-closed", True)]  # a symptom, but all the log shows


def test_the_peer_s_segfault_explains_the_closed_connection():
    exit_line = ("E1124 17:57:47.368000 21844 torch/distributed/elastic/multiprocessing/api.py:1002] failed (exitcode: -11)"
                 " local_rank: 1 (pid: 21854) of binary: /env/bin/python3\n")
    assert _ranked(exit_line + PEER_CLOSED) == [("segfault", False), ("gloo-peer-closed", True)]


def test_the_gloo_connect_phase_stays_gloo_connect():
    text = ("RuntimeError: Gloo connectFullMesh failed with [../third_party/gloo/gloo/transport/tcp/pair.cc:144] "
            "no error\n")
    assert _ranked(text)[0][0] == "gloo-connect"


def test_the_peer_s_exception_explains_the_closed_connection():
    text = ("[rank1]: Traceback (most recent call last):\n[rank1]:   File \"train.py\", line 9, in <module>\n"
            "[rank1]: ValueError: bad batch\n" + PEER_CLOSED)
    assert _ranked(text)[0] == ("user-code-error", False)


# NCCL_DEBUG=INFO: one thread traces a system error up its stack (`-> 2`) while another warns that the socket to
# its peer closed. The socket failure explains the system error even as a symptom, and whichever thread printed
# first does not decide it.
NCCL_TRACE = ("node1:922:1158 [3] NCCL INFO misc/socket.cc:567 -> 2\n"
              "node1:922:1158 [3] NCCL INFO transport/net.cc:592 -> 2\n"
              "node1:922:1158 [3] proxy.cc:1519 NCCL WARN [Proxy Service 11] Failed to execute operation Connect "
              "from rank 11, retcode 2\n")
SOCKET_CLOSED = "node1:922:1149 [3] misc/socket.cc:49 NCCL WARN socketProgress: Connection closed by remote peer node2<53735>\n"


def test_a_closed_socket_explains_the_nccl_system_error_traced_before_it():
    ranked = _ranked(NCCL_TRACE + SOCKET_CLOSED)
    assert [name for name, _ in ranked] == ["nccl-network-error", "nccl-internal-error"]


def test_the_nccl_system_error_alone_stays_an_internal_error():
    assert _ranked(NCCL_TRACE)[0] == ("nccl-internal-error", False)


def test_a_peer_killed_by_the_oom_killer_still_explains_both():
    exit_line = ("E1124 17:57:47.368000 21844 torch/distributed/elastic/multiprocessing/api.py:1002] failed (exitcode: -9)"
                 " local_rank: 1 (pid: 21854) of binary: /env/bin/python3\n")
    assert _ranked(NCCL_TRACE + SOCKET_CLOSED + exit_line)[0][0] == "host-oom-killed"


CLOSED = ('  File "/env/site-packages/torch/distributed/elastic/rendezvous/dynamic_rendezvous.py", line 635, in run\n'
          "    raise RendezvousClosedError()\n"
          "torch.distributed.elastic.rendezvous.api.RendezvousClosedError\n")
STEP_CANCELLED = ("srun: error: node01: task 1: Exited with exit code 1\n"
                  "slurmstepd: error: *** STEP 2194.1 ON node01 CANCELLED AT 2024-01-05T14:27:50 ***\n"
                  "WARNING:torch.distributed.elastic.agent.server.api:Received 15 death signal, shutting down workers\n")


def test_slurm_ending_the_step_after_a_task_failed_is_not_the_cause():
    assert _ranked(CLOSED + STEP_CANCELLED)[0] == ("rendezvous-closed", True)


def test_a_cancelled_step_alone_is_an_interrupted_job():
    assert _ranked("step 10 loss 1.2\n" + STEP_CANCELLED.split("\n", 1)[1])[0][0] == "job-interrupted"

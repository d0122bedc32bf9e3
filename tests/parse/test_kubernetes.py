"""Kubernetes log prefixes and pod names: `kubectl logs --prefix`, the kubelet's CRI files, PyTorchJob
and JobSet pod numbering (parse/clean.py, ranknames.py)."""

import pytest

from ddoctor.parse.clean import clean_line
from ddoctor.ranknames import dump_rank, pod_rank


def test_a_kubectl_prefix_gives_the_pods_rank():
    assert clean_line("[pod/bert-worker-3/pytorch] RuntimeError: x") == (3, False, "RuntimeError: x")


def test_workers_count_from_one_beside_a_master():
    assert clean_line("[pod/bert-worker-3/pytorch] RuntimeError: x", has_master=True)[0] == 4


def test_a_global_rank_prefix_wins_over_the_pod():
    assert clean_line("[pod/bert-worker-3/pytorch] [default0]:[rank13]: RuntimeError: x")[:2] == (13, True)


def test_a_local_rank_prefix_does_not_replace_the_pods_rank():
    assert clean_line("[pod/bert-worker-3/pytorch] [default1]: RuntimeError: x")[0] == 3


def test_a_pod_whose_name_says_no_rank_is_only_stripped():
    assert clean_line("[pod/nginx-7d9c5/nginx] ready") == (None, False, "ready")


def test_kubectl_prefix_then_timestamps():
    assert clean_line("[pod/t-node-0-2-x7k2p/node] 2025-05-01T10:00:00.123456Z RuntimeError: x") == (
        2, False, "RuntimeError: x")


@pytest.mark.parametrize("line", ["2025-05-01T10:00:00.123456789Z stderr F RuntimeError: x",
                                  "2025-05-01T10:00:00.123456789+02:00 stdout P RuntimeError: x"])
def test_the_kubelets_cri_header_is_stripped(line):
    assert clean_line(line)[2] == "RuntimeError: x"


@pytest.mark.parametrize(("pod", "master", "rank"), [
    ("bert-master-0", True, 0), ("bert-worker-0", True, 1), ("bert-worker-0", False, 0),
    ("llama-node-0-5-x7k2p", False, 5), ("llama-trainer-1-3", False, 3), ("web-6f7d8-abcde", False, None)])
def test_pod_names(pod, master, rank):
    assert pod_rank(pod, has_master=master) == rank


@pytest.mark.parametrize(("name", "rank"), [("nccl_trace_rank_3", 3), ("node7_trace_rank_12.pkl", 12),
                                            ("trace_rank_0.json", 0)])
def test_dump_names(name, rank):
    assert dump_rank(name) == rank


def test_torchx_s_role_and_replica_prefix_is_peeled_without_a_rank():
    # torchx's scheduler logs (AWS Batch, Kubernetes): `main/0 ` before every line; the replica is a node
    assert clean_line("main/0 torchrun: error: argument --node-rank/--node_rank: invalid int value: '$X'") == \
        (None, False, "torchrun: error: argument --node-rank/--node_rank: invalid int value: '$X'")
    assert clean_line("trainer/0 [1]: RuntimeError: boom")[0] == 1  # the local rank after it is still read
    assert clean_line("/0 not a prefix")[2] == "/0 not a prefix"

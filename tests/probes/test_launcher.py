"""Launcher variables of torchrun, Slurm, Kubeflow/JobSet, DeepSpeed and MPI, checked against each other."""

import pytest

from ddoctor.host import fake
from ddoctor.model.status import Status
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.launcher import check_addr, check_launcher_env, launchers
from ddoctor.probes.registry import PROBES
from ddoctor.probes.runner import run_probe

ENV_PROBE = next(p for p in PROBES if p.id == "launch.env")
ADDR_PROBE = next(p for p in PROBES if p.id == "launch.addr")


def env_finding(env):
    return run_probe(ENV_PROBE, ProbeContext(host=fake.FakeHost(environ=env)))


TORCHRUN = {"TORCHELASTIC_RUN_ID": "j", "RANK": "3", "LOCAL_RANK": "3", "WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8",
            "GROUP_RANK": "0", "GROUP_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


# A PyTorchJob pod that runs one rank (no torchrun), a DeepSpeed rank on 2 nodes × 8, an Open MPI rank on 2 × 4.
POD = {"PET_NNODES": "3", "PET_NODE_RANK": "1", "PET_NPROC_PER_NODE": "1", "RANK": "1", "WORLD_SIZE": "3",
       "MASTER_ADDR": "bert-master-0", "MASTER_PORT": "23456"}
DEEPSPEED = {"CROSS_SIZE": "2", "CROSS_RANK": "1", "LOCAL_SIZE": "8", "RANK": "9", "LOCAL_RANK": "1",
             "WORLD_SIZE": "16", "MASTER_ADDR": "n0", "MASTER_PORT": "29500"}
OMPI = {"OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_RANK": "5", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
        "OMPI_COMM_WORLD_LOCAL_SIZE": "4", "RANK": "5", "LOCAL_RANK": "1", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "n0", "MASTER_PORT": "29500"}


@pytest.mark.parametrize("env", [POD, DEEPSPEED, OMPI, {**POD, "JOB_COMPLETION_INDEX": "1"}])
def test_coherent_launcher_envs_pass(env):
    assert env_finding(env).status is Status.PASS


def test_a_node_rank_that_is_not_the_pods_index_warns():
    f = env_finding({**POD, "JOB_COMPLETION_INDEX": "2"})
    assert f.status is Status.WARN
    assert "PET_NODE_RANK=1 but this pod is JOB_COMPLETION_INDEX=2" in f.summary


def test_an_unresolvable_pytorchjob_master_service_is_named():
    f = run_probe(ADDR_PROBE, ProbeContext(host=fake.FakeHost(environ={"MASTER_ADDR": "bert-master-0"})))
    assert "headless Service" in f.summary


def test_launchers_are_named():
    env = {**TORCHRUN, "SLURM_JOB_ID": "1", "PET_NNODES": "2", "OMPI_COMM_WORLD_SIZE": "16", "CROSS_SIZE": "2"}
    assert launchers(env) == ("torchrun", "slurm", "kubeflow", "deepspeed", "mpi")


def test_coherent_torchrun_env_passes():
    assert env_finding(TORCHRUN).status is Status.PASS


@pytest.mark.parametrize(("env", "says"), [
    ({**TORCHRUN, "WORLD_SIZE": "12"}, "GROUP_WORLD_SIZE=2 nodes × LOCAL_WORLD_SIZE=8 = 16"),
    ({**TORCHRUN, "PET_NNODES": "2", "PET_NPROC_PER_NODE": "4"}, "PET_NNODES=2 × PET_NPROC_PER_NODE=4 = 8"),
    ({"SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS_PER_NODE": "4", "SLURM_NTASKS": "6"}, "SLURM_NTASKS=6"),
    ({"SLURM_PROCID": "3", "SLURM_NTASKS": "8", "RANK": "2", "WORLD_SIZE": "8", "MASTER_ADDR": "n0",
      "MASTER_PORT": "1234"}, "RANK=2 but this task is SLURM_PROCID=3"),
    ({"SLURM_PROCID": "3", "SLURM_NTASKS": "8", "RANK": "3", "WORLD_SIZE": "4", "MASTER_ADDR": "n0",
      "MASTER_PORT": "1234"}, "WORLD_SIZE=4 but srun started SLURM_NTASKS=8 ranks"),
    ({"OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_RANK": "1", "RANK": "1", "WORLD_SIZE": "4", "MASTER_ADDR": "n0",
      "MASTER_PORT": "1234"}, "WORLD_SIZE=4 but MPI started OMPI_COMM_WORLD_SIZE=8 ranks"),
    ({"PET_NNODES": "2", "PET_NODE_RANK": "2"}, "PET_NODE_RANK=2 is outside 0..PET_NNODES-1 (2)"),
    ({"SLURM_NTASKS": "eight"}, "SLURM_NTASKS='eight' is not an integer"),
    ({"SLURM_JOB_NUM_NODES": "2", "SLURM_NODEID": "2"}, "SLURM_NODEID=2 is outside 0..SLURM_JOB_NUM_NODES-1 (2)"),
    ({"SLURM_NTASKS_PER_NODE": "4", "SLURM_LOCALID": "4"}, "SLURM_LOCALID=4 is outside"),
    ({**POD, "RANK": "2"}, "RANK=2 but this pod is PET_NODE_RANK=1 (one rank per pod)"),
    ({**DEEPSPEED, "CROSS_RANK": "2"}, "CROSS_RANK=2 is outside 0..CROSS_SIZE-1 (2)"),
    ({**DEEPSPEED, "LOCAL_RANK": "8"}, "LOCAL_RANK=8 is outside 0..LOCAL_SIZE-1 (8)"),
    ({**DEEPSPEED, "LOCAL_WORLD_SIZE": "4"}, "LOCAL_WORLD_SIZE=4 but DeepSpeed's LOCAL_SIZE=8"),
    ({**OMPI, "LOCAL_RANK": "0"}, "LOCAL_RANK=0 but this process is OMPI_COMM_WORLD_LOCAL_RANK=1"),
    ({**OMPI, "LOCAL_WORLD_SIZE": "8"}, "LOCAL_WORLD_SIZE=8 but MPI started OMPI_COMM_WORLD_LOCAL_SIZE=4 ranks"),
    ({"PMI_SIZE": "4", "PMI_RANK": "4"}, "PMI_RANK=4 is outside 0..PMI_SIZE-1 (4)"),
])
def test_inconsistent_launcher_variables_fail_and_say_why(env, says):
    f = env_finding(env)
    assert f.status is Status.FAIL
    assert says in f.summary


@pytest.mark.parametrize(("env", "says"), [
    ({**TORCHRUN, "SLURM_JOB_NUM_NODES": "4"}, "torchrun's --nnodes differs from the allocation"),
    ({"CROSS_SIZE": "2", "LOCAL_SIZE": "8", "CROSS_RANK": "0", "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "12",
      "MASTER_ADDR": "n0", "MASTER_PORT": "29500"}, "CROSS_SIZE=2 nodes × LOCAL_SIZE=8 = 16"),
])
def test_questionable_launcher_variables_warn(env, says):
    f = env_finding(env)
    assert f.status is Status.WARN
    assert says in f.summary


def test_kubeflow_pod_without_torchrun_warns_that_each_pod_runs_one_rank():
    f = run_probe(ENV_PROBE, ProbeContext(host=fake.kubeflow_pod_without_torchrun()))
    assert f.status is Status.WARN
    assert "WORLD_SIZE=2 counts pods" in f.summary


def test_srun_without_env_mapping_shows_how_to_map():
    f = run_probe(ENV_PROBE, ProbeContext(host=fake.slurm_two_nodes()))
    assert f.status is Status.PASS
    assert "export RANK=$SLURM_PROCID WORLD_SIZE=$SLURM_NTASKS LOCAL_RANK=$SLURM_LOCALID" in f.details[0]


def test_unresolvable_kubeflow_master_service_is_named():
    host = fake.FakeHost(environ={"PET_NNODES": "2", "PET_MASTER_ADDR": "job-node-0-0.job"})
    f = run_probe(ADDR_PROBE, ProbeContext(host=host))
    assert f.status is Status.FAIL
    assert "headless Service" in f.summary


def test_launcher_values_go_through_redaction(monkeypatch):
    from ddoctor import redact

    monkeypatch.setattr(redact, "redact_env_value", lambda k, v: "<R>")
    f = check_launcher_env(ProbeContext(host=fake.FakeHost(environ=TORCHRUN)))
    assert set(v for k, v in f.evidence.items() if k in TORCHRUN) == {"<R>"}
    assert check_addr(ProbeContext(host=fake.FakeHost(environ={"MASTER_ADDR": "u:pw@x"}))).evidence == \
        {"MASTER_ADDR": "<R>"}

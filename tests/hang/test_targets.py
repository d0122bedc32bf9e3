"""Which processes of a job are its ranks: launchers, wrappers, helpers, plain processes."""

from types import MappingProxyType

from ddoctor.hang.targets import classify, launcher_kind, placement, split_jobs
from ddoctor.host.jobprocs import ProcInfo

PY = "/usr/bin/python3"


def proc(pid, ppid, *cmd, **env):
    return ProcInfo(pid=pid, ppid=ppid, cmdline=cmd, env=MappingProxyType({k: str(v) for k, v in env.items()}))


def ranked(pid, ppid, r, world=2, *cmd, **env):
    base = {"RANK": r, "WORLD_SIZE": world, "LOCAL_WORLD_SIZE": world, "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": 29500}
    return proc(pid, ppid, *(cmd or (PY, "train.py")), **{**base, **env})


def test_torchrun_is_a_launcher_and_its_workers_are_ranks():
    view = classify([proc(10, 1, PY, "-m", "torch.distributed.run", "--nproc_per_node", "2", "train.py"),
                     ranked(11, 10, 0), ranked(12, 10, 1)])
    assert [r.rank for r in view.ranks] == [0, 1]
    assert [k for k, _ in view.launchers] == ["torchrun"]


def test_a_dataloader_worker_of_a_rank_is_a_helper():
    view = classify([ranked(11, 1, 0), ranked(13, 11, 0), ranked(12, 1, 1)])
    assert [p.pid for p in view.helpers] == [13]


def test_a_wrapper_with_the_rank_variables_is_not_the_rank():
    view = classify([ranked(11, 1, 0, 2, "timeout", "60", PY, "train.py"), ranked(12, 11, 0)])
    assert [r.info.pid for r in view.ranks] == [12]


def test_python_processes_without_rank_variables_are_a_job_of_one():
    view = classify([proc(20, 1, PY, "serve.py"), proc(21, 20, PY, "-c", "worker")])
    assert [p.pid for p in view.lone] == [20]


def test_launchers_are_recognised_by_program_and_module():
    assert [launcher_kind(c) for c in (["mpirun", "-np", "2"], [PY, "-m", "deepspeed.launcher.launch"],
                                        ["/usr/bin/srun", "python"], [PY, "train.py"])] == \
        ["mpirun", "deepspeed", "srun", None]


def test_open_mpi_ranks_are_read_from_its_variables():
    view = classify([proc(30, 1, PY, "t.py", OMPI_COMM_WORLD_RANK=1, OMPI_COMM_WORLD_SIZE=2)])
    assert view.ranks[0].rank == 1


def test_a_rank_not_running_on_a_single_host_job_is_missing():
    assert placement(classify([ranked(11, 1, 0, 3), ranked(12, 1, 2, 3)])) == ((1,), ())


def test_ranks_of_other_nodes_are_remote():
    procs = [proc(11, 1, PY, "t.py", RANK=r, WORLD_SIZE=4, LOCAL_WORLD_SIZE=2, GROUP_RANK=0, MASTER_ADDR="10.0.0.1")
             for r in (0, 1)]
    procs[1] = ProcInfo(pid=12, ppid=1, cmdline=procs[1].cmdline, env=procs[1].env)
    assert placement(classify(procs)) == ((), (2, 3))


def test_two_jobs_of_one_user_are_told_apart():
    view = classify([ranked(11, 1, 0), ranked(12, 1, 0, 2, MASTER_PORT=29600)])
    assert len(split_jobs(view)) == 2

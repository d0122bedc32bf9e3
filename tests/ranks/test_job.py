"""RankJob with real processes: launcher prefixes are demultiplexed, every pid is listed, stop leaves nothing."""

import sys
import textwrap
import time

import psutil

from ddoctor.ranks.job import RankJob
from ddoctor.ranks.protocol import RankEvent


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def event(**kw) -> str:
    return RankEvent(**kw).to_line()


def test_torchrun_prefixes_go_to_the_global_rank_that_announced_itself():
    lines = [f"[default0]:{event(event='start', rank=5, pid=11)}", f"[default1]:{event(event='start', rank=2)}",
             "[default0]:hello from local 0", "[default1]:hello from local 1", "agent says hi"]
    job = RankJob(2, fixed=False)
    job.start(py(f"print({chr(10).join(lines)!r})"), {})
    job.wait(30)
    job.stop()
    out = job.outcome()
    # local ranks map to the announced global ranks in sorted order: local 0 -> 2, local 1 -> 5
    assert out.ranks[2].lines == ("hello from local 0",)
    assert out.ranks[5].lines == ("hello from local 1",)
    assert out.other == ("agent says hi",)


def test_srun_labels_name_the_rank():
    lines = [f"0: {event(event='phase', rank=0, phase='load')}", "1: boom", "0: fine"]
    job = RankJob(2, fixed=False)
    job.start(py(f"print({chr(10).join(lines)!r})"), {})
    job.wait(30)
    job.stop()
    out = job.outcome()
    assert out.ranks[0].phase == "load"
    assert out.ranks[1].lines == ("boom",)


def test_events_are_reported_as_they_arrive():
    seen = []
    job = RankJob(1, fixed=True, on_event=lambda rank, stage: seen.append((rank, stage)))
    job.start(py(f"print({event(event='phase', rank=0, phase='load')!r}); print({event(event='done', rank=0)!r})"),
              {}, 0)
    job.wait(30)
    job.stop()
    assert seen == [(0, "load"), (0, "done")]
    assert job.outcome().all_done()


def test_the_process_tree_lists_every_process_and_stop_ends_them(tmp_path):
    job = RankJob(1, fixed=True)
    job.start(py("""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print("ready", flush=True)
        time.sleep(60)
    """), {}, 0)
    deadline = time.monotonic() + 30
    while len(job.process_tree()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = job.process_tree()
    assert job.rank_pids() == {0: job.pids()[0]}
    assert len(tree) == 2
    assert tree[0] == job.pids()[0]
    job.stop()
    alive = [p for p in tree if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert job.outcome().processes[0].stopped


def test_after_the_first_failure_the_others_get_only_the_grace_period():
    job = RankJob(2, fixed=True)
    job.start(py("raise SystemExit(3)"), {}, 0)
    job.start(py("import time; time.sleep(60)"), {}, 1)
    timed_out = job.wait(120, grace=0.5)
    job.stop()
    out = job.outcome()
    assert not timed_out
    assert [(p.rank, p.stopped) for p in out.processes] == [(0, False), (1, True)]
    assert out.exit_of(0).returncode == 3

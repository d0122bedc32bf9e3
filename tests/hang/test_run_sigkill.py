"""`run` finds the SIGKILLed pid in torchrun's failure summary and asks the kernel's evidence about it."""

from types import SimpleNamespace

from ddoctor.cli.run_cmd import _sigkill_cause

SUMMARY = """torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
train.py FAILED
------------------------------------------------------------
Failures:
  <NO_OTHER_FAILURES>
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-12-02_00:00:00
  host      : node1
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 4242)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 4242
============================================================""".splitlines()


class Kills:
    def __init__(self):
        self.asked = None

    def attribute(self, pids):
        self.asked = set(pids)
        return "cause"


def watch():
    return SimpleNamespace(kills=Kills(), rank_pids=lambda: {})


def test_the_killed_rank_of_a_torchrun_summary_is_asked_about():
    w = watch()
    _sigkill_cause(w, 1, 100, SUMMARY)
    assert w.kills.asked == {4242}


def test_a_job_killed_itself_is_asked_about_by_its_pid():
    w = watch()
    _sigkill_cause(w, -9, 100, ["Killed"])
    assert w.kills.asked == {100}


def test_no_sigkill_asks_nothing():
    w = watch()
    assert _sigkill_cause(w, 1, 100, ["Traceback (most recent call last):", "ValueError: x"]) is None

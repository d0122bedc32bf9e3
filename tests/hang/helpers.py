"""Stacks as py-spy reports them, built by hand for the pure-logic and renderer tests."""

from ddoctor.model.hang import RankStack, ThreadStack
from ddoctor.model.logs import Frame

TORCH = "/usr/lib/python3.11/site-packages/torch/distributed/distributed_c10d.py"
CWD = "/home/ada/proj"


def user(fn, line, file="train.py"):
    return Frame(filename=f"{CWD}/{file}", lineno=line, function=fn)


def dist(fn, line=3252):
    return Frame(filename=TORCH, lineno=line, function=fn)


def rank(r, *frames, pid=None, **kw):
    pid = pid or 1000 + r
    return RankStack(pid=pid, rank=r, source="py-spy", cwd=CWD,
                     threads=(ThreadStack(name="MainThread", thread_id=pid, frames=tuple(frames)),), **kw)


def waiting(r, call="all_reduce", line=120):
    return rank(r, dist(call), user("train_step", line), user("<module>", 200))


def behind(r, fn="load_batch", line=88):
    return rank(r, user(fn, line, "data.py"), user("train_step", 110), user("<module>", 200))

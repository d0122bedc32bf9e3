"""Full, windowed and multi-process scanning give the same diagnosis, with exact line numbers."""

import io
import random

import pytest

from ddoctor.kb.engine import Session
from ddoctor.parse import reader

EVENTS = [
    ["[rank{r}]: Traceback (most recent call last):"]
    + [f'[rank{{r}}]:   File "/srv/train/mod{i}.py", line {i}, in f{i}' for i in range(12)]
    + ["[rank{r}]: RuntimeError: Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"],
    # the same message machine-translated: read by its devices, and counted once in every mode
    ["[rank{r}]: Traceback (most recent call last):"]
    + [f'[rank{{r}}]:   File "/srv/train/mod{i}.py", line {i}, in f{i}' for i in range(12)]
    + ["[rank{r}]: RuntimeError: 预期所有张量都在同一设备上，但发现至少有两个设备，cuda:0 和 cpu！"],
    ["node{r}:1:2 [0] misc/ibvwrap.cc:1 NCCL WARN Call to ibv_reg_mr failed", "NcclError: unhandled system error"],
    ["E1124 17:57:34.136000 1 api.py:1002] failed (exitcode: -9) local_rank: {r} (pid: 9) of binary: python",
     "Traceback (most recent call last):", '  File "/venv/bin/torchrun", line 8, in <module>',
     "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ", "=" * 40, "train.py FAILED",
     "-" * 40, "Failures:", "  <NO_OTHER_FAILURES>", "-" * 40, "Root Cause (first observed failure):", "[0]:",
     "  time      : 2026-11-24_17:57:34", "  host      : localhost", "  rank      : {r} (local_rank: {r})",
     "  exitcode  : -9 (pid: 9)  (SIGKILL)", "  error_file: <N/A>", "  traceback : Signal 9 (SIGKILL) received by PID 9",
     "=" * 40],
    ["[rank{r}]:[E ProcessGroupNCCL.cpp:475] [Rank {r}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=1)"],
]


def make_log(seed: int, lines: int = 30000) -> bytes:
    rnd = random.Random(seed)
    out = []
    while len(out) < lines:
        r = rnd.randrange(4)
        if rnd.random() < 0.003:
            out.extend(x.format(r=r) for x in rnd.choice(EVENTS))
        else:
            out.append(f"[rank{r}]:[2026-11-24 17:00:00] INFO trainer.py:12 step {len(out)} loss {rnd.random():.3f}")
    return ("\n".join(out) + "\n").encode()


def summary(result):
    return [(d.name, d.occurrences, tuple(e.lineno for e in d.evidence), d.ranks) for d in result.diagnoses]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_scanning_modes_agree(tmp_path, seed, monkeypatch):
    data = make_log(seed)
    full = Session(small=1 << 40)
    full.add_stream(io.BytesIO(data), "x")
    monkeypatch.setattr(reader, "CHUNK", 4096)  # many chunk boundaries, cutting tracebacks in two
    windowed = Session(small=0)
    windowed.add_stream(io.BytesIO(data), "x")
    path = tmp_path / "job.log"
    path.write_bytes(data)
    parallel = Session(small=0)
    from ddoctor.kb import engine

    monkeypatch.setattr(engine, "PARALLEL_MIN", 0)
    monkeypatch.setattr(engine.os, "cpu_count", lambda: 2)
    parallel.add_path(str(path))
    expected = summary(full.result())
    assert expected
    assert summary(windowed.result()) == expected
    assert summary(parallel.result()) == expected
    assert full.lines_read == windowed.lines_read == parallel.lines_read == data.count(b"\n")


def test_line_numbers_are_exact_in_windowed_mode():
    data = b"ok\n" * 5000 + b"RuntimeError: Distributed package doesn't have NCCL built in\n" + b"ok\n" * 5000
    s = Session(small=0)
    s.add_stream(io.BytesIO(data), "x")
    root = s.result().root
    assert root.name == "nccl-unavailable"
    assert root.evidence[0].lineno == 5001


def test_lines_across_several_inputs_are_numbered_continuously():
    s = Session()
    s.add_text("a\nb\n", "one")
    s.add_text("RuntimeError: Distributed package doesn't have NCCL built in\n", "two")
    assert s.result().root.evidence[0].lineno == 3

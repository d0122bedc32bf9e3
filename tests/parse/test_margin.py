"""A paste indented as a code block or quoted as a mail reads as the program printed it."""

import io
from pathlib import Path

import pytest

from ddoctor.kb.engine import Session
from ddoctor.parse import margin

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# logs whose answer an indent used to change: a vLLM engine's logger-prefixed traceback, a frame's
# source line read as a continuation, a missing-module error no longer at the margin
LOGS = ["logs/f101-nccl-unavailable.log", "realworld/threads/t0954-cuda-oom.log",
        "realworld/threads/t0505-missing-python-package.log", "realworld/threads/t0301-cuda-illegal-address.log"]


def names(data: bytes, small: int = 1 << 20) -> list[str]:
    s = Session(small=small)
    s.add_stream(io.BytesIO(data), "paste")
    return [d.name for d in s.result().diagnoses]


@pytest.mark.parametrize(("head", "want"), [
    (b"    Traceback (most recent call last):\n      File \"a.py\", line 1, in <module>\n    KeyError: 1\n", "    "),
    (b"> Traceback\n>   File \"a.py\"\n>\n> KeyError: 1\n", "> "),
    (b"\t\tone\n\t\ttwo\n\n\t\tthree\n", "\t\t"),
    # lines indented differently, and text at the margin: no margin
    (b"Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 1\n", ""),
    (b"    one\n      two\n     three\n", "    "),
    # two spaces are the program's own indent (frames, torchrun's summary fields), not a paste's
    (b"  rank      : 3 (local_rank: 3)\n  exitcode  : 1 (pid: 1234)\n  error_file: <N/A>\n", ""),
    (b"    only\n    two lines\n", ""),  # too few lines to tell a margin from an indented line
    (b"", ""),
])
def test_find(head: bytes, want: str) -> None:
    assert margin.find(head) == want


def test_stripper_keeps_lines_without_the_margin() -> None:
    got: list[str] = []
    feed = margin.stripper("> ", lambda n, t: got.append(t))
    for i, t in enumerate(["> a", ">", "b", ">   c"]):
        feed(i, t)
    assert got == ["a", "", "b", "  c"]


@pytest.mark.parametrize("log", LOGS)
@pytest.mark.parametrize("prefix", ["    ", "> ", "\t"])
@pytest.mark.parametrize("small", [1 << 20, 0], ids=["paste", "windowed"])
def test_indented_or_quoted_paste_gives_the_plain_answer(log: str, prefix: str, small: int) -> None:
    text = (FIXTURES / log).read_text(errors="surrogateescape")
    plain = names(text.encode(errors="surrogateescape"), small)
    assert plain and plain[0] == log.split("-", 1)[1].removesuffix(".log")
    shaped = "".join(prefix + ln for ln in text.splitlines(True))
    assert names(shaped.encode(errors="surrogateescape"), small)[0] == plain[0]


def test_torchrun_summary_fields_pasted_alone_keep_their_indent():
    fields = b"  rank      : 3 (local_rank: 3)\n  exitcode  : 1 (pid: 1234)\n  error_file: <N/A>\n"
    assert names(fields) == names(fields, 0) == ["unknown"]


@pytest.mark.parametrize("last", ["Killed", "exit status 1", "*** SIGSEGV (@0x0) received by PID 42 (TID 0x7f) from PID 0;",
                                  "terminate called after throwing an instance of 'std::runtime_error'"])
@pytest.mark.parametrize("prefix", ["    ", "> ", "[2024-01-05 10:00:00,123][__main__][INFO] - ",
                                    "2024-01-05 10:00:00.123 | ERROR    | train:main:57 - "])
def test_exit_lines_behind_a_margin_or_record_prefix_open_windows_in_large_logs(last: str, prefix: str):
    body = [f"step {i} loss 2.0" for i in range(30)] + [last, "after", "after2"]
    data = "".join(prefix + line + "\n" for line in body).encode()
    assert names(data) == names(data, 0) != []

"""A paste a terminal hard-wrapped is read as the lines the program printed; logs that merely have long lines
of one length (templated records, ranks repeating a message, rich's boxes) are left as they are."""

from __future__ import annotations

import io
import textwrap

from ddoctor.kb.engine import Session
from ddoctor.parse.unwrap import logical_lines

WATCHDOG = [
    "[rank0]:[E ProcessGroupNCCL.cpp:537] Some NCCL operations have failed or timed out. Due to the asynchronous "
    "nature of CUDA kernels, subsequent GPU operations might run on corrupted/incomplete data.",
    "[rank0]:[E ProcessGroupNCCL.cpp:1182] [Rank 0] NCCL watchdog thread terminated with exception: [Rank 0] Watchdog "
    "caught collective operation timeout: WorkNCCL(SeqNum=1, OpType=ALLGATHER, NumelIn=1, NumelOut=2, "
    "Timeout(ms)=600000) ran for 600168 milliseconds before timing out.",
    "Exception raised from checkTimeout at ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:525 (most recent "
    "call first):",
    "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x57 (0x7fab1c8d7d87 in /usr/local/lib/python3.8/"
    "dist-packages/torch/lib/libc10.so)",
]


def wrap(lines: list[str], width: int) -> list[bytes]:
    """What a terminal of `width` columns shows: every line cut at the edge, wherever the edge falls."""
    out = []
    for line in lines:
        out += [line[i:i + width].encode() for i in range(0, max(len(line), 1), width)]
    return out


def diagnose(data: bytes) -> tuple[list[str], list[int]]:
    s = Session()
    s.add_stream(io.BytesIO(data), "paste")
    ds = s.result().diagnoses
    return [d.name for d in ds], [e.lineno for e in ds[0].evidence] if ds else []


def test_a_wrapped_paste_is_read_as_printed():
    physical = wrap(WATCHDOG, 100)
    logical = logical_lines(physical)
    assert [line for _, line in logical] == [line.encode() for line in WATCHDOG]
    # each logical line keeps the number of its first physical line
    assert [i for i, _ in logical] == [0, 2, 5, 7]


def test_a_wrapped_paste_is_diagnosed_with_its_physical_line_numbers():
    names, lines = diagnose(b"\n".join(wrap(WATCHDOG, 80)) + b"\n")
    assert names[:1] == ["nccl-timeout"]
    assert 4 in lines  # the watchdog's line starts on physical line 4 (1-based) of the wrapped paste


def test_a_console_that_pads_short_lines_is_unwrapped_too():
    # Windows' console: a line that ended short is padded with spaces to the width; one cut at the edge is not
    width = 75
    physical = []
    for segment in (b for line in WATCHDOG[:2] for b in wrap([line], width)):
        physical.append(segment.ljust(width))
    logical = [line.rstrip() for _, line in logical_lines(physical)]
    assert logical == [line.encode() for line in WATCHDOG[:2]]


def test_a_margin_on_every_line_is_not_kept_inside_a_joined_line():
    physical = [b"    " + line for line in wrap(WATCHDOG, 76)]
    logical = [line for _, line in logical_lines(physical, b"    ")]
    assert logical == [b"    " + line.encode() for line in WATCHDOG]


def test_templated_records_of_one_length_are_not_joined():
    # NCCL INFO lines of many hosts end at the same column; the next record starts as records do
    records = [f"server{h}:1179{h}0:11833{h} [{r}] NCCL INFO comm 0x7f2240001ca0 rank {r} nranks 32 cudaDev {r} "
               f"nvmlDev {r} - Init COMPLETE".encode() for h in range(1, 5) for r in range(4)]
    assert len({len(r) for r in records}) == 1
    assert logical_lines(records) == list(enumerate(records))


def test_ranks_repeating_a_message_of_the_maximum_width_are_not_joined():
    msg = (b"RuntimeError: NCCL error in: ../torch/lib/c10d/ProcessGroupNCCL.cpp:535, unhandled system error, "
           b"NCCL version 2.7.5")
    lines = []
    for _ in range(3):
        lines += [b"Traceback (most recent call last):", b'  File "train.py", line 3, in <module>', msg,
                  b"ncclSystemError: System call (e.g. socket, malloc) or external library call failed"]
    assert logical_lines(lines) == list(enumerate(lines))


def test_rich_boxes_and_program_wrapped_prose_are_not_joined():
    box = ["╭" + "─" * 30 + " Traceback (most recent call last) " + "─" * 31 + "╮"]
    box += ["│ " + f"/srv/app/train{i}.py:{i} in main".ljust(94) + " │" for i in range(6)]
    box += ["╰" + "─" * 96 + "╯"]
    lines = [line.encode() for line in box]
    assert logical_lines(lines) == list(enumerate(lines))
    prose = textwrap.wrap("The NVIDIA driver on your system is too old (found version 6050). Please update your "
                          "GPU driver by downloading and installing a new version from the URL given below, or "
                          "install a PyTorch version that has been compiled with your version of the CUDA driver.",
                          width=70)
    assert logical_lines([p.encode() for p in prose]) == list(enumerate(p.encode() for p in prose))


def test_wide_characters_take_two_columns():
    cjk = "RuntimeError: 分布式包没有内置 NCCL，请检查安装的 torch 是否支持 CUDA 以及当前的环境配置是否正确无误，然后重新运行"
    physical, cols, cut = [], 0, 0
    for i, ch in enumerate(cjk):  # cut where an 80-column terminal would
        w = 2 if ord(ch) > 0x2E80 else 1
        if cols + w > 80:
            physical.append(cjk[cut:i].encode())
            cut, cols = i, 0
        cols += w
    physical.append(cjk[cut:].encode())
    assert len(physical) == 2 and len(physical[0]) > 80  # more bytes than columns
    logical = [line for _, line in logical_lines(wrap(WATCHDOG, 80) + physical)]
    assert logical == [line.encode() for line in WATCHDOG] + [cjk.encode()]


def test_one_joint_inside_a_word_with_another_at_a_space_is_a_wrapped_paste():
    # a watchdog line cut at 100 columns: once inside `oper|ation`, once after `ran |for`
    text = (b"[rank0]:[E1201 10:00:00.000000000 ProcessGroupNCCL.cpp:632] [Rank 0] Watchdog caught collective "
            b"operation timeout: WorkNCCL(SeqNum=12, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) "
            b"ran for 600015 milliseconds before timing out.")
    lines = [text[i:i + 100] for i in range(0, len(text), 100)]
    assert logical_lines(lines) == [(0, text)]

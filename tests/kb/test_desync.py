"""Ranks whose NCCL watchdogs timed out in different collectives issued different collectives."""

import io

import pytest

from ddoctor.kb.engine import Session

LINE = ("[rank{r}]:[E513 13:25:57.714 ProcessGroupNCCL.cpp:616] [Rank {r}] Watchdog caught collective operation "
        "timeout: WorkNCCL(SeqNum={seq}, OpType={op}, NumelIn=513, NumelOut=2052, Timeout(ms)=1800000) ran for "
        "1800036 milliseconds before timing out.\n")


def diagnose(*inputs: str, small: int) -> list[str]:
    s = Session(small=small)
    for i, text in enumerate(inputs):
        s.add_stream(io.BytesIO(text.encode()), f"rank{i}.log")
    return [d.name for d in s.result().diagnoses]


@pytest.mark.parametrize("small", [1 << 20, 0], ids=["paste", "windowed"])
def test_different_collectives_at_the_timeout_are_a_mismatch(small: int):
    desync = LINE.format(r=1, seq=339, op="BROADCAST") + LINE.format(r=0, seq=341, op="_ALLGATHER_BASE")
    assert diagnose(desync, small=small)[:2] == ["collective-mismatch", "nccl-timeout"]
    # the same collective on every rank: a hang, not a mismatch
    same = LINE.format(r=1, seq=339, op="ALLREDUCE") + LINE.format(r=0, seq=339, op="ALLREDUCE")
    assert diagnose(same, small=small)[:1] == ["nccl-timeout"]
    # one rank alone, even in two operations over time, says nothing about the others
    assert diagnose(LINE.format(r=0, seq=1, op="BROADCAST") + LINE.format(r=0, seq=2, op="ALLREDUCE"),
                    small=small)[:1] == ["nccl-timeout"]
    # a line cut inside the operation's name names no operation
    third = LINE.format(r=2, seq=339, op="ALLREDUCE")
    cut = same + third[:third.index("OpType=ALL") + len("OpType=ALL")] + "\n"
    assert "collective-mismatch" not in diagnose(cut, small=small)
    # per-rank files of one job are read together
    assert diagnose(LINE.format(r=0, seq=9, op="ALLREDUCE"), LINE.format(r=1, seq=9, op="BROADCAST"),
                    small=small)[:1] == ["collective-mismatch"]


@pytest.mark.parametrize("small", [1 << 20, 0], ids=["paste", "windowed"])
def test_the_same_collective_with_different_sizes_is_a_mismatch(small: int):
    sized = LINE.replace("NumelIn=513, NumelOut=2052", "NumelIn={n}, NumelOut={o}")
    resized = sized.format(r=0, seq=7, op="_ALLGATHER_BASE", n=513, o=2052) + \
        sized.format(r=1, seq=7, op="_ALLGATHER_BASE", n=498, o=1992)
    assert diagnose(resized, small=small)[:2] == ["collective-mismatch", "nccl-timeout"]
    # the same sizes: a hang
    same = sized.format(r=0, seq=7, op="ALLREDUCE", n=513, o=513) + sized.format(r=1, seq=7, op="ALLREDUCE", n=513,
                                                                                 o=513)
    assert diagnose(same, small=small)[:1] == ["nccl-timeout"]
    # different sizes in different sequence numbers are different calls, one rank behind the other
    behind = sized.format(r=0, seq=7, op="ALLREDUCE", n=513, o=513) + sized.format(r=1, seq=8, op="ALLREDUCE", n=9,
                                                                                   o=9)
    assert diagnose(behind, small=small)[:1] == ["nccl-timeout"]
    # one rank's watchdog repeating itself with other sizes is one rank
    assert diagnose(sized.format(r=0, seq=7, op="ALLREDUCE", n=1, o=1) + sized.format(r=0, seq=7, op="ALLREDUCE",
                                                                                      n=2, o=2),
                    small=small)[:1] == ["nccl-timeout"]

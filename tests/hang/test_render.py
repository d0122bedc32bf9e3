"""The hang renderer: golden text for the findings people read, and the JSON schema machines read.

Regenerate the golden files after an intended change: DDOCTOR_UPDATE_GOLDEN=1 pytest tests/hang/test_render.py
"""

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from ddoctor.hang.analyze import group_stacks, verdict
from ddoctor.model.hang import FrView, HangSnapshot, KillCause, RankStack
from ddoctor.render.hang import render_json, render_text
from tests.hang.helpers import behind, waiting

GOLDEN = Path(__file__).parent / "golden"


def snap(stacks, *, trigger="hang-timeout", missing=(), **kw):
    groups = group_stacks(stacks)
    return HangSnapshot(trigger=trigger, quiet_s=600.0, world_size=4, ranks=tuple(stacks), groups=groups,
                        verdict=verdict(stacks, groups, missing=missing), missing=missing, duration_s=1.25, **kw)


CASES = {
    "behind": lambda: snap([waiting(0), waiting(1), waiting(2), behind(3)],
                           launchers=("torchrun (pid 900)",)),
    "mismatch": lambda: snap([waiting(0), waiting(1), waiting(2), waiting(3, call="broadcast", line=131)],
                             trigger="on-demand"),
    "killed": lambda: snap([waiting(0), waiting(2), waiting(3),
                            RankStack(pid=1001, rank=1, source="none", state="gone",
                                      exit="was killed by the kernel's OOM killer",
                                      kill=KillCause(verdict="oom-killer", summary="the kernel's OOM killer killed "
                                                     "pid 1001 (python): the machine ran out of memory (kernel log)"))],
                           trigger="interrupt",
                           fr=FrView(ranks=(0, 2, 3), problems=("rank 1 never issued all_reduce #12",),
                                     how="dumps the ranks had written")),
    "no-py-spy": lambda: snap([RankStack(pid=1000 + r, rank=r, source="none", state="sleeping",
                                         wchan="futex_wait_queue", error="py-spy is not installed (pip install py-spy)")
                               for r in range(4)],
                              notes=("py-spy is not installed (pip install py-spy): no Python stacks; the kernel's "
                                     "view of each rank is shown instead",)),
}


def text(s):
    buf = io.StringIO()
    render_text(s, Console(file=buf, no_color=True, width=100, highlight=False, emoji=False))
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_text(name):
    got = text(CASES[name]())
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("DDOCTOR_UPDATE_GOLDEN"):
        path.write_text(got)
    assert got == path.read_text()


def test_json_has_the_schema_and_the_suspect():
    doc = json.loads(render_json(CASES["behind"]()))
    assert (doc["schema"], doc["verdict"]["suspects"], doc["problem"]) == ("ddoctor.snapshot/1", [3], True)


def test_json_keeps_every_frame():
    doc = json.loads(render_json(CASES["behind"]()))
    assert [f["function"] for f in doc["groups"][1]["frames"]] == ["load_batch", "train_step", "<module>"]


def test_job_text_is_never_read_as_markup():
    s = snap([waiting(0), behind(1, fn="[bold red]boom[/]")])
    assert "[bold red]boom[/]" in text(s)

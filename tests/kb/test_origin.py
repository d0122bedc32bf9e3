"""Where a log came from: each clue is found, the strongest one decides, and lines without clues cost no regex."""

import pytest

from ddoctor.kb import origin
from ddoctor.kb.origin import OriginTracker

EXAMPLES = [
    ("OS: macOS 14.4.1 (arm64)", "Darwin", "collect_env's OS line"),
    ("OS: Microsoft Windows 11 Pro", "Windows", "collect_env's OS line"),
    ("OS: Ubuntu 22.04.4 LTS (x86_64)", "Linux", "collect_env's OS line"),
    ("OSError: [WinError 126] The specified module could not be found.", "Windows", "a Windows path or error"),
    (r"  File C:\Users\me\AppData\Local\Programs\Python\Python311\lib\site.py", "Windows", "a Windows path or error"),
    (r"C:\train\run.py:12: UserWarning: x", "Windows", "a Windows path or error"),
    ("  File \"/Users/someone/llama/llama/generation.py\", line 84, in build", "Darwin",
     "a macOS path or the MPS backend"),
    ("/opt/homebrew/lib/python3.11/site-packages/torch/__init__.py", "Darwin", "a macOS path or the MPS backend"),
    ("loaded libtorch_cpu.dylib", "Darwin", "a macOS path or the MPS backend"),
    ("The operator 'aten::foo' is not currently implemented for the MPS device.", None, None),
    ("NotImplementedError: Could not run on MPS backend", "Darwin", "a macOS path or the MPS backend"),
    ("[W socket.cpp:697] Redirects are currently not supported in Windows or MacOs.", "Darwin-or-Windows",
     "torchrun's note that redirects are not supported on Windows or macOS"),
    ("  File \"/home/someone/train.py\", line 3, in <module>", "Linux", "a Linux path"),
    ("/usr/local/cuda/lib64/libcudart.so.12", "Linux", "a Linux path"),
    ("  File \"/usr/lib/python3/dist-packages/torch/serialization.py\"", "Linux", "a Linux path"),
    ("[rank0]:[2026-11-24 17:44:02] INFO trainer.py:359 step 19992 loss 0.51 12/500", None, None),
]


@pytest.mark.parametrize(("line", "system", "clue"), EXAMPLES, ids=[e[0][:40] for e in EXAMPLES])
def test_each_clue_is_found(line, system, clue):
    t = OriginTracker()
    t.on_line(line)
    r = t.result()
    found = (r.system, r.clue) if r else (None, None)
    assert found == (system, clue)


def test_the_strongest_clue_decides_whatever_comes_first():
    t = OriginTracker()
    for line in ("  File \"/home/ci/job.py\", line 1", "OS: macOS 14.4.1 (arm64)", "/home/ci/other.py"):
        t.on_line(line)
    assert t.result().system == "Darwin"


def test_the_redirects_note_with_a_mac_path_is_macos():
    t = OriginTracker()
    t.on_line("[W socket.cpp:697] Redirects are currently not supported in Windows or MacOs.")
    t.on_line("  File \"/Users/someone/x.py\", line 1")
    assert t.result().system == "Darwin"


@pytest.mark.parametrize("index", range(len(origin._CLUES)))
def test_every_clue_regex_needs_one_of_its_gates(index):
    """The literal gates are a necessary condition: a line with none of them cannot match the regex."""
    gates, rx, *_ = origin._CLUES[index]
    matched = [line for line, *_ in EXAMPLES if rx.search(line)]
    assert matched, "each clue has an example above"
    assert all(any(g in line for g in gates) for line in matched)
    for line in matched:  # and removing the gates' text removes the match
        stripped = line
        for g in gates:
            stripped = stripped.replace(g, "")
        assert not rx.search(stripped)

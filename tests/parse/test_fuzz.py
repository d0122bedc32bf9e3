"""Hostile input: random bytes and log fragments never crash the parser, and no pattern backtracks.

Linear time is asserted as an outcome about growth (the cost of 8x the input must stay near 8x),
never against an absolute wall-clock figure.
"""

import io
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddoctor.kb.engine import Session
from ddoctor.kb.loader import load_signatures
from ddoctor.parse import clean, exits, parser
from ddoctor.redact import scrub
from tests.conftest import STATS

FRAGMENTS = [
    "Traceback (most recent call last):", '  File "/p/x.py", line 3, in f', "    f()", "    ^^^^",
    "RuntimeError: boom", "KeyError: 'a'", "", "[rank0]: ", "[rank12]:", "[default3]:",
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:", "Root Cause (first observed failure):",
    "[0]:", "  rank      : 1 (local_rank: 1)", "  exitcode  : -9 (pid: 12)", "Failures:", "=====", "\x1b[31m",
    "\r", "│", "  + Exception Group Traceback (most recent call last):", "  | ValueError: x", "  +-+---- 1 ----",
    "-- Process 2 terminated with the following error:", "NCCL WARN Connect failed", "Killed", "\x00", "\ufffd",
    "  [Previous line repeated 996 more times]", "ERROR 06-13 09:02:44 [core.py:517] ",
]


def run(data: bytes, small: int = 8 << 20):
    s = Session(small=small)
    s.add_stream(io.BytesIO(data), "fuzz")
    return s.result()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_random_bytes_never_crash(data):
    STATS["inputs_fuzzed"] += 1
    r = run(data)
    assert all(d.name and d.evidence for d in r.diagnoses if d.name != "unknown")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(FRAGMENTS)), max_size=80),
       st.booleans())
def test_log_shaped_noise_never_crashes(pairs, windowed):
    STATS["inputs_fuzzed"] += 1
    text = "\n".join(a + b for a, b in pairs)
    r = run(text.encode("utf-8", "surrogatepass"), small=0 if windowed else 8 << 20)
    for d in r.diagnoses:
        assert 0 <= d.score <= 1
        assert d.evidence


def _cpu(fn) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def grows_linearly(make, apply, base: int = 4000) -> None:
    """apply(make(8n)) must cost well under the 64x a quadratic pattern would take.

    Inputs grow until one call costs a measurable 2 ms; a pattern still faster than that on
    256k characters cannot be backtracking catastrophically.
    """
    n = base
    while True:
        small = _cpu(lambda n=n: apply(make(n)))
        if small >= 0.002:
            break
        if n >= 256_000:
            return
        n *= 2
    large = _cpu(lambda: apply(make(8 * n)))
    assert large <= 32 * small, (n, small, large)


ADVERSARIAL = {
    "spaces": lambda n: " " * n,
    "quotes": lambda n: 'File "' + "x" * n,
    "brackets": lambda n: "[" * n + "]",
    "rank_prefixes": lambda n: "[rank1]:" * (n // 8),
    "dotted": lambda n: "a." * (n // 2) + ":",
    "carets": lambda n: " " * (n // 2) + "^" * (n // 2) + "x",
    "colons": lambda n: "Error:" * (n // 6),
    "box": lambda n: "│" + " " * n + "x",
    "digits": lambda n: "1" * n,
    "ansi": lambda n: "\x1b[" + "1;" * (n // 2),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_line_patterns_are_linear(name):
    make = ADVERSARIAL[name]
    pats = [parser.HEADER, parser.FRAME, parser.RICH_FRAME, parser.RICH_FRAME_HEAD, parser.EXC_LINE, parser.SPAWN, parser.REPEATED, parser.CARETS,
            parser.GROUP_DECOR, parser.MANGLED_SPLIT, parser.LOG_PREFIX, parser.TR_FIELD, parser.AGENT_FAILED,
            parser.SAID_EXC, parser.LOGGER_PREFIX, parser.IPY8_FRAME, parser.ANY_EXC_LINE]

    def apply(s):
        for p in pats:
            p.search(s)
        clean.clean_line(s)
        scrub(s)

    grows_linearly(make, apply)


SIG_PATTERNS = [(s.name, p) for s in load_signatures() for r in s.rules for p in (r.line, r.message, r.frame, r.source)
                if p]


# Every launcher exit shape and every trigger of the one-pass scan: the same guard as the signatures get.
EXIT_PATTERNS = [(f"exit-{sh.launcher}", sh.regex.pattern) for sh in exits.SHAPES] + \
    [("exit-trigger", t) for t in exits.TRIGGERS]


@pytest.mark.parametrize(("name", "pattern"), EXIT_PATTERNS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXIT_PATTERNS)])
def test_exit_shapes_and_triggers_are_linear(name, pattern):
    _assert_linear(pattern)


@pytest.mark.parametrize(("name", "pattern"), SIG_PATTERNS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SIG_PATTERNS)])
def test_signature_patterns_are_linear(name, pattern):
    """ReDoS guard per signature: feed each regex long runs of its own characters."""
    _assert_linear(pattern)


def _assert_linear(pattern: str) -> None:
    rx = re.compile(pattern, re.MULTILINE)
    alphabet = "".join(sorted({c for c in pattern if c.isprintable()}))[:40] or "a"
    # Literal pieces of the pattern (group openers such as `(?:` and `(?P<name>` removed first), repeated:
    # what makes `a.*b`-style patterns go quadratic.
    bare = re.sub(r"\(\?(?:P<\w+>|[:=!i]|<[=!])", "(", pattern)
    pieces = " ".join(p for p in re.split(r"[\\^$.|?*+()\[\]{}]", bare) if len(p) >= 2) or alphabet

    def make_alphabet(n):
        return (alphabet * (n // len(alphabet) + 1))[:n]

    def make_pieces(n):
        return (pieces * (n // len(pieces) + 1))[:n]

    # The pattern's opening pieces glued and repeated, never completed (`libcudartlibcudart...`): every
    # occurrence starts a match attempt that an unbounded `[\w.]*` would run to the end of the input.
    glued = "".join(pieces.split(" ")[:2])

    def make_glued(n):
        return (glued * (n // len(glued) + 1))[:n]

    grows_linearly(make_alphabet, rx.search)
    grows_linearly(make_pieces, rx.search)
    grows_linearly(make_glued, rx.search)


def test_whole_pipeline_is_linear_on_a_pathological_log():
    unit = ("[rank1]: Traceback (most recent call last):\n" + '[rank1]:   File "/p/x.py", line 3, in f\n' * 30
            + "[rank1]: RuntimeError: Expected all tensors to be on the same device\n" + "x" * 200 + "\n")

    def make(n):
        return (unit * (n // len(unit) + 1)).encode()

    grows_linearly(make, lambda b: run(b), base=20000)


def test_huge_single_line_and_deep_chain():
    huge = b"RuntimeError: " + b"a" * 3_000_000
    assert run(huge).root.name == "user-code-error"
    chain = "\n".join(["Traceback (most recent call last):", '  File "/p/x.py", line 1, in f', "KeyError: 1", "",
                       "During handling of the above exception, another exception occurred:", ""] * 2000)
    r = run(chain.encode())
    assert r.root is not None


def test_a_million_frames_stay_bounded():
    frames = '  File "/p/x.py", line 1, in f\n    f()\n' * 1_000_000
    text = "Traceback (most recent call last):\n" + frames + "RecursionError: maximum recursion depth exceeded\n"
    from ddoctor.parse.parser import MAX_FRAMES, LogParser

    tbs = []
    p = LogParser(lambda *a: None, tbs.append, lambda *a: None)
    for i, line in enumerate(text.split("\n"), 1):
        p.feed(i, line)
    p.close()
    assert len(tbs) == 1
    assert len(tbs[0].final.frames) <= MAX_FRAMES
    assert tbs[0].final.short_type == "RecursionError"

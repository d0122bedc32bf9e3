"""Apply signatures to a stream of parsed log items and rank what was found.

The matcher is the parser's sink: it keeps per-signature aggregates (counts, a few evidence
lines, ranks), never the log, so memory is bounded however long the input is. Evidence is any of
an exception's message, the frames where a library raised, the source lines printed under those
frames, a printed line, a warning printed before the failure, or an exit status / signal from any
launcher. A log that failed is never called clean: an exception no signature explains is the
user's own bug, and a failure with no signature at all is `unknown`.
"""

from __future__ import annotations

import bisect
import re
import shlex
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ddoctor.kb.conditions import all_hold
from ddoctor.kb.desync import TRIGGER, DesyncTracker
from ddoctor.lazyre import LazyPattern
from ddoctor.model.diagnosis import Diagnosis, Rule, Signature
from ddoctor.model.logs import Evidence, ExceptionBlock, Frame, RankFailure, Traceback
from ddoctor.parse.multimatch import MultiPattern, required_literal
from ddoctor.parse.parser import messages_of
from ddoctor.parse.stamps import line_time
from ddoctor.redact import scrub

MAX_EVIDENCE = 6
EVIDENCE_CHARS = 500
MAX_PENDING_WARNINGS = 64
# What libraries announce in a Python warning and then go on: a version or package they would rather have, a
# single-GPU limit, a checkpoint detail. A warning's text does not report that a CUDA, NCCL, memory or process
# failure happened: such a line inside what looks like a warning's message counts as printed output.
NOTICE_CATEGORIES = frozenset({"environment", "model", "checkpoint"})
INNER_FRAMES = 3  # frames of an exception searched by `frame`/`source` rules: where the library raised
# How strongly an exception in a chain speaks for its cause: the last one printed is what killed the
# program; one raised while handling an earlier error is a consequence.
FINAL, CHAINED, HANDLING = 1.0, 0.9, 0.6
# A rule that matches only frames or source lines (no message) is good evidence, a little short of a message.
CODE_ONLY = 0.9
# Ctrl-C is a person stopping the job, not a failure. A SIGTERM is: the launcher ended a rank because another failed,
# or the scheduler ended the job; it names no cause, so it stands alone only as `unknown` (a log of nothing but
# `srun: error: node1: task 3: Terminated` did not finish, and was called clean).
NOT_FAILURES = (None, 0, -2, 130)
# A `stalled` line (a barrier's "waiting ..." printed every few seconds) shows a hang when the input ends while
# it repeats: printed at least this often by one rank, the last time among the last lines the input printed (a
# paste's closing fence is not a line), and no `until` line (the barrier completed) after it. The reader always
# feeds an input's last lines (reader.TAIL), so a windowed scan sees the same end.
STALL_REPEATS, STALL_TAIL = 2, 4
DESYNC_WEIGHT = 0.85  # two ranks' watchdogs timed out in different collectives (kb/desync.py)
# A C++ exception no one caught: `terminate called after throwing an instance of 'c10::Error'` then
# `  what():  CUDA error: initialization error`. In a thread of torch's own (a DataLoader worker's pin-memory
# thread, NCCL's watchdog) it never became a Python exception, but its text is the message torch would have
# raised, as one of the classes torch translates c10's errors to: message rules for those classes read it.
# libc++ (macOS) says it on one line: `libc++abi: terminating due to uncaught exception of type T: <what>`
_WHAT = re.compile(r"^\s{0,8}what\(\):\s{1,4}(?=\S)"
                   r"|^libc\+\+abi(?:\.dylib)?: terminating (?:due to|with) uncaught exception of type "
                   r"\S{1,200}?: (?=\S)")
CPP_AS_PYTHON = frozenset({"RuntimeError", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError",
                           "OutOfMemoryError", "AcceleratorError", "NotImplementedError", "ValueError", "IndexError"})


def evidence_text(text: str) -> str:
    """Scrubbed first, then cut: a secret that crosses the cut never leaks its head."""
    return scrub(text.strip())[:EVIDENCE_CHARS]


@dataclass(slots=True)
class _Compiled:
    sig: Signature
    rule: Rule
    regex: LazyPattern | None
    literal: str | None
    types: frozenset[str]
    frame: LazyPattern | None
    source: LazyPattern | None
    anchored: bool = False  # a line rule written for the start of the line as the program printed it (`^usage: `)


@dataclass(slots=True)
class _Agg:
    sig: Signature
    strength: float = 0.0
    symptom: bool = True
    count: int = 0
    first_line: int = 1 << 62
    evidence: list[Evidence] = field(default_factory=list)
    ranks: set[int] = field(default_factory=set)
    captures: dict[str, str] = field(default_factory=dict)
    user_frame: Frame | None = None
    last_line: int = -1
    explains: list[str] = field(default_factory=list)
    # lines that a rule naming this cause as the failure itself matched (not as a symptom or a foretelling warning):
    # they lead the evidence, so its first line is the one that says what happened
    decisive: set[int] = field(default_factory=set)
    # every piece of evidence came from exit statuses, which launchers print after the fact (torchrun's
    # summary at the end of the log): such a cause may explain symptoms printed before it
    exits_only: bool = True
    # the earliest time its lines were printed at, where they carry a stamp (the format, then seconds): ranks' lines
    # interleave out of order, and a stamp says what happened first where the line order cannot
    first_time: tuple[int, float] | None = None

    def add(self, strength: float, symptom: bool, ev: Evidence, captures: dict[str, str | None] | None = None,
            frame: Frame | None = None) -> None:
        if ev.lineno != self.last_line:  # one line matched by several rules counts once
            self.count += 1
            self.last_line = ev.lineno
        if not symptom:
            self.symptom = False
        if strength > self.strength:
            self.strength = strength
        if ev.rank is not None and len(self.ranks) < 4096:
            self.ranks.add(ev.rank)
        if ev.lineno < self.first_line:
            self.first_line = ev.lineno
        if ev.text and (stamp := line_time(ev.text)) is not None and (
                self.first_time is None or (stamp[0] == self.first_time[0] and stamp[1] < self.first_time[1])):
            self.first_time = stamp
        if not symptom and len(self.decisive) < MAX_EVIDENCE:
            self.decisive.add(ev.lineno)
        if not any(e.lineno == ev.lineno for e in self.evidence):
            if len(self.evidence) < MAX_EVIDENCE:
                self.evidence.append(ev)
            elif not symptom and (weak := [i for i, e in enumerate(self.evidence) if e.lineno not in self.decisive]):
                self.evidence[weak[-1]] = ev  # a decisive line displaces corroboration that filled the list
        for k, v in (captures or {}).items():
            if v is not None:
                self.captures.setdefault(k, v)
        if frame is not None and self.user_frame is None:
            self.user_frame = frame


@dataclass(slots=True)
class _Stall:
    """A `stalled` rule's matches by one rank in the current input; the text is scrubbed only if it is kept."""

    rule: _Compiled
    times: int
    first: tuple[int, str]  # (line, raw text)
    last: tuple[int, str]
    captures: dict[str, str | None]


def _compile(sig: Signature, rule: Rule) -> _Compiled:
    pat = rule.line or rule.message
    return _Compiled(sig=sig, rule=rule, regex=LazyPattern(pat, re.ASCII) if pat else None,
                     literal=required_literal(pat) if pat else None, types=frozenset(rule.exception),
                     frame=LazyPattern(rule.frame, re.ASCII) if rule.frame else None,
                     source=LazyPattern(rule.source, re.ASCII) if rule.source else None,
                     anchored=bool(rule.line and rule.line.startswith("^")))


def _captures_hold(conditions: tuple[str, ...], m: re.Match[str]) -> bool:
    values = {k: int(v) if v is not None and v.lstrip("-").isdigit() else v for k, v in m.groupdict().items()}
    return all_hold(conditions, values)


def _frames_match(c: _Compiled, block: ExceptionBlock) -> dict[str, str | None] | None:
    """None when the rule's frame/source parts do not hold; else what the source regex captured."""
    inner = block.frames[-1:] if c.rule.innermost else block.frames[-INNER_FRAMES:]
    if c.frame is not None and not any(
            c.frame.search(f"{f.filename.replace(chr(92), '/')}:{f.function or ''}") for f in inner):
        return None
    if c.source is None:
        return {}
    for f in inner:
        m = c.source.search(f.line) if f.line else None
        if m:
            return m.groupdict()
    return None


# torch re-raises a worker's exception in the parent with the worker's own traceback printed after it (DataLoader
# workers, DataParallel replicas): that traceback is the story, the re-raise only reports it
_REWRAPPED = re.compile(r"Caught \w{1,100} in (?:DataLoader worker process \d{1,6}"
                        r"|replica \d{1,6} on device \d{1,6})\."
                        # torch.multiprocessing.spawn's report of a child's death (torch < 1.8 raised a bare Exception)
                        r"|^process \d{1,6} terminated with (?:signal SIG[A-Z0-9]{2,8}|exit code -?\d{1,6})$")
_RAISE_TEXT = re.compile(r"^raise \S")


def _rewrapped(block: ExceptionBlock) -> bool:
    """A worker's exception re-raised in the parent: its message says so, or (the message translated) the innermost
    frame is torch's `ExceptionWrapper.reraise`."""
    if _REWRAPPED.match(block.message):
        return True
    inner = block.frames[-1] if block.frames else None
    return (inner is not None and inner.function == "reraise"
            and inner.filename.replace("\\", "/").endswith("torch/_utils.py"))


def _raise_site(block: ExceptionBlock) -> str | None:
    """The source line of the innermost frame when it is the raise statement that made this exception."""
    if not block.frames:
        return None
    line = block.frames[-1].line
    return line if line and _RAISE_TEXT.match(line) and len(line) > 12 else None


class Matcher:
    def __init__(self, signatures: tuple[Signature, ...]) -> None:
        self.sigs = {s.name: s for s in signatures}
        self.user_sig = next((s for s in signatures if s.role == "user-code"), None)
        self.unknown_sig = next((s for s in signatures if s.role == "unknown"), None)
        self.wrappers = frozenset(w for s in signatures for w in s.wrappers)
        self.line_rules: list[_Compiled] = []
        self.exc_rules: list[_Compiled] = []
        self.exit_rules: list[_Compiled] = []
        for s in signatures:
            for r in s.rules:
                c = _compile(s, r)
                {"line": self.line_rules, "exit": self.exit_rules, "exception": self.exc_rules}[r.kind].append(c)
        self._anchored = [c for c in self.line_rules if c.anchored]
        # `exception = ["ray.exceptions.OutOfMemoryError"]`: a class named in full belongs to the rules that name it,
        # not to those that read torch's class of the same short name
        self.qualified_types = frozenset(t for c in self.exc_rules for t in c.types if "." in t)
        self.aggs: dict[str, _Agg] = {}
        self._explained: deque[int] = deque(maxlen=4096)  # line numbers, increasing (lines come in order)
        self.failure_evidence: list[Evidence] = []
        self._warnings: list[tuple[_Compiled, Evidence, dict[str, str | None]]] = []
        self._pending_per_sig: dict[str, int] = {}
        self._stalls: dict[tuple[int, int | None], _Stall] = {}  # `stalled` matches in this input, by (rule, rank)
        self._until = [(id(c), LazyPattern(c.rule.until, re.ASCII), required_literal(c.rule.until))
                       for c in self.line_rules if c.rule.stalled and c.rule.until]
        self._last_printed = 0  # the last line of the current input the program printed (not a paste's fence)
        # hits inside a Python warning whose end the parser has not reported yet, per rank
        self._tentative: dict[int | None, list[tuple[_Compiled, Evidence, dict[str, str | None]]]] = {}
        self._desync = DesyncTracker()
        self.failed = False  # a traceback, a runtime error line or a non-zero exit was seen
        self.tracebacks = 0
        self.lines = 0

        self._prefilter: Callable[[str], Iterable[int]] | None = None

    def use_prefilter(self, patterns: MultiPattern) -> None:
        """Find the line rules a line can match with one pass of the multi-pattern engine instead of
        one regex per rule; `re` then runs only on the rules that hit (for their captures)."""
        index = {p: i for i, p in enumerate(patterns.patterns)}
        by_pattern: dict[int, list[int]] = {}
        for i, c in enumerate(self.line_rules):
            by_pattern.setdefault(index[c.rule.line or ""], []).append(i)

        def candidates(text: str) -> list[int]:
            return sorted({i for pid in patterns.matching(text) for i in by_pattern.get(pid, ())})

        self._prefilter = candidates

    # -- sink callbacks ---------------------------------------------------------------------------
    def _candidates(self, text: str) -> Iterable[_Compiled]:
        if self._prefilter is not None and text.isascii():  # hyperscan reads bytes: its \w and \s are ASCII
            return [self.line_rules[i] for i in self._prefilter(text)]
        return (c for c in self.line_rules if c.literal is None or c.literal in text)

    def on_line(self, lineno: int, rank: int | None, text: str, *, as_warning: bool = False,
                handled: bool = False) -> None:
        """`as_warning`: the line is part of a Python warning; what it matches waits for `end_warning`.
        `handled`: the program said it caught what the line names and went on; it counts only in a failed log.
        Anchored rules also read the line without an indent or a logger's prefix (`messages_of`); the
        prefix itself can be evidence (DeepSpeed's `[launch.py:315:sigkill_handler]`), so other rules read
        the whole line."""
        self.lines += 1
        if text.strip(" `~>"):
            self._last_printed = lineno
        if self._stalls and self._until:
            self._resolve(text)
        if TRIGGER in text:
            self._desync.feed(lineno, rank, text)
        if ("what():" in text or "uncaught exception of type" in text) and (what := _WHAT.match(text)) is not None:
            self._uncaught_cpp(lineno, rank, text, text[what.end():])
        rules = self._candidates(text)
        forms: tuple[str, ...] = ()
        # Those forms are tails of the line, so an anchored rule can only match one if its literal is in the
        # line: most lines cost a few substring tests, not a prefix parse (nor another pass of the multi-pattern
        # engine, which would hand the GIL to the scan threads once more per line).
        maybe = [c for c in self._anchored if c.literal is None or c.literal in text]
        if maybe:
            forms = tuple(f for f in messages_of(text) if f != text)
        if forms:
            seen = list(rules)
            ids = {id(c) for c in seen}
            rules = seen + [c for c in maybe
                            if id(c) not in ids and (c.literal is None or any(c.literal in f for f in forms))]
        for c in rules:
            if c.regex is None:
                continue
            m = c.regex.search(text)
            if m is None and c.anchored:
                m = next((found for f in forms if (found := c.regex.search(f)) is not None), None)
            if not m or (c.rule.when and not _captures_hold(c.rule.when, m)):
                continue
            if as_warning and c.sig.category in NOTICE_CATEGORIES:
                pending = self._tentative.setdefault(rank, [])
                if len(pending) < MAX_PENDING_WARNINGS:
                    pending.append((c, Evidence(lineno=lineno, rank=rank, text=evidence_text(text)), m.groupdict()))
                continue
            if c.rule.stalled:
                self._stall(c, lineno, rank, text, m.groupdict())
                continue
            if c.rule.warning or handled:
                self._pend(c, Evidence(lineno=lineno, rank=rank, text=evidence_text(text)), m.groupdict())
                continue
            # a signature that already holds all the evidence it keeps stores no more: the line is not scrubbed
            ev = Evidence(lineno=lineno, rank=rank, text="" if self._full(c.sig.name) else evidence_text(text))
            self._line_hit(c, ev, m.groupdict())

    def _uncaught_cpp(self, lineno: int, rank: int | None, text: str, message: str) -> None:
        """Message rules on an uncaught C++ exception's `what():` text (see CPP_AS_PYTHON)."""
        ev: Evidence | None = None
        for c in self.exc_rules:
            if (c.regex is None or c.frame is not None or c.source is not None
                    or (c.types and not c.types & CPP_AS_PYTHON)
                    or (c.literal is not None and c.literal not in message)):
                continue
            m = c.regex.search(message)
            if not m or (c.rule.when and not _captures_hold(c.rule.when, m)):
                continue
            if ev is None:
                ev = Evidence(lineno=lineno, rank=rank, text=evidence_text(text))
            self.failed = True
            self._hit(c.sig, FINAL * c.rule.weight, c.rule.symptom or c.sig.symptom, ev, m.groupdict())
            self._mark_explained(lineno)

    def _line_hit(self, c: _Compiled, ev: Evidence, captures: dict[str, str | None]) -> None:
        self.failed = True
        self._hit(c.sig, c.rule.weight, c.rule.symptom or c.sig.symptom, ev, captures)
        self._mark_explained(ev.lineno)  # a runtime signature explains it, even as a symptom

    def _pend(self, c: _Compiled, ev: Evidence, captures: dict[str, str | None]) -> None:
        """A warning that counts once the log is known to have failed; each signature keeps as many as it
        keeps evidence, so a warning repeated every step does not crowd out the others."""
        n = self._pending_per_sig.get(c.sig.name, 0)
        if n < MAX_EVIDENCE and len(self._warnings) < MAX_PENDING_WARNINGS:
            self._pending_per_sig[c.sig.name] = n + 1
            self._warnings.append((c, ev, captures))

    def _stall(self, c: _Compiled, lineno: int, rank: int | None, text: str, captures: dict[str, str | None]) -> None:
        seen = self._stalls.get((id(c), rank))
        if seen is None:
            if len(self._stalls) < MAX_PENDING_WARNINGS:
                self._stalls[(id(c), rank)] = _Stall(c, 1, (lineno, text), (lineno, text), captures)
        else:
            seen.times += 1
            seen.last = (lineno, text)

    def _resolve(self, text: str) -> None:
        """An `until` line (`Completed store-based barrier`): the waits of its rule are over, on every rank."""
        for rule_id, until, literal in self._until:
            if (literal is None or literal in text) and until.search(text) is not None:
                for key in [k for k in self._stalls if k[0] == rule_id]:
                    st = self._stalls.pop(key)
                    self._pend(st.rule, Evidence(lineno=st.last[0], rank=key[1], text=evidence_text(st.last[1])),
                               st.captures)

    def end_input(self) -> None:
        """The current input ended: a `stalled` line one rank still repeated among the input's last printed lines is
        the hang the job was in (a failure); one the program got past is a warning (it counts in a failed log)."""
        end = self._last_printed
        for (_, rank), st in self._stalls.items():
            first, last = (Evidence(lineno=n, rank=rank, text=evidence_text(t)) for n, t in (st.first, st.last))
            if st.times >= STALL_REPEATS and last.lineno > end - STALL_TAIL:
                self._line_hit(st.rule, first, st.captures)
                self._line_hit(st.rule, last, st.captures)
            else:
                self._pend(st.rule, last, st.captures)
        self._stalls.clear()
        self._last_printed = 0

    def end_warning(self, rank: int | None, confirmed: bool) -> None:
        """The parser's verdict on the Python warning whose lines `on_line(as_warning=True)` received: a
        warning after all (its hits wait for a failure), or lines that only looked like one (they count now)."""
        for c, ev, captures in self._tentative.pop(rank, ()):
            if confirmed or c.rule.warning:
                self._pend(c, ev, captures)
            else:
                self._line_hit(c, ev, captures)

    def on_traceback(self, tb: Traceback) -> None:
        self.tracebacks += 1
        self.failed = True
        matched = False
        n = len(tb.blocks)
        handled_later = any(b.link == "context" for b in tb.blocks[1:])
        for i, block in enumerate(tb.blocks):
            if block.link == "context":
                strength = HANDLING
            elif i == 0 and handled_later:
                strength = FINAL
            else:
                strength = FINAL if i == n - 1 else CHAINED
            text = f"{block.type_name}: {block.message}" if block.message else block.type_name
            ev: Evidence | None = None  # made (and scrubbed) at the first rule that holds
            unknown_type = block.type_name == "<unknown>"  # a paste cut before the exception line
            raise_site = _raise_site(block)
            claimed = block.type_name in self.qualified_types
            for c in self.exc_rules:
                if claimed:
                    if block.type_name not in c.types:
                        continue  # another library's class with a torch-like name: only its own rules read it
                elif c.types and block.short_type not in c.types and not (
                        unknown_type and (c.frame is not None or c.source is not None)):
                    continue
                m = None
                from_source = False
                if c.regex is not None:
                    m = c.regex.search(block.message) if c.literal is None or c.literal in block.message else None
                    if (not m and raise_site and c.frame is None and c.source is None
                            and (c.literal is None or c.literal in raise_site)):
                        # the message is translated or cut, but the raise statement printed under the innermost
                        # frame still holds its text
                        m = c.regex.search(raise_site)
                        from_source = True
                    if not m or (c.rule.when and not _captures_hold(c.rule.when, m)):
                        continue
                captures: dict[str, str | None] = m.groupdict() if m else {}
                if c.frame is not None or c.source is not None:
                    code = _frames_match(c, block)
                    if code is None:
                        continue
                    captures = {**code, **captures}
                weight = c.rule.weight * (CODE_ONLY if from_source or (c.regex is None and not c.types) else 1.0)
                if ev is None:
                    ev = Evidence(lineno=block.lineno, rank=tb.rank,
                                  text=evidence_text(text.splitlines()[0] if text else ""))
                self._hit(c.sig, strength * weight, c.rule.symptom or c.sig.symptom, ev, captures, tb.user_frame)
                matched = True
        if not matched:
            matched = self._raise_sites(tb)
        if self._explains_lines(tb.start_line, tb.end_line):
            matched = True
            for a in self.aggs.values():
                if a.user_frame is None and any(tb.start_line <= e.lineno <= tb.end_line for e in a.evidence):
                    a.user_frame = tb.user_frame
        final, uf = tb.final, tb.user_frame
        if matched:
            return
        if final.short_type in self.wrappers or _rewrapped(final):
            # a launcher reporting that a child failed: a failure whose cause this log does not show
            if not (final.short_type == "SystemExit" and final.message.strip() in ("", "0", "None")):
                self._unexplained(Evidence(lineno=final.lineno, rank=tb.rank, text=evidence_text(
                    f"{final.type_name}: {final.message}".strip(": "))))
                self.failed = True
            return
        if final.type_name == "<unknown>":
            # frames without the exception line (a cut paste): it failed, but what with is not shown
            self._unexplained(Evidence(lineno=final.lineno, rank=tb.rank, text=evidence_text(
                "traceback without its exception line" + (f", last frame {final.frames[-1].filename}:"
                                                          f"{final.frames[-1].lineno}" if final.frames else ""))))
            return
        if self.user_sig is None:
            return
        # An ordinary exception that no runtime signature explains: the user's own bug.
        where = f" at {uf.filename}:{uf.lineno} in {uf.function}" if uf else ""
        self._hit(self.user_sig, 1.0, False, Evidence(lineno=final.lineno, rank=tb.rank, text=evidence_text(
            f"{final.type_name}: {final.message}".strip()[:EVIDENCE_CHARS] + where)), {"exc": final.type_name}, uf)

    def _raise_sites(self, tb: Traceback) -> bool:
        """Line rules on the raise statements under the innermost frames (`raise AssertionError("Torch not
        compiled with CUDA enabled")`): what the message said before a translator or a cut paste lost it."""
        hit = False
        for block in tb.blocks:
            site = _raise_site(block)
            if site is None:
                continue
            ev = Evidence(lineno=block.lineno, rank=tb.rank, text=evidence_text(
                f"{block.type_name}: {block.message}".splitlines()[0] + f"  (raised by: {site})"))
            for c in self._candidates(site):  # the multi-pattern engine's candidates: few regexes are compiled
                if (c.rule.warning or c.rule.stalled or c.regex is None
                        or (c.literal is not None and c.literal not in site)):
                    continue
                m = c.regex.search(site)
                if m and not (c.rule.when and not _captures_hold(c.rule.when, m)):
                    self._hit(c.sig, FINAL * c.rule.weight * CODE_ONLY, c.rule.symptom or c.sig.symptom, ev,
                              m.groupdict(), tb.user_frame)
                    hit = True
        return hit

    def on_failure(self, rf: RankFailure) -> None:
        # a launcher that names no global rank: say what it does name rather than `rank ?`
        if rf.rank is not None:
            where = f"rank {rf.rank}" + (f" (local_rank {rf.local_rank})" if rf.local_rank is not None else "")
        else:
            where = f"local_rank {rf.local_rank}" if rf.local_rank is not None else "a process"
        who = (where
               + f" exitcode {rf.exitcode}" + (f" ({rf.signal})" if rf.signal else "")
               + (f" [{rf.launcher}]" if rf.launcher != "torchrun" else ""))
        if rf.exitcode not in NOT_FAILURES:
            self.failed = True
            label = "root cause" if rf.root_cause else "failure"
            said = f": {rf.detail}" if rf.detail and rf.launcher != "torchrun" else ""  # the line, as it was printed
            self._unexplained(Evidence(lineno=rf.lineno, rank=rf.rank, text=evidence_text(f"{label}: {who}{said}")))
        for c in self.exit_rules:
            if rf.exitcode in c.rule.exitcode or (rf.signal is not None and rf.signal in c.rule.signal):
                strength = (1.0 if rf.root_cause else 0.8) * c.rule.weight
                text = who + (f": {rf.detail}" if rf.detail else "")
                self._hit(c.sig, strength, c.rule.symptom or c.sig.symptom,
                          Evidence(lineno=rf.lineno, rank=rf.rank, text=evidence_text(text)), from_exit=True)

    # -- results ---------------------------------------------------------------------------------
    def _unexplained(self, ev: Evidence) -> None:
        if len(self.failure_evidence) < MAX_EVIDENCE:
            self.failure_evidence.append(ev)

    def _mark_explained(self, lineno: int) -> None:
        if not self._explained or self._explained[-1] < lineno:
            self._explained.append(lineno)

    def _explains_lines(self, start: int, end: int) -> bool:
        ex = self._explained
        i = bisect.bisect_left(ex, start)
        return i < len(ex) and ex[i] <= end

    def _full(self, name: str) -> bool:
        agg = self.aggs.get(name)
        return agg is not None and len(agg.evidence) >= MAX_EVIDENCE

    def _hit(self, sig: Signature, strength: float, symptom: bool, ev: Evidence,
             captures: dict[str, str | None] | None = None, frame: Frame | None = None,
             from_exit: bool = False) -> None:
        agg = self.aggs.get(sig.name)
        if agg is None:
            agg = self.aggs[sig.name] = _Agg(sig=sig)
        agg.add(strength, symptom, ev, captures, frame)
        if not from_exit:
            agg.exits_only = False

    def ranked(self) -> list[_Agg]:
        aggs = dict(self.aggs)
        desync = self._desync.verdict()
        mismatch = self.sigs.get("collective-mismatch")
        if desync is not None and mismatch is not None:
            agg = aggs.get(mismatch.name) or _Agg(sig=mismatch)
            aggs[mismatch.name] = agg
            for ev in desync:
                agg.add(DESYNC_WEIGHT, False, replace(ev, text=evidence_text(ev.text)), {})
        if self.failed:
            for c, ev, caps in self._warnings:  # warnings count once the log is known to have failed
                if c.sig.name in self.aggs:
                    continue  # the failure's own lines name this cause: they are its evidence, not the warning before
                if c.rule.explains_only and not any(c.sig.name in a.sig.explained_by and a.first_line >= ev.lineno
                                                    and a.strength < c.rule.weight for a in self.aggs.values()):
                    # a warning that says what a later, vaguer failure was: none followed, or the failure's own
                    # lines say what it was (argparse's error line names the argument it refused)
                    continue
                agg = aggs.get(c.sig.name) or _Agg(sig=c.sig)
                aggs[c.sig.name] = agg
                agg.add(c.rule.weight, c.rule.symptom or c.sig.symptom, ev, caps)
        found = list(aggs.values())
        known = [a for a in found if a.sig.role != "unknown"]
        if known:
            found = known  # `unknown` lines (a launcher saying a child failed) only ever stand alone
        elif (found or self.failure_evidence) and self.unknown_sig is not None:
            agg = found[0] if found else _Agg(sig=self.unknown_sig, strength=0.5, symptom=False)
            agg.strength, agg.symptom = max(agg.strength, 0.5), False
            for ev in self.failure_evidence:
                agg.add(0.5, False, ev)
            found = [agg]
        present = {a.sig.name: a for a in found}
        explained: set[str] = set()
        for a in found:
            # a cause explains this one if it happened first (or is only known from exit statuses). A more specific
            # cause explains it even when it is itself a symptom (a socket closed by a peer explains the system
            # error it raised), and within the backend family NCCL's threads interleave, so order says little.
            # Where both are stamped, the stamps say which came first, and a symptom that demonstrably came first
            # explains one it is listed for (a collective timeout, then the watchdog stuck aborting it).
            causes = [n for n in a.sig.explained_by if n in present
                      and (_printed_before(present[n], a) or (
                          (not present[n].symptom or present[n].sig.priority > a.sig.priority)
                          and (_no_later(present[n], a) or present[n].exits_only
                               or a.sig.category == present[n].sig.category == "backend")))]
            if causes:
                a.symptom = True  # an NCCL error whose cause lies below NCCL (shm, the network) is its symptom
                explained.add(a.sig.name)
                for n in causes:
                    present[n].explains.append(a.sig.name)
        # Root causes before symptoms, and among symptoms the one that explains another before it; then the more
        # specific signature; then what happened first.
        return sorted(found, key=lambda a: (a.symptom, a.sig.name in explained, -(a.sig.priority * a.strength),
                                            a.first_line))


def _printed_before(a: _Agg, b: _Agg) -> bool:
    """Whether `a`'s first line carries an earlier stamp of the same format than `b`'s."""
    return a.first_time is not None and b.first_time is not None and a.first_time[0] == b.first_time[0] \
        and a.first_time[1] < b.first_time[1]


def _no_later(a: _Agg, b: _Agg) -> bool:
    """Whether `a` happened no later than `b`: by their stamps where both have one of a format, else by line."""
    if a.first_time is not None and b.first_time is not None and a.first_time[0] == b.first_time[0]:
        return a.first_time[1] <= b.first_time[1]
    return a.first_line <= b.first_line


def confidence(agg: _Agg) -> float:
    return round(min(1.0, agg.strength) * (0.5 + agg.sig.priority / 200), 3)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def to_diagnosis(agg: _Agg) -> Diagnosis:
    """A ranked aggregate as a Diagnosis; `{name}` placeholders take values captured from the log.
    Unknown placeholders stay for the tailoring step (host facts) to fill."""
    values = agg.captures

    def sub(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    def sub_command(text: str) -> str:
        # text captured from a log goes into a shell command only as one quoted word
        return _PLACEHOLDER.sub(lambda m: shlex.quote(values[m.group(1)]) if m.group(1) in values else m.group(0),
                                text)

    s = agg.sig
    return Diagnosis(
        name=s.name, code=s.code, title=sub(s.title), score=confidence(agg), symptom=agg.symptom,
        # the lines that decide the cause, where there are any; corroborating symptoms and warnings otherwise
        evidence=tuple(sorted((e for e in agg.evidence if e.lineno in agg.decisive), key=lambda e: e.lineno)
                       or sorted(agg.evidence, key=lambda e: e.lineno)),
        occurrences=agg.count,
        ranks=tuple(sorted(agg.ranks)), what=sub(s.what), why=sub(s.why), fix_summary=sub(s.fix_summary),
        fix_steps=tuple(sub(x) for x in s.fix_steps), commands=tuple(sub_command(c) for c in s.commands),
        snippet=sub(s.snippet) if s.snippet else None, fix_codes=s.fix_codes, references=s.references,
        user_frame=agg.user_frame, explains=tuple(agg.explains),
    )

"""Apply signatures to a stream of parsed log items and rank what was found.

The matcher is the parser's sink: it keeps per-signature aggregates (counts, a few evidence
lines, ranks), never the log, so memory is bounded however long the input is.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from ddoctor.model.diagnosis import Diagnosis, Rule, Signature
from ddoctor.model.logs import Evidence, Frame, RankFailure, Traceback

MAX_EVIDENCE = 6
# Wrappers that only report that a child failed; the child's own error is the story.
WRAPPERS = {"ChildFailedError", "ProcessRaisedException", "ProcessExitedException", "CalledProcessError",
            "SystemExit", "KeyboardInterrupt"}
_META = set(".^$*+?{}[]\\|()")


def required_literal(pattern: str) -> str | None:
    """The longest plain-text run every match must contain (a cheap `in` prefilter), if any."""
    if pattern.startswith("(?i)"):
        return None
    depth, runs, cur, i = 0, [], [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _META or nxt in "-/'\" ":
                cur.append(nxt)
                i += 2
                continue
            runs.append("".join(cur))
            cur = []
            i += 2
            continue
        if c == "|" and depth == 0:
            return None
        if c in "([":
            runs.append("".join(cur))
            cur = []
            depth += 1
            if c == "[":
                j = pattern.find("]", i + 2)
                i = j + 1 if j != -1 else len(pattern)
                depth -= 1
                continue
        elif c == ")":
            depth -= 1
            runs.append("".join(cur))
            cur = []
        elif c in "*?{":
            if cur:
                cur.pop()  # the quantified character is optional/repeated
            runs.append("".join(cur))
            cur = []
            if c == "{":
                j = pattern.find("}", i)
                i = j + 1 if j != -1 else len(pattern)
                continue
        elif c in "+.^$":
            if c == "+" and cur:
                runs.append("".join(cur))
                cur = []
            else:
                runs.append("".join(cur))
                cur = []
        elif depth == 0:
            cur.append(c)
        i += 1
    runs.append("".join(cur))
    best = max(runs, key=len, default="")
    return best if len(best) >= 3 else None


@dataclass
class _Compiled:
    sig: Signature
    rule: Rule
    regex: re.Pattern | None
    literal: str | None
    types: frozenset[str]


@dataclass
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

    def add(self, strength: float, symptom: bool, ev: Evidence, captures: dict | None = None,
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
        if len(self.evidence) < MAX_EVIDENCE and not any(e.lineno == ev.lineno for e in self.evidence):
            self.evidence.append(ev)
        for k, v in (captures or {}).items():
            if v is not None:
                self.captures.setdefault(k, v)
        if frame is not None and self.user_frame is None:
            self.user_frame = frame


class Matcher:
    def __init__(self, signatures: tuple[Signature, ...]) -> None:
        self.sigs = {s.name: s for s in signatures}
        self.line_rules: list[_Compiled] = []
        self.exc_rules: list[_Compiled] = []
        self.exit_rules: list[_Compiled] = []
        for s in signatures:
            for r in s.rules:
                pat = r.line or r.message
                c = _Compiled(sig=s, rule=r, regex=re.compile(pat) if pat else None,
                              literal=required_literal(pat) if pat else None, types=frozenset(r.exception))
                if r.line:
                    self.line_rules.append(c)
                elif r.exitcode:
                    self.exit_rules.append(c)
                else:
                    self.exc_rules.append(c)
        self.aggs: dict[str, _Agg] = {}
        self._explained_lines: deque[int] = deque(maxlen=4096)
        self._explained_set: set[int] = set()
        self.failure_evidence: list[Evidence] = []
        self.tracebacks = 0
        self.lines = 0

    # -- sink callbacks ---------------------------------------------------------------------------
    def on_line(self, lineno: int, rank: int | None, text: str) -> None:
        self.lines += 1
        for c in self.line_rules:
            if c.literal is not None and c.literal not in text:
                continue
            m = c.regex.search(text)
            if m:
                self._hit(c.sig, c.rule.weight, c.rule.symptom or c.sig.symptom,
                          Evidence(lineno=lineno, rank=rank, text=text.strip()[:500]), m.groupdict())
                self._mark_explained(lineno)  # a runtime signature explains it, even as a symptom

    def on_traceback(self, tb: Traceback) -> None:
        self.tracebacks += 1
        matched = False
        n = len(tb.blocks)
        handled_later = any(b.link == "context" for b in tb.blocks[1:])
        for i, block in enumerate(tb.blocks):
            if block.link == "context":
                strength = 0.6  # raised while handling an earlier error: a consequence
            elif i == 0 and handled_later:
                strength = 1.0
            else:
                strength = 1.0 if i == n - 1 else 0.9
            text = f"{block.type_name}: {block.message}" if block.message else block.type_name
            ev = Evidence(lineno=block.lineno, rank=tb.rank, text=text.splitlines()[0][:500] if text else "")
            for c in self.exc_rules:
                if c.types and block.short_type not in c.types:
                    continue
                m = None
                if c.regex is not None:
                    if c.literal is not None and c.literal not in block.message:
                        continue
                    m = c.regex.search(block.message)
                    if not m:
                        continue
                self._hit(c.sig, strength * c.rule.weight, c.rule.symptom or c.sig.symptom, ev,
                          m.groupdict() if m else None, tb.user_frame)
                matched = True
        explained = [ln for ln in self._explained_set if tb.start_line <= ln <= tb.end_line]
        if explained:
            matched = True
            for a in self.aggs.values():
                if a.user_frame is None and any(e.lineno in explained for e in a.evidence):
                    a.user_frame = tb.user_frame
        if matched or tb.final.short_type in WRAPPERS or tb.final.type_name == "<unknown>":
            return
        # An ordinary exception that no runtime signature explains: the user's own bug.
        sig = self.sigs.get("user-code-error")
        if sig is not None:
            final = tb.final
            uf = tb.user_frame
            where = f" at {uf.filename}:{uf.lineno} in {uf.function}" if uf else ""
            self._hit(sig, 1.0, False, Evidence(lineno=final.lineno, rank=tb.rank,
                                                text=f"{final.type_name}: {final.message}".strip()[:500] + where),
                      {"exc": final.type_name}, uf)

    def on_failure(self, rf: RankFailure) -> None:
        who = (f"rank {rf.rank if rf.rank is not None else '?'} (local_rank {rf.local_rank}) exitcode {rf.exitcode}"
               + (f" ({rf.signal})" if rf.signal else ""))
        if rf.exitcode not in (None, 0, -15, 143) and len(self.failure_evidence) < MAX_EVIDENCE:
            label = "root cause" if rf.root_cause else "failure"
            self.failure_evidence.append(Evidence(lineno=rf.lineno, rank=rf.rank, text=f"{label}: {who}"))
        for c in self.exit_rules:
            if rf.exitcode in c.rule.exitcode:
                strength = (1.0 if rf.root_cause else 0.8) * c.rule.weight
                text = (who + (f": {rf.detail}" if rf.detail else ""))[:500]
                self._hit(c.sig, strength, c.rule.symptom or c.sig.symptom,
                          Evidence(lineno=rf.lineno, rank=rf.rank, text=text))

    # -- results ---------------------------------------------------------------------------------
    def _mark_explained(self, lineno: int) -> None:
        if len(self._explained_lines) == self._explained_lines.maxlen:
            self._explained_set.discard(self._explained_lines[0])
        self._explained_lines.append(lineno)
        self._explained_set.add(lineno)

    def _hit(self, sig: Signature, strength: float, symptom: bool, ev: Evidence, captures=None, frame=None):
        agg = self.aggs.get(sig.name)
        if agg is None:
            agg = self.aggs[sig.name] = _Agg(sig=sig)
        agg.add(strength, symptom, ev, captures, frame)

    def ranked(self) -> list[_Agg]:
        found = list(self.aggs.values())
        if not found and self.failure_evidence and "unknown" in self.sigs:
            agg = _Agg(sig=self.sigs["unknown"], strength=0.5, symptom=False)
            for ev in self.failure_evidence:
                agg.add(0.5, False, ev)
            found = [agg]
        # Root causes before symptoms; then the more specific signature; then what happened first.
        return sorted(found, key=lambda a: (a.symptom, -(a.sig.priority * a.strength), a.first_line))


def confidence(agg: _Agg) -> float:
    return round(min(1.0, agg.strength) * (0.5 + agg.sig.priority / 200), 3)


def to_diagnosis(agg: _Agg, *, fill: dict | None = None, host_notes: tuple[str, ...] = (),
                 extra_commands: tuple[str, ...] = ()) -> Diagnosis:
    values = {**agg.captures, **(fill or {})}

    def sub(text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), text)

    s = agg.sig
    return Diagnosis(
        name=s.name, code=s.code, title=sub(s.title), score=confidence(agg), symptom=agg.symptom,
        evidence=tuple(sorted(agg.evidence, key=lambda e: e.lineno)), occurrences=agg.count,
        ranks=tuple(sorted(agg.ranks)), what=sub(s.what), why=sub(s.why), fix_summary=sub(s.fix_summary),
        fix_steps=tuple(sub(x) for x in s.fix_steps), commands=tuple(sub(c) for c in (*extra_commands, *s.commands)),
        snippet=sub(s.snippet) if s.snippet else None, fix_codes=s.fix_codes, references=s.references,
        user_frame=agg.user_frame, host_notes=host_notes,
    )

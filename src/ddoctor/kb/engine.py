"""Diagnose logs: stream bytes through the parser into the matcher, then rank."""

from __future__ import annotations

import bisect
import io
import os
import re
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import BinaryIO

from ddoctor.kb.loader import load_signatures
from ddoctor.kb.match import Matcher, to_diagnosis
from ddoctor.kb.origin import ORIGIN_TRIGGERS, OriginTracker
from ddoctor.model.diagnosis import DiagnoseResult, Diagnosis, Signature
from ddoctor.model.logs import Evidence, Traceback
from ddoctor.parse import exits
from ddoctor.parse import parser as log_parser
from ddoctor.parse.multimatch import MultiPattern, required_literal
from ddoctor.parse.reader import SMALL, Triggers, scan_file, scan_stream

PARALLEL_MIN = 64 << 20  # below this, a second thread costs more than it saves

Tailor = Callable[[Diagnosis], Diagnosis]


_LEADING_REPEAT = re.compile(r"(?:\\S|\\w|\.|\[[^\]]{1,40}\])\{\d{1,4},\d{1,4}\}")


def _unanchored(pattern: str) -> str | None:
    """A trigger for an anchored line rule that also finds the line behind a logger's prefix or an indent
    (`^usage: ...` in `[2024-01-05 10:00:00,123][__main__][INFO] - usage: ...`). A leading bounded repeat
    (`\\S{1,200}`) is dropped: the trigger only has to find the line, the rule itself then reads it, and
    a repeat before the first literal would cost the one-pass scan much of its speed."""
    body = pattern[1:]
    if (m := _LEADING_REPEAT.match(body)) is not None:
        body = body[m.end():]
    if body[:1] in ("?", "+", "*", "{") or required_literal(body) is None:
        return None  # a lazy or possessive leftover, or nothing literal left for the scan to find
    try:
        re.compile(body)
    except re.error:
        return None
    return body


# What may stand before a line the parser reads as printed: a paste's margin, the end of a logging handler's record
# prefix (Hydra's `...][LEVEL] - `, loguru's `| module:function:line - `). Each is anchored or starts with literal
# text, which keeps the one-pass scan fast (RECORD_PREFIX itself, led by a bounded repeat, cost it about 8%).
_BEHIND_MARGIN = (r"^[ \t>]{1,16}", r"\] - ", r":\d{1,6} - ")


@lru_cache(maxsize=4)
def triggers_for(signatures: tuple[Signature, ...]) -> Triggers:
    """One pattern set for the one-pass scan: every signature `line` rule, the parser's structural
    triggers (tracebacks, exception lines, launcher summaries), launcher exit lines and origin hints."""
    pats: list[str] = []
    block: set[int] = set()
    for s in signatures:
        for r in s.rules:
            if r.until:
                pats.append(r.until)  # the line that ends a `stalled` wait must reach the parser too
            if r.line:
                pats.append(r.line)
                if r.line.startswith("^") and (loose := _unanchored(r.line)) is not None:
                    pats.append(loose)
    for pat, opens in log_parser.TRIGGERS:
        if opens:
            block.add(len(pats))
        pats.append(pat)
    for pat in exits.TRIGGERS:
        pats.append(pat)
        if pat.startswith("^"):
            # the parser reads exit lines without a paste's margin or a handler's record prefix: find them there too
            pats += [prefix + pat[1:] for prefix in _BEHIND_MARGIN]
    pats += ORIGIN_TRIGGERS
    unique: dict[str, int] = {}
    ids: list[int] = []
    for p in pats:
        ids.append(unique.setdefault(p, len(unique)))
    block_ids = frozenset(ids[i] for i in block)
    return Triggers(patterns=MultiPattern(tuple(unique)), block=block_ids)


class Session:
    """One diagnose run over any number of inputs (files, stdin)."""

    def __init__(self, signatures: tuple[Signature, ...] | None = None, *, small: int = SMALL) -> None:
        self.signatures = signatures or load_signatures()
        self.matcher = Matcher(self.signatures)
        self.origin = OriginTracker()
        self.small = small
        self.bytes_read = 0
        self.lines_read = 0
        self.sources: list[str] = []
        self.notices: list[str] = []
        self._offset = 0  # line numbers continue across inputs so evidence stays unique
        self._starts: list[tuple[int, str]] = []  # (first global line - 1, input name) per input
        self._triggers: Triggers | None = None

    @property
    def triggers(self) -> Triggers:
        if self._triggers is None:
            self._triggers = triggers_for(self.signatures)
            if self._triggers.patterns.engine == "hyperscan":
                self.matcher.use_prefilter(self._triggers.patterns)
        return self._triggers

    def _parser(self, rank: int | None = None) -> log_parser.LogParser:
        m, origin = self.matcher, self.origin

        def on_line(lineno: int, rank: int | None, text: str, as_warning: bool = False, handled: bool = False) -> None:
            m.on_line(lineno, rank, text, as_warning=as_warning, handled=handled)
            origin.on_line(text)

        def on_warning_line(lineno: int, rank: int | None, text: str) -> None:
            on_line(lineno, rank, text, as_warning=True)

        def on_handled_line(lineno: int, rank: int | None, text: str) -> None:
            on_line(lineno, rank, text, handled=True)

        def on_traceback(tb: Traceback) -> None:
            m.on_traceback(tb)
            origin.on_traceback(tb)

        return log_parser.LogParser(on_line, on_traceback, m.on_failure, rank=rank, on_warning_line=on_warning_line,
                                    on_warning_end=m.end_warning, on_handled_line=on_handled_line)

    def _scan(self, name: str, scan: Callable[[Callable[[int, str], None]], tuple[int, int]],
              rank: int | None = None) -> None:
        """Run one input through a fresh parser; line numbers continue from the previous input.
        `rank`: the input is one rank's own log (a per-rank file of a launcher's log folder)."""
        offset = self._offset
        self._starts.append((offset, name))
        parser = self._parser(rank)
        n_bytes, n_lines = scan(lambda lineno, text: parser.feed(lineno + offset, text))
        parser.close()
        self.matcher.end_input()
        self.bytes_read += n_bytes
        self.lines_read += n_lines
        self._offset += n_lines
        self.sources.append(name)

    def add_stream(self, stream: BinaryIO, name: str, on_progress: Callable[[int], None] | None = None, *,
                   rank: int | None = None) -> None:
        self._scan(name, lambda feed: scan_stream(stream, feed, triggers=self.triggers, small=self.small,
                                                  on_progress=on_progress), rank)

    def add_path(self, path: str, on_progress: Callable[[int], None] | None = None, *,
                 rank: int | None = None) -> None:
        """A regular file: large ones are scanned on several threads, small ones read as a stream."""
        size = os.path.getsize(path)
        workers = min(os.cpu_count() or 1, 4)
        if size < max(PARALLEL_MIN, self.small + 1) or workers < 2:
            with open(path, "rb") as f:
                self.add_stream(f, path, on_progress, rank=rank)
            return
        self._scan(path, lambda feed: scan_file(path, feed, triggers=self.triggers, workers=workers,
                                                on_progress=on_progress), rank)

    def line_feeder(self, name: str) -> tuple[Callable[[str], None], Callable[[], None]]:
        """Feed lines one at a time (a live job's output): returns (feed(text), close())."""
        parser = self._parser()
        count = [0]
        offset = self._offset

        def feed(text: str) -> None:
            count[0] += 1
            self.bytes_read += len(text) + 1
            parser.feed(offset + count[0], text)

        def close() -> None:
            parser.close()
            self.matcher.end_input()
            self.lines_read += count[0]
            self._offset += count[0]
            self.sources.append(name)

        return feed, close

    def add_text(self, text: str, name: str = "<text>", *, rank: int | None = None) -> None:
        self.add_stream(io.BytesIO(text.encode("utf-8", errors="replace")), name, rank=rank)

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def _locate(self, d: Diagnosis) -> Diagnosis:
        """With several inputs, say which input (and line in it) each piece of evidence is from."""
        if len(self._starts) < 2:
            return d
        starts = [s for s, _ in self._starts]

        def one(e: Evidence) -> Evidence:
            i = max(bisect.bisect_left(starts, e.lineno) - 1, 0)
            offset, name = self._starts[i]
            return replace(e, source=name, source_line=e.lineno - offset)

        return replace(d, evidence=tuple(one(e) for e in d.evidence))

    def result(self, *, tailor: Tailor | None = None) -> DiagnoseResult:
        diags = [self._locate(to_diagnosis(a)) for a in self.matcher.ranked()]
        if tailor is not None:
            diags = [tailor(d) for d in diags]
        return DiagnoseResult(diagnoses=tuple(diags), bytes_read=self.bytes_read, lines_parsed=self.lines_read,
                              tracebacks=self.matcher.tracebacks, sources=tuple(self.sources),
                              origin=self.origin.result(), notices=tuple(self.notices))


def diagnose_text(text: str, **kw: object) -> DiagnoseResult:
    s = Session(**kw)  # type: ignore[arg-type]
    s.add_text(text)
    return s.result()

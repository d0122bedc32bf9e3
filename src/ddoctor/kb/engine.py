"""Diagnose logs: stream bytes through the parser into the matcher, then rank."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from ddoctor.kb.loader import load_signatures
from ddoctor.kb.match import Matcher, to_diagnosis
from ddoctor.model.diagnosis import Diagnosis, Signature
from ddoctor.parse.parser import LogParser
from ddoctor.parse.reader import SMALL, scan_file_parallel, scan_stream

PARALLEL_MIN = 64 << 20  # below this, starting worker processes costs more than it saves

Tailor = Callable[[Diagnosis], Diagnosis]


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnoseResult:
    diagnoses: tuple[Diagnosis, ...]
    bytes_read: int
    lines_parsed: int
    tracebacks: int
    sources: tuple[str, ...]

    @property
    def root(self) -> Diagnosis | None:
        return self.diagnoses[0] if self.diagnoses else None


class Session:
    """One diagnose run over any number of inputs (files, stdin)."""

    def __init__(self, signatures: tuple[Signature, ...] | None = None, *, small: int = SMALL) -> None:
        self.matcher = Matcher(signatures or load_signatures())
        self.small = small
        self.bytes_read = 0
        self.lines_read = 0
        self.sources: list[str] = []
        self._offset = 0  # line numbers continue across inputs so evidence stays unique

    def _scan(self, name: str, scan) -> None:
        """Run one input through a fresh parser; `scan(feed)` returns (bytes, lines). Line numbers
        continue from the previous input so evidence stays unique across files."""
        m = self.matcher
        offset = self._offset
        parser = LogParser(m.on_line, m.on_traceback, m.on_failure)
        n_bytes, n_lines = scan(lambda lineno, text: parser.feed(lineno + offset, text))
        parser.close()
        self.bytes_read += n_bytes
        self.lines_read += n_lines
        self._offset += n_lines
        self.sources.append(name)

    def add_stream(self, stream: BinaryIO, name: str,
                   on_progress: Callable[[int], None] | None = None) -> None:
        self._scan(name, lambda feed: scan_stream(stream, feed, small=self.small, on_progress=on_progress))

    def add_path(self, path: str, on_progress: Callable[[int], None] | None = None) -> None:
        """A regular file: large ones are prefiltered on every core, small ones read as a stream."""
        size = os.path.getsize(path)
        workers = min(os.cpu_count() or 1, 8)
        if size < max(PARALLEL_MIN, self.small + 1) or workers < 2:
            with open(path, "rb") as f:
                self.add_stream(f, path, on_progress)
            return
        self._scan(path, lambda feed: scan_file_parallel(path, feed, workers=workers, on_progress=on_progress))

    def line_feeder(self, name: str):
        """Feed lines one at a time (a live job's output): returns (feed(text), close())."""
        m = self.matcher
        parser = LogParser(m.on_line, m.on_traceback, m.on_failure)
        count = [0]
        offset = self._offset

        def feed(text: str) -> None:
            count[0] += 1
            self.bytes_read += len(text) + 1
            parser.feed(offset + count[0], text)

        def close() -> None:
            parser.close()
            self.lines_read += count[0]
            self._offset += count[0]
            self.sources.append(name)

        return feed, close

    def add_text(self, text: str, name: str = "<text>") -> None:
        self.add_stream(io.BytesIO(text.encode("utf-8", errors="replace")), name)

    def result(self, *, tailor: Tailor | None = None, show_all: bool = True) -> DiagnoseResult:
        aggs = self.matcher.ranked()
        diags = [to_diagnosis(a) for a in aggs]
        if tailor is not None:
            diags = [tailor(d) for d in diags]
        if not show_all:
            diags = diags[:1] + [d for d in diags[1:] if d.symptom or d.score >= 0.5][:4]
        return DiagnoseResult(diagnoses=tuple(diags), bytes_read=self.bytes_read, lines_parsed=self.lines_read,
                              tracebacks=self.matcher.tracebacks, sources=tuple(self.sources))


def diagnose_text(text: str, **kw) -> DiagnoseResult:
    s = Session(**kw)
    s.add_text(text)
    return s.result()

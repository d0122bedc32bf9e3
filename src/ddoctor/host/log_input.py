"""Open a log the way it was handed to us, without losing a byte: files, pipes, FIFOs, gzip, UTF-16.

Only regular files are ever reopened (so large ones can be scanned on several threads); a FIFO,
`<(cmd)` or stdin is read once from the handle that was opened, so nothing is lost and a FIFO whose
writer has finished never blocks a second open. gzip is recognised by its magic bytes (also on
stdin) and capped against decompression bombs; UTF-16 (PowerShell's `>`) is transcoded to UTF-8
while it streams.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
GZIP_MAX_BYTES = 16 << 30  # whatever the ratio, never expand more than this
GZIP_MAX_RATIO = 200  # ... nor more than this many times the compressed size, past the first GiB
GZIP_FREE = 1 << 30


class LogInputError(Exception):
    """The input cannot be read as a log (missing, a directory, unreadable): a usage error."""


@dataclass(slots=True)
class LogInput:
    """One opened input. `path` is set only for regular, uncompressed, UTF-8 files (safe to reopen)."""

    name: str
    stream: BinaryIO
    path: str | None = None
    size: int | None = None
    notices: list[str] = field(default_factory=list)

    def close(self) -> None:
        if self.stream is not sys.stdin.buffer:
            self.stream.close()


class _CappedGzip(io.RawIOBase):
    """A gzip stream that stops (and says so) once it expands past the bomb limits."""

    def __init__(self, raw: BinaryIO, compressed_size: int | None, notices: list[str], name: str) -> None:
        self._gz = gzip.GzipFile(fileobj=raw)
        self._limit = GZIP_MAX_BYTES
        if compressed_size:
            self._limit = min(GZIP_MAX_BYTES, max(GZIP_FREE, compressed_size * GZIP_MAX_RATIO))
        self._out = 0
        self._notices = notices
        self._name = name
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        room = self._limit - self._out
        if room <= 0:
            return 0
        n = self._gz.readinto(memoryview(b)[:room])
        self._out += n
        if self._out >= self._limit and self._gz.read(1):
            self._notices.append(f"{self._name}: stopped after {self._limit >> 20} MiB of gzip output (the archive "
                                 "expands far beyond a log's usual ratio: a gzip bomb?); the rest was not read")
        return n

    def close(self) -> None:
        self._gz.close()
        self._raw.close()
        super().close()


class _Utf16ToUtf8(io.RawIOBase):
    """Transcodes a UTF-16 byte stream to UTF-8 as it is read (bounded memory)."""

    def __init__(self, raw: BinaryIO, encoding: str) -> None:
        self._raw = raw
        self._dec = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self._buf and not self._eof:
            data = self._raw.read(1 << 20)
            self._eof = not data
            self._buf = self._dec.decode(data, final=self._eof).encode("utf-8", "replace")
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def utf16_encoding(head: bytes) -> str | None:
    """'utf-16' (with a BOM), 'utf-16-le'/'utf-16-be' (NULs in every other byte), or None."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) < 64:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.05:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    return None


def _peek(stream: BinaryIO, n: int = 8192) -> bytes:
    peek = getattr(stream, "peek", None)
    return peek(n)[:n] if peek is not None else b""


def open_log(arg: str) -> LogInput:
    """Open `arg` (`-` for stdin) for reading as a log; raises LogInputError for usage errors."""
    if arg == "-":
        return _wrap(LogInput(name="<stdin>", stream=sys.stdin.buffer))
    try:
        st = os.stat(arg)
    except FileNotFoundError:
        raise LogInputError(f"{arg}: no such file") from None
    except OSError as exc:
        raise LogInputError(f"{arg}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise LogInputError(f"{arg}: is a directory (pass the log files inside it, e.g. {arg}/*.log)")
    try:
        f = open(arg, "rb")  # noqa: SIM115 - LogInput.close closes it
    except OSError as exc:
        raise LogInputError(f"{arg}: {exc.strerror or exc}") from None
    regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    return _wrap(LogInput(name=arg, stream=f, path=arg if regular else None, size=st.st_size if regular else None))


def _wrap(inp: LogInput) -> LogInput:
    head = _peek(inp.stream, 2)
    if head.startswith(GZIP_MAGIC):
        raw = inp.stream
        inp.stream = io.BufferedReader(_CappedGzip(raw, inp.size, inp.notices, inp.name), 1 << 20)
        inp.path, inp.size = None, None
    enc = utf16_encoding(_peek(inp.stream))
    if enc is not None:
        inp.stream = io.BufferedReader(_Utf16ToUtf8(inp.stream, enc), 1 << 20)
        inp.path, inp.size = None, None
    return inp


def head_of(inp: LogInput, n: int = 8192) -> bytes:
    """The first bytes without consuming them (for the binary-input check)."""
    return _peek(inp.stream, n)

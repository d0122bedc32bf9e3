"""Which files to fix, and reading and writing them so that nothing is lost.

Reading takes only regular files (a FIFO named `x.py` would block forever, `/dev/zero` behind a
symlink never ends), follows symlinks, stops at MAX_BYTES and decodes with the file's own
encoding (PEP 263 cookie, UTF-8 BOM). Writing goes to the symlink's target, in that encoding with
the text's own line endings, keeps mode and owner, replaces atomically (temp file and rename)
unless the inode itself must be kept, and never replaces a file that changed since it was read.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

MAX_BYTES = 32 * 1024 * 1024
_SKIP_DIRS = ("__pycache__", "site-packages", "node_modules")


class NotRegularFile(Exception):
    """A path that is not a regular file (or is too large to be source): skipped, not an error."""


class ChangedSinceRead(Exception):
    """The file on disk is no longer what was read: writing would lose someone's edit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    real: Path
    data: bytes
    text: str
    encoding: str
    stat: os.stat_result

    def shown(self, text: str) -> str:
        """The text as its bytes read, BOM included, so that a diff of it applies to the file."""
        return "\ufeff" + text if self.encoding == "utf-8-sig" else text

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_source(path: Path) -> SourceFile:
    """Raises NotRegularFile, OSError, or UnicodeDecodeError/SyntaxError/LookupError for undecodable text."""
    real = Path(os.path.realpath(path))
    st = os.stat(real)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(f"not a regular file ({_kind(st.st_mode)})")
    # O_NONBLOCK: should the path become a FIFO after the stat, opening it does not wait for a writer.
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            raise NotRegularFile(f"not a regular file ({_kind(fst.st_mode)})")
        if fst.st_size > MAX_BYTES:
            raise NotRegularFile(f"larger than {MAX_BYTES >> 20} MiB, not a source file")
        chunks = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BYTES:
                raise NotRegularFile(f"larger than {MAX_BYTES >> 20} MiB, not a source file")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    return SourceFile(real=real, data=data, text=data.decode(encoding), encoding=encoding, stat=fst)


def _unchanged(src: SourceFile) -> None:
    """Raise ChangedSinceRead unless the file still has the identity, size, time and bytes that were read."""
    now = os.stat(src.real)
    same = (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) == \
        (src.stat.st_dev, src.stat.st_ino, src.stat.st_size, src.stat.st_mtime_ns)
    if same:
        with open(src.real, "rb") as f:
            same = f.read(MAX_BYTES + 1) == src.data
    if not same:
        raise ChangedSinceRead("the file changed since it was read; run ddoctor fix again")


def write_source(src: SourceFile, text: str) -> None:
    """Replace the file's content with `text`. Raises ChangedSinceRead or OSError; never leaves a half file."""
    if src.encode(src.text) != src.data:
        raise OSError(f"its {src.encoding} text does not convert back to the same bytes; not written")
    data = src.encode(text)
    if src.stat.st_nlink > 1 or not _atomic_replace(src, data):
        _rewrite_in_place(src, data)


def _atomic_replace(src: SourceFile, data: bytes) -> bool:
    """Temp file beside the target, then rename: a crash leaves the old or the new file. False: owner not keepable."""
    fd, tmp = tempfile.mkstemp(prefix=f".{src.real.name}.", suffix=".ddoctor-tmp", dir=src.real.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        mine = os.stat(tmp)
        if (mine.st_uid, mine.st_gid) != (src.stat.st_uid, src.stat.st_gid):
            try:
                os.chown(tmp, src.stat.st_uid, src.stat.st_gid)
            except PermissionError:  # another user's file: keep its inode, and so its owner
                Path(tmp).unlink(missing_ok=True)
                return False
        os.chmod(tmp, stat.S_IMODE(src.stat.st_mode))  # after chown, which clears set-id bits
        _unchanged(src)
        os.replace(tmp, src.real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _rewrite_in_place(src: SourceFile, data: bytes) -> None:
    """Through the existing inode (hard links, another owner). Space is reserved first, so a full disk fails
    before a byte changes."""
    fd = os.open(src.real, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        _unchanged(src)
        if hasattr(os, "posix_fallocate") and len(data) > src.stat.st_size:
            os.posix_fallocate(fd, 0, len(data))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def display_path(path: Path) -> str:
    """Relative to the working directory when under it (what `git apply` and `patch -p1` expect), else absolute."""
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, os.getcwd())
    return Path(rel).as_posix() if not rel.startswith("..") else Path(absolute).as_posix()


# -- discovery ---------------------------------------------------------------------------------------------
def iter_python_files(paths: Sequence[str]) -> Iterator[Path]:
    """Files given by name always; directories walked for *.py, honouring .gitignore files as git does."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


_Specs = tuple[tuple[Path, pathspec.GitIgnoreSpec], ...]


def _spec_in(directory: Path, name: str = ".gitignore") -> pathspec.GitIgnoreSpec | None:
    try:
        text = (directory / name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())


def _ancestor_specs(top: Path) -> _Specs:
    """.git/info/exclude and the .gitignore files above `top` up to its work tree's top (none outside a work tree)."""
    chain = [top, *top.parents]
    tree = next((d for d in chain if (d / ".git").exists()), None)
    if tree is None:
        return ()
    found: list[tuple[Path, pathspec.GitIgnoreSpec]] = []
    exclude = _spec_in(tree / ".git" / "info", "exclude")
    if exclude is not None:
        found.append((tree, exclude))
    for d in reversed(chain[1:chain.index(tree) + 1]):
        spec = _spec_in(d)
        if spec is not None:
            found.append((d, spec))
    return tuple(found)


def _ignored(path: Path, is_dir: bool, specs: _Specs) -> bool:
    """Git's rule: the deepest .gitignore with a matching pattern decides, its last match wins."""
    for base, spec in reversed(specs):
        rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        verdict = spec.check_file(rel).include
        if verdict is not None:
            return verdict
    return False


def _walk(root: Path) -> Iterator[Path]:
    top = Path(os.path.abspath(root))
    specs_of: dict[Path, _Specs] = {top: _ancestor_specs(top)}
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        specs = specs_of.pop(here, ())
        own = _spec_in(here)
        if own is not None:
            specs = (*specs, (here, own))
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".") or d in _SKIP_DIRS or _ignored(here / d, True, specs):
                continue
            keep.append(d)
            specs_of[here / d] = specs
        dirnames[:] = keep
        for f in sorted(filenames):
            if f.endswith(".py") and not _ignored(here / f, False, specs):
                yield root / (here / f).relative_to(top)

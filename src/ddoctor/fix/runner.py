"""One FileFix per file: read, rewrite, diff and (with --write) write, each file on its own.

Whatever goes wrong with one file (not parsable, not readable, not writable, changed meanwhile,
a full disk) becomes that file's reported error; the other files are still checked and fixed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ddoctor.fix.engine import fix_source, unified_diff
from ddoctor.fix.files import (
    ChangedSinceRead,
    NotRegularFile,
    display_path,
    iter_python_files,
    read_source,
    write_source,
)
from ddoctor.fix.rules.base import RuleTransformer
from ddoctor.model.fix import FileFix


def fix_file(path: Path, *, rules: Sequence[type[RuleTransformer]], unsafe: bool, write: bool) -> FileFix:
    shown = display_path(path)
    try:
        src = read_source(path)
    except NotRegularFile as exc:
        return FileFix(path=shown, skipped=str(exc))
    except (UnicodeError, SyntaxError, LookupError) as exc:  # undecodable bytes or a bad coding cookie
        return FileFix(path=shown, error=f"cannot decode: {exc}")
    except OSError as exc:
        return FileFix(path=shown, error=f"cannot read: {exc.strerror or exc}")
    res = fix_source(src.text, rules=rules, unsafe=unsafe)
    if res.error is not None:
        return FileFix(path=shown, edits=res.edits, encoding=src.encoding, error=res.error)
    if res.new_source is None:
        return FileFix(path=shown, edits=res.edits, encoding=src.encoding)
    # An absolute path (a file outside the working directory) loses its "/": `a/home/...`, as -p1 expects.
    diff = unified_diff(src.shown(src.text), src.shown(res.new_source), shown.lstrip("/"))
    error = None
    if write:
        try:
            write_source(src, res.new_source)
        except ChangedSinceRead as exc:
            error = f"not written: {exc}"
        except (OSError, UnicodeError) as exc:
            error = f"cannot write: {getattr(exc, 'strerror', None) or exc}"
    return FileFix(path=shown, edits=res.edits, applied=res.applied, diff=diff, encoding=src.encoding,
                   written=write and error is None, error=error)


def fix_paths(paths: Sequence[str], *, rules: Sequence[type[RuleTransformer]], unsafe: bool,
              write: bool) -> Iterator[FileFix]:
    """Each file once, even when reached through several names (symlinks, a file inside a directory given too)."""
    seen: set[tuple[int, int]] = set()
    for path in iter_python_files(paths):
        try:
            st = path.stat()
            key = (st.st_dev, st.st_ino)
        except OSError:
            key = None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        yield fix_file(path, rules=rules, unsafe=unsafe, write=write)

"""The shipped signature files, parsed and validated once, kept as JSON in the user's cache.

Reading 55 TOML files and compiling every regex to validate them cost a `diagnose` run more than
its whole scan of a pasted log. The cache is keyed by the files' contents (not their times), so an
upgrade or an edited signature is read afresh; it is JSON, never code, and read only when the
current user owns it and nobody else can write it (the rule ssh applies to its own files).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from ddoctor.parse.multimatch import user_cache_dir as cache_dir

FORMAT = 1


def key(version: str, texts: list[tuple[str, str]]) -> str:
    h = hashlib.sha256(f"{FORMAT}|{version}".encode())
    for name, text in texts:
        h.update(b"\0" + name.encode() + b"\0" + text.encode())
    return h.hexdigest()[:32]


def _trusted(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid()
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def read(k: str, directory: Path | None = None) -> list[dict[str, Any]] | None:
    """The parsed files stored under key `k`, or None (absent, foreign, damaged)."""
    path = (directory or cache_dir()) / f"kb-{k}.json"
    if not _trusted(path):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != k or not isinstance(data.get("files"), list):
        return None
    files = data["files"]
    return files if all(isinstance(d, dict) for d in files) else None


def write(k: str, files: list[dict[str, Any]], directory: Path | None = None) -> None:
    """Best effort: a read-only or full cache only costs the next run the parse."""
    folder = directory or cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".kb-{k}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"key": k, "files": files}, f)
        os.replace(tmp, folder / f"kb-{k}.json")
    except (OSError, TypeError, ValueError):
        pass

"""A `.tar.gz` for an issue report: text members, every one scrubbed of secrets as it is written.

Redaction is the last step before bytes reach the file (the rule for every output), so a member
assembled from raw job output can never carry a token into the archive. The archive is written
to a temporary file beside the target and renamed into place: a reader never sees half of one.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from ddoctor.redact import scrub


def write_bundle(path: Path, members: Mapping[str, str], secrets: Iterable[str] = ()) -> Path:
    secrets = tuple(secrets)
    path = path.expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".ddoctor-bundle-", suffix=".tar.gz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            now = time.time()
            for name, text in members.items():
                data = scrub(text, secrets).encode("utf-8", "replace")
                info = tarfile.TarInfo(name=f"ddoctor-bundle/{name}")
                info.size, info.mtime, info.mode = len(data), now, 0o644
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

"""When a line says it was printed, as the loggers of distributed jobs write it.

Ranks write to one log at once and launchers gather their output late, so a line's place in the file says little of
what happened first: a rank's collective timeout can sit below another rank's later watchdog report. Most loggers
stamp their lines, and two stamps of one format order the events they report. Only formats that carry the time of
day are read; a stamp is returned with its format, and stamps of different formats are never compared.
"""

from __future__ import annotations

import re

# glog (torch's C++ logs: `E0325 20:57:27.620000 2606 ...`; torch >= 2.4 leaves the month unpadded:
# `[E626 05:06:30.929096625 ProcessGroupNCCL.cpp:632]`),
# ISO dates (Python logging, DeepSpeed, Lightning: `[2024-01-01 10:00:00,123]`, `2024-01-01T10:00:00.123Z`) and
# vLLM's `ERROR 03-25 12:23:00 [engine.py:448]`
_STAMP = re.compile(
    r"\[?(?:(?P<glevel>[IWEF])(?P<gmo>\d{1,2})(?P<gd>\d\d) "
    r"|(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)[ T]"
    r"|(?:INFO|WARNING|ERROR|DEBUG|CRITICAL) (?P<vmo>\d\d)-(?P<vd>\d\d) )"
    r"(?P<h>[0-2]\d):(?P<mi>[0-5]\d):(?P<s>[0-6]\d(?:[.,]\d{1,9})?)")
GLOG, ISO, VLLM = 1, 2, 3


def line_time(text: str) -> tuple[int, float] | None:
    """(format, seconds) for a line that starts with a stamp, else None. glog and vLLM stamps have no year: their
    seconds count from the start of a year, which orders the lines of one job."""
    m = _STAMP.match(text, 0, 80) if text[:1] in "[IWEF0123456789DC" else None
    if m is None:
        return None
    g = m.group
    day_seconds = int(g("h")) * 3600 + int(g("mi")) * 60 + float(g("s").replace(",", "."))
    if g("glevel"):
        kind, year, month, day = GLOG, 0, int(g("gmo")), int(g("gd"))
    elif g("y"):
        kind, year, month, day = ISO, int(g("y")), int(g("mo")), int(g("d"))
    else:
        kind, year, month, day = VLLM, 0, int(g("vmo")), int(g("vd"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return kind, ((year * 12 + month) * 31 + day) * 86400.0 + day_seconds

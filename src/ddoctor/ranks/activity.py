"""When a job last made progress, judged from what it prints (for `run --hang-timeout`).

Any output counts, except a progress report that says nothing new: a tqdm-style bar redrawn at the
same count (`37/1000`, `42%|`) while its elapsed-time field ticks on is a hung job that still
prints. A `@@ddoctor` rank event always counts (a rank entered a new phase).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from ddoctor.ranks.protocol import MARKER

# tqdm's `desc: 37%|███▋      | 37/100 [00:03<00:06, 11.1it/s]` and plain `37/100 [` counters.
_BAR = re.compile(r"(?P<desc>[^\r\n|]{0,80}?)(?P<pct>\d{1,3})%\|[^|]{0,200}\|\s{0,4}(?P<count>\d{1,15}/\d{1,15}|\?)?"
                  r"|(?P<desc2>[^\r\n]{0,80}?)(?P<count2>\d{1,15}/\d{1,15})\s{0,4}\[")


MAX_BAR = 400


class ActivityClock:
    """Seconds since the job last made progress; thread-safe (both output pipes feed it)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._last = now()
        self._bars: dict[str, str] = {}
        self._lock = threading.Lock()

    def feed(self, chunk: bytes) -> None:
        text = chunk.decode("utf-8", "replace")
        moved = False
        for segment in re.split(r"[\r\n]", text):
            if not segment.strip():
                continue
            if segment.startswith(MARKER) or len(segment) > MAX_BAR:  # a progress bar is one short line
                moved = True
                continue
            m = _BAR.search(segment)
            if m is None:
                moved = True
                continue
            desc = (m.group("desc") or m.group("desc2") or "").strip()
            value = m.group("count") or m.group("count2") or m.group("pct") or ""
            with self._lock:
                if self._bars.get(desc) != value:
                    self._bars[desc] = value
                    moved = True
        if moved:
            with self._lock:
                self._last = self._now()

    def quiet(self) -> float:
        """Seconds without progress."""
        with self._lock:
            return self._now() - self._last

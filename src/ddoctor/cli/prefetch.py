"""Start the torch child before the CLI framework loads, for the commands that will need it.

Typer, pydantic and rich take ~0.2 s to import; a first `ddoctor check` (no cached torch facts) then
spends ~2 s importing torch in a child. Starting that child first lets the two overlap. Kept apart from
cli/app.py so that `python -m ddoctor` can call it before importing anything heavy.
"""

from __future__ import annotations

import glob
import os
import sys

_started = False


def prefetch_torch(argv: list[str]) -> None:
    global _started
    if _started:
        return
    _started = True
    if not argv or argv[0] not in ("check", "report") or any(a in argv for a in ("-h", "--help", "--list",
                                                                                   "--simulate")):
        return
    if any(a.startswith("--simulate=") for a in argv):
        return
    if argv[0] == "report":
        runtime = False
    else:
        runtime = "--deep" in argv or bool(glob.glob("/dev/nvidia[0-9]*")) or sys.platform == "darwin"
    try:
        from ddoctor.host.torch_facts import prefetch

        prefetch(dict(os.environ), runtime=runtime, use_cache="--no-cache" not in argv)
    except Exception:  # an optimisation: the check itself reports whatever went wrong here
        pass

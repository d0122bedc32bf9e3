"""Third-party probes and signature packs, found through Python entry points.

Group `ddoctor.probes`: a callable returning Probe objects. Group `ddoctor.signatures`: a callable
returning a directory of signature TOML files. A plugin that fails to load is reported (returned as a
problem string for the CLI to print) and skipped; it never stops the built-in checks.
"""

from __future__ import annotations

import glob
import os
import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _any_declared() -> bool:
    """Whether any installed distribution declares a ddoctor entry point at all. Reading the entry_points.txt
    files costs a few ms; importlib.metadata's full scan of every distribution costs ~0.1 s, so it runs
    only when there is something to find."""
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        for path in glob.glob(os.path.join(glob.escape(entry), "*.dist-info", "entry_points.txt")) + \
                glob.glob(os.path.join(glob.escape(entry), "*.egg-info", "entry_points.txt")):
            try:
                with open(path, errors="replace") as f:
                    if "[ddoctor." in f.read():
                        return True
            except OSError:
                continue
    # Distributions found by other finders (zip imports, custom meta-path hooks) have no folder to read.
    return any(not os.path.isdir(e) and os.path.exists(e) for e in sys.path if e)


def _entry_points(group: str):
    if not _any_declared():
        return []
    import importlib.metadata

    try:
        return list(importlib.metadata.entry_points(group=group))
    except Exception:  # a broken metadata file elsewhere on sys.path must not break ddoctor
        return []


@lru_cache(maxsize=1)
def plugin_probes() -> tuple[tuple, tuple[str, ...]]:
    from ddoctor.probes.base import Probe

    probes, problems = [], []
    for ep in _entry_points("ddoctor.probes"):
        try:
            found = list(ep.load()())
            bad = [p for p in found if not isinstance(p, Probe)]
            if bad:
                raise TypeError(f"returned {type(bad[0]).__name__}, not Probe")
            probes.extend(found)
        except Exception as exc:
            problems.append(f"plugin {ep.name} ({ep.value}) was skipped: {type(exc).__name__}: {exc}")
    return tuple(probes), tuple(problems)


@lru_cache(maxsize=1)
def plugin_signature_dirs() -> tuple[tuple[str, Path], ...]:
    dirs = []
    for ep in _entry_points("ddoctor.signatures"):
        try:
            dirs.append((ep.name, Path(ep.load()())))
        except Exception:
            continue  # reported by the loader when it cannot read the pack
    return tuple(dirs)

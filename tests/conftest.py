import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# What the hardening tests attempted and what got through, printed at the end of the run. Each test
# counts its attempts (and any failure) *before* asserting, so a leak or an orphan shows in the figure.
STATS: Counter[str] = Counter()


def pytest_collection_modifyitems(config, items):
    """Tests marked `needs_shared` read ../shared (the failure corpus, the taxonomy): they need the
    project's shared/ folder beside the checkout, as CI has it; in a clone elsewhere they are skipped."""
    if SHARED.exists():
        return
    skip = pytest.mark.skip(reason=f"{SHARED} is not beside this checkout (CI has it)")
    for item in items:
        if item.get_closest_marker("needs_shared"):
            item.add_marker(skip)


@pytest.fixture
def run_cli(tmp_path):
    """Run the real `ddoctor` entry point in a child process (what users run)."""

    def run(*args, input=None, env=None, timeout=120):
        e = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "MASTER_"))}
        e.update({"XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1", "COLUMNS": "120"})
        e.update(env or {})
        return subprocess.run([sys.executable, "-m", "ddoctor", *args], input=input, capture_output=True,
                              env=e, timeout=timeout, text=isinstance(input, str) or input is None)

    return run


# -- hardening tally: what the suite injected, fuzzed and planted, printed at the end of the run ----------
@pytest.fixture
def hardening_stats():
    return STATS


def hardening_summary(s: Counter[str]) -> str | None:
    """One line of what was attempted and what got through; parts nothing attempted are left out."""
    parts = []
    if s["faults_injected"]:
        parts.append(f"{s['faults_injected']} faults injected, {s['faults_handled']} survived")
    if s["inputs_fuzzed"]:
        parts.append(f"{s['inputs_fuzzed']} hostile inputs fed")
    if s["secrets_planted"]:
        parts.append(f"{s['secrets_planted']} secrets planted, {s['secrets_leaked']} leaked")
    if s["orphan_checks"]:
        parts.append(f"{s['orphan_checks']} kills checked for orphans, {s['orphans']} orphans found")
    return "hardening: " + "; ".join(parts) if parts else None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    line = hardening_summary(STATS)
    if line:
        terminalreporter.write_line(line)

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def pytest_collection_modifyitems(config, items):
    """Tests that read ../shared (the failure corpus, the taxonomy) need the project's shared/ folder
    beside the checkout, as CI has it; in a clone elsewhere they are skipped with that reason."""
    if SHARED.exists():
        return
    import inspect

    skip = pytest.mark.skip(reason=f"{SHARED} is not beside this checkout (CI has it)")
    for item in items:
        fn = getattr(item, "function", None)
        try:
            src = inspect.getsource(fn) if fn else ""
        except (OSError, TypeError):
            src = ""
        if any(name in src for name in ("SHARED", "CORPUS", "taxonomy_names")):
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
def pytest_configure(config):
    from collections import Counter

    config._ddoctor_stats = Counter()


@pytest.fixture
def hardening_stats(request):
    return request.config._ddoctor_stats


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    s = getattr(config, "_ddoctor_stats", None)
    if not s:
        return
    leaked = s["secrets_planted"] - s["secrets_caught"]
    terminalreporter.write_line(
        f"hardening: {s['faults_injected']} faults injected, {s['faults_handled']} handled; "
        f"{s['inputs_fuzzed']} hostile inputs fed; {s['secrets_planted']} secret outputs checked, "
        f"{s['secrets_caught']} redacted, {leaked} leaked")

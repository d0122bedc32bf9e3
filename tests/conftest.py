import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


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

"""diagnose holds bounded memory whatever the input size (the whole process tree, workers included)."""

import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def peak_tree_rss(argv) -> tuple[int, int]:
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    proc = psutil.Process(p.pid)
    while p.poll() is None:
        try:
            peak = max(peak, max(q.memory_info().rss for q in [proc, *proc.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.02)
    return peak, p.returncode


def test_a_large_log_is_diagnosed_in_bounded_memory(tmp_path, hardening_stats):
    log = tmp_path / "big.log"
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_synth_log.py"), str(log), str(256 << 20)], check=True,
                   timeout=300, capture_output=True)
    peak, rc = peak_tree_rss([sys.executable, "-m", "ddoctor", "diagnose", "--no-host", str(log)])
    hardening_stats["inputs_fuzzed"] += 1
    assert rc == 1, peak
    assert peak < 150 * 2**20, peak

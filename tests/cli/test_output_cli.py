"""What people see and copy, as the real `ddoctor` prints it: widths, encodings, input modes, simulation."""

import gzip
import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import SHARED

pytestmark = pytest.mark.slow
CORPUS = SHARED / "corpus"
SNIPPET_LINE = 'backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"'


def test_at_60_columns_into_a_file_prose_wraps_and_copyables_stay_whole(run_cli):
    r = run_cli("diagnose", "--no-host", str(CORPUS / "g001-nccl-unavailable.log"), env={"COLUMNS": "60"})
    lines = r.stdout.splitlines()
    wide = [line.strip() for line in lines if len(line) > 60]
    assert SNIPPET_LINE in [line.strip() for line in lines]
    assert "nccl-unavailable · DD101 · confidence 0.95" in [line.strip() for line in lines]
    assert set(wide) <= {SNIPPET_LINE, "your code: /home/dev/proj/llama_ref/llama/generation.py:42 in build"}


def test_at_60_columns_the_prose_uses_the_width(run_cli):
    r = run_cli("diagnose", "--no-host", str(CORPUS / "g001-nccl-unavailable.log"), env={"COLUMNS": "60"})
    assert max(len(line) for line in r.stdout.splitlines() if line.startswith("    NCCL is")) > 50


ASCII_COMMANDS = [
    ("check", "-v"), ("check", "--simulate", "ecc-errors", "-v"), ("check", "--list"), ("check", "--simulate", "list"),
    ("check", "--simulate", "h100x8", "--format", "junit"), ("check", "--simulate", "h100x8", "--format", "markdown"),
    ("diagnose", "--all", str(CORPUS / "r068-device-mismatch.log")),
    ("diagnose", "--format", "json", str(CORPUS / "r068-device-mismatch.log")),
    ("diagnose", "--format", "markdown", str(CORPUS / "g001-nccl-unavailable.log")),
    ("diagnose", "--format", "github", str(CORPUS / "g001-nccl-unavailable.log")),
    ("explain", "DD101"), ("explain", "DDF002"), ("signatures",), ("fix", "--list-rules"), ("--help",), ("check", "--help"),
]


@pytest.mark.parametrize("argv", ASCII_COMMANDS, ids=" ".join)
def test_an_ascii_terminal_gets_ascii_and_no_traceback(run_cli, argv):
    r = run_cli(*argv, env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode in (0, 1), r.stderr
    assert (r.stdout + r.stderr).isascii()
    if "json" in argv:
        json.loads(r.stdout)


def test_fix_smoke_reshard_and_run_on_an_ascii_terminal(run_cli, tmp_path):
    from ddoctor.smoke import checkpoint

    src = tmp_path / "t.py"
    src.write_text('import torch.distributed as dist\ndist.init_process_group("nccl")  # é\n')
    checkpoint.write(tmp_path / "mp1", 1)
    env = {"PYTHONIOENCODING": "ascii", "MASTER_ADDR": "127.0.0.1"}
    runs = [run_cli("fix", str(src), env=env), run_cli("smoke", "--nproc", "1", env=env, timeout=180),
            run_cli("reshard", str(tmp_path / "mp1"), "--mp", "2", "--out", str(tmp_path / "mp2"), env=env,
                    timeout=300),
            run_cli("run", "--", sys.executable, "-c", "raise KeyError('\\u00e9')", env=env)]
    assert [r.returncode for r in runs] == [1, 0, 0, 1]
    # A diff is the file's own bytes (for `git apply`), whatever the terminal; everything else is ASCII.
    fix_out = [line for line in runs[0].stdout.splitlines() if not line.startswith(("+", "-", " ", "@@"))]
    assert "\n".join(fix_out).isascii()
    assert '+dist.init_process_group("nccl" if' in runs[0].stdout
    assert [(r.stdout + r.stderr).isascii() for r in runs[1:3]] == [True, True]
    assert "Traceback" not in runs[1].stderr + runs[2].stderr


def test_an_empty_pipe_is_a_usage_error_that_says_2_and_1(run_cli):
    r = run_cli("diagnose", input="")
    assert r.returncode == 2
    assert "2>&1" in r.stderr


def test_an_empty_file_is_a_usage_error(run_cli, tmp_path):
    (tmp_path / "empty.log").write_text("")
    r = run_cli("diagnose", str(tmp_path / "empty.log"))
    assert r.returncode == 2
    assert "the input is empty" in r.stderr


def test_gzip_on_stdin_is_read_like_a_gz_file(run_cli):
    r = run_cli("diagnose", "--format", "json", input=gzip.compress((CORPUS / "g023-host-oom-killed.log").read_bytes()))
    assert json.loads(r.stdout)["diagnoses"][0]["name"] == "host-oom-killed"


def test_a_terminal_on_stdin_gets_a_paste_prompt(tmp_path):
    master, slave = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": str(tmp_path)}
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "diagnose", "--no-host"], stdin=slave,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    try:
        deadline = time.monotonic() + 60
        prompt = b""
        while b"Ctrl-D" not in prompt and time.monotonic() < deadline:
            ready, _, _ = select.select([p.stderr], [], [], 0.5)
            if ready:
                prompt += os.read(p.stderr.fileno(), 4096)
        log = (CORPUS / "g027-port-in-use.log").read_text()
        os.write(master, log.replace("\n", "\r").encode() + b"\r\x04")
        out, _ = p.communicate(timeout=60)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    assert b"Paste the log" in prompt
    assert b"Root cause: Rendezvous port already in use" in out


def test_simulate_list_names_every_scenario(run_cli):
    from ddoctor.host.fake import SCENARIOS

    r = run_cli("check", "--simulate", "list", "--format", "json")
    assert [s["name"] for s in json.loads(r.stdout)["scenarios"]] == list(SCENARIOS)


@pytest.mark.parametrize(("fmt", "mark"), [("text", "SIMULATED host (--simulate ecc-errors)"),
                                           ("json", '"simulated": "ecc-errors"'),
                                           ("junit", '<property name="simulated" value="ecc-errors" />'),
                                           ("markdown", "> **Simulated host** (`--simulate ecc-errors`)"),
                                           ("github", "::notice title=ddoctor simulated host::")])
def test_simulated_output_says_so_in_every_format(run_cli, fmt, mark):
    assert mark in run_cli("check", "--simulate", "ecc-errors", "--format", fmt).stdout


def test_real_output_is_not_marked_simulated(run_cli):
    assert json.loads(run_cli("check", "sys", "--format", "json").stdout)["simulated"] is None


def test_help_examples_are_whole_commands_at_any_width(run_cli):
    r = run_cli("check", "--help", env={"COLUMNS": "40"})
    assert "    ddoctor check -r cuda -r 'gpus>=8' -r 'nccl>=2.18' --format junit > ddoctor.xml" in r.stdout.splitlines()

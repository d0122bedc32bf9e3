"""CI integrations, quiet output, completion, plugins, and a terminal session as a person sees it."""

import json
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import SHARED

pytestmark = pytest.mark.slow


@pytest.mark.needs_shared
def test_github_annotations(run_cli, tmp_path):
    r = run_cli("check", "--simulate", "ecc-errors", "--format", "github")
    first, second = r.stdout.splitlines()[:2]
    assert r.returncode == 1
    assert first.startswith("::notice title=ddoctor simulated host::SIMULATED host (--simulate ecc-errors)")
    assert second.startswith("::error title=ddoctor gpu.health::GPU 3 has 2 uncorrected")
    d = run_cli("diagnose", "--format", "github", str(SHARED / "corpus" / "g005-cuda-unavailable-build.log"))
    assert "::error file=/home/dev/proj/llama_ref/llama/generation.py,line=50,title=DD201" in d.stdout
    f = tmp_path / "t.py"
    f.write_text('import torch.distributed as dist\ndist.init_process_group("nccl")\n')
    x = run_cli("fix", "--format", "github", str(f))
    assert x.returncode == 1
    assert f"::error file={f},line=2,col=25,title=DDF001::" in x.stdout


@pytest.mark.needs_shared
def test_quiet_prints_only_the_verdict(run_cli):
    assert run_cli("check", "-q").stdout.strip().startswith("ready:")
    out = run_cli("diagnose", "-q", str(SHARED / "corpus" / "g027-port-in-use.log")).stdout.strip()
    assert out == "port-in-use: Rendezvous port already in use"


def test_no_color_and_non_tty_output_has_no_ansi(run_cli):
    r = run_cli("check", "-v", env={"NO_COLOR": "1"})
    assert "\x1b[" not in r.stdout


def test_shell_completion_script(run_cli):
    r = run_cli("--show-completion", "bash")
    assert r.returncode == 0
    assert "complete -o default -F _ddoctor_completion ddoctor" in r.stdout


def _plugin(tmp_path):
    site = tmp_path / "site"
    pkg = site / "acme_ddoctor"
    (pkg / "signatures").mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from pathlib import Path

        from ddoctor.probes.base import Probe, fix, ok, warn


        def _scratch(ctx):
            path = ctx.env.get("SCRATCH")
            if not path:
                return warn("SCRATCH is not set", fix("Set it.", "export SCRATCH=/scratch/$USER"))
            return ok(f"SCRATCH={path}")


        def probes():
            return [Probe(id="acme.scratch", title="scratch space", group="acme", run=_scratch,
                          description="the cluster scratch filesystem is configured")]


        def signature_dir():
            return Path(__file__).with_name("signatures")


        def broken():
            raise RuntimeError("plugin bug")
    '''))
    (pkg / "signatures" / "DD950_lustre-quota.toml").write_text(textwrap.dedent('''
        name = "lustre-quota"
        code = "DD950"
        title = "Lustre quota exceeded while saving a checkpoint"
        category = "storage"
        priority = 88

        [[rule]]
        line = "Disk quota exceeded"

        [explain]
        what = "The job could not write to the cluster filesystem because the user's Lustre quota is full."
        why = "Checkpoints of large models fill the per-user quota; every rank then fails to write its shard."

        [fix]
        summary = "Free space or ask for a larger quota."
        commands = ["lfs quota -u $USER /lustre"]

        [[example]]
        kind = "match"
        text = "OSError: [Errno 122] Disk quota exceeded: '/lustre/ckpt/step_100.pt'"

        [[example]]
        kind = "no_match"
        text = "all good"
    '''))
    info = site / "acme_ddoctor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-ddoctor\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ddoctor.probes]\nacme = acme_ddoctor:probes\nbad = acme_ddoctor:broken\n\n"
                                           "[ddoctor.signatures]\nacme = acme_ddoctor:signature_dir\n")
    return site


def test_plugins_add_probes_and_signatures(run_cli, tmp_path):
    env = {"PYTHONPATH": str(_plugin(tmp_path))}
    r = run_cli("check", "acme", "--format", "json", env=env)
    f = json.loads(r.stdout)["findings"]
    assert [x["id"] for x in f] == ["acme.scratch"]
    assert f[0]["status"] == "warn"
    assert "plugin bad (acme_ddoctor:broken) was skipped: RuntimeError: plugin bug" in r.stderr
    assert "acme.scratch" in run_cli("check", "--list", env=env).stdout
    sigs = json.loads(run_cli("signatures", "--format", "json", env=env).stdout)["signatures"]
    assert "lustre-quota" in [s["name"] for s in sigs]
    d = run_cli("diagnose", "--format", "json", input="Traceback (most recent call last):\n"
                "  File \"/job/save.py\", line 3, in <module>\n"
                "OSError: [Errno 122] Disk quota exceeded: '/lustre/ckpt/step_100.pt'\n", env=env)
    assert json.loads(d.stdout)["diagnoses"][0]["name"] == "lustre-quota"


@pytest.mark.needs_shared
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_terminal_session_as_a_person_sees_it(tmp_path):
    session = f"ddoctor-test-{int(time.time() * 1000)}"
    log = SHARED / "corpus" / "r068-device-mismatch.log"

    def tmux(*args):
        return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)

    tmux("new-session", "-d", "-s", session, "-x", "110", "-y", "60", "bash --norc --noprofile")
    try:
        def screen():
            return tmux("capture-pane", "-p", "-t", session, "-S", "-200").stdout

        def run(cmd, until, timeout=120):
            tmux("send-keys", "-t", session, f"clear; {cmd}", "Enter")
            seen, deadline = set(), time.monotonic() + timeout
            while time.monotonic() < deadline:
                text = screen()
                seen.update(line for line in text.splitlines() if "smoke:" in line)
                if until in text:
                    return text, seen
                time.sleep(0.1)
            raise AssertionError(f"{until!r} never appeared:\n{screen()}")

        py = sys.executable
        text, _ = run(f"{py} -m ddoctor check", "ready")
        assert "ddoctor check" in text
        text, _ = run(f"{py} -m ddoctor diagnose {log}", "confidence")
        assert "Root cause: Tensors of one operation on different devices" in text
        assert "device-mismatch · DD303 · confidence" in text
        text, progress = run(f"{py} -m ddoctor smoke", "PASS:")
        assert "verify" in text
        assert any("rendezvous" in p or "generate" in p or "load" in p for p in progress), progress
    finally:
        tmux("kill-session", "-t", session)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_at_80_columns_in_a_real_terminal_copyables_are_whole(tmp_path):
    """tmux soft-wraps a line wider than the pane; `capture-pane -J` joins it back, so a line that comes
    back longer than 80 is one ddoctor printed whole, and every other line was wrapped by ddoctor."""
    session = f"ddoctor-80-{int(time.time() * 1000)}"
    log = SHARED / "corpus" / "g001-nccl-unavailable.log"
    snippet = 'backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"'

    def tmux(*args):
        return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)

    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "80", "bash --norc --noprofile")
    try:
        tmux("send-keys", "-t", session, f"clear; env -u COLUMNS {sys.executable} -m ddoctor diagnose --no-host {log}; "
             "echo DONE-$?", "Enter")
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline and "DONE-1" not in text:
            time.sleep(0.2)
            text = tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-200").stdout
        lines = [line.rstrip() for line in text.splitlines()]
        assert "DONE-1" in text, text
        assert "  nccl-unavailable · DD101 · confidence 0.95" in lines
        assert "    " + snippet in lines
        wide = {line.strip() for line in lines if len(line) > 80 and "DONE-" not in line and "ddoctor diagnose" not in line}
        assert wide <= {snippet, "your code: /home/dev/proj/llama_ref/llama/generation.py:42 in build"}

        # check -v on a broken (simulated) host: only the suggested commands may run past the pane
        tmux("send-keys", "-t", session, "clear", "Enter")
        time.sleep(0.5)
        tmux("clear-history", "-t", session)  # the diagnosis above is not part of this screen
        text = ""
        tmux("send-keys", "-t", session, f"clear; env -u COLUMNS {sys.executable} -m ddoctor check -v --simulate "
             "driver-too-old; echo CHECKED-$?", "Enter")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "CHECKED-1" not in text:
            time.sleep(0.2)
            text = tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-400").stdout
        lines = [line.rstrip() for line in text.splitlines()]
        assert "CHECKED-1" in text, text
        assert any(line.startswith("[✗] driver vs torch CUDA") for line in lines)
        wide = [line.strip() for line in lines if len(line) > 80 and "CHECKED-" not in line and "ddoctor check" not in line]
        assert wide, wide
        assert all(line.startswith("$ ") for line in wide), wide
    finally:
        tmux("kill-session", "-t", session)

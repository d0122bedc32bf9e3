"""What the installed torchrun really does with port 29500, which `launch.port` relies on."""

import errno
import os
import socket
import subprocess
import sys

import pytest

from ddoctor.host.torch_facts import static_torch_facts

pytestmark = pytest.mark.slow

SCRIPT = "import os\nprint('MASTER_PORT=' + os.environ['MASTER_PORT'], flush=True)\n"


@pytest.fixture
def port_29500_held():
    """Hold 127.0.0.1:29500 for the test (if another process already holds it, it is held all the same)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 29500))
        s.listen()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
    yield
    s.close()


def torchrun(tmp_path, *args):
    script = tmp_path / "show_port.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTER_", "PET_", "RANK", "WORLD_SIZE"))}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", *args,
                           str(script)], capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)


def test_static_facts_know_this_torchrun_picks_a_free_port():
    assert static_torch_facts().torchrun_free_port is True


def test_single_node_torchrun_runs_while_29500_is_held(tmp_path, port_29500_held):
    r = torchrun(tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "MASTER_PORT=29500" not in r.stdout
    assert "MASTER_PORT=" in r.stdout


def test_an_explicit_master_port_that_is_held_fails(tmp_path, port_29500_held):
    r = torchrun(tmp_path, "--master_port", "29500")
    assert r.returncode != 0
    assert "EADDRINUSE" in r.stderr

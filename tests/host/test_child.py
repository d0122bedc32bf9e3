"""Real child processes: hangs are killed at the deadline, crashes and garbage are described."""

import os
import textwrap
import time

import psutil

from ddoctor.host.child import describe_exit, run_python_child


def script(tmp_path, body):
    p = tmp_path / "child.py"
    p.write_text(textwrap.dedent(body))
    return str(p)


def test_hung_child_is_killed_with_its_own_children(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    s = script(tmp_path, f"""
        import json, subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pidfile)!r}, "w").write(str(p.pid))
        print(json.dumps({{"phase": "build"}}), flush=True)
        time.sleep(60)
    """)
    r = run_python_child(s, [], timeout=3)
    assert r.timed_out and describe_exit(r) == "timed out"
    assert r.messages == ({"phase": "build"},)  # what it printed before hanging is kept
    grandchild = int(pidfile.read_text())

    def gone():
        try:
            return psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone()


def test_segfaulting_child(tmp_path):
    s = script(tmp_path, "import ctypes; ctypes.string_at(0)")
    r = run_python_child(s, [], timeout=30)
    assert not r.timed_out and describe_exit(r) == "killed by SIGSEGV"


def test_garbage_output_is_kept_apart(tmp_path):
    s = script(tmp_path, 'print("hello"); print("[1, 2]"); print(\'{"ok": 1}\')')
    r = run_python_child(s, [], timeout=30)
    assert r.messages == ({"ok": 1},) and r.garbage == ("hello", "[1, 2]")


def test_nonzero_exit_names_the_last_stderr_line(tmp_path):
    s = script(tmp_path, "raise SystemExit('cannot go on')")
    r = run_python_child(s, [], timeout=30)
    assert describe_exit(r) == "exited with code 1: cannot go on"


def test_env_is_passed(tmp_path):
    s = script(tmp_path, 'import json, os; print(json.dumps({"v": os.environ.get("DD_X")}))')
    r = run_python_child(s, [], timeout=30, env={**os.environ, "DD_X": "42"})
    assert r.messages == ({"v": "42"},)

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
    assert r.timed_out
    assert describe_exit(r) == "timed out"
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
    assert not r.timed_out
    assert describe_exit(r) == "killed by SIGSEGV"


def test_garbage_output_is_kept_apart(tmp_path):
    s = script(tmp_path, 'print("hello"); print("[1, 2]"); print(\'{"ok": 1}\')')
    r = run_python_child(s, [], timeout=30)
    assert r.messages == ({"ok": 1},)
    assert r.garbage == ("hello", "[1, 2]")


def test_nonzero_exit_names_the_last_stderr_line(tmp_path):
    s = script(tmp_path, "raise SystemExit('cannot go on')")
    r = run_python_child(s, [], timeout=30)
    assert describe_exit(r) == "exited with code 1: cannot go on"


def test_env_is_passed(tmp_path):
    s = script(tmp_path, 'import json, os; print(json.dumps({"v": os.environ.get("DD_X")}))')
    r = run_python_child(s, [], timeout=30, env={**os.environ, "DD_X": "42"})
    assert r.messages == ({"v": "42"},)


def _escaping_grandchild(tmp_path, then):
    """A child whose grandchild escapes into its own session holding the child's stdout and stderr."""
    pidfile = tmp_path / "escaped.pid"
    return script(tmp_path, f"""
        import json, subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
        open({str(pidfile)!r}, "w").write(str(p.pid))
        print(json.dumps({{"phase": "build"}}), flush=True)
        {then}
    """), pidfile


def _kill_escaped(pidfile):
    try:
        os.kill(int(pidfile.read_text()), 9)
    except (OSError, ValueError):
        pass


def test_a_grandchild_holding_the_pipes_cannot_outlast_the_deadline(tmp_path):
    s, pidfile = _escaping_grandchild(tmp_path, "time.sleep(120)")
    start = time.monotonic()
    try:
        r = run_python_child(s, [], timeout=2)
        elapsed = time.monotonic() - start
    finally:
        _kill_escaped(pidfile)
    assert r.timed_out
    assert r.messages == ({"phase": "build"},)
    assert elapsed < 30  # not the grandchild's 120 s (a bound, not a timing)


def test_a_child_that_exits_while_a_grandchild_holds_the_pipes_returns_its_result(tmp_path):
    s, pidfile = _escaping_grandchild(tmp_path, 'print(json.dumps({"phase": "done"}), flush=True)')
    try:
        r = run_python_child(s, [], timeout=60)
    finally:
        _kill_escaped(pidfile)
    assert not r.timed_out
    assert r.returncode == 0
    assert r.messages == ({"phase": "build"}, {"phase": "done"})


def test_endless_output_is_capped(tmp_path):
    import subprocess
    import sys

    from ddoctor.host.child import MAX_STDOUT, _collect

    s = script(tmp_path, 'import sys\nfor _ in range(400): sys.stdout.write("x" * 65536 + "\\n")\n')
    proc = subprocess.Popen([sys.executable, s], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    out, _, timed_out = _collect(proc, 60)
    assert not timed_out
    assert len(out) == MAX_STDOUT  # 26 MB printed, 16 MiB kept

"""Who sent a SIGKILL: the cgroup's OOM-kill count and the kernel log's OOM-killer lines."""

from pathlib import Path

from ddoctor.host import kills
from ddoctor.host.kills import KillWatch, cgroup_dirs, memory_limit, oom_kills


def cgroup(tmp_path, events="oom 0\noom_kill 0\n", limit="1073741824\n"):
    d = tmp_path / "cg"
    d.mkdir(exist_ok=True)
    (d / "memory.events").write_text(events)
    (d / "memory.max").write_text(limit)
    return d


def test_the_oom_kill_count_is_read(tmp_path):
    assert oom_kills(cgroup(tmp_path, "low 0\noom 3\noom_kill 2\n")) == 2


def test_cgroup_v1_counts_too(tmp_path):
    d = tmp_path / "v1"
    d.mkdir()
    (d / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n")
    assert oom_kills(d) == 4


def test_an_unlimited_cgroup_has_no_limit(tmp_path):
    assert memory_limit(cgroup(tmp_path, limit="max\n")) is None


def test_a_process_cgroup_file_leads_to_its_folder(tmp_path, monkeypatch):
    root = tmp_path / "sys"
    (root / "job.slice").mkdir(parents=True)
    (root / "job.slice" / "memory.events").write_text("oom_kill 0\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/job.slice\n")
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: real(proc if str(self) == "/proc/7/cgroup" else self))
    assert cgroup_dirs(7, root) == [root / "job.slice"]


def _watch(tmp_path, before, after):
    d = cgroup(tmp_path, f"oom_kill {before}\n")
    w = KillWatch()
    w._baseline[d] = oom_kills(d)
    (d / "memory.events").write_text(f"oom_kill {after}\n")
    return w


def test_a_grown_count_is_the_oom_killer(tmp_path):
    w = _watch(tmp_path, 0, 1)
    assert w.attribute([99], kmsg=tmp_path / "no-kmsg").verdict == "oom-killer"


def test_the_summary_gives_the_limit(tmp_path):
    w = _watch(tmp_path, 0, 1)
    assert "(memory limit 1.0 GiB)" in w.attribute([99], kmsg=tmp_path / "no-kmsg").summary


def test_an_unchanged_count_is_someone_else(tmp_path, monkeypatch):
    monkeypatch.setattr(kills, "_dmesg_kills", lambda since, why: ([], why))
    w = _watch(tmp_path, 1, 1)
    assert w.attribute([99], kmsg=tmp_path / "no-kmsg").verdict == "not-oom"


def test_nothing_readable_is_cannot_tell(tmp_path, monkeypatch):
    monkeypatch.setattr(kills, "_dmesg_kills", lambda since, why: ([], why))
    w = KillWatch()
    assert w.attribute([99], kmsg=tmp_path / "no-kmsg").verdict == "unknown"


def test_kernel_log_lines_name_the_victim():
    found = {}
    kills._take("Memory cgroup out of memory: Killed process 4242 (python) total-vm:1kB", found)
    assert (found[4242].name, found[4242].memcg) == ("python", True)


def test_the_oom_kill_summary_line_names_the_pid():
    found = {}
    kills._take("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),task=python,pid=77,uid=0", found)
    assert 77 in found


def test_a_kernel_log_kill_of_the_rank_is_the_oom_killer(tmp_path, monkeypatch):
    hit = kills.KernelKill(pid=99, name="python", memcg=False, text="Out of memory: Killed process 99 (python)")
    monkeypatch.setattr(kills, "kernel_oom_kills", lambda since, kmsg: ([hit], None))
    assert KillWatch().attribute([99]).summary.startswith("the kernel's OOM killer killed pid 99 (python)")

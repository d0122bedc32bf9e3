"""Who sent a SIGKILL: the kernel's OOM killer, or someone else (a scheduler, a watchdog, `kill -9`).

The kernel leaves two kinds of evidence. Every memory cgroup counts the processes the OOM killer
took from it (`oom_kill` in memory.events on cgroup v2, in memory.oom_control on v1): a baseline
is read when a job's process is first seen and compared when one dies. And the kernel log
(/dev/kmsg, else `dmesg`) names each victim: `Out of memory: Killed process 1234 (python)`,
`Memory cgroup out of memory: Killed process ...`, `oom-kill:...,pid=1234,...`. Where neither can
be read, the answer is "cannot tell", never a guess.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ddoctor.model.hang import KillCause
from ddoctor.units import human_bytes

CGROUP_ROOT = Path("/sys/fs/cgroup")
KMSG = Path("/dev/kmsg")
_KILLED = re.compile(r"(?P<memcg>Memory cgroup out of memory: )?(?:Out of memory: )?Killed process (?P<pid>\d{1,10}) "
                     r"\((?P<name>[^)]{0,64})\)")
_OOM_KILL = re.compile(r"oom-kill:.{0,2000}?\bpid=(?P<pid>\d{1,10})")
_UNLIMITED = 1 << 60
MAX_RECORDS = 100_000


def cgroup_dirs(pid: int | str, root: Path = CGROUP_ROOT) -> list[Path]:
    """The memory cgroup folders of a process (v2 unified, v2 under a hybrid mount, or v1 memory)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        rel = path.lstrip("/")
        if controllers == "":
            candidates = [root / rel, root / "unified" / rel]
        elif "memory" in controllers.split(","):
            candidates = [root / "memory" / rel]
        else:
            continue
        out += [c for c in candidates if (c / "memory.events").exists() or (c / "memory.oom_control").exists()]
    return out


def oom_kills(folder: Path) -> int | None:
    """The OOM killer's victims so far in this cgroup, or None when unreadable."""
    for name in ("memory.events", "memory.oom_control"):
        try:
            text = (folder / name).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
    return None


def memory_limit(folder: Path) -> int | None:
    for name in ("memory.max", "memory.limit_in_bytes"):
        try:
            text = (folder / name).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _UNLIMITED:
            return int(text)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelKill:
    pid: int
    name: str
    memcg: bool  # a cgroup's limit, not the whole machine's memory
    text: str


def kernel_oom_kills(since_monotonic: float, kmsg: Path = KMSG) -> tuple[list[KernelKill], str | None]:
    """OOM kills the kernel logged since `since_monotonic` (kmsg stamps count from boot, as the
    monotonic clock does); the second value says why the log could not be read."""
    try:
        fd = os.open(kmsg, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return _dmesg_kills(since_monotonic, f"{kmsg}: {exc.strerror or exc}")
    kills: dict[int, KernelKill] = {}
    try:
        for _ in range(MAX_RECORDS):
            try:
                rec = os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # the ring buffer overwrote a record we had not read yet
                continue
            except OSError as exc:
                return [], f"{kmsg}: {exc.strerror or exc}"
            if not rec:
                break
            head, _, msg = rec.decode("utf-8", "replace").partition(";")
            fields = head.split(",")
            try:
                stamp = int(fields[2]) / 1e6
            except (IndexError, ValueError):
                continue
            if stamp >= since_monotonic - 2:
                _take(msg.strip(), kills)
    finally:
        os.close(fd)
    return list(kills.values()), None


def _take(msg: str, kills: dict[int, KernelKill]) -> None:
    if m := _KILLED.search(msg):
        pid = int(m.group("pid"))
        kills[pid] = KernelKill(pid=pid, name=m.group("name"), memcg=bool(m.group("memcg")), text=msg[:300])
    elif (m := _OOM_KILL.search(msg)) and int(m.group("pid")) not in kills:
        pid = int(m.group("pid"))
        kills[pid] = KernelKill(pid=pid, name="", memcg="CONSTRAINT_MEMCG" in msg, text=msg[:300])


def _dmesg_kills(since_monotonic: float, why: str) -> tuple[list[KernelKill], str | None]:
    import shutil

    from ddoctor.host.child import run_command

    exe = shutil.which("dmesg")
    if exe is None:
        return [], why
    try:
        res = run_command([exe, "--kernel", "--raw"], timeout=3)
    except OSError:
        return [], why
    if res.returncode != 0:
        return [], f"{why}; dmesg: {(res.stderr.strip().splitlines() or ['refused'])[-1]}"
    kills: dict[int, KernelKill] = {}
    for line in res.stdout.splitlines()[-MAX_RECORDS:]:
        m = re.match(r"^(?:<\d+>)?\[\s*(\d+\.\d+)\]\s?(.*)$", line)
        if m and float(m.group(1)) >= since_monotonic - 2:
            _take(m.group(2), kills)
    return list(kills.values()), None


class KillWatch:
    """Baselines for a job: each cgroup's OOM-kill count when a process of the job was first seen."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._baseline: dict[Path, int | None] = {}

    def watch(self, pid: int | str) -> None:
        for d in cgroup_dirs(pid):
            if d not in self._baseline:
                self._baseline[d] = oom_kills(d)

    def attribute(self, pids: Iterable[int], *, kmsg: Path = KMSG) -> KillCause:
        """Why the processes `pids` (of which one or more died of SIGKILL) were killed."""
        wanted = set(pids)
        evidence: list[str] = []
        kills, unreadable = kernel_oom_kills(self.started, kmsg)
        ours = [k for k in kills if k.pid in wanted]
        grown = []
        counters_read = False
        for d, before in self._baseline.items():
            now = oom_kills(d)
            if before is None or now is None:
                continue
            counters_read = True
            if now > before:
                grown.append((d, before, now))
        for d, before, now in grown:
            limit = memory_limit(d)
            evidence.append(f"{d}: oom_kill {before} -> {now}" + (f" (limit {human_bytes(limit)})" if limit else ""))
        evidence += [k.text for k in ours]
        if ours:
            k = ours[0]
            scope = "a memory cgroup's limit" if k.memcg else "the machine ran out of memory"
            return KillCause(verdict="oom-killer", summary=f"the kernel's OOM killer killed pid {k.pid}"
                             + (f" ({k.name})" if k.name else "") + f": {scope} (kernel log)", evidence=tuple(evidence))
        if grown:
            d, before, now = grown[0]
            limit = memory_limit(d)
            return KillCause(verdict="oom-killer", summary=f"the kernel's OOM killer killed {now - before} process(es) "
                             f"of the job's cgroup" + (f" (memory limit {human_bytes(limit)})" if limit else "")
                             + " (cgroup memory events)", evidence=tuple(evidence))
        if unreadable is None or counters_read:
            seen = ([] if unreadable is not None else ["the kernel log has no OOM kill of "
                                                       + ", ".join(f"pid {p}" for p in sorted(wanted))])
            if counters_read:
                seen.append("the cgroup's oom_kill count did not change")
            if unreadable:
                evidence.append(f"kernel log unreadable: {unreadable}")
            return KillCause(verdict="not-oom", summary="not the OOM killer (" + "; ".join(seen) + "): the SIGKILL "
                             "came from outside the job (a scheduler's time or memory limit, a watchdog, `kill -9`)",
                             evidence=tuple(evidence))
        return KillCause(verdict="unknown", summary="cannot tell who sent the SIGKILL: neither the kernel log nor the "
                         f"cgroup's memory events can be read here ({unreadable})", evidence=tuple(evidence))

"""OS facts through psutil and the standard library; each call is cheap and cannot hang long."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
from pathlib import Path

import psutil

from ddoctor.host.facts import (
    DiskFacts,
    Limits,
    MemoryFacts,
    NcclConfFile,
    NetInterface,
    PlatformFacts,
    PortState,
)


def _rosetta_translated() -> bool:
    """True when an x86_64 interpreter runs under Rosetta 2 on Apple silicon."""
    if platform.system() != "Darwin" or platform.machine() != "x86_64":
        return False
    try:
        out = subprocess.run(["sysctl", "-n", "sysctl.proc_translated"], capture_output=True, text=True,
                             timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "1"


def _in_container() -> bool:
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return True
    try:
        text = Path("/proc/1/cgroup").read_text()
    except OSError:
        return False
    return any(k in text for k in ("docker", "kubepods", "containerd", "lxc"))


def platform_facts() -> PlatformFacts:
    import sys

    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = os.cpu_count() or 1
    mac = platform.mac_ver()[0] or None
    return PlatformFacts(
        system=platform.system(),
        machine=platform.machine(),
        release=platform.release(),
        mac_version=mac,
        python_version=platform.python_version(),
        python_executable=sys.executable,
        hostname=socket.gethostname(),
        cpu_count=psutil.cpu_count(logical=True) or 1,
        affinity_count=affinity,
        rosetta_translated=_rosetta_translated(),
        in_container=_in_container(),
    )


def memory_facts() -> MemoryFacts:
    vm = psutil.virtual_memory()
    return MemoryFacts(total=vm.total, available=vm.available, swap_total=psutil.swap_memory().total)


def disk_facts(path: str) -> DiskFacts | None:
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    return DiskFacts(path=path, total=st.f_blocks * st.f_frsize, free=st.f_bavail * st.f_frsize)


def limits() -> Limits:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return Limits(nofile_soft=None, nofile_hard=None, memlock_soft=None, memlock_hard=None)

    def norm(v: int) -> int:
        return -1 if v == resource.RLIM_INFINITY else v

    nf = resource.getrlimit(resource.RLIMIT_NOFILE)
    ml = resource.getrlimit(resource.RLIMIT_MEMLOCK) if hasattr(resource, "RLIMIT_MEMLOCK") else (None, None)
    return Limits(
        nofile_soft=norm(nf[0]), nofile_hard=norm(nf[1]),
        memlock_soft=None if ml[0] is None else norm(ml[0]),
        memlock_hard=None if ml[1] is None else norm(ml[1]),
    )


def interfaces() -> tuple[NetInterface, ...]:
    addrs = psutil.net_if_addrs()
    stats = psutil.net_if_stats()
    out = []
    for name, items in sorted(addrs.items()):
        ips = tuple(a.address.split("%")[0] for a in items if a.family in (socket.AF_INET, socket.AF_INET6))
        st = stats.get(name)
        is_loop = name == "lo" or (name.startswith("lo") and all(
            ip.startswith("127.") or ip == "::1" for ip in ips))
        out.append(NetInterface(name=name, addresses=ips, is_up=bool(st and st.isup), is_loopback=is_loop))
    return tuple(out)


def default_route_interface() -> str | None:
    """The interface of the IPv4 default route, from /proc/net/route (Linux only)."""
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if len(f) > 2 and f[1] == "00000000":
            return f[0]
    return None


def port_state(port: int, host: str = "127.0.0.1") -> PortState:
    """Try to bind `port` the way a TCPStore master does; name the holder if it is taken."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return PortState(port=port, free=True)
    except OSError as exc:
        pid, name, cmd = _port_holder(port)
        return PortState(port=port, free=False, holder_pid=pid, holder_name=name, holder_cmdline=cmd,
                         error=exc.strerror or str(exc))
    finally:
        s.close()


def _port_holder(port: int) -> tuple[int | None, str | None, str | None]:
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError, OSError):
        return None, None, None
    for c in conns:
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(c.pid)
                return c.pid, p.name(), " ".join(p.cmdline())[:300]
            return c.pid, None, None
    return None, None, None


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now (the kernel picks it, so it is really unused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def resolve(name: str, timeout: float = 2.0) -> tuple[str, ...] | str:
    """Addresses for `name`, or the resolver's error text. Bounded by a worker thread deadline."""
    import concurrent.futures

    def lookup():
        return tuple(sorted({ai[4][0] for ai in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}))

    ex = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    fut = ex.submit(lookup)
    try:
        return fut.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        return f"lookup timed out after {timeout:.0f} s"
    except OSError as exc:
        return str(exc)
    finally:
        ex.shutdown(wait=False)


def nccl_conf_files(environ: dict) -> tuple[NcclConfFile, ...]:
    """NCCL reads these silently; variables set there change its behaviour like the environment."""
    paths = ["/etc/nccl.conf", os.path.join(os.path.expanduser("~"), ".nccl.conf")]
    if environ.get("NCCL_CONF_FILE"):
        paths.append(environ["NCCL_CONF_FILE"])
    out = []
    for p in paths:
        try:
            text = Path(p).read_text(errors="replace")
        except OSError:
            continue
        entries = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                entries.append((k.strip(), v.strip()))
        out.append(NcclConfFile(path=p, entries=tuple(entries)))
    return tuple(out)


def infiniband_devices() -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir("/sys/class/infiniband")))
    except OSError:
        return ()


def loopback_interface() -> str | None:
    """The loopback interface's name (`lo` on Linux, `lo0` on macOS), to pin Gloo's sockets to it."""
    names = psutil.net_if_addrs()
    return next((n for n in ("lo", "lo0") if n in names), None)


def slurm_first_host(environ: dict[str, str]) -> str | None:
    """The first host of the SLURM allocation (where rank 0 runs), from `scontrol show hostnames`."""
    import shutil

    nodelist = environ.get("SLURM_JOB_NODELIST") or environ.get("SLURM_NODELIST")
    if not nodelist or not shutil.which("scontrol"):
        return None
    try:
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True,
                             timeout=10).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out[0] if out else None

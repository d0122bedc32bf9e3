"""Which PyTorch wheel a host can run, from the published matrix in data/torch_wheels.toml.

Advice names only an index that publishes the version it pins, and judges drivers by NVIDIA's rules:
a driver runs builds of an older CUDA major (backward compatibility) and any minor of its own major
once it is at least that major's minor-compatibility floor; a build of a newer major never runs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

INDEX = "https://download.pytorch.org/whl/{tag}"
TABLE_PATH = Path(__file__).with_name("data") / "torch_wheels.toml"

Cuda = tuple[int, int]


def parse_cuda(version: str | None) -> Cuda | None:
    """`12.4`, `12.4.1` or `12` → (12, 4); anything else → None."""
    if not version:
        return None
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?(?:\.\d+)*", version.strip())
    return (int(m.group(1)), int(m.group(2) or 0)) if m else None


def _numbers(version: str | None) -> tuple[int, ...] | None:
    """A driver version (`570.124.06`) as numbers, so `570.26 < 570.124.06` compares right."""
    if not version or not re.fullmatch(r"\d+(?:\.\d+)*", version.strip()):
        return None
    return tuple(int(p) for p in version.strip().split("."))


def cuda_str(cuda: Cuda) -> str:
    return f"{cuda[0]}.{cuda[1]}"


def wheel_tag(cuda: Cuda | None) -> str:
    return "cpu" if cuda is None else f"cu{cuda[0]}{cuda[1]}"


def series_of(version: str | None) -> str | None:
    """`2.13.0+cpu` → `2.13`."""
    m = re.match(r"(\d+)\.(\d+)", version or "")
    return f"{m.group(1)}.{m.group(2)}" if m else None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3])


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    series: str
    latest: str
    cuda: tuple[Cuda, ...]
    rocm: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelTable:
    source: str
    date: str
    releases: tuple[Release, ...]  # newest first
    minor_compat: dict[int, str]
    toolkit_driver: dict[Cuda, str]
    arch_releases: tuple[str, ...]
    arch: dict[Cuda, tuple[tuple[tuple[int, int], ...], tuple[int, int] | None]]  # cuda -> (sass, ptx)

    def release(self, version: str | None) -> Release | None:
        s = series_of(version)
        return next((r for r in self.releases if r.series == s), None)

    @property
    def newest(self) -> Release:
        return self.releases[0]


def _cap(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@functools.cache
def table() -> WheelTable:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    data = tomllib.loads(TABLE_PATH.read_text())
    releases = tuple(sorted(
        (Release(series=s, latest=r["latest"], cuda=tuple(parse_cuda(c) for c in r["cuda"]),
                 rocm=tuple(r.get("rocm", ()))) for s, r in data["release"].items()),
        key=lambda r: _version_key(r.series), reverse=True))
    arch_data = dict(data.get("arch", {}))
    arch_releases = tuple(arch_data.pop("releases", ()))
    arch = {parse_cuda(c): (tuple(_cap(a) for a in v.get("sass", ())), _cap(v["ptx"]) if v.get("ptx") else None)
            for c, v in arch_data.items()}
    return WheelTable(source=data["source"], date=data["date"], releases=releases,
                      minor_compat={int(k): v for k, v in data["driver"]["minor_compat"].items()},
                      toolkit_driver={parse_cuda(k): v for k, v in data["driver"]["toolkit"].items()},
                      arch_releases=arch_releases, arch=arch)


def publishes(version: str | None, tag: str) -> bool:
    """Whether the wheel index `tag` (cu126, rocm7.2, cpu) carries this torch version's release."""
    rel = table().release(version)
    if rel is None:
        return False
    return tag == "cpu" or tag in {wheel_tag(c) for c in rel.cuda} or tag in {f"rocm{r}" for r in rel.rocm}


def driver_support(cuda: Cuda, *, driver_cuda: Cuda | None, driver_version: str | None = None) -> str | None:
    """How a driver runs a build for `cuda`: "full", "minor-compat", or None when it cannot.

    `driver_cuda` is the newest CUDA the driver supports (nvmlSystemGetCudaDriverVersion).
    """
    if driver_cuda is None:
        return None
    if cuda[0] < driver_cuda[0] or cuda <= driver_cuda:
        return "full"
    if cuda[0] > driver_cuda[0]:
        return None
    floor = table().minor_compat.get(cuda[0])
    have, need = _numbers(driver_version), _numbers(floor)
    if floor is None or (have is not None and need is not None and have < need):
        return None
    return "minor-compat"


def driver_floor(cuda: Cuda) -> tuple[str | None, str | None]:
    """(oldest driver that runs `cuda` builds through minor-version compatibility, driver with full support)."""
    t = table()
    full = t.toolkit_driver.get(cuda) or next((v for c, v in sorted(t.toolkit_driver.items()) if c >= cuda
                                              and c[0] == cuda[0]), None)
    return t.minor_compat.get(cuda[0]), full


def arch_covered(series: str, cuda: Cuda, cap: tuple[int, int]) -> bool | None:
    """Whether `series`'s build for `cuda` carries kernels for a GPU of capability `cap` (None: unknown)."""
    t = table()
    if series not in t.arch_releases or cuda not in t.arch:
        return None
    sass, ptx = t.arch[cuda]
    return any(s[0] == cap[0] and s[1] <= cap[1] for s in sass) or (ptx is not None and ptx <= cap)


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelChoice:
    """A CUDA build to install: an exact version on an index that publishes it."""

    version: str
    cuda: Cuda
    support: str  # "full" or "minor-compat" on this driver
    installed: str | None = None

    @property
    def tag(self) -> str:
        return wheel_tag(self.cuda)

    @property
    def index_url(self) -> str:
        return INDEX.format(tag=self.tag)

    def command(self, python: str) -> str:
        return f"{python} -m pip install --force-reinstall torch=={self.version} --index-url {self.index_url}"

    @property
    def older_than_installed(self) -> bool:
        return bool(self.installed) and _version_key(self.version) < _version_key(self.installed)

    def notes(self) -> tuple[str, ...]:
        """What a person should know before running the command."""
        out = []
        t = table()
        if self.support == "minor-compat":
            floor, full = driver_floor(self.cuda)
            out.append(f"the CUDA {cuda_str(self.cuda)} build runs on this driver through CUDA minor-version "
                       f"compatibility (any driver >= {floor}); kernels JIT-compiled from newer PTX need "
                       f"{'driver >= ' + full if full else 'a newer driver'}")
        if self.installed and t.release(self.installed) is None and \
                _version_key(self.installed) > _version_key(t.newest.latest):
            out.append(f"torch {self.installed} is newer than ddoctor's wheel table (releases up to "
                       f"{t.newest.series}, read {t.date}); {self.version} is the newest build it knows for this "
                       "driver: see pytorch.org/get-started for newer ones")
        elif self.older_than_installed:
            out.append(f"the newest torch this driver runs is {self.version} ({self.tag}), older than the installed "
                       f"{self.installed}: upgrade the driver to keep torch {series_of(self.installed)}")
        return tuple(out)


def _pick(release: Release, driver_cuda: Cuda | None, driver_version: str | None,
          cap: tuple[int, int] | None = None) -> tuple[Cuda, str] | None:
    """The release's best build for this driver: the newest it fully supports, else the oldest of the
    driver's major it runs through minor-version compatibility (the fewest missing features)."""
    runs = [(c, s) for c in release.cuda
            if (s := driver_support(c, driver_cuda=driver_cuda, driver_version=driver_version))
            and (cap is None or arch_covered(release.series, c, cap))]
    full = [x for x in runs if x[1] == "full"]
    if full:
        return max(full)
    return min(runs) if runs else None


def choose_cuda_wheel(*, torch_version: str | None, driver_cuda: Cuda | None, driver_version: str | None = None,
                      cap: tuple[int, int] | None = None) -> WheelChoice | None:
    """The CUDA build to install on this driver: of the installed release when it publishes one the driver
    runs, else of the newest release that does (never an index without the pinned version).

    `cap` (a GPU's compute capability) keeps only builds known to carry kernels for it.
    """
    if driver_cuda is None:
        return None
    t = table()
    own = t.release(torch_version)
    candidates = ([own] if own else []) + [r for r in t.releases if r is not own]
    for rel in candidates:
        picked = _pick(rel, driver_cuda, driver_version, cap)
        if picked:
            version = (torch_version or "").split("+")[0] if rel is own else rel.latest
            return WheelChoice(version=version or rel.latest, cuda=picked[0], support=picked[1],
                               installed=(torch_version or None))
    return None


def pip_install_torch(python: str, cuda: Cuda | None, torch_version: str | None = None) -> str:
    """The install command for an index; pins `torch_version` only where that index publishes it."""
    base = (torch_version or "").split("+")[0]
    tag = wheel_tag(cuda)
    spec = f"torch=={base}" if base and publishes(base, tag) else "torch"
    return f"{python} -m pip install --force-reinstall {spec} --index-url {INDEX.format(tag=tag)}"


def wheel_for_arch(cap: tuple[int, int]) -> WheelChoice | None:
    """The newest release's oldest CUDA build with kernels for `cap`, whatever the driver (to say which
    driver to install for it)."""
    for rel in table().releases:
        covering = [c for c in rel.cuda if arch_covered(rel.series, c, cap)]
        if covering:
            return WheelChoice(version=rel.latest, cuda=min(covering), support="full")
    return None

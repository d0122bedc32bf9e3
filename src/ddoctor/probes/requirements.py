"""`--require` specs for CI gates: `cuda`, `nccl>=2.18`, `gpus>=8`, `torch>=2.4`, `shm>=1GiB`, ...

Specs are parsed strictly before anything runs, so a typo is a usage error (exit 2) and never a gate
that silently passes: versions are PEP 440 specifiers (packaging), counts are whole numbers, sizes
need a unit. A requirement that fails names the fact that fails it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ddoctor.host.facts import NvmlFacts
from ddoctor.probes import claims
from ddoctor.probes.base import Outcome, Probe, ProbeContext, fail, fix, human_bytes, ok

_NAME_RE = re.compile(r"^\s*([A-Za-z_]+)\s*(.*?)\s*$")
_COUNT_RE = re.compile(r"^(>=|<=|==|!=|>|<)\s*([^<>=!\s]\S*)$")
_SIZE_RE = re.compile(r"^(>=|<=|==|!=|>|<)\s*([^<>=!\s]\S*?)\s*([A-Za-z]+)?$")
_NUMBER_RE = re.compile(r"^\d+(?:\.\d+)?$")
# Units are required: a bare number could be bytes or GiB. Decimal (kB, MB, GB, TB; K, M, G, T as in
# Kubernetes) and binary (KiB, MiB, GiB, TiB; Ki, Mi, Gi, Ti).
UNITS = {"b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12,
         "tb": 10**12, "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30,
         "ti": 2**40, "tib": 2**40}
OPERATORS = (">=", "<=", "==", "!=", ">", "<")


class RequirementError(ValueError):
    """A --require spec that cannot be understood (a usage error, exit 2)."""


@dataclass(frozen=True, slots=True)
class Found:
    """What the host has for a requirement: the value compared, and the fact behind it in words."""

    value: object  # a version string, a number, True, or None when absent
    fact: str


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str  # "feature" (bare name only), "version", "count", "size"
    describe: str
    example: str
    find: Callable[[ProbeContext], Found]
    relies_on: tuple[str, ...] = ()


def parse_size(text: str) -> int:
    """`1GiB`, `512MiB`, `8G` (decimal) → bytes; a unit is required."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text)
    if not m or m.group(2).lower() not in UNITS:
        raise RequirementError(f"not a size: {text!r} (a number and a unit: 1GiB, 512MiB, 64GB, 8G)")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


def _cuda(ctx: ProbeContext) -> Found:
    t = ctx.host.torch()
    why = claims.cuda_blocker(ctx)
    if why:
        return Found(None, why)
    return Found(t.cuda, f"torch's CUDA {t.cuda} build runs on {claims.usable_gpus(ctx)} GPU(s)")


def _nccl(ctx: ProbeContext) -> Found:
    t = ctx.host.torch()
    if not t.installed or t.import_ok is False:
        return Found(None, "torch is not importable")
    if t.nccl_available is None:
        return Found(None, "NCCL availability is unknown (torch was not imported)")
    if not t.nccl_available:
        return Found(None, f"torch {t.version} ({claims.torch_build(ctx)} build) has no NCCL")
    return Found(t.nccl_version or True, f"torch {t.version} has NCCL {t.nccl_version or '(version unknown)'}")


def _backend(name: str, attr: str) -> Callable[[ProbeContext], Found]:
    def find(ctx: ProbeContext) -> Found:
        t = ctx.host.torch()
        if not t.installed or t.import_ok is False:
            return Found(None, "torch is not importable")
        have = getattr(t, attr)
        if have is None:
            return Found(None, f"{name} availability is unknown (torch was not imported)")
        return Found(True if have else None, f"torch {t.version} was built {'with' if have else 'without'} {name}")
    return find


def _mps(ctx: ProbeContext) -> Found:
    p, t, rt = ctx.host.platform(), ctx.host.torch(), ctx.host.torch_runtime()
    if p.system != "Darwin":
        return Found(None, f"MPS exists only on macOS (this is {p.system})")
    if not t.mps_built:
        return Found(None, f"torch {t.version} was built without MPS")
    if not (rt and rt.mps_available):
        return Found(None, f"MPS is not available (macOS {p.mac_version}, {p.machine})")
    return Found(True, "MPS is available")


def _torch(ctx: ProbeContext) -> Found:
    t = ctx.host.torch()
    if not t.installed:
        return Found(None, "torch is not installed")
    if t.import_ok is False:
        return Found(None, f"`import torch` fails: {t.import_error}")
    return Found(t.version, f"torch {t.version}")


def _driver(ctx: ProbeContext) -> Found:
    nv = ctx.host.nvml()
    if not isinstance(nv, NvmlFacts):
        return Found(None, f"NVML did not answer ({nv.reason})")
    if not nv.available or not nv.driver_version:
        return Found(None, f"no NVIDIA driver ({nv.error or 'NVML failed'})")
    return Found(nv.driver_version, f"NVIDIA driver {nv.driver_version}")


def _gpus(ctx: ProbeContext) -> Found:
    usable, listed = claims.usable_gpus(ctx), claims.nvidia_gpus(ctx)
    if not listed:
        return Found(0, "no NVIDIA GPU (NVML lists none)")
    fact = f"{usable} GPU(s) usable of {listed} NVML lists"
    why = claims.cuda_blocker(ctx) if listed else None
    cvd = ctx.env.get("CUDA_VISIBLE_DEVICES")
    if why:
        fact += f" ({why})"
    elif cvd is not None and usable < listed:
        fact += f" (CUDA_VISIBLE_DEVICES={cvd!r})"
    return Found(usable, fact)


def _cpus(ctx: ProbeContext) -> Found:
    p = ctx.host.platform()
    return Found(p.affinity_count, f"{p.affinity_count} usable core(s) of {p.cpu_count}")


def _shm(ctx: ProbeContext) -> Found:
    d = ctx.host.disk("/dev/shm")
    if d is None:
        return Found(0, "there is no /dev/shm")
    return Found(d.total, f"/dev/shm is {human_bytes(d.total)}")


def _ram(ctx: ProbeContext) -> Found:
    m = ctx.host.memory()
    return Found(m.total, f"{human_bytes(m.total)} of RAM")


KINDS: dict[str, Kind] = {
    "cuda": Kind("version", "a usable CUDA build and GPU (version: torch's CUDA)", "cuda, cuda>=12.6", _cuda,
                 ("cuda_usable",)),
    "nccl": Kind("version", "NCCL built into torch", "nccl, nccl>=2.18", _nccl, ("nccl_available",)),
    "gloo": Kind("feature", "the Gloo backend", "gloo", _backend("Gloo", "gloo_available")),
    "mpi": Kind("feature", "the MPI backend", "mpi", _backend("MPI", "mpi_available")),
    "mps": Kind("feature", "Apple MPS available", "mps", _mps),
    "torch": Kind("version", "torch installed and importable", "torch, torch>=2.4,<3", _torch),
    "python": Kind("version", "the Python version", "python>=3.10",
                   lambda c: Found(c.host.platform().python_version, f"Python {c.host.platform().python_version}")),
    "driver": Kind("version", "the NVIDIA driver version", "driver>=550", _driver),
    "gpus": Kind("count", "GPUs a CUDA job can use", "gpus>=8", _gpus, ("usable_gpus",)),
    "cpus": Kind("count", "usable CPU cores", "cpus>=16", _cpus),
    "shm": Kind("size", "/dev/shm size", "shm>=8GiB", _shm),
    "ram": Kind("size", "total RAM", "ram>=64GiB", _ram),
}


def valid_forms() -> str:
    """Every spec form, for usage errors."""
    ops = ", ".join(OPERATORS)
    lines = ["valid requirements (repeat --require for several):"]
    for name, k in KINDS.items():
        form = {"feature": name, "version": f"{name}[SPECIFIER]", "count": f"{name}OP N",
                "size": f"{name}OP SIZE"}[k.kind]
        lines.append(f"  {form:18} {k.describe}; e.g. {k.example}")
    lines.append(f"  SPECIFIER is a PEP 440 version specifier (>=2.4, ==12.*, >=2.4,<3); OP is one of {ops};")
    lines.append("  N is a whole number; SIZE is a number with a unit (512MiB, 8GiB, 64GB, 8G)")
    return "\n".join(lines)


def _error(spec: str, problem: str) -> RequirementError:
    return RequirementError(f"bad requirement {spec!r}: {problem}\n{valid_forms()}")


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition: a version specifier set, or an operator and a number (bytes for sizes)."""

    specifier: object | None = None  # packaging.specifiers.SpecifierSet
    op: str | None = None
    number: int | None = None

    def holds(self, have: object) -> bool:
        if self.specifier is not None:
            from packaging.version import Version  # imported only when a version is compared

            return Version(str(have).split("+")[0]) in self.specifier
        a, b = int(have or 0), self.number
        return {">=": a >= b, "<=": a <= b, "==": a == b, "!=": a != b, ">": a > b, "<": a < b}[self.op]


def parse_requirement(spec: str) -> tuple[str, Condition | None]:
    """(kind name, condition) for a spec, or a RequirementError that lists the valid forms."""
    m = _NAME_RE.match(spec)
    name = m.group(1).lower() if m else ""
    if not m or name not in KINDS:
        raise _error(spec, f"unknown name {m.group(1) if m else spec!r} (known: {', '.join(KINDS)})")
    rest = m.group(2)
    kind = KINDS[name]
    if not rest:
        if kind.kind in ("count", "size"):
            raise _error(spec, f"{name} needs a condition, e.g. {kind.example}")
        return name, None
    if kind.kind == "feature":
        raise _error(spec, f"{name} takes no condition")
    if kind.kind == "version":
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            specifier = SpecifierSet(rest.replace(" ", ""))
        except InvalidSpecifier:
            raise _error(spec, f"{rest!r} is not a version specifier") from None
        if not str(specifier):
            raise _error(spec, f"{rest!r} is not a version specifier")
        return name, Condition(specifier=specifier)
    if kind.kind == "count":
        cm = _COUNT_RE.match(rest)
        if not cm:
            raise _error(spec, f"{rest!r} is not an operator and a number (use one of {', '.join(OPERATORS)})")
        if not cm.group(2).isdigit():
            raise _error(spec, f"{name} counts whole things: {cm.group(2)!r} is not a whole number >= 0")
        return name, Condition(op=cm.group(1), number=int(cm.group(2)))
    sm = _SIZE_RE.match(rest)
    if not sm:
        raise _error(spec, f"{rest!r} is not an operator and a size (use one of {', '.join(OPERATORS)})")
    number, unit = sm.group(2), sm.group(3)
    if not _NUMBER_RE.match(number):
        raise _error(spec, f"{number!r} is not a number")
    if unit is None:
        raise _error(spec, f"{name} needs a unit: {number}GiB, {number}GB, {number}MiB, ...")
    if unit.lower() not in UNITS:
        raise _error(spec, f"unknown unit {unit!r} (B, KiB, MiB, GiB, TiB, kB, MB, GB, TB, K, M, G, T)")
    return name, Condition(op=sm.group(1), number=int(float(number) * UNITS[unit.lower()]))


def make_requirement_probe(spec: str, *, probe_id: str | None = None) -> Probe:
    """Validate `spec` now (so typos are usage errors) and return a probe that judges it."""
    name, cond = parse_requirement(spec)
    kind = KINDS[name]
    spec = spec.strip()

    def run(ctx: ProbeContext) -> Outcome:
        found = kind.find(ctx)
        ev = {"requirement": spec, "found": found.value if isinstance(found.value, (str, int, float, bool)) else None,
              "fact": found.fact, **claims.claims(ctx, *kind.relies_on)}
        remedy = fix(f"This host does not meet `{spec}`: {found.fact}. Fix that, or relax the requirement.",
                     f"ddoctor check -v --require '{spec}'")
        if kind.kind in ("feature", "version") and found.value is None:
            return fail(f"{spec} not met: {found.fact}", remedy, evidence=ev)
        if cond is None:
            return ok(f"{spec}: {found.fact}", evidence=ev)
        if cond.specifier is not None and found.value is True:
            return fail(f"{spec} not met: {found.fact}, and its version is unknown", remedy, evidence=ev)
        from packaging.version import InvalidVersion

        try:
            good = cond.holds(found.value)
        except InvalidVersion:
            return fail(f"{spec} not met: cannot compare version {found.value!r} ({found.fact})", remedy, evidence=ev)
        if good:
            return ok(f"{spec}: {found.fact}", evidence=ev)
        return fail(f"{spec} not met: {found.fact}", remedy, evidence=ev)

    # Fewer GPUs, cores, memory or an older driver than the job declares is the node's shortfall.
    on_fail = "drain" if name in ("gpus", "cpus", "shm", "ram", "driver") else "stop"
    return Probe(id=probe_id or f"require.{name}", title=f"requirement {spec}", group="requirements", run=run,
                 description=f"CI gate: {kind.describe}", relies_on=kind.relies_on, on_fail=on_fail)


def make_requirement_probes(specs: list[str]) -> tuple[Probe, ...]:
    """One probe per spec; a second spec on the same name gets a numbered id (require.gpus.2)."""
    seen: dict[str, int] = {}
    out = []
    for spec in specs:
        name, _ = parse_requirement(spec)
        seen[name] = seen.get(name, 0) + 1
        out.append(make_requirement_probe(spec, probe_id=f"require.{name}" + (f".{seen[name]}" if seen[name] > 1
                                                                                  else "")))
    return tuple(out)

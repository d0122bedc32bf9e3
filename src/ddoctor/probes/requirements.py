"""`--require` specs for CI gates: `cuda`, `nccl>=2.18`, `gpus>=8`, `torch>=2.4`, `shm>=1GiB`, ..."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ddoctor.host.facts import NvmlFacts
from ddoctor.probes.base import Outcome, Probe, ProbeContext, fail, fix, human_bytes, ok

_SPEC_RE = re.compile(r"^\s*([a-z_]+)\s*((?:[<>=!~]=?|===?)\s*\S.*)?$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "ki": 2**10, "m": 10**6, "mb": 10**6,
          "mib": 2**20, "mi": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "gi": 2**30, "t": 10**12,
          "tb": 10**12, "tib": 2**40, "ti": 2**40}


class RequirementError(ValueError):
    """A --require spec that cannot be understood (a usage error, exit 2)."""


def parse_size(text: str) -> int:
    m = _SIZE_RE.match(text)
    if not m:
        raise RequirementError(f"not a size: {text!r} (examples: 1GiB, 512MiB, 8G)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str  # "feature" (bare name only), "version", "count", "size"
    describe: str
    value: Callable[[ProbeContext], object]


def _nvml(ctx):
    nv = ctx.host.nvml()
    return nv if isinstance(nv, NvmlFacts) else None


def _gpu_count(ctx):
    rt = ctx.host.torch_runtime()
    if rt and rt.device_count is not None:
        return rt.device_count
    nv = _nvml(ctx)
    return len(nv.gpus) if nv else 0


def _cuda_ok(ctx):
    t = ctx.host.torch()
    rt = ctx.host.torch_runtime()
    if not t.cuda:
        return None
    if rt is not None:
        return t.cuda if rt.cuda_available else None
    nv = _nvml(ctx)
    return t.cuda if nv and nv.gpus else None


def _mps(ctx):
    rt = ctx.host.torch_runtime()
    return True if rt and rt.mps_available else None


KINDS: dict[str, Kind] = {
    "cuda": Kind("version", "a usable CUDA build and GPU (version = torch's CUDA)", _cuda_ok),
    "nccl": Kind("version", "NCCL built into torch", lambda c: c.host.torch().nccl_version
                 or (True if c.host.torch().nccl_available else None)),
    "gloo": Kind("feature", "the Gloo backend", lambda c: c.host.torch().gloo_available or None),
    "mpi": Kind("feature", "the MPI backend", lambda c: c.host.torch().mpi_available or None),
    "mps": Kind("feature", "Apple MPS available", _mps),
    "torch": Kind("version", "torch installed and importable",
                  lambda c: c.host.torch().version if c.host.torch().installed and c.host.torch().import_ok
                  is not False else None),
    "python": Kind("version", "the Python version", lambda c: c.host.platform().python_version),
    "driver": Kind("version", "the NVIDIA driver version", lambda c: (_nvml(c) or NvmlFacts(available=False))
                   .driver_version),
    "gpus": Kind("count", "the number of GPUs torch can use", _gpu_count),
    "cpus": Kind("count", "usable CPU cores", lambda c: c.host.platform().affinity_count),
    "shm": Kind("size", "/dev/shm size", lambda c: (d.total if (d := c.host.disk("/dev/shm")) else 0)),
    "ram": Kind("size", "total RAM", lambda c: c.host.memory().total),
}


def _compare_number(have: float, spec: str) -> bool:
    m = re.match(r"^(>=|<=|==|!=|>|<)\s*(.+)$", spec)
    if not m:
        raise RequirementError(f"use one of >=, <=, ==, !=, >, < in {spec!r}")
    op, rhs = m.groups()
    return {">=": have >= float(rhs), "<=": have <= float(rhs), "==": have == float(rhs),
            "!=": have != float(rhs), ">": have > float(rhs), "<": have < float(rhs)}[op]


def make_requirement_probe(spec: str) -> Probe:
    """Validate `spec` now (so typos are usage errors) and return a probe that judges it."""
    m = _SPEC_RE.match(spec.strip().lower())
    if not m or m.group(1) not in KINDS:
        raise RequirementError(f"unknown requirement {spec!r}; known: {', '.join(KINDS)} "
                               "(e.g. cuda, nccl>=2.18, gpus>=8, torch>=2.4, shm>=1GiB)")
    name, cond = m.group(1), (m.group(2) or "").replace(" ", "")
    kind = KINDS[name]
    if cond and kind.kind == "feature":
        raise RequirementError(f"{name} takes no version condition")
    if cond and kind.kind == "version":
        try:
            SpecifierSet(cond)
        except InvalidSpecifier as exc:
            raise RequirementError(f"bad version condition in {spec!r}: {exc}") from None
    if cond and kind.kind in ("count", "size"):
        rhs = re.sub(r"^[<>=!]+", "", cond)
        if kind.kind == "size":
            cond = cond[: len(cond) - len(rhs)] + str(parse_size(rhs))
        else:
            try:
                float(rhs)
            except ValueError:
                raise RequirementError(f"{name} needs a number in {spec!r}") from None
        _compare_number(0, cond)  # validates the operator

    def run(ctx: ProbeContext) -> Outcome:
        have = kind.value(ctx)
        remedy = fix(f"This host does not meet `{spec}`; run the checks above for the reason, or relax the "
                     "requirement.", f"ddoctor check -v --require '{spec}'")
        ev = {"requirement": spec, "found": have if isinstance(have, (str, int, float, bool)) else None}
        if kind.kind in ("feature", "version") and not have:
            return fail(f"required {kind.describe}: not found", remedy, evidence=ev)
        if not cond:
            shown = human_bytes(have) if kind.kind == "size" else have
            return ok(f"{spec}: found {shown}", evidence=ev)
        if kind.kind == "version":
            if have is True:
                return fail(f"{spec}: version unknown", remedy, evidence=ev)
            try:
                good = Version(str(have).split("+")[0]) in SpecifierSet(cond)
            except InvalidVersion:
                return fail(f"{spec}: cannot compare version {have!r}", remedy, evidence=ev)
        else:
            good = _compare_number(float(have or 0), cond)
        shown = human_bytes(have or 0) if kind.kind == "size" else have
        return (ok if good else lambda s, **k: fail(s, remedy, **k))(f"{spec}: found {shown}", evidence=ev)

    return Probe(id=f"require.{name}", title=f"requirement {spec}", group="requirements", run=run,
                 description=f"CI gate: {kind.describe}")

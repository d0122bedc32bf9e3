"""No two findings of one report contradict each other, on every simulated host and on this real one.

Each probe declares the facts its verdict relies on (Probe.relies_on, names from probes/claims.FACTS)
and records them in its evidence. Here those records are checked against each other, against the
facts computed from the host, and against rules that tie verdicts to facts.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ddoctor.host import fake
from ddoctor.host.facts import PortState
from ddoctor.model.status import Status
from ddoctor.probes import claims
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.registry import PROBES
from ddoctor.probes.requirements import make_requirement_probes
from ddoctor.probes.runner import run_probes

REQUIREMENTS = ("cuda", "nccl", "gpus>=1", "gloo")


def report(host, nproc=None):
    probes = PROBES + make_requirement_probes(list(REQUIREMENTS))
    ctx = ProbeContext(host=host, nproc=nproc)
    return ctx, probes, run_probes(probes, ctx)


def recorded(findings):
    """{fact: {value: [finding ids]}} over every finding that recorded the fact."""
    out: dict[str, dict[object, list[str]]] = {}
    for f in findings:
        for k, v in f.evidence.items():
            if k in claims.FACTS:
                out.setdefault(k, {}).setdefault(v, []).append(f.id)
    return out


def by_id(findings):
    return {f.id: f for f in findings}


# Rules tying verdicts to facts: (what must hold, test over (facts, findings by id)).
RULES = [
    ("a finding that records torch_fits_host=False does not pass",
     lambda facts, fs: all(f.status is not Status.PASS for f in fs.values()
                           if f.evidence.get("torch_fits_host") is False)),
    ("NVIDIA GPUs with a CPU or ROCm build means the build does not fit",
     lambda facts, fs: not (facts["nvidia_gpus"] and facts["torch_build"] in ("cpu", "rocm"))
     or facts["torch_fits_host"] is False),
    ("backend nccl only where CUDA is usable and NCCL is not known to be missing",
     lambda facts, fs: facts["backend"] != "nccl" or (facts["cuda_usable"] and facts["nccl_available"] is not False)),
    ("CUDA usable means a CUDA build and at least one usable GPU",
     lambda facts, fs: not facts["cuda_usable"] or (facts["torch_build"] == "cuda" and facts["usable_gpus"] > 0)),
    ("require cuda passes exactly when CUDA is usable",
     lambda facts, fs: (fs["require.cuda"].status is Status.PASS) == facts["cuda_usable"]),
    ("require nccl passes only when NCCL is built in",
     lambda facts, fs: fs["require.nccl"].status is not Status.PASS or facts["nccl_available"]),
    ("require gpus>=1 passes exactly when a GPU is usable",
     lambda facts, fs: (fs["require.gpus"].status is Status.PASS) == (facts["usable_gpus"] >= 1)),
    ("cuda.init passes only when CUDA is usable",
     lambda facts, fs: fs["cuda.init"].status is not Status.PASS or facts["cuda_usable"]),
    ("a port warning or failure only for a port that will be bound",
     lambda facts, fs: fs["launch.port"].status not in (Status.WARN, Status.FAIL)
     or fs["launch.port"].evidence.get("port_used", True)),
    ("NCCL missing passes only on a host without NVIDIA GPUs",
     lambda facts, fs: not (fs["dist.nccl"].status is Status.PASS and facts["nccl_available"] is False)
     or facts["nvidia_gpus"] == 0),
    ("the backend check does not pass gloo on a host whose NVIDIA GPUs CUDA can use",
     lambda facts, fs: not (fs["dist.backends"].status is Status.PASS and facts["backend"] != "nccl")
     or facts["usable_gpus"] == 0),
]

# Phrases that assert a fact; a summary may use one only where the fact holds.
PHRASES = [
    ("without NVIDIA GPUs", lambda facts: facts["nvidia_gpus"] == 0),
    ("without CUDA GPUs", lambda facts: facts["nvidia_gpus"] == 0),
    ("no NVIDIA GPU here", lambda facts: facts["nvidia_gpus"] == 0),
    ("is a CPU-only build", lambda facts: facts["torch_build"] == "cpu"),
    ("CUDA context created on all", lambda facts: facts["cuda_usable"]),
]


def _variants():
    """Every named scenario, plus hosts that put two facts in tension."""
    yield from ((name, make) for name, (make, _) in fake.SCENARIOS.items())

    def cpu_wheel_port_held():
        h = fake.cpu_wheel_on_gpu_host()
        h.ports = {29500: PortState(port=29500, free=False, holder_pid=9, holder_name="python")}
        return h

    def hidden_gpus():
        h = fake.h100x8()
        h.environ = {"CUDA_VISIBLE_DEVICES": ""}
        h.runtime_ = fake.TorchRuntimeFacts(cuda_available=False, device_count=0)
        return h

    def explicit_port_held():
        h = fake.port_held_single_node()
        h.environ = {"MASTER_PORT": "29500"}
        return h

    def cuda_without_nccl():
        h = fake.h100x8()
        h.torch_ = replace(h.torch_, nccl_available=False, nccl_version=None)
        return h

    def one_context_fails():
        h = fake.h100x8()
        h.runtime_ = replace(h.runtime_, cuda_init=((0, True, "80 ms"), (1, False, "CUDA error: busy")))
        return h

    def static_facts_only():
        h = fake.h100x8()
        h.torch_ = replace(h.torch_, import_ok=None, nccl_available=None, gloo_available=None, arch_list=(),
                           source="static")
        h.runtime_ = None
        return h

    yield from (("cpu-wheel + port held", cpu_wheel_port_held), ("CUDA_VISIBLE_DEVICES=''", hidden_gpus),
                ("MASTER_PORT held", explicit_port_held), ("CUDA build without NCCL", cuda_without_nccl),
                ("one CUDA context fails", one_context_fails), ("static facts only", static_facts_only))


VARIANTS = list(_variants())


def check_no_contradictions(ctx, probes, findings):
    problems = []
    truth = claims.claims(ctx, *claims.FACTS)
    for fact, values in recorded(findings).items():
        if len(values) > 1:
            problems.append(f"{fact} recorded differently: {values}")
        for value, ids in values.items():
            if value != truth[fact]:
                problems.append(f"{ids} record {fact}={value!r}, the host says {truth[fact]!r}")
    for p, f in zip(probes, findings, strict=True):
        if f.status not in (Status.SKIP, Status.ERROR):
            missing = [k for k in p.relies_on if k not in f.evidence]
            if missing:
                problems.append(f"{f.id} ({f.status.value}) relies on {missing} but does not record them")
    fs = by_id(findings)
    problems += [f"rule broken: {text}" for text, holds in RULES if not holds(truth, fs)]
    for f in findings:
        for phrase, holds in PHRASES:
            if phrase in f.summary and not holds(truth):
                problems.append(f"{f.id} says {phrase!r} but that is not true here: {f.summary}")
    return problems


@pytest.mark.parametrize(("name", "make"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_no_two_findings_contradict(name, make):
    assert check_no_contradictions(*report(make())) == []


@pytest.mark.parametrize(("name", "make"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_no_contradictions_with_more_ranks_than_gpus(name, make):
    assert check_no_contradictions(*report(make(), nproc=16)) == []


def test_the_checker_catches_the_contradiction_issue_17_reported():
    """The old verdict: dist.nccl passing 'expected without CUDA GPUs' next to a failing wheel flavour."""
    ctx, probes, findings = report(fake.cpu_wheel_on_gpu_host())
    old = [replace(f, status=Status.PASS, remediation=None,
                   summary="NCCL is not built into this torch (expected without CUDA GPUs)")
           if f.id == "dist.nccl" else f for f in findings]
    problems = check_no_contradictions(ctx, probes, old)
    assert "rule broken: a finding that records torch_fits_host=False does not pass" in problems
    assert any("says 'without CUDA GPUs'" in p for p in problems)


def test_the_checker_catches_a_fact_recorded_two_ways():
    ctx, probes, findings = report(fake.cpu_wheel_on_gpu_host())
    forged = [replace(f, evidence={**f.evidence, "nvidia_gpus": 0}) if f.id == "dist.nccl" else f for f in findings]
    assert any(p.startswith("nvidia_gpus recorded differently") for p in check_no_contradictions(ctx, probes, forged))


@pytest.mark.slow
def test_no_contradictions_on_this_real_host(tmp_path):
    from ddoctor.host.real import RealHost

    host = RealHost(environ={"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert check_no_contradictions(*report(host)) == []

"""One shared set of results that every renderer draws (pip-audit's format fixtures): each value
exercises what its renderers must get right — long copyables, every status and level, placeholders,
and data from logs that tries to inject terminal controls, Markdown and XML."""

from __future__ import annotations

from types import MappingProxyType

from ddoctor.model.cluster import ClusterReport
from ddoctor.model.diagnosis import DiagnoseHost, DiagnoseResult, Diagnosis, Example, Rule, Signature, SignatureList
from ddoctor.model.envreport import EnvReport, Section
from ddoctor.model.finding import ErrorInfo, Finding, Remediation, hint, info
from ddoctor.model.fingerprint import ClusterSummary, Skew, ValueGroup
from ddoctor.model.fix import Applicability, Edit, ExplainedRule, FileFix, RuleInfo
from ddoctor.model.flight_recorder import FrReport, Problem
from ddoctor.model.host import HostFacts
from ddoctor.model.logs import Evidence, Frame
from ddoctor.model.ras import RasReport
from ddoctor.model.report import CheckInfo, CheckList, CheckReport, Scenario, ScenarioList
from ddoctor.model.reshard import ReshardReport
from ddoctor.model.run import RunReport
from ddoctor.model.smoke import RankOutcome, SmokeReport, SmokeStep
from ddoctor.model.status import Status

SNIPPET = ('import torch\nimport torch.distributed as dist\n\n'
           'backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"\n'
           'dist.init_process_group(backend)\n')
LONG_PATH = "/home/dev/projects/llama_reference_implementation/llama/generation.py"
HOST = HostFacts(system="Linux", machine="x86_64", hostname="node7", python_version="3.11.7", torch_installed=True,
                 torch_version="2.13.0+cpu")

FINDINGS = (
    Finding(id="torch.install", title="torch installation", group="torch", status=Status.PASS,
            summary="torch 2.13.0+cpu (import verified earlier for this install)", duration_s=0.012,
            evidence={"version": "2.13.0+cpu", "location": "/opt/venv/lib/python3.11/site-packages/torch"}),
    Finding(id="cuda.driver", title="NVIDIA driver (NVML)", group="gpu", status=Status.SKIP,
            summary="no NVIDIA driver on this host (NVML library not found)", duration_s=0.001),
    Finding(id="launch.port", title="rendezvous port", group="launch", status=Status.FAIL,
            summary="MASTER_PORT 29500 is held by python (pid 4242, user dev): the rendezvous fails with "
                    "'address already in use'", duration_s=0.003,
            remediation=Remediation(summary="Use a free port, or stop the process that holds this one.",
                                    commands=("torchrun --master_port 41877 --nproc_per_node 2 train.py --config "
                                              "configs/llama-7b-finetune.yaml",
                                              "kill 4242  # python, started 09:14"),
                                    links=("https://pytorch.org/docs/stable/elastic/run.html",),
                                    fix_codes=("DDF001",))),
    Finding(id="env.hygiene", title="NCCL/CUDA variables", group="launch", status=Status.WARN,
            summary="NCCL_P2P_DISABLE=1 disables NVLink/PCIe peer-to-peer: collectives fall back to slower paths",
            duration_s=0.0, affects=("NCCL_P2P_DISABLE",),
            remediation=Remediation(summary="Unset debugging leftovers.", commands=("unset NCCL_P2P_DISABLE",))),
    Finding(id="debug.readiness", title="debuggability", group="system", status=Status.PASS,
            summary="flight recorder off, NCCL_DEBUG=unset, TORCH_DISTRIBUTED_DEBUG=unset", duration_s=0.0,
            details=("torchrun sets OMP_NUM_THREADS=1 per rank",),
            messages=(hint("a hang would leave no trace: export TORCH_FR_BUFFER_SIZE=2000 "
                           "TORCH_NCCL_DUMP_ON_TIMEOUT=1"),
                      info("see the flight recorder docs", url="https://pytorch.org/docs/stable/torch_nccl_"
                                                                "flight_recorder.html"))),
    Finding(id="sys.memory", title="host memory", group="system", status=Status.PASS,
            summary="21.6 GiB of 23.5 GiB RAM available", duration_s=0.0,
            evidence={"total": 25276510208, "available": 23188742144, "local_ranks": 2}),
    Finding(id="sys.shm", title="/dev/shm", group="system", status=Status.ERROR,
            summary="the check ran past its 5 s deadline", duration_s=5.0,
            error=ErrorInfo(type_name="TimeoutError", message="statvfs('/dev/shm') did not return",
                            traceback_text="Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
                                           "TimeoutError: statvfs('/dev/shm') did not return\n")),
)
CHECK = CheckReport(findings=FINDINGS, host=HOST, duration_s=5.02, ddoctor_version="0.1.0")
CHECK_SIMULATED = CheckReport(findings=FINDINGS[:2], host=HOST, duration_s=0.01, ddoctor_version="0.1.0",
                              simulated="ecc-errors")

ROOT = Diagnosis(
    name="nccl-unavailable", code="DD101", title="NCCL requested on a torch build without NCCL", score=0.95,
    symptom=False, occurrences=6, ranks=(0, 1),
    evidence=(Evidence(lineno=22, rank=0, text="RuntimeError: Distributed package doesn't have NCCL built in"),
              Evidence(lineno=31, rank=1, text="RuntimeError: Distributed package doesn't have NCCL built in "
                                                "(raised from torch/distributed/distributed_c10d.py:1600 "
                                                "in init_process_group)")),
    what="The code called `init_process_group(\"nccl\")` (Meta's `Llama.build` does this unconditionally), but "
         "this torch build has no NCCL.",
    why="NCCL is NVIDIA's collective library and only ships in Linux CUDA wheels; CPU-only wheels have Gloo.",
    fix_summary="Choose the backend from the hardware instead of hard-coding \"nccl\".",
    fix_steps=("Replace the literal backend with a choice that falls back to Gloo where NCCL cannot run.",
               "Run `ddoctor check` to see which backend this host supports."),
    commands=("python -c 'import torch.distributed as d; print(d.is_nccl_available())'",),
    snippet=SNIPPET, fix_codes=("DDF001",),
    user_frame=Frame(filename=LONG_PATH, lineno=42, function="build"),
    host_notes=("This host (Linux x86_64, no NVIDIA GPU, torch 2.13.0+cpu) cannot run NCCL at all: use "
                "backend=\"gloo\" on this host.",),
)
INJECTED = Diagnosis(
    name="user-code-error", code="DD901", title="A bug in the program's own code (KeyError)", score=0.6,
    symptom=False, occurrences=1, ranks=(3,),
    evidence=(Evidence(lineno=7, rank=3, text="KeyError: '\x1bc\x1b]0;pwned\x07 \x9b31m [click](http://evil.test/x) "
                                               "![i](http://evil.test/i.png) <img src=x> ``` \rHIDDEN'"),),
    what="The job failed with an ordinary Python exception.", why="The traceback ends in application code.",
    fix_summary="Fix the code at the frame shown.",
    user_frame=Frame(filename="/job/it's here/train $(rm -rf ~).py", lineno=9, function="<module>"),
    fix_codes=("DDF005",),
)
SYMPTOM = Diagnosis(
    name="nccl-timeout", code="DD102", title="NCCL collective timed out (watchdog)", score=0.7, symptom=True,
    occurrences=3, ranks=(0, 2, 3), evidence=(Evidence(lineno=90, rank=2, text="Watchdog caught collective "
                                                                                  "operation timeout"),),
    what="A collective did not finish in time.", why="A peer died first.", fix_summary="Fix the root cause.",
)
DIAGNOSIS = DiagnoseResult(diagnoses=(ROOT, INJECTED, SYMPTOM), bytes_read=4096, lines_parsed=120, tracebacks=2,
                           sources=("job.log", "logs/attempt_0/1/stderr.log"), notices=("big.log.gz: stopped after "
                                                                                       "1024 MiB of gzip output",),
                           host=DiagnoseHost(system="Linux", machine="x86_64", torch="2.13.0+cpu", nvidia_gpus=0,
                                             driver=None))
CLEAN = DiagnoseResult(diagnoses=(), bytes_read=10, lines_parsed=1, tracebacks=0, sources=("<stdin>",))

SMOKE_OK = SmokeReport(
    ok=True, summary="the sharded run matches the single-process reference token for token",
    config={"world_size": 2, "backend": "gloo", "device": "cpu", "reason": "no NVIDIA GPU: Gloo on CPU",
            "checkpoint": None},
    steps=(SmokeStep(name="launch", status=Status.PASS, duration_s=0.8, detail="2 ranks started (local, env://)"),
           SmokeStep(name="rendezvous", status=Status.PASS, duration_s=0.13, detail="process group of 2 (gloo)"),
           SmokeStep(name="verify", status=Status.PASS, duration_s=None,
                     detail="greedy tokens identical to the reference; max |logit diff| 3.1e-06 <= 1e-4")),
    ranks=(RankOutcome(rank=0, exitcode=0, last_phase="done", killed_by_ddoctor=False),
           RankOutcome(rank=1, exitcode=0, last_phase="done", killed_by_ddoctor=False)),
    metrics={"rendezvous_s": 0.133, "shard_load_s": 0.022, "first_token_s": 0.041, "tokens_per_s": 257.1,
             "collective_latency_s": 0.000235, "collectives_per_step": 6.0, "shard_bytes": 772624,
             "peak_memory_per_rank": [251510784, 250000000]},
    outputs={"prompts": ["The capital of France is"], "greedy": [" a tiny model"]}, duration_s=4.2)
SMOKE_FAIL = SmokeReport(
    ok=False, summary="rank 1 in generate never finished (stopped after 24 s)",
    config=SMOKE_OK.config, steps=(SmokeStep(name="launch", status=Status.PASS, duration_s=0.8, detail="2 ranks"),
                                   SmokeStep(name="generate", status=Status.FAIL, duration_s=24.0,
                                             detail="rank 1 never finished")),
    ranks=(RankOutcome(rank=0, exitcode=1, last_phase="generate", killed_by_ddoctor=False),
           RankOutcome(rank=1, exitcode=None, last_phase="generate", killed_by_ddoctor=True)),
    diagnoses=(SYMPTOM,), duration_s=25.3, workdir="/tmp/ddoctor-smoke-abc123")

CLUSTER = ClusterReport(
    ranks=(MappingProxyType({"rank": 0, "host": "node0", "torch": "2.13.0", "torch_cuda": "12.8", "nccl": "2.21.5",
                             "driver": "570.124.06", "python": "3.11.7", "failed_checks": ""}),
           MappingProxyType({"rank": 1, "host": "node1", "torch": "2.13.0", "torch_cuda": "12.8", "nccl": "2.20.3",
                             "driver": "570.124.06", "python": "3.11.7", "failed_checks": "sys.shm"})),
    summary=ClusterSummary(
        world_size=3, reported=(0, 1), hosts=2, identical=(("torch", "2.13.0"), ("torch_cuda", "12.8")),
        skews=(Skew(field="nccl", critical=True, groups=(ValueGroup(value="2.21.5", ranks=(0,)),
                                                          ValueGroup(value="2.20.3", ranks=(1,)))),
               Skew(field="NCCL_SOCKET_IFNAME", critical=False,
                    groups=(ValueGroup(value="ens1f0np0,ens1f1np1,ens2f0np0,ens2f1np1,ens3f0np0,ens3f1np1", ranks=(0,)),
                            ValueGroup(value="eth0", ranks=(1,))))),
        missing=(2,), failed=(ValueGroup(value="sys.shm", ranks=(1,)),), stragglers=((1, 7.25),), deadline_s=60.0))

FR = FrReport(ranks={0: "trace_rank_0", 1: "trace_rank_1"},
              problems=[Problem(kind="mismatch", process_group="", seq=14, ranks=(0, 1),
                                text="collective #14 differs: rank 0 all_reduce sizes [[4096]] float32, rank 1 "
                                     "broadcast sizes [[4096]] float32\x1b[2J")],
              last_completed={0: 13, 1: 13}, unreadable=["trace_rank_2: refusing to load os.system"])

SIGNATURE = Signature(
    name="user-code-error", code="DD901", title="A bug in the program's own code ({exc})", category="generic",
    priority=10, rules=(Rule(exception=("KeyError",)),),
    what="The job failed with an ordinary Python exception.",
    why="Infrastructure changes will not fix it.",
    fix_summary="Fix the code at the frame shown.",
    fix_steps=("If the error is inside a library, check the version the project expects (pip show <package>).",),
    commands=("python -X faulthandler {script}",), snippet=SNIPPET,
    examples=(Example(kind="match", text="Traceback (most recent call last):\nKeyError: 1\n"),),
    references=("https://docs.python.org/3/library/exceptions.html#KeyError",))
SIGNATURES = SignatureList(signatures=(SIGNATURE, Signature(
    name="nccl-timeout", code="DD102", title="NCCL collective timed out (watchdog)", category="nccl", priority=50,
    rules=(), what="", why="", fix_summary="", symptom=True)))

RULE_INFO = RuleInfo(code="DDF001", name="hardcoded-nccl", summary="backend \"nccl\" is hard-coded",
                     applicability=Applicability.SAFE, what="Replaces a hard-coded \"nccl\" backend.",
                     why="It fails wherever NCCL cannot run (macOS, CPU wheels).", fix_safety="Never changes a "
                     "run that already worked.", before='dist.init_process_group("nccl")',
                     after='dist.init_process_group("nccl" if torch.cuda.is_available() and dist.is_nccl_available() '
                           'else "gloo")')
RULE = ExplainedRule(info=RULE_INFO, fixes=("nccl-unavailable",))
RULES = (RULE_INFO, RuleInfo(code="DDF005", name="torch-load-map-location", summary="torch.load without map_location",
                             applicability=Applicability.UNSAFE, what="m", why="w", fix_safety="u", before="b",
                             after="a"))

EDIT = Edit(code="DDF001", line=2, col=1, message='backend "nccl" is hard-coded; it fails wherever NCCL cannot run',
            applicability=Applicability.SAFE)
UNSAFE = Edit(code="DDF005", line=3, col=5, message="torch.load without map_location",
              applicability=Applicability.UNSAFE)
FIX = (FileFix(path="train.py", edits=(EDIT, UNSAFE), applied=(EDIT,),
               diff='--- train.py\n+++ train.py\n@@ -1,2 +1,3 @@\n import torch.distributed as dist\n'
                    '-dist.init_process_group("nccl")\n+dist.init_process_group("nccl" if torch.cuda.is_available() '
                    'and dist.is_nccl_available() else "gloo")\n'),
       FileFix(path="broken.py", error="cannot parse: invalid syntax at line 3"))
FIX_CLEAN_BUT_BROKEN = (FileFix(path="ok.py"), FileFix(path="broken.py", error="cannot parse: line 1"))

CHECKS = CheckList(checks=(CheckInfo(id="torch.install", group="torch", title="torch installation",
                                     description="torch is installed once for this interpreter and imports cleanly"),
                           CheckInfo(id="net.interfaces", group="launch", title="network interfaces",
                                     description="NCCL_SOCKET_IFNAME/GLOO_SOCKET_IFNAME name real interfaces; "
                                                 "virtual default routes")))
SCENARIOS = ScenarioList(scenarios=(Scenario(name="h100x8", description="8×H100, healthy, CUDA 12.8 wheel"),
                                    Scenario(name="macos-rosetta",
                                             description="x86_64 Python under Rosetta on Apple silicon")))
RESHARD = ReshardReport(input="/ckpt/llama-2-13b", output="/ckpt/llama 2 13b mp1", from_mp=2, to_mp=1, keys=363,
                        input_bytes=26 << 30, seconds=81.4, peak_rss=14 << 30, baseline_rss=300 << 20,
                        largest_input_shard=13 << 30, largest_output_shard=26 << 30)
RAS = RasReport(address="node3:28028", polls=3, nccl_version="2.28.7", state="stuck", communicators=1, ranks=16,
                findings=(Finding(id="ras.stuck", title="stuck collective", group="ras", status=Status.FAIL,
                                  summary="ranks 4,5 are 2 collectives behind on communicator 0x1f2e (AllReduce)",
                                  details=("node1 pid 4242 GPU 4", "node1 pid 4243 GPU 5"),
                                  remediation=Remediation(summary="Look at what ranks 4 and 5 are doing.",
                                                          commands=("py-spy dump --pid 4242",))),),
                problems=("poll 2: timed out after 5 s",))
RUN = RunReport(command=("torchrun", "--nproc_per_node", "2", "train.py"), exit_code=1, diagnosis=DIAGNOSIS)

# kind -> named sample values; every kind of the catalog has at least one.
ENV_REPORT = EnvReport(check=CHECK, duration_s=0.21, sections=(
    Section(title="PyTorch", rows=(("PyTorch version", "2.13.0+cpu"), ("Is debug build", "False"))),
    Section(title="Versions of relevant libraries", rows=(("[pip] numpy", "2.4.6"), ("[pip] torch", "2.13.0+cpu"),
                                                          ("[pip] evil", "1.0 [x](http://e.vil) <img src=x> a|b"))),
    Section(title="CPU", block=("Architecture: x86_64", "Model name: ```fence``` CPU"))))

def _snapshot_behind():
    from tests.hang.test_render import CASES

    return CASES["behind"]()


SAMPLES: dict[str, dict[str, object]] = {
    "check": {"report": CHECK, "simulated": CHECK_SIMULATED},
    "check-list": {"list": CHECKS},
    "scenarios": {"list": SCENARIOS},
    "cluster": {"skew": CLUSTER},
    "smoke-preflight": {"report": CHECK},
    "diagnosis": {"found": DIAGNOSIS, "clean": CLEAN},
    "fr": {"mismatch": FR},
    "ras": {"stuck": RAS},
    "signature": {"dd901": SIGNATURE},
    "fix-rule": {"ddf001": RULE},
    "signatures": {"all": SIGNATURES},
    "fix": {"found": FIX, "clean-but-broken": FIX_CLEAN_BUT_BROKEN},
    "fix-rules": {"all": RULES},
    "smoke": {"pass": SMOKE_OK, "fail": SMOKE_FAIL},
    "reshard": {"done": RESHARD},
    "run": {"failed": RUN},
    "report": {"host": ENV_REPORT},
    "snapshot": {"behind": _snapshot_behind()},
}

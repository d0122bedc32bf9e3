"""The fast road reads exactly typer's options, with typer's defaults, and prints exactly what typer's road prints."""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from ddoctor.cli import fastpath, invoke
from ddoctor.cli.app import CheckFormat, DiagnoseFormat, app
from ddoctor.cli.entry import NO_FASTPATH_ENV

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "fixtures" / "logs" / "f101-nccl-unavailable.log"
LOGS = ROOT / "fixtures" / "logs"
COMMANDS = sorted(fastpath.GRAMMARS)


def typer_params(command: str) -> list:
    return typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]


def typer_spellings(command: str) -> dict:
    return {opt: p for p in typer_params(command) for opt in (*p.opts, *p.secondary_opts)}


def _default(p):
    d = p.default
    d = getattr(d, "value", d)
    return [] if d is None and (p.multiple or p.nargs == -1) else d


FLAGS = [(c, s) for c in COMMANDS for s in sorted(fastpath.GRAMMARS[c].flags)]
VALUES = [(c, s) for c in COMMANDS for s in sorted(fastpath.GRAMMARS[c].values)]


@pytest.mark.parametrize(("command", "spelling"), FLAGS)
def test_every_flag_is_a_typer_flag_of_the_same_parameter(command, spelling):
    param = typer_spellings(command)[spelling]
    assert (param.is_flag, param.name) == (True, fastpath.GRAMMARS[command].flags[spelling])


@pytest.mark.parametrize(("command", "spelling"), VALUES)
def test_every_value_option_takes_a_value_in_typer_too(command, spelling):
    param = typer_spellings(command)[spelling]
    assert (param.is_flag, param.name) == (False, fastpath.GRAMMARS[command].values[spelling])


@pytest.mark.parametrize(("command", "spelling"), FLAGS + VALUES)
def test_no_option_read_here_comes_from_the_environment_in_typer(command, spelling):
    assert typer_spellings(command)[spelling].envvar is None


@pytest.mark.parametrize(("command", "spelling"), VALUES)
def test_repeatable_here_means_repeatable_in_typer(command, spelling):
    grammar = fastpath.GRAMMARS[command]
    assert typer_spellings(command)[spelling].multiple == (grammar.values[spelling] in grammar.repeatable)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_defaults_are_typers_for_every_parameter(command):
    assert dict(fastpath.GRAMMARS[command].defaults) == {p.name: _default(p) for p in typer_params(command)}


@pytest.mark.parametrize("command", COMMANDS)
def test_the_positional_is_typers_argument(command):
    (argument,) = [p for p in typer_params(command) if p.param_type_name == "argument"]
    assert argument.name == fastpath.GRAMMARS[command].positional


@pytest.mark.parametrize("command", COMMANDS)
def test_invoke_takes_exactly_the_commands_parameters(command):
    names = set(inspect.signature(getattr(invoke, command)).parameters)
    assert names == {p.name for p in typer_params(command)}


@pytest.mark.parametrize(("command", "enum"), [("diagnose", DiagnoseFormat), ("check", CheckFormat)])
def test_formats_are_the_offered_ones(command, enum):
    assert set(fastpath.GRAMMARS[command].choices["fmt"]) == {f.value for f in enum}


@pytest.mark.parametrize("argv", [
    [], ["fix"], ["--version"], ["diagnose", "--help"], ["diagnose", "-h"], ["diagnose", "--fr", "dumps"],
    ["diagnose", "--ras"], ["diagnose", "--", "x.log"], ["diagnose", "--format", "junit"], ["diagnose", "--format"],
    ["diagnose", "-f", "json", "--format", "text"], ["diagnose", "-fjson"], ["diagnose", "-f=json"],
    ["diagnose", "--all=yes"], ["diagnose", "-aq"], ["diagnose", "--polls", "3"], ["diagnose", "--bogus"],
    ["check", "--list"], ["check", "--simulate", "cpu-wheel-on-gpu"], ["check", "--live"], ["check", "--nproc", "2"],
    ["check", "--timeout", "5"], ["check", "--cluster"], ["check", "--exit-codes", "slurm"], ["check", "-r"],
    ["check", "-r", "--strict"], ["check", "--format", "yaml"], ["check", "-vq", "x"], ["check", "--help"],
], ids=repr)
def test_anything_else_goes_to_typer(argv):
    assert fastpath.parse(argv) is None


def test_the_common_diagnose_invocations_are_read():
    inv = fastpath.parse(["diagnose", "a.log", "-", "--format=json", "-a", "--no-host", "--quiet", "b.log"])
    assert (inv.params["files"], inv.params["fmt"], inv.given) == (
        ["a.log", "-", "b.log"], "json", frozenset({"files", "fmt", "show_all", "no_host", "quiet"}))


def test_requirements_collect_in_order():
    inv = fastpath.parse(["check", "-r", "cuda", "--require=gpus>=8", "--strict", "cuda", "--require", "nccl"])
    assert (inv.params["require"], inv.params["ids"], inv.params["strict"]) == (
        ["cuda", "gpus>=8", "nccl"], ["cuda"], True)


def _both_roads(run_cli, *argv, input=None, env=None):
    fast = run_cli(*argv, input=input, env=env)
    slow = run_cli(*argv, input=input, env={**(env or {}), NO_FASTPATH_ENV: "1"})
    return fast, slow


def _same(fast, slow) -> tuple:
    return (fast.returncode, fast.stdout, fast.stderr), (slow.returncode, slow.stdout, slow.stderr)


PARITY = [
    (str(LOG),), (str(LOG), "--format", "json"), (str(LOG), "-f", "markdown"), (str(LOG), "--format=github"),
    (str(LOG), "--all", "--fix-hints"), (str(LOG), "-q", "--no-host"), (str(LOG), "--no-color"),
    ("missing-file.log",), (str(LOGS),), (str(LOG), str(LOG)),
]


@pytest.mark.parametrize("argv", PARITY, ids=lambda a: " ".join(Path(x).name for x in a))
def test_both_roads_diagnose_alike(run_cli, argv):
    fast, slow = _same(*_both_roads(run_cli, "diagnose", *argv))
    assert fast == slow


@pytest.mark.parametrize("data", ["", "RuntimeError: Distributed package doesn't have NCCL built in\n",
                                  "all good\n"], ids=["empty", "failure", "clean"])
def test_both_roads_read_stdin_alike(run_cli, data):
    fast, slow = _same(*_both_roads(run_cli, "diagnose", "-", input=data))
    assert fast == slow


TWO_CAUSES = ("[rank1]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 1 has a total "
              "capacity of 79.10 GiB of which 1.06 GiB is free.\n"
              "[rank0]:[E1124 17:00:00.000000000 ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective "
              "operation timeout: WorkNCCL(SeqNum=20, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) "
              "ran for 600021 milliseconds before timing out.\n")


@pytest.mark.parametrize("argv", [(), ("--all",), ("-a", "-f", "json"), ("--quiet",)], ids=repr)
def test_both_roads_agree_on_a_log_with_several_causes(run_cli, argv):
    fast, slow = _same(*_both_roads(run_cli, "diagnose", "-", *argv, input=TWO_CAUSES))
    assert fast == slow


def test_all_shows_more_than_the_root_cause(run_cli):
    assert len(run_cli("diagnose", "--all", input=TWO_CAUSES).stdout) > len(run_cli("diagnose", input=TWO_CAUSES).stdout)


# The host does not change between the two runs; what differs by design is masked: run times and the
# free port that remediation picks afresh each run, the memory available.
_VOLATILE = re.compile(r"\d+(?:\.\d+)? ?(?:s|ms|[KMGT]iB)\b|\"(?:duration|elapsed)[a-z_]*\": [\d.]+|\b\d{4,}\b|"
                       r"time=\"[\d.]+\"|\d{4}-\d\d-\d\dT[\d:.+Z-]+")
CHECK_PARITY = [
    (), ("--format", "json"), ("-f", "junit"), ("--strict",), ("-q",), ("-r", "gloo", "-r", "python>=3.8"),
    ("--require", "cuda"), ("-r", "gpus>>2"), ("-r", "ram>=20"), ("python", "dist"), ("no-such-check",),
    ("--format=markdown", "--no-color"), ("-f", "github", "-r", "cpus>=1"),
]


@pytest.mark.parametrize("argv", CHECK_PARITY, ids=repr)
def test_both_roads_check_alike(run_cli, argv):
    run_cli("check", "-q")  # the first run imports torch in a child and caches its facts; both roads then read them
    fast, slow = _same(*_both_roads(run_cli, "check", *argv))
    assert [_VOLATILE.sub("#", str(x)) for x in fast] == [_VOLATILE.sub("#", str(x)) for x in slow]


def test_cli_framework_and_numpy_are_not_loaded_for_a_json_diagnosis(tmp_path):
    code = ("import sys, runpy; sys.argv = ['ddoctor', 'diagnose', '--no-host', '--format', 'json', sys.argv[1]]\n"
            "try:\n    runpy.run_module('ddoctor', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('typer', 'click', 'pydantic', 'rich', 'numpy') if m in sys.modules), file=sys.stderr)")
    # a 100 KB paste: past the size read line by line, so the windowed scan and its line counts run too
    paste = tmp_path / "paste.log"
    paste.write_bytes(b"[rank0]:[2026-11-24 17:00:00] INFO trainer.py:12 step 10 loss 0.5\n" * 1500 + LOG.read_bytes())
    for log in (LOG, paste):
        r = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, timeout=120,
                           env={"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert r.stderr.strip().splitlines()[-1] == "[]", log

"""The fast road for `ddoctor diagnose` reads exactly typer's options and prints exactly what typer's road prints."""

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from ddoctor.cli import fastpath
from ddoctor.cli.app import DiagnoseFormat, app
from ddoctor.cli.entry import NO_FASTPATH_ENV

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "fixtures" / "logs" / "f101-nccl-unavailable.log"
CLEAN = ROOT / "fixtures" / "logs"


def typer_options() -> dict:
    command = typer.main.get_command(app).commands[fastpath.COMMAND]  # type: ignore[attr-defined]
    return {opt: p for p in command.params for opt in (*p.opts, *p.secondary_opts)}


@pytest.mark.parametrize("spelling", sorted(fastpath.FLAGS))
def test_every_flag_is_a_typer_flag_of_diagnose(spelling):
    assert typer_options()[spelling].is_flag


@pytest.mark.parametrize("spelling", sorted(fastpath.FLAGS) + sorted(fastpath.VALUES))
def test_every_option_sets_the_field_typer_would(spelling):
    field = {**fastpath.FLAGS, **fastpath.VALUES}[spelling]
    expected = {"show_all": "show_all", "no_host": "no_host", "fix_hints": "fix_hints", "no_color": "no_color",
                "quiet": "quiet", "fmt": "fmt"}[field]
    assert typer_options()[spelling].name == expected


@pytest.mark.parametrize("spelling", sorted(fastpath.VALUES))
def test_value_options_take_a_value_with_typer_too(spelling):
    assert not typer_options()[spelling].is_flag


@pytest.mark.parametrize("field", ["fmt", "show_all", "no_host", "fix_hints", "no_color", "quiet"])
def test_defaults_are_typer_defaults(field):
    by_name = {p.name: p for p in typer_options().values()}
    default = by_name[field].default
    assert getattr(fastpath.DiagnoseArgs(), field) == getattr(default, "value", default)


def test_formats_are_the_offered_ones():
    assert set(fastpath.FORMATS) == {f.value for f in DiagnoseFormat}


@pytest.mark.parametrize("spelling", sorted(fastpath.FLAGS) + sorted(fastpath.VALUES))
def test_no_option_read_here_comes_from_the_environment_in_typer(spelling):
    assert typer_options()[spelling].envvar is None


@pytest.mark.parametrize("argv", [
    [], ["check"], ["diagnose", "--help"], ["diagnose", "-h"], ["diagnose", "--fr", "dumps"], ["diagnose", "--ras"],
    ["diagnose", "--", "x.log"], ["diagnose", "--format", "junit"], ["diagnose", "--format"],
    ["diagnose", "-f", "json", "--format", "text"], ["diagnose", "-fjson"], ["diagnose", "-f=json"],
    ["diagnose", "--all=yes"], ["diagnose", "-aq"], ["diagnose", "--polls", "3"], ["diagnose", "--bogus"],
], ids=repr)
def test_anything_else_goes_to_typer(argv):
    assert fastpath.parse(argv) is None


def test_the_common_invocations_are_read():
    args = fastpath.parse(["diagnose", "a.log", "-", "--format=json", "-a", "--no-host", "--quiet", "b.log"])
    assert args == fastpath.DiagnoseArgs(files=("a.log", "-", "b.log"), fmt="json", show_all=True, no_host=True,
                                         quiet=True, given=frozenset({"fmt", "show_all", "no_host", "quiet"}))


def _both_roads(run_cli, *argv, input=None):
    fast = run_cli(*argv, input=input)
    slow = run_cli(*argv, input=input, env={NO_FASTPATH_ENV: "1"})
    return fast, slow


PARITY = [
    (str(LOG),), (str(LOG), "--format", "json"), (str(LOG), "-f", "markdown"), (str(LOG), "--format=github"),
    (str(LOG), "--all", "--fix-hints"), (str(LOG), "-q", "--no-host"), (str(LOG), "--no-color"),
    ("missing-file.log",), (str(CLEAN),), (str(LOG), str(LOG)),
]


@pytest.mark.parametrize("argv", PARITY, ids=lambda a: " ".join(Path(x).name for x in a))
def test_both_roads_print_the_same_and_exit_the_same(run_cli, argv):
    fast, slow = _both_roads(run_cli, "diagnose", *argv)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


@pytest.mark.parametrize("data", ["", "RuntimeError: Distributed package doesn't have NCCL built in\n",
                                  "all good\n"], ids=["empty", "failure", "clean"])
def test_both_roads_read_stdin_alike(run_cli, data):
    fast, slow = _both_roads(run_cli, "diagnose", "-", input=data)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


TWO_CAUSES = ("[rank1]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 1 has a total "
              "capacity of 79.10 GiB of which 1.06 GiB is free.\n"
              "[rank0]:[E1124 17:00:00.000000000 ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective "
              "operation timeout: WorkNCCL(SeqNum=20, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) "
              "ran for 600021 milliseconds before timing out.\n")


@pytest.mark.parametrize("argv", [(), ("--all",), ("-a", "-f", "json"), ("--quiet",)], ids=repr)
def test_both_roads_agree_on_a_log_with_several_causes(run_cli, argv):
    fast, slow = _both_roads(run_cli, "diagnose", "-", *argv, input=TWO_CAUSES)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


def test_all_shows_more_than_the_root_cause(run_cli):
    assert len(run_cli("diagnose", "--all", input=TWO_CAUSES).stdout) > len(run_cli("diagnose", input=TWO_CAUSES).stdout)


def test_a_json_diagnosis_loads_no_cli_framework(tmp_path):
    code = ("import sys, runpy; sys.argv = ['ddoctor', 'diagnose', '--no-host', '--format', 'json', sys.argv[1]]\n"
            "try:\n    runpy.run_module('ddoctor', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('typer', 'click', 'pydantic', 'rich') if m in sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, str(LOG)], capture_output=True, text=True, timeout=120,
                       env={"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.stderr.strip().splitlines()[-1] == "[]"

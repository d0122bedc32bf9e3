"""One dispatch: every offered (kind, format) pair has exactly one renderer; a command offers only those."""

import pytest
from typer.testing import CliRunner

from ddoctor.cli.app import app
from ddoctor.render.catalog import OFFERED, Format, usage_error
from ddoctor.render.formats import RENDERERS, FormatTableError, resolve, verify


def test_the_table_is_complete():
    verify(OFFERED, RENDERERS)  # also run at import; repeated here so a failure names this test


@pytest.mark.parametrize("entry", sorted({e for table in RENDERERS.values() for e in table.values()}))
def test_every_entry_names_a_renderer(entry):
    assert callable(resolve(entry))


def test_a_json_diagnosis_does_not_load_rich():
    import subprocess
    import sys

    code = ("import sys; from ddoctor.render.formats import resolve; resolve('diagnosis_json:json'); "
            "print('rich' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False"


def test_a_missing_renderer_fails_the_check():
    table = {k: dict(v) for k, v in RENDERERS.items()}
    del table["check"][Format.JUNIT]
    with pytest.raises(FormatTableError, match="check: junit is offered but has no renderer"):
        verify(OFFERED, table)


def test_a_renderer_nobody_offers_fails_the_check():
    table = {k: dict(v) for k, v in RENDERERS.items()}
    table["smoke"][Format.MARKDOWN] = table["smoke"][Format.TEXT]
    with pytest.raises(FormatTableError, match="smoke: markdown has a renderer but is not offered"):
        verify(OFFERED, table)


def test_usage_error_names_the_valid_formats():
    assert usage_error("check-list", Format.JUNIT) == ("--format junit is not available here; use one of: "
                                                       "text, json")


# (argv before --format, the kind whose formats it offers); arguments after it make the command valid.
COMMANDS = {
    "check": (["check"], "check"),
    "diagnose": (["diagnose"], "diagnosis"),
    "explain": (["explain", "DD101"], "signature"),
    "signatures": (["signatures"], "signatures"),
    "fix": (["fix", "."], "fix"),
    "smoke": (["smoke"], "smoke"),
    "reshard": (["reshard", ".", "--mp", "1", "--out", "x"], "reshard"),
    "run": (["run"], "run"),
    "report": (["report"], "report"),
}
REFUSED = [(name, fmt) for name, (_, kind) in COMMANDS.items() for fmt in Format if fmt not in OFFERED[kind]]


@pytest.mark.parametrize(("name", "fmt"), REFUSED, ids=[f"{n}-{f.value}" for n, f in REFUSED])
def test_a_format_a_command_does_not_have_is_a_usage_error(name, fmt):
    argv, kind = COMMANDS[name]
    r = CliRunner().invoke(app, [*argv, "--format", fmt.value, *(["--", "true"] if name == "run" else [])])
    assert r.exit_code == 2
    assert all(f"'{f.value}'" in r.output for f in OFFERED[kind])


@pytest.mark.parametrize(("argv", "kind"), [(["check", "--list"], "check-list"), (["fix", "--list-rules"], "fix-rules"),
                                            (["check", "--simulate", "list"], "scenarios"),
                                            (["diagnose", "--fr", "."], "fr"), (["diagnose", "--ras"], "ras")])
def test_modes_with_fewer_formats_refuse_the_others(argv, kind):
    fmt = next(f for f in OFFERED[{"check": "check", "fix": "fix", "diagnose": "diagnosis"}[argv[0]]]
               if f not in OFFERED[kind])
    r = CliRunner().invoke(app, [*argv, "--format", fmt.value])
    assert r.exit_code == 2
    assert f"use one of: {', '.join(f.value for f in OFFERED[kind])}" in r.output

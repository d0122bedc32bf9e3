"""`ddoctor diagnose` without the CLI framework: the command people pipe logs into starts at once.

Typer builds a pydantic validator for every parameter; with click and rich that costs more than the
whole diagnosis of a pasted log. The common invocations,
`diagnose [FILE | -]... [--format F] [--all] [--no-host] [--fix-hints] [--no-color] [--quiet]`,
are read here by a closed grammar. Anything else (help, --fr, --ras, an unknown, repeated or
malformed option, `--`, a value typer would refuse) returns None and goes to typer, so usage
errors and --help keep one source. tests/cli/test_fastpath.py checks that every option read here is
the typer command's own, with the same default, and that both roads print the same bytes and exit
with the same code. DDOCTOR_NO_FASTPATH=1 sends everything to typer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ddoctor.render.catalog import OFFERED

COMMAND = "diagnose"
# option spelling -> DiagnoseArgs field; the spellings are typer's (checked by the tests)
FLAGS = {"--all": "show_all", "-a": "show_all", "--no-host": "no_host", "--fix-hints": "fix_hints",
         "--no-color": "no_color", "--quiet": "quiet", "-q": "quiet"}
VALUES = {"--format": "fmt", "-f": "fmt"}
FORMATS = tuple(f.value for f in OFFERED["diagnosis"])


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnoseArgs:
    files: tuple[str, ...] = ()
    fmt: str = "text"
    show_all: bool = False
    no_host: bool = False
    fix_hints: bool = False
    no_color: bool = False
    quiet: bool = False
    given: frozenset[str] = field(default=frozenset())  # fields set on the command line (for the tests)


def parse(argv: list[str]) -> DiagnoseArgs | None:
    """The arguments of a plain `ddoctor diagnose ...`, or None when typer should read them."""
    if not argv or argv[0] != COMMAND:
        return None
    files: list[str] = []
    values: dict[str, object] = {}
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "-" or not arg.startswith("-"):
            files.append(arg)
            continue
        name, eq, inline = arg.partition("=")
        if name in FLAGS and not eq:
            values[FLAGS[name]] = True
        elif name in VALUES and (name.startswith("--") or not eq):
            value = inline if eq else next(rest, None)
            if value not in FORMATS or VALUES[name] in values:
                return None
            values[VALUES[name]] = value
        else:
            return None
    return DiagnoseArgs(files=tuple(files), given=frozenset(values), **values)  # type: ignore[arg-type]


def run(args: DiagnoseArgs) -> int:
    from ddoctor.cli.diagnose_cmd import run_diagnose

    return run_diagnose(files=list(args.files), fmt=args.fmt, show_all=args.show_all, use_host=not args.no_host,
                        no_color=args.no_color, hints=args.fix_hints, quiet=args.quiet)

"""The hot commands without the CLI framework: `ddoctor diagnose` and `ddoctor check` start at once.

Typer builds a pydantic validator for every parameter; with click that costs more than diagnosing a
pasted log, and a third of a warm `check`. The common invocations of these two commands are read
here by a closed grammar and run through cli/invoke.py, as typer's commands are. Anything else
(help, an option not listed here, a repeated or malformed one, `--`, a value typer would refuse)
returns None and goes to typer, so usage errors and --help keep one source.
tests/cli/test_fastpath.py checks every spelling, field and default here against typer's own command,
and runs both roads on the same inputs comparing bytes and exit codes. DDOCTOR_NO_FASTPATH=1 sends
everything to typer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ddoctor.render.catalog import OFFERED


@dataclass(frozen=True, slots=True, kw_only=True)
class Grammar:
    """What the fast road reads of one command. Names are typer's parameter names."""

    positional: str
    flags: Mapping[str, str]  # spelling -> boolean parameter
    values: Mapping[str, str]  # spelling -> parameter that takes one value
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # parameter -> the values typer accepts
    repeatable: frozenset[str] = frozenset()  # value parameters that collect a list
    defaults: Mapping[str, object]  # every parameter of the command, at typer's default


@dataclass(frozen=True, slots=True, kw_only=True)
class Invocation:
    command: str
    params: Mapping[str, object]  # every parameter of the command
    given: frozenset[str] = frozenset()  # the ones the command line set


GRAMMARS: dict[str, Grammar] = {
    "diagnose": Grammar(
        positional="files",
        flags={"--all": "show_all", "-a": "show_all", "--no-host": "no_host", "--fix-hints": "fix_hints",
               "--no-color": "no_color", "--quiet": "quiet", "-q": "quiet"},
        values={"--format": "fmt", "-f": "fmt"},
        choices={"fmt": tuple(f.value for f in OFFERED["diagnosis"])},
        defaults={"files": [], "fmt": "text", "show_all": False, "no_host": False, "fix_hints": False,
                  "no_color": False, "quiet": False, "fr": None, "ras": False, "polls": 3, "interval": 5.0},
    ),
    "check": Grammar(
        positional="ids",
        flags={"--strict": "strict", "--verbose": "verbose", "-v": "verbose", "--deep": "deep",
               "--no-cache": "no_cache", "--no-color": "no_color", "--quiet": "quiet", "-q": "quiet"},
        values={"--format": "fmt", "-f": "fmt", "--require": "require", "-r": "require"},
        choices={"fmt": tuple(f.value for f in OFFERED["check"])},
        repeatable=frozenset({"require"}),
        defaults={"ids": [], "require": [], "strict": False, "fmt": "text", "verbose": False, "list_": False,
                  "nproc": None, "deep": False, "no_cache": False, "timeout": 90.0, "deadline": None,
                  "exit_codes": "default", "no_color": False, "quiet": False, "live": False, "min_busbw": None,
                  "live_max_bytes": None, "cluster": False, "fault": None, "simulate": None},
    ),
}


def parse(argv: list[str]) -> Invocation | None:
    """The parameters of a plain `ddoctor diagnose|check ...`, or None when typer should read them."""
    grammar = GRAMMARS.get(argv[0]) if argv else None
    if grammar is None:
        return None
    positional: list[str] = []
    params: dict[str, object] = {}
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        name, eq, inline = arg.partition("=")
        if name in grammar.flags and not eq:
            params[grammar.flags[name]] = True
            continue
        if name not in grammar.values or (eq and not name.startswith("--")):
            return None
        param = grammar.values[name]
        value = inline if eq else next(rest, None)
        if value is None or value.startswith("-") or value not in grammar.choices.get(param, (value,)):
            return None
        if param in grammar.repeatable:
            params.setdefault(param, [])
            params[param].append(value)  # type: ignore[attr-defined]
        elif param in params:
            return None
        else:
            params[param] = value
    if positional:
        params[grammar.positional] = positional
    return Invocation(command=argv[0], params={**grammar.defaults, **params}, given=frozenset(params))


def run(invocation: Invocation) -> int:
    from ddoctor.cli import invoke

    runner: Callable[..., int] = getattr(invoke, invocation.command)
    return runner(**invocation.params)

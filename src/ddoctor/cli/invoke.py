"""From a command's parameters, as typer names them, to the code that runs it.

Both roads call these: typer's commands in cli/app.py (after parsing and validating every option)
and cli/fastpath.py (for the common invocations, without loading the CLI framework). Keeping the
mapping here, free of typer, means the two roads cannot drift in what they run.
"""

from __future__ import annotations

from pathlib import Path


def diagnose(*, files: list[str], fmt: str, show_all: bool, no_host: bool, fix_hints: bool, no_color: bool,
             quiet: bool, fr: Path | None, ras: bool, polls: int, interval: float) -> int:
    if ras:
        from ddoctor.cli.diagnose_cmd import run_ras

        return run_ras(list(files), fmt, no_color, polls=polls, interval=interval)
    if fr is not None:
        from ddoctor.cli.diagnose_cmd import run_fr

        return run_fr(Path(fr), fmt, no_color)
    from ddoctor.cli.diagnose_cmd import run_diagnose

    return run_diagnose(files=list(files), fmt=fmt, show_all=show_all, use_host=not no_host, no_color=no_color,
                        hints=fix_hints, quiet=quiet)


def check(*, ids: list[str], require: list[str], strict: bool, fmt: str, verbose: bool, list_: bool,
          nproc: int | None, deep: bool, no_cache: bool, timeout: float, deadline: float | None, exit_codes: str,
          no_color: bool, quiet: bool, live: bool, min_busbw: float | None, live_max_bytes: int | None,
          cluster: bool, fault: str | None, simulate: str | None) -> int:
    from ddoctor.cli.check_cmd import run_check

    return run_check(ids=list(ids), require=list(require), strict=strict, fmt=fmt, verbose=verbose,
                     list_only=list_, nproc=nproc, deep=deep, use_cache=not no_cache, timeout=timeout,
                     no_color=no_color, simulate=simulate, quiet=quiet, live=live, min_busbw=min_busbw,
                     live_max_bytes=live_max_bytes, fault=fault, cluster=cluster, deadline=deadline,
                     exit_codes=exit_codes)

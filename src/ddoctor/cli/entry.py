"""The `ddoctor` program's entry point, before (and often instead of) the CLI framework.

Kept free of typer, click and pydantic: it sets up the process (streams that cannot fail to encode,
children that cannot outlive ddoctor, the torch prefetch for `check`), hands the hot invocation of
`diagnose` to `cli.fastpath`, and everything else to the typer app. Our own crashes end here as a
short scrubbed message and exit 2, whichever road the command took.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NO_FASTPATH_ENV = "DDOCTOR_NO_FASTPATH"


def _cleanup_on_exit() -> None:
    """No child (probe children, ranks, a run's job) or scratch directory may outlive ddoctor: the
    one registry in host.processes is emptied at exit, and SIGTERM exits through it like Ctrl-C."""
    import atexit
    import signal

    atexit.register(_cleanup)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)


def _cleanup() -> None:
    # children and scratch folders exist only through host.processes: not imported, nothing to end
    processes = sys.modules.get("ddoctor.host.processes")
    if processes is not None:
        processes.cleanup()


def _safe_streams() -> None:
    """A character the terminal's encoding lacks (PYTHONIOENCODING=ascii, a C locale) is escaped, never
    an UnicodeEncodeError; help and usage messages included."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass


def _crash(exc: BaseException) -> None:
    """Our own bug: a short scrubbed line on stderr, the scrubbed traceback in ~/.cache/ddoctor/last-crash.txt."""
    import traceback

    from ddoctor.cli.output import message
    from ddoctor.redact import scrub

    message(f"ddoctor: internal error: {type(exc).__name__}: {exc}")
    log = Path.home() / ".cache" / "ddoctor" / "last-crash.txt"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(scrub("".join(traceback.format_exception(exc))), encoding="utf-8")
        message(f"ddoctor: traceback saved to {log}")
    except OSError:
        pass


def _dispatch(argv: list[str]) -> None:
    if not os.environ.get(NO_FASTPATH_ENV):
        from ddoctor.cli import fastpath

        args = fastpath.parse(argv)
        if args is not None:
            sys.exit(fastpath.run(args))
    from ddoctor.cli.app import app

    app(prog_name="ddoctor", args=argv)


def main() -> None:
    """Usage errors exit 2 (click), our own crashes exit 2 with a short message, Ctrl-C 130."""
    _safe_streams()
    _cleanup_on_exit()
    from ddoctor.cli.prefetch import prefetch_torch

    prefetch_torch(sys.argv[1:])  # once per process: `python -m ddoctor` has done it before importing this
    try:
        _dispatch(sys.argv[1:])
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("ddoctor: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        _crash(exc)
        sys.exit(2)

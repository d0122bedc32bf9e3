"""DiagnoseResult → JSON (ddoctor.diagnosis/1), kept apart from the text layout so that a JSON
diagnosis (scripts, CI, `ddoctor run --report`) never imports rich."""

from __future__ import annotations

from ddoctor.model.diagnosis import DiagnoseResult, Diagnosis
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions


def fix_hints(d: Diagnosis) -> list[str]:
    """`ddoctor fix` commands that remove this cause, aimed at the user's file when the log names it
    (`command_for` shell-quotes it: the path comes from the log)."""
    from ddoctor.fix.hints import command_for

    command = command_for(d.fix_codes, d.user_frame.filename if d.user_frame else None)
    return [command] if command else []


def json(result: DiagnoseResult, opts: RenderOptions) -> str:
    return envelope("diagnosis", body(result, hints=opts.hints))


def body(result: DiagnoseResult, *, hints: bool = False) -> dict:
    """The ddoctor.diagnosis/1 document without its envelope (`ddoctor run` embeds it)."""
    return {
        "diagnoses": [{**d.to_dict(), **({"fix_hints": fix_hints(d)} if hints else {})} for d in result.diagnoses],
        "sources": list(result.sources),
        "stats": {"bytes": result.bytes_read, "lines": result.lines_parsed, "tracebacks": result.tracebacks},
        "host": result.host.to_dict() if result.host else None,
        "notices": list(result.notices),
    }

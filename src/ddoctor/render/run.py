"""RunReport → text (for the terminal, after the job's own output) and JSON (ddoctor.run/1, for --report)."""

from __future__ import annotations

from rich.text import Text

from ddoctor.model.run import RunReport
from ddoctor.render import diagnose, diagnosis_json
from ddoctor.render.console import Lines
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions


def text(r: RunReport, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    if r.exit_code == 0:
        out.whole(Text("ddoctor: the job succeeded (exit code 0)", style="bold green"))
        return out.render()
    out.whole(Text(f"ddoctor: the job exited with code {r.exit_code}", style="bold red"))
    if r.sigkill is not None:
        out.prose(Text(f"SIGKILL: {r.sigkill.summary}", style="bold yellow"), hang=2)
    return out.render() + diagnose.text(r.diagnosis, opts)


def json(r: RunReport, opts: RenderOptions) -> str:
    contract = {} if r.contract is None else {"action": r.contract[0].value, "exit_code": r.contract[1]}
    if r.sigkill is not None:
        contract["sigkill"] = r.sigkill.to_dict()
    return envelope("run", {"job": {"command": list(r.command), "exit_code": r.exit_code}, **contract,
                            **diagnosis_json.body(r.diagnosis, hints=opts.hints)})

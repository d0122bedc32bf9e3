"""Make a diagnosis concrete for the machine the log came from: real ports, drivers, wheel indexes.

Each signature carries its own host advice as data (`[[host]]` in its TOML: conditions on host
facts, a note, commands). This module only turns plain facts into the values those entries read
and applies them. When the log says it came from another platform than this host (a macOS paste
read on Linux), the advice is given for that platform, from what the log shows, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ddoctor.kb.conditions import all_hold
from ddoctor.kb.loader import find_signature
from ddoctor.model.diagnosis import Diagnosis, Signature
from ddoctor.model.logs import LogOrigin
from ddoctor.units import gib, human_bytes

if TYPE_CHECKING:  # annotations only: --no-host never loads the host model
    from ddoctor.model.host import HostFacts

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ASIDE = re.compile(r" \([^(){}]{0,80}(?:\{\w+\}[^(){}]{0,80}){1,4}\)")  # ` (...)` holding placeholders
_SYSTEM_WORDS = {"Darwin": "macOS", "Windows": "Windows", "Linux": "Linux"}


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def facts_for(h: HostFacts | None, origin: LogOrigin | None) -> tuple[dict[str, object], str | None]:
    """The values advice conditions and templates read, and a note when the log is from elsewhere."""
    if h is None:
        return {}, None
    here = _facts(h, "This host")
    if origin is None or origin.system is None or _same_platform(origin.system, h.system):
        return here, None
    where = _SYSTEM_WORDS.get(origin.system, "macOS or Windows")
    this = _SYSTEM_WORDS.get(h.system, h.system)
    note = (f"This log is from {where} ({origin.clue}), not from this {this} host: "
            f"the advice below is for the machine the log came from.")
    if origin.system not in _SYSTEM_WORDS:
        return {}, note  # macOS or Windows: too vague to tailor to
    gpus = 0 if origin.system == "Darwin" else (len(origin.gpus) if origin.gpus else None)
    there: dict[str, object] = {
        "subject": "That machine", "subject_lower": "that machine", "system": origin.system, "host": where,
        "is_mac": origin.system == "Darwin",
        "torch_version": origin.torch_version, "torch_cuda": origin.torch_cuda,
        "torch_text": f"torch {origin.torch_version}" if origin.torch_version else "its torch",
        "nvidia_gpus": gpus, "gpu_text": None if gpus is None else (
            _plural(gpus, "NVIDIA GPU", "NVIDIA GPUs") if gpus else "no NVIDIA GPU"),
        "driver_version": origin.driver_version, "python": "python",
    }
    return there, note


def _same_platform(log_system: str, host_system: str) -> bool:
    if log_system == "Darwin-or-Windows":
        return host_system in ("Darwin", "Windows")
    return log_system == host_system


def _facts(h: HostFacts, subject: str) -> dict[str, object]:
    from ddoctor.wheels import choose_cuda_wheel, cuda_str, parse_cuda  # host facts only (not --no-host)

    # The CUDA build this driver runs, on an index that publishes the pinned version (ddoctor.wheels).
    target = choose_cuda_wheel(torch_version=h.torch_version, driver_cuda=parse_cuda(h.driver_cuda),
                               driver_version=h.driver_version)
    return {
        "subject": subject, "subject_lower": subject.lower(), "system": h.system, "machine": h.machine,
        "host": f"{h.system} {h.machine}",
        "is_mac": h.system == "Darwin", "python": h.python,
        "torch_version": h.torch_version, "torch_cuda": h.torch_cuda,
        "torch_text": f"torch {h.torch_version}" if h.torch_version else "no torch",
        "nvidia_gpus": h.nvidia_gpus,
        "gpu_text": _plural(h.nvidia_gpus, "NVIDIA GPU", "NVIDIA GPUs") if h.nvidia_gpus else "no NVIDIA GPU",
        "gpus": h.nvidia_gpus or None,
        "driver_version": h.driver_version, "driver_cuda": h.driver_cuda,
        "cuda_wheel": cuda_str(target.cuda) if target else None,
        "pip_install_cuda": target.command(h.python) if target else None,
        "free_port": h.free_port,
        "cuda_visible_devices": h.cuda_visible_devices,
        "cvd_text": "unset" if h.cuda_visible_devices is None else repr(h.cuda_visible_devices),
        "cvd_set": h.cuda_visible_devices is not None,
        "shm_bytes": h.shm_bytes, "shm_text": human_bytes(h.shm_bytes) if h.shm_bytes is not None else None,
        "ram_total": h.ram_total, "ram_total_text": gib(h.ram_total) if h.ram_total else None,
        "ram_available_text": gib(h.ram_available or 0) if h.ram_total else None,
    }


def _fill_all(text: str, values: Mapping[str, object]) -> str | None:
    """The template with every `{fact}` filled, or None when a fact it needs is unknown."""
    missing = False

    def one(m: re.Match[str]) -> str:
        nonlocal missing
        v = values.get(m.group(1))
        if v is None:
            missing = True
            return ""
        return str(v)

    out = _PLACEHOLDER.sub(one, text)
    return None if missing else out


def advice_for(sig: Signature, values: Mapping[str, object]) -> tuple[list[str], list[str]]:
    notes: list[str] = []
    cmds: list[str] = []
    for a in sig.advice:
        if not all_hold(a.when, values):
            continue
        note = _fill_all(a.note, values) if a.note else None
        filled = [_fill_all(c, values) for c in a.commands]
        if (a.note and note is None) or any(c is None for c in filled):
            continue  # advice that needs a fact nobody knows is not given half-filled
        if note:
            notes.append(note)
        cmds += [c for c in filled if c]
    return notes, cmds


def tailor(d: Diagnosis, h: HostFacts | None, origin: LogOrigin | None = None) -> Diagnosis:
    """Add host notes and commands; fill {free_port}-style placeholders; mark the rest as <...>."""
    values, elsewhere = facts_for(h, origin)
    sig = find_signature(d.name)
    notes, cmds = advice_for(sig, values) if sig is not None and values else ([], [])
    if elsewhere:
        notes.insert(0, elsewhere)
    fill_values = {k: v for k, v in values.items() if k in ("free_port", "gpus")}

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: str(fill_values[m.group(1)]) if fill_values.get(m.group(1)) is not None
                                else f"<{m.group(1).replace('_', ' ')}>", text)

    def fill_without_asides(text: str) -> str:
        # an aside in the headline or the summary that only a value the log did not show would fill is left out:
        # "Ranks never arrived at the process-group barrier", not "... (<worker count> of <world size>)"
        def aside(m: re.Match[str]) -> str:
            wanted = _PLACEHOLDER.findall(m.group(0))
            return "" if wanted and all(fill_values.get(w) is None for w in wanted) else m.group(0)
        return fill(_ASIDE.sub(aside, text))

    return replace(d, title=fill_without_asides(d.title), what=fill_without_asides(d.what), why=fill(d.why),
                   fix_summary=fill(d.fix_summary),
                   fix_steps=tuple(fill(s) for s in d.fix_steps),
                   commands=tuple(dict.fromkeys([*cmds, *(fill(c) for c in d.commands)])),
                   host_notes=(*d.host_notes, *notes))

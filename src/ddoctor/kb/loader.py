"""Load and validate the signature files shipped in ddoctor/kb/signatures/."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from importlib import resources

from ddoctor.model.diagnosis import Example, Rule, Signature

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CODE_RE = re.compile(r"^DD\d{3}$")
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SignatureError(ValueError):
    pass


def _rule(raw: dict, where: str) -> Rule:
    unknown = set(raw) - {"exception", "message", "line", "exitcode", "weight", "symptom"}
    if unknown:
        raise SignatureError(f"{where}: unknown rule keys {sorted(unknown)}")
    for key in ("message", "line"):
        if key in raw:
            try:
                re.compile(raw[key])
            except re.error as exc:
                raise SignatureError(f"{where}: bad {key} regex: {exc}") from None
    if not any(k in raw for k in ("exception", "message", "line", "exitcode")):
        raise SignatureError(f"{where}: a rule needs exception, message, line or exitcode")
    if "line" in raw and ("exception" in raw or "message" in raw):
        raise SignatureError(f"{where}: `line` rules cannot be combined with exception/message")
    return Rule(exception=tuple(raw.get("exception", ())), message=raw.get("message"), line=raw.get("line"),
                exitcode=tuple(raw.get("exitcode", ())), weight=float(raw.get("weight", 1.0)),
                symptom=bool(raw.get("symptom", False)))


def parse_signature(data: dict, where: str) -> Signature:
    try:
        fix = data["fix"]
        sig = Signature(
            name=data["name"], code=data["code"], title=data["title"], category=data["category"],
            priority=int(data["priority"]), symptom=bool(data.get("symptom", False)),
            rules=tuple(_rule(r, f"{where} rule {i}") for i, r in enumerate(data.get("rule", []))),
            what=data["explain"]["what"].strip(), why=data["explain"]["why"].strip(),
            fix_summary=fix["summary"].strip(), fix_steps=tuple(s.strip() for s in fix.get("steps", ())),
            commands=tuple(fix.get("commands", ())), snippet=fix.get("snippet"),
            fix_codes=tuple(data.get("fix_codes", ())), references=tuple(data.get("references", ())),
            examples=tuple(Example(kind=e["kind"], text=e["text"]) for e in data.get("example", ())),
        )
    except KeyError as exc:
        raise SignatureError(f"{where}: missing {exc}") from None
    if not CODE_RE.match(sig.code) or not NAME_RE.match(sig.name):
        raise SignatureError(f"{where}: bad code or name ({sig.code}, {sig.name})")
    if any(e.kind not in ("match", "no_match") for e in sig.examples):
        raise SignatureError(f"{where}: example kind must be match or no_match")
    return sig


PLUGIN_PROBLEMS: list[str] = []


def _read(files, where: str) -> list[Signature]:
    sigs = []
    for f in files:
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SignatureError(f"{where}{f.name}: {exc}") from None
        sigs.append(parse_signature(data, f"{where}{f.name}"))
    return sigs


@lru_cache(maxsize=1)
def load_signatures() -> tuple[Signature, ...]:
    files = sorted(p for p in resources.files("ddoctor.kb").joinpath("signatures").iterdir()
                   if p.name.endswith(".toml"))
    sigs = _read(files, "")
    from ddoctor.plugins import plugin_signature_dirs

    for name, folder in plugin_signature_dirs():
        taken = {s.name for s in sigs} | {s.code for s in sigs}
        try:
            pack = _read(sorted(folder.glob("*.toml")), f"plugin {name}: ")
        except (OSError, SignatureError) as exc:
            PLUGIN_PROBLEMS.append(f"signature pack {name} was skipped: {exc}")
            continue
        clash = [s.name for s in pack if s.name in taken or s.code in taken]
        if clash:
            PLUGIN_PROBLEMS.append(f"signature pack {name} was skipped: {clash[0]} collides with a known signature")
            continue
        sigs += pack
    names = [s.name for s in sigs]
    codes = [s.code for s in sigs]
    dup = {n for n in names if names.count(n) > 1} | {c for c in codes if codes.count(c) > 1}
    if dup:
        raise SignatureError(f"duplicate signature names/codes: {sorted(dup)}")
    return tuple(sorted(sigs, key=lambda s: s.code))


def find_signature(key: str) -> Signature | None:
    key = key.strip()
    for s in load_signatures():
        if key.lower() in (s.name, s.code.lower()):
            return s
    return None

"""Load and validate the signature files shipped in ddoctor/kb/signatures/."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ddoctor.kb import cache as kb_cache
from ddoctor.kb.conditions import parse_condition
from ddoctor.model.diagnosis import Example, HostAdvice, Rule, Signature

if TYPE_CHECKING:
    from importlib.abc import Traversable


def _toml() -> Any:
    """tomllib, imported only when a signature file is parsed (not when the cache has them)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    return tomllib


CODE_RE = re.compile(r"^DD\d{3}$")
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SignatureError(ValueError):
    pass


RULE_KEYS = {"exception", "message", "frame", "source", "line", "exitcode", "signal", "warning", "stalled", "until",
             "when", "weight", "symptom", "innermost", "explains_only"}
_EXCEPTION_KEYS = ("exception", "message", "frame", "source")
ROLES = ("cause", "user-code", "unknown")


def _rule(raw: dict[str, Any], where: str, validate: bool = True) -> Rule:
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise SignatureError(f"{where}: unknown rule keys {sorted(unknown)}")
    for key in ("message", "frame", "source", "line", "until") if validate else ():
        if key in raw:
            try:
                re.compile(raw[key])
            except re.error as exc:
                raise SignatureError(f"{where}: bad {key} regex: {exc}") from None
    kinds = [k for k in (*_EXCEPTION_KEYS, "line", "exitcode", "signal") if k in raw]
    if not kinds:
        raise SignatureError(f"{where}: a rule needs exception, message, frame, source, line, exitcode or signal")
    if "line" in raw and any(k in raw for k in _EXCEPTION_KEYS):
        raise SignatureError(f"{where}: `line` rules cannot be combined with exception/message/frame/source")
    if any(k in raw for k in ("exitcode", "signal")) and any(k in raw for k in (*_EXCEPTION_KEYS, "line")):
        raise SignatureError(f"{where}: exit rules (exitcode/signal) stand alone")
    if raw.get("innermost") and not any(k in raw for k in ("frame", "source")):
        raise SignatureError(f"{where}: `innermost` narrows a `frame` or `source` rule to the innermost frame")
    if raw.get("explains_only") and not raw.get("warning"):
        raise SignatureError(f"{where}: `explains_only` applies to `warning` rules")
    for flag in ("warning", "stalled"):
        if raw.get(flag) and "line" not in raw:
            raise SignatureError(f"{where}: `{flag}` applies to `line` rules")
    if raw.get("warning") and raw.get("stalled"):
        raise SignatureError(f"{where}: a rule is `warning` or `stalled` (a warning until it hangs), not both")
    if "until" in raw and not raw.get("stalled"):
        raise SignatureError(f"{where}: `until` ends the wait of a `stalled` rule")
    for cond in raw.get("when", ()) if validate else ():
        try:
            parse_condition(cond)
        except ValueError as exc:
            raise SignatureError(f"{where}: {exc}") from None
    return Rule(exception=tuple(raw.get("exception", ())), message=raw.get("message"), frame=raw.get("frame"),
                source=raw.get("source"), innermost=bool(raw.get("innermost", False)),
                line=raw.get("line"), exitcode=tuple(raw.get("exitcode", ())),
                signal=tuple(raw.get("signal", ())), warning=bool(raw.get("warning", False)),
                stalled=bool(raw.get("stalled", False)), until=raw.get("until"), when=tuple(raw.get("when", ())),
                weight=float(raw.get("weight", 1.0)), symptom=bool(raw.get("symptom", False)),
                explains_only=bool(raw.get("explains_only", False)))


def _advice(raw: dict[str, Any], where: str) -> HostAdvice:
    unknown = set(raw) - {"when", "note", "commands"}
    if unknown:
        raise SignatureError(f"{where}: unknown host keys {sorted(unknown)}")
    when = tuple(raw.get("when", ()))
    for cond in when:
        try:
            parse_condition(cond)
        except ValueError as exc:
            raise SignatureError(f"{where}: {exc}") from None
    if not raw.get("note") and not raw.get("commands"):
        raise SignatureError(f"{where}: host advice needs a note or commands")
    return HostAdvice(when=when, note=raw.get("note"), commands=tuple(raw.get("commands", ())))


def parse_signature(data: dict[str, Any], where: str, *, validate: bool = True) -> Signature:
    """`validate=False` skips the costly checks (regex compiles) for files validated when cached."""
    try:
        fix = data["fix"]
        sig = Signature(
            name=data["name"], code=data["code"], title=data["title"], category=data["category"],
            priority=int(data["priority"]), symptom=bool(data.get("symptom", False)),
            rules=tuple(_rule(r, f"{where} rule {i}", validate) for i, r in enumerate(data.get("rule", []))),
            what=data["explain"]["what"].strip(), why=data["explain"]["why"].strip(),
            fix_summary=fix["summary"].strip(), fix_steps=tuple(s.strip() for s in fix.get("steps", ())),
            commands=tuple(fix.get("commands", ())), snippet=fix.get("snippet"),
            fix_codes=tuple(data.get("fix_codes", ())), references=tuple(data.get("references", ())),
            examples=tuple(Example(kind=e["kind"], text=e["text"]) for e in data.get("example", ())),
            role=data.get("role", "cause"), explained_by=tuple(data.get("explained_by", ())),
            wrappers=tuple(data.get("wrappers", ())),
            advice=tuple(_advice(h, f"{where} host {i}") for i, h in enumerate(data.get("host", []))),
        )
    except KeyError as exc:
        raise SignatureError(f"{where}: missing {exc}") from None
    if not CODE_RE.match(sig.code) or not NAME_RE.match(sig.name):
        raise SignatureError(f"{where}: bad code or name ({sig.code}, {sig.name})")
    if any(e.kind not in ("match", "no_match") for e in sig.examples):
        raise SignatureError(f"{where}: example kind must be match or no_match")
    if sig.role not in ROLES:
        raise SignatureError(f"{where}: role must be one of {', '.join(ROLES)}")
    if sig.role == "cause" and not sig.rules:
        raise SignatureError(f"{where}: a cause needs at least one rule")
    return sig


PLUGIN_PROBLEMS: list[str] = []


def _read(files: Iterable[Traversable], where: str) -> list[Signature]:
    sigs = []
    tomllib = _toml()
    for f in files:
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SignatureError(f"{where}{f.name}: {exc}") from None
        sigs.append(parse_signature(data, f"{where}{f.name}"))
    return sigs


def _read_shipped(files: list[Traversable]) -> list[Signature]:
    """The shipped files through the user's cache (kb/cache.py); validated whenever parsed afresh."""
    from ddoctor import __version__

    texts = [(f.name, f.read_text(encoding="utf-8")) for f in files]
    k = kb_cache.key(__version__, texts)
    cached = kb_cache.read(k)
    if cached is not None and len(cached) == len(texts):
        try:
            return [parse_signature(d, name, validate=False) for d, (name, _) in zip(cached, texts, strict=True)]
        except (SignatureError, TypeError, ValueError, AttributeError):
            pass  # a damaged cache: parse the files
    raw = []
    tomllib = _toml()
    for name, text in texts:
        try:
            raw.append(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise SignatureError(f"{name}: {exc}") from None
    sigs = [parse_signature(d, name) for d, (name, _) in zip(raw, texts, strict=True)]
    kb_cache.write(k, raw)
    return sigs


@lru_cache(maxsize=1)
def load_signatures() -> tuple[Signature, ...]:
    # The package is installed on disk (setuptools), so the resources are Paths and sort as such.
    files = sorted(p for p in resources.files("ddoctor.kb").joinpath("signatures").iterdir()  # type: ignore[type-var]
                   if p.name.endswith(".toml"))
    sigs = _read_shipped(files)
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
    known = set(names)
    for s in sigs:
        missing = [n for n in s.explained_by if n not in known]
        if missing:
            raise SignatureError(f"{s.code}: explained_by names unknown signatures {missing}")
    for role in ("user-code", "unknown"):
        holders = [s.name for s in sigs if s.role == role]
        if len(holders) > 1:
            raise SignatureError(f"role {role!r} is held by several signatures: {holders}")
    return tuple(sorted(sigs, key=lambda s: s.code))


def find_signature(key: str) -> Signature | None:
    key = key.strip()
    for s in load_signatures():
        if key.lower() in (s.name, s.code.lower()):
            return s
    return None

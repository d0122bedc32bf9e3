"""Keep credentials out of every output: names that look secret, and token shapes in free text.

Pure string logic (no I/O) so that every renderer and command can share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "***REDACTED***"

_SECRET_WORDS = {"TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "PASSPHRASE", "CREDENTIAL",
                 "CREDENTIALS", "COOKIE", "APIKEY", "AUTH", "PAT", "PRIVATE"}


# Token shapes published by their issuers; bounded repetitions keep matching linear.
_TOKEN_PATTERNS = [
    r"hf_[A-Za-z0-9]{30,64}",
    r"gh[pousr]_[A-Za-z0-9]{36,255}",
    r"github_pat_[A-Za-z0-9_]{22,255}",
    r"(?:AKIA|ASIA)[A-Z0-9]{16}",
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,200}",
    r"xox[abpr]-[A-Za-z0-9\-]{10,200}",
    r"glpat-[A-Za-z0-9_\-]{20,64}",
    r"eyJ[A-Za-z0-9_\-]{10,2000}\.[A-Za-z0-9_\-]{10,2000}\.[A-Za-z0-9_\-]{10,2000}",
    r"wandb_[A-Za-z0-9]{30,80}",
]
_TOKEN_RE = re.compile("|".join(f"(?:{p})" for p in _TOKEN_PATTERNS))
# user:password@host in URLs (proxy settings, git remotes, database URLs).
_URL_CRED_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]{0,20}://[^\s:/@]{1,200}:)[^\s@/]{1,200}(@)")
# NAME=value / NAME: value pairs in logs; NAME is judged word by word (is_secret_name), and a value
# never contains brackets or commas (that is code, e.g. `tokenizer = AutoTokenizer.from_pretrained(...)`).
_ASSIGN_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]{0,80})(\s{0,3}[=:]\s{0,3})(['\"]?)([^\s'\"(),\[\]{}]{4,500})")


def is_secret_name(name: str) -> bool:
    """By whole words of the name, so TOKENIZERS_PARALLELISM is not a secret but HF_TOKEN is."""
    parts = [p for p in re.split(r"[_\-.]", name.upper()) if p]
    if name.upper() == "PWD" or name.upper() == "OLDPWD":  # the shell's working directory
        return False
    return bool(parts) and (any(p in _SECRET_WORDS for p in parts) or parts[-1] in ("KEY", "KEYS"))


def secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of variables whose names look secret (long enough to be worth scrubbing)."""
    vals = {v for k, v in environ.items() if is_secret_name(k) and v and len(v) >= 4}
    return tuple(sorted(vals, key=len, reverse=True))


def redact_env_value(name: str, value: str) -> str:
    return REDACTED if is_secret_name(name) else scrub(value)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values, token shapes, URL passwords and secret-looking assignments."""
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    text = _TOKEN_RE.sub(REDACTED, text)
    text = _URL_CRED_RE.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2)}", text)
    return _ASSIGN_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}" if is_secret_name(m.group(1))
                          else m.group(0), text)


def contains_credential(text: str, secrets: Iterable[str] = ()) -> bool:
    """A known secret value or an issuer's token shape (not the name=value guess, which code trips)."""
    return any(s in text for s in secrets) or _TOKEN_RE.search(text) is not None


def scrub_values(obj, secrets: Iterable[str] = ()):
    """The same value with every string scrubbed: frozen dataclasses, tuples, lists and dicts are rebuilt.

    Renderers wrap long lines, which can split a secret across two lines where a final text pass
    would miss it; scrubbing the values before rendering closes that gap.
    """
    import dataclasses
    import enum
    from types import MappingProxyType

    secrets = tuple(secrets)
    if isinstance(obj, enum.Enum):  # Status is a str enum: keep it a Status
        return obj
    if isinstance(obj, str):
        return scrub(obj, secrets)
    if isinstance(obj, tuple):
        return tuple(scrub_values(x, secrets) for x in obj)
    if isinstance(obj, list):
        return [scrub_values(x, secrets) for x in obj]
    if isinstance(obj, MappingProxyType):
        return MappingProxyType({k: scrub_values(v, secrets) for k, v in obj.items()})
    if isinstance(obj, dict):
        return {k: scrub_values(v, secrets) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: scrub_values(getattr(obj, f.name), secrets) for f in dataclasses.fields(obj)
                   if f.init}
        return dataclasses.replace(obj, **changes)
    return obj

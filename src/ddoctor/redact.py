"""Keep credentials out of every output: names that look secret, and token shapes in free text.

`scrub` is the one redaction function: the output layer applies it to every value before rendering
(a renderer that wraps a line could split a secret where a text pass would miss it) and again to
the finished text on its way out of the process (stdout, stderr, report files, crash files). Pure
string logic; the only outside input is the process environment, read once, whose secret-named
variables' values are scrubbed wherever they appear. Every pattern has bounded repetitions so that
scrubbing stays linear on hostile input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from functools import cache

from ddoctor.lazyre import lazy_re
from ddoctor.model.strings import map_strings

REDACTED = "***REDACTED***"

# Whole words of a variable or key name (split on _ - . and camelCase) that make it a secret.
_SECRET_WORDS = {"TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "PASS", "PASSPHRASE", "CREDENTIAL",
                 "CREDENTIALS", "COOKIE", "APIKEY", "AUTH", "AUTHORIZATION", "PAT", "PRIVATE", "SIG", "SIGNATURE"}
# Run-together names (PGPASSWORD, APITOKEN, MYSECRET) end with one of these.
_SECRET_SUFFIXES = ("PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "SECRET", "APIKEY")

# Token shapes published by their issuers (GitHub, Hugging Face, OpenAI/Anthropic, AWS, Google, Slack,
# Stripe, npm, GitLab, PyPI, Databricks, W&B, JWTs). Each is anchored so that a word merely containing the
# prefix (`disk-...`, `task-...`) is kept.
_TOKEN_PATTERNS = [
    r"hf_[A-Za-z0-9]{30,64}",
    r"api_org_[A-Za-z0-9]{30,64}",
    r"gh[pousr]_[A-Za-z0-9]{36,255}",
    r"github_pat_[A-Za-z0-9_]{22,255}",
    r"sk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-|admin\d\d-)?)?[A-Za-z0-9_\-]{20,200}",
    r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"ya29\.[0-9A-Za-z_\-]{20,2000}",
    r"GOCSPX-[0-9A-Za-z_\-]{20,60}",
    r"xox[abposre]-[A-Za-z0-9\-]{10,200}",
    r"xapp-\d-[A-Za-z0-9\-]{10,200}",
    r"hooks\.slack\.com/services/[A-Za-z0-9/]{20,200}",
    r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,200}",
    r"whsec_[0-9A-Za-z]{20,100}",
    r"npm_[A-Za-z0-9]{36}",
    r"glpat-[A-Za-z0-9_\-]{20,64}",
    r"pypi-AgE[A-Za-z0-9_\-]{50,400}",
    r"dapi[0-9a-f]{32}",
    r"wandb_[A-Za-z0-9]{30,80}",
    r"eyJ[A-Za-z0-9_\-]{10,2000}\.[A-Za-z0-9_\-]{10,2000}\.[A-Za-z0-9_\-]{10,2000}",
    # One line of a PEM private key's body (DER starts MII...; OpenSSH keys start with their magic).
    r"MII[A-Za-z0-9+/]{40,100}={0,2}",
    r"b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/]{20,100}={0,2}",
]
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_\-])(?:" + "|".join(f"(?:{p})" for p in _TOKEN_PATTERNS) + ")")

_PEM_BEGIN = lazy_re(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = lazy_re(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")

# `Authorization: Bearer abc`, `-H "authorization: token ghp_..."`, `'Authorization': 'Basic dXNlcjpw'`:
# the scheme is kept, the credentials go.
_AUTH_HEADER_RE = re.compile(
    r"(?i)\b((?:proxy-)?authorization(?:\\?[\"'])?\s{0,3}[:=]\s{0,3}(?:\\?[\"'])?)"
    r"((?:bearer|basic|token|digest|negotiate|ntlm|bot|aws4-hmac-sha256)\s{1,3})?([^\s\"'\\]{1,2000})")
_BEARER_RE = re.compile(r"\b([Bb]earer\s{1,3})([A-Za-z0-9._~+/\-]{8,2000}=*)")

# scheme://[user]:password@host. The password may hold `@` and `/`, so it runs to the last `@` of the token.
_URL_CRED_RE = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]{0,20}://[^\s:/@'\"<>]{0,200}:)([^\s'\"<>]{1,400})(@)")
# user:password@host without a scheme (database DSNs, rsync/ssh targets, MASTER_ADDR values).
_USER_PASS_RE = re.compile(r"(?<![\w/:@.\-])([A-Za-z0-9_][\w.\-]{0,63}:)([^\s:@/'\"<>]{1,200})(@)(?=[A-Za-z0-9\[])")

# NAME=value, NAME: value, "name": "value", --name value. NAME is judged word by word (is_secret_name);
# the scan resumes right after a harmless name, so `RuntimeError: HF_TOKEN=...` is scrubbed too.
_NAME_SEP_RE = re.compile(
    r"(?:(?<![\w\-])--([A-Za-z][\w\-]{0,80})(=|\s{1,3})"
    r"|([\"']?)\b([A-Za-z_][\w.\-]{0,80})\3(\s{0,3}[=:]\s{0,3}))")
# An unquoted value stops where code or structure starts (brackets, commas, `;` `&` of connection and
# query strings, a backslash escaping a quote in JSON text), so `tokenizer = AutoTokenizer(...)` is kept.
_VALUE_RE = lazy_re(r"\\\"([^\"\\\n]{1,500})\\\"|\"([^\"\n]{1,500})\"|'([^'\n]{1,500})'"
                    r"|([^\s'\"(),\[\]{};&<>\\]{4,500})")
# What an earlier pattern already redacted (an auth header keeps its scheme word).
_DONE_RE = lazy_re(r"[\"']?(?:[A-Za-z0-9\-]{1,20}\s{1,3})?" + re.escape(REDACTED))
# A bare `key:` names a lookup key as often as a credential (c10d's `key: store_based_barrier_key:1`,
# a dict's `key: model.layers.0`). A value spelled as lowercase words and numbers joined by `_ . :` is
# such a name; a credential mixes letters and digits within a run, which this never matches.
_NAMED_KEY_RE = lazy_re(r"(?:[a-z]+|[0-9]+)(?:[_.:](?:[a-z]+|[0-9]+)){1,30}")


def _camel_split(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)


def is_secret_name(name: str) -> bool:
    """By whole words of the name, so TOKENIZERS_PARALLELISM is not a secret but HF_TOKEN is."""
    upper = name.upper()
    if upper in ("PWD", "OLDPWD", "PASS"):  # the shell's working directory; a check status
        return False
    parts = [p for p in re.split(r"[_\-.]", _camel_split(name).upper()) if p]
    if not parts:
        return False
    if any(p in _SECRET_WORDS for p in parts) or parts[-1] in ("KEY", "KEYS"):
        return True
    return any(p.endswith(_SECRET_SUFFIXES) for p in parts)


def secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of variables whose names look secret (long enough to be worth scrubbing), longest first."""
    vals = {v for k, v in environ.items() if is_secret_name(k) and v and len(v) >= 4}
    return tuple(sorted(vals, key=len, reverse=True))


@cache
def _environment_secrets() -> tuple[str, ...]:
    return secret_values(os.environ)


def redact_env_value(name: str, value: str) -> str:
    return REDACTED if is_secret_name(name) else scrub(value)


def _pem(text: str) -> str:
    out, pos = [], 0
    while (m := _PEM_BEGIN.search(text, pos)) is not None:
        end = _PEM_END.search(text, m.end())
        out.append(text[pos:m.end()] + "\n" + REDACTED + "\n")
        if end is None:  # a block cut off by the end of the log: everything after BEGIN goes
            return "".join(out)
        out.append(end.group(0))
        pos = end.end()
    out.append(text[pos:])
    return "".join(out)


def _assignments(text: str) -> str:
    out, pos = [], 0
    while (m := _NAME_SEP_RE.search(text, pos)) is not None:
        name = m.group(1) or m.group(4)
        secret = is_secret_name(name) and not _DONE_RE.match(text, m.end())
        value = _VALUE_RE.match(text, m.end()) if secret else None
        if value is None:
            out.append(text[pos:m.end()])
            pos = m.end()
            continue
        group = next(g for g in (1, 2, 3, 4) if value.group(g) is not None)
        if name.upper() in ("KEY", "KEYS") and _NAMED_KEY_RE.fullmatch(value.group(group)):
            out.append(text[pos:value.end(group)])
            pos = value.end(group)
            continue
        if group == 4 and m.group(3):  # a quoted key's bare value is a JSON number or literal: kept valid
            out.append(text[pos:m.end()])
            pos = m.end()
            continue
        out.append(text[pos:value.start(group)] + REDACTED)
        pos = value.end(group)  # a closing quote stays
    out.append(text[pos:])
    return "".join(out)


def scrub(text: str, secrets: Iterable[str] | None = None) -> str:
    """Replace known secret values, token shapes, key blocks, auth headers, URL passwords and secret-looking
    assignments. `secrets` defaults to the values of this process's secret-named environment variables."""
    for s in _environment_secrets() if secrets is None else secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    if "PRIVATE KEY" in text:
        text = _pem(text)
    text = _TOKEN_RE.sub(REDACTED, text)
    text = _AUTH_HEADER_RE.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{REDACTED}", text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _URL_CRED_RE.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    text = _USER_PASS_RE.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    return _assignments(text)


def contains_credential(text: str, secrets: Iterable[str] = ()) -> bool:
    """A known secret value or an issuer's token shape (not the name=value guess, which code trips)."""
    return any(s in text for s in secrets) or _TOKEN_RE.search(text) is not None


def scrub_values(obj, secrets: Iterable[str] | None = None):
    """The same value with every string scrubbed (frozen dataclasses, tuples, lists and dicts rebuilt)."""
    secrets = _environment_secrets() if secrets is None else tuple(secrets)
    return map_strings(obj, lambda s: scrub(s, secrets), keys=False)

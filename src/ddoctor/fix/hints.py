"""From a diagnosed cause to the `ddoctor fix` command that removes it, and from a rule back to its causes.

The knowledge base's `fix_codes` is the one link between the two; nothing here imports kb/ (the
caller passes the signatures it loaded), and the rules are imported only when a hint is wanted.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from ddoctor.model.diagnosis import Signature
from ddoctor.model.fix import Applicability


def command_for(fix_codes: Sequence[str], path: str | None) -> str | None:
    """`ddoctor fix --write [--unsafe-fixes] --select CODES PATH`, or None when no known rule applies.

    `path` is the user's file from the traceback; without one the command fixes the project in the
    working directory (`.`, .gitignore honoured). `--unsafe-fixes` appears exactly when a selected
    rule's fix is unsafe, since --write alone would then leave the cause in place.
    """
    from ddoctor.fix.rules import RULE_INFO

    rules = [RULE_INFO[c] for c in dict.fromkeys(c.strip().upper() for c in fix_codes) if c in RULE_INFO]
    if not rules:
        return None
    words = ["ddoctor", "fix", "--write"]
    if any(r.applicability is Applicability.UNSAFE for r in rules):
        words.append("--unsafe-fixes")
    words += ["--select", ",".join(r.code for r in rules), path or "."]
    return " ".join(shlex.quote(w) for w in words)


def signatures_fixed_by(code: str, signatures: Iterable[Signature]) -> tuple[str, ...]:
    """Names of the failure causes whose `fix_codes` name this rule."""
    return tuple(s.name for s in signatures if code in s.fix_codes)

"""The tiny condition language of host advice in signature files: `fact op literal`, ANDed.

Host tailoring lives in each signature's TOML (`[[host]] when = ["nvidia_gpus == 0"]`) instead of
code, so one signature is one file. The language is deliberately small and never evaluates Python:
`fact`, `not fact`, or `fact OP value` with OP one of == != < <= > >= and a value that is an
integer, a quoted string, `true`, `false`, `none` or another fact's name (`worker_count > world_size`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_COND = re.compile(
    r"^\s*(?:(?P<neg>not)\s+)?(?P<fact>[a-z_][a-z0-9_]{0,40})\s*"
    r"(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<lit>-?\d{1,12}|'[^']{0,80}'|\"[^\"]{0,80}\"|[a-z_][a-z0-9_]{0,40}))?\s*$"
)
@dataclass(frozen=True, slots=True)
class FactRef:
    name: str


Literal = int | str | bool | FactRef | None


@dataclass(frozen=True, slots=True)
class Condition:
    fact: str
    op: str | None  # None: truthiness (negated when `negate`)
    literal: Literal
    negate: bool = False


def parse_condition(text: str) -> Condition:
    m = _COND.match(text)
    if not m or (m.group("neg") and m.group("op")):
        raise ValueError(f"bad condition {text!r}: use `fact`, `not fact` or `fact OP literal`")
    lit_text = m.group("lit")
    lit: Literal
    if lit_text is None:
        lit = None
    elif lit_text[0] in "'\"":
        lit = lit_text[1:-1]
    elif lit_text in ("true", "false"):
        lit = lit_text == "true"
    elif lit_text == "none":
        lit = None
    elif lit_text[0].isalpha() or lit_text[0] == "_":
        lit = FactRef(lit_text)
    else:
        lit = int(lit_text)
    return Condition(fact=m.group("fact"), op=m.group("op"), literal=lit, negate=bool(m.group("neg")))


def holds(cond: Condition, facts: Mapping[str, object]) -> bool:
    value = facts.get(cond.fact)
    if cond.op is None:
        return not value if cond.negate else bool(value)
    other = facts.get(cond.literal.name) if isinstance(cond.literal, FactRef) else cond.literal
    if cond.op == "==":
        return value == other
    if cond.op == "!=":
        return value != other
    if isinstance(value, bool) or isinstance(other, bool) or not isinstance(value, int) or not isinstance(other, int):
        return False  # ordering needs two numbers; an unknown fact never satisfies it
    return {"<": value < other, "<=": value <= other, ">": value > other, ">=": value >= other}[cond.op]


def all_hold(conditions: Iterable[str], facts: Mapping[str, object]) -> bool:
    return all(holds(parse_condition(c), facts) for c in conditions)

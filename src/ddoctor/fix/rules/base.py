"""What every rule shares: the transformer base, guard tracking, and matching helpers.

A rule runs twice. The first run, over the file as the user has it, only reports (positions are
the user's lines); the second, over the file as the earlier rules left it, rewrites the edits
that `--write`/`--unsafe-fixes` allow. `flag()` records an edit and answers whether to rewrite it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider

from ddoctor.model.fix import Applicability, Edit, RuleInfo

# Calls that choose a device or backend at run time: code under them already decided and is left alone.
GUARD_WORDS = ("cuda.is_available", "accelerator.is_available", "device_count", "is_nccl_available",
               "backends.mps.is_available")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleContext:
    """`rewrite` None: report only. `distributed`: the file uses torch.distributed (ranks, Gloo/NCCL)."""

    rewrite: bool
    unsafe: bool
    distributed: bool


class RuleTransformer(cst.CSTTransformer):
    """Base of every rule. A rule asks for module-level support through `imports` and `prologue`.

    `imports` names modules the rewrite needs (`import torch`), `prologue` maps a module-level name
    to the statement defining it (the DEVICE constant); the engine adds what the file lacks.
    """

    METADATA_DEPENDENCIES = (PositionProvider,)
    info: ClassVar[RuleInfo]

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.edits: list[Edit] = []
        self.imports: set[str] = set()
        self.prologue: dict[str, str] = {}
        self._guards: list[bool] = []

    def flag(self, node: cst.CSTNode, message: str, applicability: Applicability | None = None) -> bool:
        """Record an edit at `node` (a node of the tree being visited); True when it is to be rewritten."""
        how = applicability or self.info.applicability
        pos = self.get_metadata(PositionProvider, node)
        self.edits.append(Edit(code=self.info.code, line=pos.start.line, col=pos.start.column + 1, message=message,
                               applicability=how))
        return self.ctx.rewrite and how.applies(unsafe=self.ctx.unsafe)

    def line_of(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    # -- guards: `if torch.cuda.is_available():` and `a if torch.cuda.is_available() else b` -------------
    def _push(self, test: cst.BaseExpression) -> None:
        self._guards.append(any(w in code_of(test) for w in GUARD_WORDS))

    def visit_If(self, node: cst.If) -> None:
        self._push(node.test)

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.BaseStatement:
        self._guards.pop()
        return updated

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._push(node.test)

    def leave_IfExp(self, original: cst.IfExp, updated: cst.IfExp) -> cst.BaseExpression:
        self._guards.pop()
        return updated

    @property
    def guarded(self) -> bool:
        return any(self._guards)


def dotted(node: cst.BaseExpression | None) -> str | None:
    """`torch.distributed.init_process_group` for an Attribute/Name chain, else None."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def is_str(node: cst.BaseExpression | None, *values: str) -> bool:
    return isinstance(node, cst.SimpleString) and node.evaluated_value in values


def str_value(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def arg(call: cst.Call, name: str, pos: int | None) -> cst.Arg | None:
    """The argument bound to parameter `name` (keyword, or positional index `pos`), as TorchFix's get_specific_arg."""
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    if pos is None:
        return None
    if any(a.star == "*" for a in call.args):
        return None  # *args hides which position is which
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[pos] if pos < len(positional) else None


def method_name(call: cst.Call) -> str | None:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def single_call_statement(stmt: cst.SimpleStatementLine, suffix: str) -> cst.Call | None:
    """The call when `stmt` is nothing but a call whose dotted name ends with `suffix` (`torch.cuda.set_device(0)`)."""
    if len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return None
    call = stmt.body[0].value
    if not isinstance(call, cst.Call) or not (dotted(call.func) or "").endswith(suffix):
        return None
    return call

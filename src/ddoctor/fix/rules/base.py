"""What every rule shares: the transformer base, guard tracking, and matching helpers.

A rule runs twice. The report pass, over the file as the user has it (all rules in one walk, see
engine.py), only records what it flags; positions, the user's lines, are added afterwards. The
rewrite pass, over the file as the earlier rules left it, rewrites the edits that `--write`/
`--unsafe-fixes` allow. `flag()` records an edit and answers whether to rewrite it. A rule must
change nothing in its report pass: the walk is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from ddoctor.model.fix import Applicability, Edit, RuleInfo

T = TypeVar("T")

# Calls that choose a device or backend at run time: code under them already decided and is left alone.
GUARD_WORDS = ("cuda.is_available", "accelerator.is_available", "device_count", "is_nccl_available",
               "backends.mps.is_available")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleContext:
    """`rewrite` False: report only. `distributed`: the file uses torch.distributed (ranks, Gloo/NCCL).

    `shared` holds what several rules compute over the same tree (the value index), keyed by the
    module object, so the report passes over the user's file build it once.
    """

    rewrite: bool
    unsafe: bool
    distributed: bool
    module: cst.Module | None = None  # the user's tree, in report passes
    shared: dict = field(default_factory=dict)


class RuleTransformer(cst.CSTTransformer):
    """Base of every rule. A rule asks for module-level support through `imports` and `prologue`.

    `imports` names modules the rewrite needs (`import torch`), `prologue` maps a module-level name
    to the statement defining it (the DEVICE constant); the engine adds what the file lacks.
    """

    info: ClassVar[RuleInfo]
    # The rule cannot match a file that contains none of these strings: it is not run there.
    triggers: ClassVar[tuple[str, ...]]

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.edits: list[Edit] = []
        self.imports: set[str] = set()
        self.prologue: dict[str, str] = {}
        self._guards: list[cst.BaseExpression] = []
        self._guard_memo: dict[cst.BaseExpression, bool] = {}
        self.pending: list[tuple[cst.CSTNode, str, Applicability]] = []  # report pass: positions come last

    @classmethod
    def wanted(cls, source: str) -> bool:
        """False when the rule cannot match `source` (none of its trigger strings occurs): it is not run."""
        return any(t in source for t in cls.triggers)

    def flag(self, node: cst.CSTNode, message: str, applicability: Applicability | None = None) -> bool:
        """Record an edit at `node` (a node of the tree being visited); True when it is to be rewritten.

        Rewrite passes run without position metadata (their positions are not the user's anyway).
        """
        how = applicability or self.info.applicability
        if self.ctx.rewrite:
            return how.applies(unsafe=self.ctx.unsafe)
        self.pending.append((node, message, how))
        return False

    def place(self, positions: Mapping[cst.CSTNode, CodeRange]) -> None:
        """Turn the report pass's flags into edits at the user's positions (computed only for files with flags)."""
        self.edits = [Edit(code=self.info.code, line=positions[n].start.line, col=positions[n].start.column + 1,
                           message=m, applicability=how) for n, m, how in self.pending]

    def line_of(self, node: cst.CSTNode) -> int:
        """The user's line of `node` in a report pass (0 in a rewrite pass, where messages are not kept)."""
        if self.ctx.rewrite:
            return 0
        return self.shared("positions", self.ctx.module, positions_of)[node].start.line

    def shared(self, key: str, module: cst.Module, build: Callable[[cst.Module], T]) -> T:
        """`build(module)`, computed once per tree for every rule that asks under `key`."""
        slot = (key, id(module))
        if slot not in self.ctx.shared:
            self.ctx.shared[slot] = (module, build(module))  # the module is kept so that its id stays unique
        return self.ctx.shared[slot][1]

    # -- guards: `if torch.cuda.is_available():` and `a if torch.cuda.is_available() else b` -------------
    def _push(self, test: cst.BaseExpression) -> None:
        self._guards.append(test)  # judged only when a rule asks (most code never matches a rule)

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
        for test in self._guards:
            if test not in self._guard_memo:
                self._guard_memo[test] = any(w in code_of(test) for w in GUARD_WORDS)
            if self._guard_memo[test]:
                return True
        return False


def positions_of(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Where each node is in the user's file. Only for a freshly parsed tree: its nodes are unique, so the
    wrapper needs no defensive copy."""
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


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

"""Apply the fix rules to source text: the rewrite, the edits at the user's positions, and a diff that applies.

Pure text in, values out; reading and writing files is files.py's job.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

import libcst as cst

from ddoctor.fix.rules import RULES
from ddoctor.fix.rules.base import RuleContext, RuleTransformer, code_of, positions_of
from ddoctor.model.fix import Edit

# A file that starts ranks: distributed rewrites (the rank's own GPU, no MPS) apply.
_DISTRIBUTED = re.compile(r"init_process_group|torch\.distributed|from torch import distributed|LOCAL_RANK")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFix:
    """`new_source` None: nothing to change. `applied`: the edits that the rewrite carries out."""

    edits: tuple[Edit, ...] = ()
    applied: tuple[Edit, ...] = ()
    new_source: str | None = None
    error: str | None = None


def select_rules(select: Sequence[str] | None, ignore: Sequence[str] | None) -> list[type[RuleTransformer]]:
    """Codes or prefixes (`DDF00` selects DDF001-DDF009), as ruff's --select/--ignore."""
    def hit(code: str, wanted: Sequence[str]) -> bool:
        return any(code.startswith(s.strip().upper()) for s in wanted)

    chosen = [r for r in RULES if not select or hit(r.info.code, select)]
    return [r for r in chosen if not ignore or not hit(r.info.code, ignore)]


def is_distributed(source: str) -> bool:
    return _DISTRIBUTED.search(source) is not None


def fix_source(source: str, *, rules: Sequence[type[RuleTransformer]], unsafe: bool) -> SourceFix:
    """Report every rule's edits on `source` and rewrite those that `unsafe` allows."""
    if "\r" in source.replace("\r\n", ""):
        # libcst drops a final lone CR, so classic-Mac line endings are refused rather than altered.
        return SourceFix(error="lone CR line endings (classic Mac) are not supported; file left unchanged")
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return SourceFix(error=f"cannot parse: {_syntax_error(source, exc)}")
    distributed = is_distributed(source)
    chosen = [r for r in rules if r.wanted(source)]
    shared: dict = {}
    try:
        finders = [r(RuleContext(rewrite=False, unsafe=unsafe, distributed=distributed, module=module,
                                 shared=shared)) for r in chosen]
        _report(module, finders)
    except Exception as exc:  # a rule's own bug: this file stays as it is, the other files go on
        return SourceFix(error=f"internal error while checking ({type(exc).__name__}: {exc}); file left unchanged")
    edits = [e for f in finders for e in f.edits]
    applied: list[Edit] = []
    imports: set[str] = set()
    prologue: dict[str, str] = {}
    for rule, finder in zip(chosen, finders, strict=True):
        wanted = [e for e in finder.edits if e.applicability.applies(unsafe=unsafe)]
        if not wanted:
            continue
        rewriter = rule(RuleContext(rewrite=True, unsafe=unsafe, distributed=distributed))
        try:
            module = module.visit(rewriter)  # positions are not needed to rewrite
        except Exception as exc:  # as above
            return SourceFix(edits=tuple(edits), error=f"internal error in {rule.info.code} ({type(exc).__name__}: "
                                                       f"{exc}); file left unchanged")
        applied += wanted
        imports |= rewriter.imports
        prologue.update(rewriter.prologue)
    module = _add_prologue(module, prologue)
    module = _add_imports(module, imports)
    new_source = module.code
    edits.sort(key=lambda e: (e.line, e.col))
    applied.sort(key=lambda e: (e.line, e.col))
    if new_source == source:
        return SourceFix(edits=tuple(edits))
    try:
        cst.parse_module(new_source)
    except cst.ParserSyntaxError as exc:  # pragma: no cover - a rule bug must never corrupt a file
        return SourceFix(edits=tuple(edits), error=f"internal error: the rewrite does not parse ({exc}); "
                                                   "file left unchanged")
    return SourceFix(edits=tuple(edits), applied=tuple(applied), new_source=new_source)


class _Together(cst.CSTVisitor):
    """Every rule's report pass in one walk of the tree. Report passes change nothing, so they can share it,
    and each node goes only to the rules with a visit_/leave_ method for its type."""

    def __init__(self, rules: Sequence[RuleTransformer]) -> None:
        super().__init__()
        self.rules = rules
        self._visits: dict[type, list] = {}
        self._leaves: dict[type, list] = {}

    def _methods(self, kind: str, cls: type, table: dict[type, list]) -> list:
        if cls not in table:
            table[cls] = [m for r in self.rules if (m := getattr(r, f"{kind}_{cls.__name__}", None)) is not None]
        return table[cls]

    def on_visit(self, node: cst.CSTNode) -> bool:
        for visit in self._methods("visit", type(node), self._visits):
            visit(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for leave in self._methods("leave", type(original_node), self._leaves):
            leave(original_node, original_node)


def _report(module: cst.Module, finders: Sequence[RuleTransformer]) -> None:
    """Report passes; positions (a whole codegen of the file) are computed only when something was flagged."""
    if not finders:
        return
    module.visit(_Together(finders))
    if any(f.pending for f in finders):
        positions = finders[0].shared("positions", module, positions_of)
        for f in finders:
            f.place(positions)


def _syntax_error(source: str, exc: cst.ParserSyntaxError) -> str:
    """Python's own wording and position where it has one (libcst's point at the statement's start)."""
    try:
        ast.parse(source)
    except SyntaxError as err:
        return f"line {err.lineno}, column {err.offset}: {err.msg}"
    except (ValueError, RecursionError, MemoryError):
        pass
    return f"{exc.message} (line {exc.raw_line}) - syntax newer than libcst {version('libcst')}?"


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff `git apply` and `patch -p1` accept from the directory `path` is relative to.

    Lines are split on "\\n" only (str.splitlines would also split on form feeds and U+2028, which
    git does not), so "\\r\\n" endings stay in the lines; a last line without a newline gets git's
    "\\ No newline at end of file" marker.
    """
    out = []
    for line in difflib.unified_diff(_lines(old), _lines(new), fromfile=f"a/{path}", tofile=f"b/{path}"):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    return [line for line in re.split(r"(?<=\n)", text) if line]


# -- module-level support the rules ask for ----------------------------------------------------------------
def _top_imports(module: cst.Module) -> list[tuple[int, set[str]]]:
    """(index in body, names bound) of every top-level `import x` statement."""
    out = []
    for i, stmt in enumerate(module.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            names = {code_of(a.name).split(".")[0] for s in stmt.body if isinstance(s, cst.Import)
                     for a in s.names if a.asname is None}  # `import torch.distributed` binds `torch` too
            if names:
                out.append((i, names))
    return out


def _defines(module: cst.Module, name: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for s in stmt.body:
                if isinstance(s, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == name
                                                     for t in s.targets):
                    return True
    return False


def _is_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom))


def _is_future_or_doc(stmt: cst.BaseStatement, i: int) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    first = stmt.body[0]
    if i == 0 and isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
        return True
    return isinstance(first, cst.ImportFrom) and code_of(first.module or cst.Name("")) == "__future__"


def _add_imports(module: cst.Module, names: set[str]) -> cst.Module:
    """`import os` / `import torch` where not bound, placed where isort would put them (ruff's I001 stays quiet)."""
    bound = set().union(*(n for _, n in _top_imports(module)))
    for name in sorted(names - bound):
        body = list(module.body)
        at, blank = _import_slot(body, name)
        stmt = cst.parse_statement(f"import {name}\n")
        if at < len(body) and body[at].leading_lines and not blank:
            # Take over the blank lines (or comments) above the statement it goes before.
            stmt = stmt.with_changes(leading_lines=body[at].leading_lines)
            body[at] = body[at].with_changes(leading_lines=[])
        elif blank:
            stmt = stmt.with_changes(leading_lines=[cst.EmptyLine()])
        module = module.with_changes(body=[*body[:at], stmt, *body[at:]])
    return module


def _import_slot(body: list[cst.BaseStatement], name: str) -> tuple[int, bool]:
    """(index, needs a blank line before): sorted among the plain imports of its own section (stdlib or not)."""
    start = 0
    while start < len(body) and _is_future_or_doc(body[start], start):
        start += 1
    block = []
    i = start
    while i < len(body) and _is_import(body[i]):
        block.append((i, _module_of(body[i])))
        i += 1

    def stdlib(mod: str) -> bool:
        return mod.split(".")[0] in sys.stdlib_module_names

    section = [(j, m, isinstance(body[j].body[0], cst.Import)) for j, m in block if stdlib(m) == stdlib(name)]
    plain = [(j, m) for j, m, is_plain in section if is_plain]
    for j, m in plain:
        if m > name:
            return j, False
    if plain:
        return plain[-1][0] + 1, False
    if section:
        return section[0][0], False
    if not stdlib(name) and block and any(stdlib(m) for _, m in block):
        last_std = max(j for j, m in block if stdlib(m))
        return last_std + 1, True
    return start, False


def _module_of(stmt: cst.BaseStatement) -> str:
    node = stmt.body[0]
    if isinstance(node, cst.Import):
        return code_of(node.names[0].name)
    return code_of(node.module) if node.module is not None else ""


def _add_prologue(module: cst.Module, prologue: dict[str, str]) -> cst.Module:
    """Module constants (DEVICE = ...) after the leading imports, and after any later import they rely on."""
    statements = [cst.parse_statement(line + "\n").with_changes(leading_lines=[cst.EmptyLine()])
                  for name, line in sorted(prologue.items()) if not _defines(module, name)]
    if not statements:
        return module
    body = list(module.body)
    i = 0
    while i < len(body) and (_is_import(body[i]) or _is_future_or_doc(body[i], i)):
        i += 1
    for at, names in _top_imports(module):
        if names & {"torch", "os"}:
            i = max(i, at + 1)
    if i < len(body) and not body[i].leading_lines:
        body[i] = body[i].with_changes(leading_lines=[cst.EmptyLine()])
    return module.with_changes(body=body[:i] + statements + body[i:])

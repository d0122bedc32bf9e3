"""Apply fix rules to source text and files: diff by default, atomic writes with --write."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper

from ddoctor.fix.base import Edit, code_of
from ddoctor.fix.rules import DEVICE_NAME, RULES

DEVICE_LINE = 'DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")'
DEVICE_LINE_MPS = ('DEVICE = torch.device("cuda" if torch.cuda.is_available() else "mps" '
                   'if torch.backends.mps.is_available() else "cpu")')


@dataclass
class FileFix:
    path: str
    edits: list[Edit] = field(default_factory=list)
    applied: list[Edit] = field(default_factory=list)
    new_source: str | None = None
    diff: str = ""
    error: str | None = None

    @property
    def remaining(self) -> list[Edit]:
        return [e for e in self.edits if e not in self.applied]

    def to_dict(self) -> dict:
        return {"path": self.path, "edits": [e.to_dict() for e in self.edits],
                "applied": [e.to_dict() for e in self.applied], "error": self.error}


def select_rules(select: list[str] | None, ignore: list[str] | None):
    """Codes or prefixes (`DDF00` selects DDF001-DDF009), as ruff's --select/--ignore."""
    chosen = [r for r in RULES if not select or any(r.info.code.startswith(s.strip().upper()) for s in select)]
    return [r for r in chosen if not ignore or not any(r.info.code.startswith(s.strip().upper()) for s in ignore)]


def _has_import_torch(module: cst.Module) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for s in stmt.body:
                # `import torch.distributed` binds the name `torch` too
                if isinstance(s, cst.Import) and any(code_of(a.name).split(".")[0] == "torch" and a.asname is None
                                                     for a in s.names):
                    return True
    return False


def _has_device(module: cst.Module) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for s in stmt.body:
                if isinstance(s, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == DEVICE_NAME
                                                     for t in s.targets):
                    return True
    return False


def _insert_after_imports(module: cst.Module, statements: list[cst.BaseStatement], *, at_top: bool) -> cst.Module:
    body = list(module.body)
    i = 0
    # after the docstring and __future__ imports (at_top), or after every top-level import
    while i < len(body):
        stmt = body[i]
        is_doc = (i == 0 and isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Expr)
                  and isinstance(stmt.body[0].value, cst.SimpleString))
        is_future = isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.ImportFrom) \
            and code_of(stmt.body[0].module or cst.Name("")) == "__future__"
        is_import = isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom))
        if is_doc or is_future or (is_import and not at_top):
            i += 1
            continue
        break
    return module.with_changes(body=body[:i] + statements + body[i:])


def fix_source(source: str, *, rules, unsafe: bool, path: str = "<string>") -> FileFix:
    result = FileFix(path=path)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        result.error = f"cannot parse: {str(exc).splitlines()[0]}"
        return result
    uses_dist = "init_process_group" in source or "torch.distributed" in source
    need_torch = need_device = False
    original = MetadataWrapper(module)
    for rule in rules:
        found = rule()
        original.visit(found)  # edits are reported at the positions of the file as the user has it
        result.edits.extend(found.edits)
        if found.edits and (rule.info.safe or unsafe):
            t = rule()
            module = MetadataWrapper(module).visit(t)
            result.applied.extend(found.edits)
            need_torch |= t.needs_torch_import
            need_device |= t.needs_device_constant
    if need_device and not _has_device(module):
        line = DEVICE_LINE if uses_dist else DEVICE_LINE_MPS
        stmt = cst.parse_statement(line + "\n").with_changes(leading_lines=[cst.EmptyLine()])
        module = _insert_after_imports(module, [stmt], at_top=False)
    if need_torch and not _has_import_torch(module):
        module = _insert_after_imports(module, [cst.parse_statement("import torch\n")], at_top=True)
    new_source = module.code
    if new_source != source:
        try:
            cst.parse_module(new_source)
        except cst.ParserSyntaxError as exc:  # pragma: no cover - a rule bug must never corrupt a file
            result.error = f"internal error: the rewrite does not parse ({exc}); file left unchanged"
            return result
        result.new_source = new_source
        result.diff = "".join(difflib.unified_diff(source.splitlines(keepends=True),
                                                   new_source.splitlines(keepends=True),
                                                   fromfile=f"a/{path}", tofile=f"b/{path}"))
    result.edits.sort(key=lambda e: (e.line, e.col))
    return result


def atomic_write(path: Path, text: str) -> None:
    """Write beside the file and rename over it: a crash leaves the old or the new file, never half."""
    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".ddoctor-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def iter_python_files(paths: list[str]) -> list[Path]:
    out = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(q for q in path.rglob("*.py") if not any(part.startswith(".") or part in
                                                                    ("__pycache__", "site-packages", "node_modules")
                                                                    for part in q.parts))
        else:
            out.append(path)
    return out

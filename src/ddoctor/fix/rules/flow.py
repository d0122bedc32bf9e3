"""Where a value handed to a call comes from: literals reached through names, argparse defaults, config dicts.

`backend = "nccl"` then `init_process_group(backend=backend)`; `parser.add_argument("--backend",
default="nccl")` then `backend=args.backend`; `cfg = {"backend": "nccl"}` then `cfg["backend"]`.
The index is flow- and scope-insensitive on purpose: a literal that reaches the call by any path
in the file is the one to rewrite, and one rewritten needlessly still chooses the same value on a
host where the original worked.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ddoctor.fix.rules.base import dotted, str_value


@dataclass(frozen=True, slots=True)
class Origin:
    """A string literal that reaches a call. `string_only`: the value must stay a str (argparse, environment)."""

    literal: cst.SimpleString
    via: str
    string_only: bool = False


@dataclass(frozen=True, slots=True)
class _Feed:
    value: cst.BaseExpression
    via: str
    string_only: bool = False


def _argparse_dest(call: cst.Call) -> tuple[str, str] | None:
    """(dest, option as written) of an `add_argument` call, following argparse's own naming."""
    names = [v for a in call.args if a.keyword is None and (v := str_value(a.value)) is not None]
    for a in call.args:
        if a.keyword is not None and a.keyword.value == "dest" and (d := str_value(a.value)):
            return d, names[0] if names else d
    longs = [n for n in names if n.startswith("--")]
    if longs:
        return longs[0][2:].replace("-", "_"), longs[0]
    if names and not names[0].startswith("-"):
        return names[0], names[0]
    return None


class ValueIndex(cst.CSTVisitor):
    """Every place in a module that gives a name, an attribute or a config key its value."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, list[_Feed]] = {}
        self.attrs: dict[str, list[_Feed]] = {}
        self.keys: dict[str, list[_Feed]] = {}
        self.calls: list[cst.Call] = []  # every call, in source order, for the rules' own matching
        self._class_depth: list[bool] = []  # True while directly in a class body

    @classmethod
    def of(cls, module: cst.Module) -> ValueIndex:
        index = cls()
        module.visit(index)
        return index

    def _add(self, table: dict[str, list[_Feed]], key: str, feed: _Feed) -> None:
        table.setdefault(key, []).append(feed)

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._add(self.names, target.value, _Feed(value, f"the assignment to {target.value}"))
            if self._class_depth and self._class_depth[-1]:
                self._add(self.attrs, target.value, _Feed(value, f"the class attribute {target.value}"))
        elif isinstance(target, cst.Attribute):
            shown = dotted(target) or target.attr.value
            self._add(self.attrs, target.attr.value, _Feed(value, f"the assignment to {shown}"))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._class_depth.append(True)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._class_depth.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._class_depth.append(False)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._class_depth.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._target(t.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target, node.value)

    def visit_Param(self, node: cst.Param) -> None:
        if node.default is not None:
            self._add(self.names, node.name.value, _Feed(node.default, f"the default of parameter {node.name.value}"))

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = str_value(node.key)
        if key is not None:
            self._add(self.keys, key, _Feed(node.value, f"the config key {key!r}"))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        name = dotted(node.func) or ""
        if name.endswith("add_argument"):
            dest = _argparse_dest(node)
            default = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "default"),
                           None)
            if dest and default is not None:
                self._add(self.attrs, dest[0], _Feed(default, f"the argparse default of {dest[1]}", True))
            return
        table = self.keys if name == "dict" else self.attrs
        for a in node.args:
            if a.keyword is not None:  # Config(backend="nccl") read back as cfg.backend
                self._add(table, a.keyword.value, _Feed(a.value, f"the {a.keyword.value}= argument"))

    # -- resolution ------------------------------------------------------------------------------------
    def origins(self, expr: cst.BaseExpression, *, direct: str = "the argument") -> list[Origin]:
        """The string literals that can reach `expr`; `direct` labels a literal written in place."""
        out: list[Origin] = []
        self._resolve(expr, direct, False, out, set(), 0)
        return out

    def _feeds(self, feeds: list[_Feed], out: list[Origin], seen: set[int], depth: int) -> None:
        for f in feeds:
            self._resolve(f.value, f.via, f.string_only, out, seen, depth + 1)

    def _resolve(self, expr: cst.BaseExpression, via: str, string_only: bool, out: list[Origin], seen: set[int],
                 depth: int) -> None:
        if id(expr) in seen or depth > 6:
            return
        seen.add(id(expr))
        if isinstance(expr, cst.SimpleString):
            out.append(Origin(expr, via, string_only))
        elif isinstance(expr, cst.Name):
            self._feeds(self.names.get(expr.value, []), out, seen, depth)
        elif isinstance(expr, cst.Attribute):
            self._feeds(self.attrs.get(expr.attr.value, []), out, seen, depth)
        elif isinstance(expr, cst.Subscript) and len(expr.slice) == 1 \
                and isinstance(expr.slice[0].slice, cst.Index):
            key = str_value(expr.slice[0].slice.value)
            if key is not None:
                self._feeds(self.keys.get(key, []), out, seen, depth)
        elif isinstance(expr, cst.Call) and isinstance(expr.func, (cst.Attribute, cst.Name)):
            name = dotted(expr.func) or ""
            positional = [a.value for a in expr.args if a.keyword is None and not a.star]
            key = str_value(positional[0]) if positional else None
            default = positional[1] if len(positional) > 1 else None
            if name.endswith(("environ.get", "getenv")):
                if default is not None:
                    self._resolve(default, f"the default of the environment variable {key}", True, out, seen, depth + 1)
            elif name.endswith(".get") and key is not None:  # cfg.get("backend", "nccl")
                self._feeds(self.keys.get(key, []), out, seen, depth)
                if default is not None:
                    self._resolve(default, f"the default of .get({key!r})", string_only, out, seen, depth + 1)

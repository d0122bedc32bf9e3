"""Rule metadata and the edits a rule reports. Rules are libcst transformers over one module."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import PositionProvider


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    code: str
    line: int
    col: int
    message: str
    safe: bool

    def to_dict(self) -> dict:
        return {"code": self.code, "line": self.line, "col": self.col, "message": self.message,
                "applicability": "safe" if self.safe else "unsafe"}


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleInfo:
    code: str
    name: str
    summary: str
    safe: bool
    why: str
    unsafe_when: str
    before: str
    after: str
    fixes: tuple[str, ...] = ()  # signature names whose cause this rule removes

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "summary": self.summary,
                "applicability": "safe" if self.safe else "unsafe", "why": self.why, "unsafe_when": self.unsafe_when,
                "example": {"before": self.before, "after": self.after}, "fixes": list(self.fixes)}


class RuleTransformer(cst.CSTTransformer):
    """Base: records an Edit for every rewrite; `needs_torch_import` asks the engine to add `import torch`."""

    METADATA_DEPENDENCIES = (PositionProvider, cst.metadata.ParentNodeProvider)
    info: RuleInfo

    def __init__(self) -> None:
        super().__init__()
        self.edits: list[Edit] = []
        self.needs_torch_import = False
        self.needs_device_constant = False

    def record(self, node: cst.CSTNode, message: str) -> None:
        pos = self.get_metadata(PositionProvider, node)
        self.edits.append(Edit(code=self.info.code, line=pos.start.line, col=pos.start.column + 1, message=message,
                               safe=self.info.safe))


GUARD_WORDS = ("cuda.is_available", "accelerator.is_available", "device_count", "is_nccl_available",
               "backends.mps.is_available")


def dotted(node: cst.BaseExpression) -> str | None:
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

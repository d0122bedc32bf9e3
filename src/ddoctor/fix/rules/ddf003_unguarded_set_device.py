"""DDF003 unguarded-set-device: torch.cuda.set_device called where CUDA may not exist."""

from __future__ import annotations

import libcst as cst

from ddoctor.fix.rules.base import RuleTransformer, single_call_statement
from ddoctor.model.fix import Applicability, RuleInfo


class UnguardedSetDevice(RuleTransformer):
    info = RuleInfo(
        code="DDF003", name="unguarded-set-device", applicability=Applicability.SAFE,
        summary="torch.cuda.set_device(x) → only when CUDA is available",
        what="Finds a torch.cuda.set_device(...) statement that no torch.cuda.is_available()-style guard encloses.",
        why="On a CPU-only build torch.cuda.set_device raises \"module 'torch._C' has no attribute "
            "'_cuda_setDevice'\" (the error users hit after switching Meta's code to Gloo). Guarded, it still "
            "binds each rank to its GPU where GPUs exist.",
        fix_safety="Safe: nothing changes where CUDA is available. It only moves a crash later if the rest of "
                   "the file still requires CUDA (apply DDF002 too).",
        before="torch.cuda.set_device(local_rank)",
        after="if torch.cuda.is_available():\n    torch.cuda.set_device(local_rank)")
    triggers = ("set_device",)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine) -> cst.BaseStatement:
        if single_call_statement(updated, "cuda.set_device") is None or self.guarded:
            return updated
        if not self.flag(original, "torch.cuda.set_device without a CUDA guard"):
            return updated
        self.imports.add("torch")
        return cst.If(test=cst.parse_expression("torch.cuda.is_available()"),
                      body=cst.IndentedBlock(body=[updated.with_changes(leading_lines=[])]),
                      leading_lines=updated.leading_lines)

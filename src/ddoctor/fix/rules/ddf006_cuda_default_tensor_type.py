"""DDF006 cuda-default-tensor-type: torch.set_default_tensor_type(torch.cuda.HalfTensor) and kin."""

from __future__ import annotations

import libcst as cst

from ddoctor.fix.rules.base import RuleTransformer, dotted, single_call_statement
from ddoctor.model.fix import Applicability, RuleInfo

_DTYPES = {"HalfTensor": "float16", "BFloat16Tensor": "bfloat16", "FloatTensor": "float32", "DoubleTensor": "float64"}


class CudaDefaultTensorType(RuleTransformer):
    info = RuleInfo(
        code="DDF006", name="cuda-default-tensor-type", applicability=Applicability.UNSAFE,
        summary="torch.set_default_tensor_type(torch.cuda.HalfTensor) → set_default_dtype + set_default_device",
        what="Finds torch.set_default_tensor_type(torch.cuda.<Half|BFloat16|Float|Double>Tensor) statements.",
        why="torch.cuda.*Tensor types do not exist in CPU builds (\"type torch.cuda.HalfTensor not available. Torch "
            "not compiled with CUDA enabled.\") and set_default_tensor_type is deprecated since torch 2.1. The "
            "rewrite sets the dtype and device separately, keeping float16 on CUDA and using float32 on the CPU, "
            "where many float16 kernels are missing.",
        fix_safety="Unsafe: code after it may rely on the CPU default staying float32 while CUDA is used (the "
                   "original makes every new tensor a CUDA half tensor; so does the rewrite on CUDA hosts).",
        before="torch.set_default_tensor_type(torch.cuda.HalfTensor)",
        after='torch.set_default_dtype(torch.float16 if torch.cuda.is_available() else torch.float32)\n'
              'torch.set_default_device("cuda" if torch.cuda.is_available() else "cpu")')
    triggers = ("set_default_tensor_type",)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine) -> cst.BaseStatement | cst.FlattenSentinel:
        call = single_call_statement(updated, "set_default_tensor_type")
        if call is None or not call.args or self.guarded:
            return updated
        target = dotted(call.args[0].value) or ""
        parts = target.split(".")
        if len(parts) < 3 or parts[-2] != "cuda" or parts[-1] not in _DTYPES:
            return updated
        if not self.flag(original, f"{target} exists only in CUDA builds"):
            return updated
        dtype = _DTYPES[parts[-1]]
        cpu = "float32" if dtype == "float16" else dtype
        self.imports.add("torch")
        dtype_expr = (f"torch.{dtype} if torch.cuda.is_available() else torch.{cpu}" if cpu != dtype
                      else f"torch.{dtype}")
        first = cst.parse_statement(f"torch.set_default_dtype({dtype_expr})\n")
        second = cst.parse_statement('torch.set_default_device("cuda" if torch.cuda.is_available() else "cpu")\n')
        return cst.FlattenSentinel([first.with_changes(leading_lines=updated.leading_lines),
                                    second.with_changes(trailing_whitespace=updated.trailing_whitespace)])

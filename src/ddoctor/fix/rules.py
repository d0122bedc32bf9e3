"""The fix rules. Each is a libcst transformer with its documentation beside it (`ddoctor explain DDF001`).

Matching is syntactic: a call is recognised by the last parts of its dotted name (so `dist.` and
`torch.distributed.` aliases both match), and nothing inside an `if torch.cuda.is_available()`-style
guard (or a conditional expression on one) is touched, because that code already chose its device.
"""

from __future__ import annotations

import libcst as cst

from ddoctor.fix.base import GUARD_WORDS, RuleInfo, RuleTransformer, code_of, dotted

BACKEND_EXPR = '"nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo"'
DEVICE_NAME = "DEVICE"


class _Guarded(RuleTransformer):
    """Counts enclosing guards so rules can leave already-portable code alone."""

    def __init__(self) -> None:
        super().__init__()
        self._guards: list[bool] = []

    def _push(self, test: cst.BaseExpression) -> None:
        self._guards.append(any(w in code_of(test) for w in GUARD_WORDS))

    def visit_If(self, node: cst.If) -> None:
        self._push(node.test)

    def leave_If(self, original: cst.If, updated: cst.If):
        self._guards.pop()
        return updated

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._push(node.test)

    def leave_IfExp(self, original: cst.IfExp, updated: cst.IfExp):
        self._guards.pop()
        return updated

    @property
    def guarded(self) -> bool:
        return any(self._guards)


def _is_str(node: cst.BaseExpression | None, *values: str) -> bool:
    return isinstance(node, cst.SimpleString) and node.evaluated_value in values


def _arg(call: cst.Call, name: str, pos: int) -> cst.Arg | None:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[pos] if pos < len(positional) else None


class HardcodedNccl(_Guarded):
    info = RuleInfo(
        code="DDF001", name="hardcoded-nccl", safe=True, fixes=("nccl-unavailable",),
        summary="init_process_group(\"nccl\") → choose NCCL only where CUDA and NCCL exist, else Gloo",
        why="NCCL exists only in Linux CUDA builds with GPUs. Hard-coding it (Meta's Llama.build does) fails on "
            "macOS, Windows, CPU wheels and GPU-less machines with \"Distributed package doesn't have NCCL built "
            "in\". The rewrite keeps NCCL wherever it works and uses Gloo elsewhere. It never becomes the bare "
            "init_process_group() form, which from torch 2.6 creates only an NCCL backend on CUDA hosts and breaks "
            "CPU collectives.",
        unsafe_when="The script relies on NCCL-only features (pg_options, NCCL tuning) and should rather stop than "
                    "run on Gloo; the backend comes from configuration (then it is not a literal and is not touched).",
        before='dist.init_process_group("nccl")',
        after=f"dist.init_process_group({BACKEND_EXPR})")

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        name = dotted(updated.func) or ""
        if not name.endswith(("init_process_group", "new_group")) or self.guarded:
            return updated
        arg = _arg(updated, "backend", 0 if name.endswith("init_process_group") else 99)
        if arg is None or not _is_str(arg.value, "nccl"):
            return updated
        self.record(original, 'backend "nccl" is hard-coded; it fails wherever NCCL cannot run')
        self.needs_torch_import = True
        new_arg = arg.with_changes(value=cst.parse_expression(BACKEND_EXPR))
        return updated.with_changes(args=[new_arg if a is arg else a for a in updated.args])


class HardcodedCuda(_Guarded):
    info = RuleInfo(
        code="DDF002", name="hardcoded-cuda-device", safe=False, fixes=("cuda-unavailable-build", "no-gpu-visible"),
        summary='device="cuda", torch.device("cuda"), .to("cuda"), .cuda() → a DEVICE chosen at run time',
        why="A literal \"cuda\" fails on CPU-only builds (\"Torch not compiled with CUDA enabled\") and on machines "
            "without a GPU. The rewrite adds one module-level DEVICE (CUDA where available, else Apple MPS for "
            "single-process scripts, else CPU; scripts using torch.distributed skip MPS because Gloo cannot move "
            "MPS tensors) and uses it everywhere a device was hard-coded.",
        unsafe_when="Moving work from a GPU to the CPU changes speed and, for float16 code, whether kernels exist; "
                    "indexed devices (\"cuda:1\", .cuda(rank)) are deliberate and left alone.",
        before='x = torch.zeros(4, device="cuda")\ncache = torch.zeros(8).cuda()',
        after='DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n'
              "x = torch.zeros(4, device=DEVICE)\ncache = torch.zeros(8).to(DEVICE)")

    def _device(self, original) -> cst.Name:
        self.record(original, 'the device "cuda" is hard-coded')
        self.needs_torch_import = True
        self.needs_device_constant = True
        return cst.Name(DEVICE_NAME)

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        if self.guarded:
            return updated
        name = dotted(updated.func) or ""
        func = updated.func
        if name.endswith("torch.device") and len(updated.args) == 1 and _is_str(updated.args[0].value, "cuda"):
            return self._device(original)
        if isinstance(func, cst.Attribute) and func.attr.value == "cuda" and not updated.args \
                and not name.startswith("torch."):
            return updated.with_changes(func=func.with_changes(attr=cst.Name("to")),
                                        args=[cst.Arg(value=self._device(original))])
        changed = []
        hit = False
        for a in updated.args:
            is_to = isinstance(func, cst.Attribute) and func.attr.value == "to" and a is updated.args[0] \
                and a.keyword is None
            if ((a.keyword is not None and a.keyword.value == "device") or is_to) and _is_str(a.value, "cuda"):
                a = a.with_changes(value=self._device(original))
                hit = True
            changed.append(a)
        return updated.with_changes(args=changed) if hit else updated


class UnguardedSetDevice(_Guarded):
    info = RuleInfo(
        code="DDF003", name="unguarded-set-device", safe=True, fixes=("cuda-unavailable-build",),
        summary="torch.cuda.set_device(x) → only when CUDA is available",
        why="On a CPU-only build torch.cuda.set_device raises \"module 'torch._C' has no attribute "
            "'_cuda_setDevice'\" (the error users hit after switching Meta's code to Gloo). Guarded, it still "
            "binds each rank to its GPU where GPUs exist.",
        unsafe_when="Never changes behaviour where CUDA is available. It only moves a crash later if the rest of "
                    "the file still requires CUDA (apply DDF002 too).",
        before="torch.cuda.set_device(local_rank)",
        after="if torch.cuda.is_available():\n    torch.cuda.set_device(local_rank)")

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        if self.guarded or len(updated.body) != 1 or not isinstance(updated.body[0], cst.Expr):
            return updated
        call = updated.body[0].value
        if not isinstance(call, cst.Call) or not (dotted(call.func) or "").endswith("cuda.set_device"):
            return updated
        self.record(original, "torch.cuda.set_device without a CUDA guard")
        self.needs_torch_import = True
        return cst.If(test=cst.parse_expression("torch.cuda.is_available()"),
                      body=cst.IndentedBlock(body=[updated.with_changes(leading_lines=[])]),
                      leading_lines=updated.leading_lines)


class InputsNotOnModelDevice(RuleTransformer):
    info = RuleInfo(
        code="DDF004", name="inputs-not-on-model-device", safe=True, fixes=("device-mismatch",),
        summary="tokenizer(..., return_tensors=\"pt\") used by model.generate/forward → .to(model.device)",
        why="Tokenizers return CPU tensors; a model placed on CUDA (.to(\"cuda\"), device_map=\"auto\") then fails "
            "with \"Expected all tensors to be on the same device, but found at least two devices, cuda:0 and "
            "cpu!\". Moving the whole tokenizer output (input_ids and attention_mask) to model.device fixes it.",
        unsafe_when="The model is wrapped (DDP/FSDP expose .module.device), or inputs are placed deliberately "
                    "(pipeline stages); those are not rewritten because the receiver is then not the model.",
        before='inputs = tokenizer(prompt, return_tensors="pt")\nout = model.generate(**inputs)',
        after='inputs = tokenizer(prompt, return_tensors="pt").to(model.device)\nout = model.generate(**inputs)')

    def __init__(self) -> None:
        super().__init__()
        self.tensor_vars: dict[str, cst.CSTNode] = {}
        self.model_for: dict[str, str] = {}

    @staticmethod
    def _makes_tensors(value: cst.BaseExpression) -> bool:
        node = value.value if isinstance(value, cst.Attribute) else value  # tok(...).input_ids
        return isinstance(node, cst.Call) and any(a.keyword is not None and a.keyword.value == "return_tensors"
                                                  for a in node.args)

    @staticmethod
    def _already_moved(value: cst.BaseExpression) -> bool:
        return isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "to"

    def visit_Module(self, node: cst.Module) -> None:
        """First pass: which variables hold tokenizer tensors, and which model consumes each."""
        finder = self

        class Scan(cst.CSTVisitor):
            def visit_Assign(self, n: cst.Assign) -> None:
                if len(n.targets) == 1 and isinstance(n.targets[0].target, cst.Name) \
                        and finder._makes_tensors(n.value) and not finder._already_moved(n.value):
                    finder.tensor_vars[n.targets[0].target.value] = n

            def visit_Call(self, n: cst.Call) -> None:
                f = n.func
                is_model_call = isinstance(f, cst.Attribute) and f.attr.value in ("generate", "forward")
                receiver = f.value if is_model_call else (f if isinstance(f, cst.Name) else None)
                if receiver is None or not isinstance(receiver, (cst.Name, cst.Attribute)):
                    return
                model = dotted(receiver)
                if not model or model.startswith(("torch", "tokenizer", "tok")):
                    return
                for a in n.args:
                    if isinstance(a.value, cst.Name) and a.value.value in finder.tensor_vars:
                        finder.model_for.setdefault(a.value.value, model)

        node.visit(Scan())

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign):
        if len(original.targets) != 1 or not isinstance(original.targets[0].target, cst.Name):
            return updated
        var = original.targets[0].target.value
        model = self.model_for.get(var)
        if model is None or self.tensor_vars.get(var) is not original:
            return updated
        self.record(original, f"{var} stays on the CPU but {model} may be on a GPU")
        moved = cst.Call(func=cst.Attribute(value=updated.value, attr=cst.Name("to")),
                         args=[cst.Arg(value=cst.parse_expression(f"{model}.device"))])
        return updated.with_changes(value=moved)


class LoadWithoutMapLocation(_Guarded):
    info = RuleInfo(
        code="DDF005", name="load-without-map-location", safe=False, fixes=("cuda-unavailable-build", "cuda-oom"),
        summary='torch.load(path) → torch.load(path, map_location="cpu")',
        why="A checkpoint saved from GPU tensors restores onto the GPU it came from: on a CPU machine that raises "
            "\"Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False\", and on "
            "a multi-GPU node every rank piles its copy onto cuda:0. Loading to the CPU and moving afterwards (as "
            "Meta's loader does) works everywhere.",
        unsafe_when="Later code uses the loaded tensors directly and expects them on the GPU (not via "
                    "load_state_dict, which copies into the model's own parameters).",
        before="state = torch.load(path)",
        after='state = torch.load(path, map_location="cpu")')

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        if (dotted(updated.func) or "") not in ("torch.load",) or self.guarded:
            return updated
        if _arg(updated, "map_location", 1) is not None or any(a.star for a in updated.args):
            return updated
        self.record(original, "torch.load without map_location restores tensors to the device they were saved on")
        args = list(updated.args)
        new_arg = cst.Arg(keyword=cst.Name("map_location"), value=cst.SimpleString('"cpu"'),
                          equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                whitespace_after=cst.SimpleWhitespace("")))
        if args and isinstance(args[-1].comma, cst.Comma):
            # A trailing comma (often one argument per line): the new argument takes over the last one's
            # comma and layout; the last one gets the separator its predecessor used.
            sep = args[-2].comma if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else \
                cst.Comma(whitespace_after=updated.whitespace_before_args
                          if isinstance(updated.whitespace_before_args, cst.ParenthesizedWhitespace)
                          else cst.SimpleWhitespace(" "))
            new_arg = new_arg.with_changes(comma=args[-1].comma)
            args[-1] = args[-1].with_changes(comma=sep)
        elif args:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new_arg)
        return updated.with_changes(args=args)


_DTYPES = {"HalfTensor": "float16", "BFloat16Tensor": "bfloat16", "FloatTensor": "float32", "DoubleTensor": "float64"}


class CudaDefaultTensorType(_Guarded):
    info = RuleInfo(
        code="DDF006", name="cuda-default-tensor-type", safe=False, fixes=("cuda-unavailable-build",),
        summary="torch.set_default_tensor_type(torch.cuda.HalfTensor) → set_default_dtype + set_default_device",
        why="torch.cuda.*Tensor types do not exist in CPU builds (\"type torch.cuda.HalfTensor not available. Torch "
            "not compiled with CUDA enabled.\") and set_default_tensor_type is deprecated since torch 2.1. The "
            "rewrite sets the dtype and device separately, keeping float16 on CUDA and using float32 on the CPU, "
            "where many float16 kernels are missing.",
        unsafe_when="Code after it relies on the CPU default staying float32 while CUDA is used (the original makes "
                    "every new tensor a CUDA half tensor; so does the rewrite on CUDA hosts).",
        before="torch.set_default_tensor_type(torch.cuda.HalfTensor)",
        after='torch.set_default_dtype(torch.float16 if torch.cuda.is_available() else torch.float32)\n'
              'torch.set_default_device("cuda" if torch.cuda.is_available() else "cpu")')

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        if self.guarded or len(updated.body) != 1 or not isinstance(updated.body[0], cst.Expr):
            return updated
        call = updated.body[0].value
        if not isinstance(call, cst.Call) or not (dotted(call.func) or "").endswith("set_default_tensor_type") \
                or not call.args:
            return updated
        target = dotted(call.args[0].value) or ""
        parts = target.split(".")
        if len(parts) < 3 or parts[-2] != "cuda" or parts[-1] not in _DTYPES:
            return updated
        dtype = _DTYPES[parts[-1]]
        cpu = "float32" if dtype == "float16" else dtype
        self.record(original, f"{target} exists only in CUDA builds")
        self.needs_torch_import = True
        dtype_expr = (f"torch.{dtype} if torch.cuda.is_available() else torch.{cpu}" if cpu != dtype
                      else f"torch.{dtype}")
        first = cst.parse_statement(f"torch.set_default_dtype({dtype_expr})\n")
        second = cst.parse_statement('torch.set_default_device("cuda" if torch.cuda.is_available() else "cpu")\n')
        return cst.FlattenSentinel([first.with_changes(leading_lines=updated.leading_lines), second])


RULES: tuple[type[RuleTransformer], ...] = (HardcodedNccl, HardcodedCuda, UnguardedSetDevice, InputsNotOnModelDevice,
                                            LoadWithoutMapLocation, CudaDefaultTensorType)
RULE_INFO = {r.info.code: r.info for r in RULES}

"""DDF004 inputs-not-on-model-device: CPU tensors (tokenizer output, torch.tensor) fed to a model maybe on a GPU."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from ddoctor.fix.rules.base import RuleTransformer, dotted, method_name, str_value
from ddoctor.model.fix import Applicability, RuleInfo

# Receivers that are tokenizers/processors/pipelines, not models.
_NOT_A_MODEL = re.compile(r"(?i)(^|[._])tok|tokenizer|processor|extractor|pipe|^(torch|np|numpy)($|\.)")
_MODEL_NAME = re.compile(r"(?i)model|(^|_)lm($|_)|llm|net")
_TENSOR_FACTORIES = ("torch.tensor", "torch.as_tensor", "torch.LongTensor", "torch.IntTensor", "torch.Tensor",
                     "torch.from_numpy")
_WRAPPERS = ("DistributedDataParallel", "DDP", "FullyShardedDataParallel", "FSDP", "DataParallel")
_MAX_TRACE = 4


@dataclass(slots=True)
class _Scope:
    params: set[str] = field(default_factory=set)
    assigns: dict[str, list[tuple[int, cst.Assign]]] = field(default_factory=dict)
    touched: dict[str, list[int]] = field(default_factory=dict)  # V.to(...) statements and V[...] = stores


def _strip_access(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`tok(...).input_ids` / `tok(...)["input_ids"]` → `tok(...)`."""
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr


def _base_name(expr: cst.BaseExpression) -> str | None:
    """`inputs` for `inputs`, `inputs.input_ids`, `inputs["attention_mask"]`."""
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def _moved(expr: cst.BaseExpression) -> bool:
    """A `.to(...)`/`.cuda()` anywhere in the chain: the code placed these tensors itself."""
    while isinstance(expr, (cst.Attribute, cst.Subscript, cst.Call)):
        if isinstance(expr, cst.Call):
            if method_name(expr) in ("to", "cuda"):
                return True
            expr = expr.func
        else:
            expr = expr.value
    return False


def _producer(expr: cst.BaseExpression) -> bool:
    """Tokenizer output with return_tensors, or a tensor built on the CPU (torch.tensor(...) without device=)."""
    if _moved(expr):
        return False
    call = _strip_access(expr)
    if not isinstance(call, cst.Call):
        return False
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    if "return_tensors" in keywords:
        return str_value(keywords["return_tensors"]) in (None, "pt")
    return (dotted(call.func) or "") in _TENSOR_FACTORIES and "device" not in keywords


def _call_root(expr: cst.BaseExpression) -> cst.Call | None:
    """The first call of a chain: `X.from_pretrained(...)` in `X.from_pretrained(...).to("cuda").eval()`."""
    root = None
    while isinstance(expr, (cst.Call, cst.Attribute)):
        if isinstance(expr, cst.Call):
            root = expr
            expr = expr.func
        else:
            expr = expr.value
    return root


def _chain_places_on_gpu(expr: cst.BaseExpression) -> bool:
    while isinstance(expr, (cst.Call, cst.Attribute)):
        if isinstance(expr, cst.Call):
            if method_name(expr) == "cuda" or (method_name(expr) == "to" and _not_cpu(expr)):
                return True
            if any(a.keyword is not None and a.keyword.value == "device_map" and str_value(a.value) != "cpu"
                   for a in expr.args):
                return True
            expr = expr.func
        else:
            expr = expr.value
    return False


def _not_cpu(call: cst.Call) -> bool:
    return not (call.args and str_value(call.args[0].value) == "cpu")


class InputsNotOnModelDevice(RuleTransformer):
    info = RuleInfo(
        code="DDF004", name="inputs-not-on-model-device", applicability=Applicability.SAFE,
        summary='tokenizer(..., return_tensors="pt") or torch.tensor(...) fed to a GPU model → .to(model.device)',
        what="Finds CPU tensors reaching a model that may be on a GPU (from_pretrained(device_map=...), .to(...), "
             ".cuda(), or a model the file did not build): generate(**inputs), model(**inputs), "
             "generate(input_ids=ids), generate(input_ids=inputs.input_ids), generate(inputs[\"input_ids\"], "
             "attention_mask=...), generate(input_ids=torch.tensor(...)), batched tokenizer calls "
             "(padding=True), tokenizer.encode/apply_chat_template(..., return_tensors=\"pt\").",
        why="Tokenizers and torch.tensor return CPU tensors; a model placed on CUDA then fails with \"Expected all "
            "tensors to be on the same device, but found at least two devices, cuda:0 and cpu!\". The rewrite moves "
            "the tokenizer output where it is made (BatchEncoding.to moves input_ids and attention_mask together), "
            "or the tensor where it is passed, to model.device: with device_map=\"auto\" that is the device of the "
            "embeddings, where inputs belong.",
        fix_safety="Safe: where model and inputs already shared a device, .to(model.device) is a no-op. Models "
                   "wrapped by DDP/FSDP (they expose .module.device) and tensors the code already moves are left "
                   "alone; so is a model the file loads on the CPU.",
        before='inputs = tokenizer(prompts, padding=True, return_tensors="pt")\nout = model.generate(**inputs)',
        after='inputs = tokenizer(prompts, padding=True, return_tensors="pt").to(model.device)\n'
              "out = model.generate(**inputs)")
    triggers = ("return_tensors", "ensor(", "from_numpy")

    @classmethod
    def wanted(cls, source: str) -> bool:
        return ("generate" in source or "model" in source) and super().wanted(source)

    def visit_Module(self, node: cst.Module) -> None:
        """Which assignments and arguments carry CPU tensors into a model call, before any rewrite."""
        self._fix: dict[cst.CSTNode, tuple[str, str]] = {}  # node → (model, message)
        scan = _Scan()
        node.visit(scan)
        for call, at, model, scopes in scan.calls:
            if model in scan.wrapped or (model in scan.built and model not in scan.on_gpu):
                continue
            for a in call.args:
                self._consider(a.value, model, scopes, at)

    def _consider(self, expr: cst.BaseExpression, model: str, scopes: list[_Scope], line: int) -> None:
        """`line` is a position in source order (the scan's counter), not a line number."""
        if _producer(expr):
            self._fix.setdefault(expr, (model, f"{_shown(expr)} is a CPU tensor but {model} may be on a GPU"))
            return
        name = _base_name(expr)
        seen = 0
        while name is not None and seen < _MAX_TRACE:
            seen += 1
            found = _reaching(scopes, name, line)
            if found is None:
                return
            at, assign, scope = found
            if any(at < t < line for t in scope.touched.get(name, [])):
                return
            if _producer(assign.value):
                self._fix.setdefault(assign, (model, f"{name} stays on the CPU but {model} may be on a GPU"))
                return
            name, line = _base_name(assign.value), at  # ids = inputs["input_ids"]: follow `inputs`

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        target = self._fix.get(original)
        if target is None or not self.flag(original, target[1]):
            return updated
        return updated.with_changes(value=_to_device(updated.value, target[0]))

    # A producer passed straight to the model (`generate(input_ids=torch.tensor(...))`) is a call, or an
    # attribute or subscript of one (`tok(...).input_ids`).
    def _inline(self, original: cst.BaseExpression, updated: cst.BaseExpression) -> cst.BaseExpression:
        target = self._fix.get(original)
        if target is None or not self.flag(original, target[1]):
            return updated
        return _to_device(updated, target[0])

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        return self._inline(original, updated)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        return self._inline(original, updated)

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        return self._inline(original, updated)


def _to_device(value: cst.BaseExpression, model: str) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=value, attr=cst.Name("to")),
                    args=[cst.Arg(value=cst.parse_expression(f"{model}.device"))])


def _reaching(scopes: list[_Scope], name: str, line: int) -> tuple[int, cst.Assign, _Scope] | None:
    """The last assignment to `name` before `line` in the innermost scope that binds it (module code runs first).

    Positions are in source order; an assignment counts from its end, so `x = model(x)` is not its own source.
    """
    for depth, scope in enumerate(reversed(scopes)):
        inner = depth == 0
        if name in scope.params and not scope.assigns.get(name):
            return None
        candidates = [(at, a) for at, a in scope.assigns.get(name, []) if not inner or at < line]
        if candidates:
            at, assign = max(candidates, key=lambda c: c[0])
            return at, assign, scope
        if name in scope.params:
            return None
    return None


class _Scan(cst.CSTVisitor):
    """Models (where they are built, whether placed on a GPU), model calls and assignments, by scope."""

    def __init__(self) -> None:
        super().__init__()
        self.scopes: list[_Scope] = [_Scope()]
        self.order = 0  # position in source order: nodes are visited as they appear
        self.calls: list[tuple[cst.Call, int, str, list[_Scope]]] = []
        self.built: set[str] = set()  # models this file builds (from_pretrained, a model class)
        self.on_gpu: set[str] = set()
        self.wrapped: set[str] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.order += 1
        return super().on_visit(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params
        names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                names.add(star.name.value)
        self.scopes.append(_Scope(params=names))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def leave_Assign(self, original_node: cst.Assign) -> None:
        line = self.order
        for t in original_node.targets:
            target = t.target
            if isinstance(target, cst.Name):
                self.scopes[-1].assigns.setdefault(target.value, []).append((line, original_node))
            elif isinstance(target, cst.Subscript) and (base := _base_name(target)):
                self.scopes[-1].touched.setdefault(base, []).append(line)
            name = dotted(target)
            if name:
                self._model_assignment(name, original_node.value)

    def _model_assignment(self, name: str, value: cst.BaseExpression) -> None:
        root = _call_root(value)
        callee = dotted(root.func) if root is not None else None
        if callee is None:
            return
        last = callee.rsplit(".", 1)[-1]
        if last in _WRAPPERS:
            self.wrapped.add(name)
        elif (last == "from_pretrained" and not _NOT_A_MODEL.search(callee.rsplit(".", 1)[0])) \
                or (last[:1].isupper() and ("Model" in last or "For" in last)):
            self.built.add(name)
        if _chain_places_on_gpu(value):
            self.on_gpu.add(name)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        method = method_name(node)
        receiver = dotted(func.value) if isinstance(func, cst.Attribute) else None
        if method in ("to", "cuda") and receiver and (method == "cuda" or _not_cpu(node)):
            self.on_gpu.add(receiver)  # model.to(device) / model.cuda(): may be on a GPU from here
            self.scopes[-1].touched.setdefault(receiver, []).append(self.order)
        model = None
        if receiver and ((method == "generate" and not _NOT_A_MODEL.search(receiver))
                         or (method == "forward" and _looks_like_a_model(receiver))):
            model = receiver
        elif method is None and (callee := dotted(func)) and _looks_like_a_model(callee):
            model = callee  # model(**inputs)
        if model is not None:
            self.calls.append((node, self.order, model, list(self.scopes)))


def _looks_like_a_model(name: str) -> bool:
    return _MODEL_NAME.search(name.rsplit(".", 1)[-1]) is not None and not _NOT_A_MODEL.search(name)


def _shown(node: cst.CSTNode) -> str:
    text = cst.Module(body=[]).code_for_node(node)
    return text if len(text) <= 40 else text[:37] + "..."

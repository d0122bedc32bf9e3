"""DDF002 hardcoded-cuda-device: "cuda", "cuda:N", .cuda() and .cuda(N) written into the script."""

from __future__ import annotations

import re

import libcst as cst

from ddoctor.fix.rules.base import RuleTransformer, arg, dotted, method_name, str_value
from ddoctor.fix.rules.flow import ValueIndex
from ddoctor.model.fix import Applicability, RuleInfo

DEVICE_NAME = "DEVICE"
# One process: the best device there is, Apple MPS included. Ranks: the rank's own GPU (torchrun's
# LOCAL_RANK), else the CPU, never MPS: Gloo's collectives need CPU tensors.
DEVICE_LINE = ('DEVICE = torch.device("cuda" if torch.cuda.is_available() else "mps" '
               'if torch.backends.mps.is_available() else "cpu")')
RANK_DEVICE_LINE = ('DEVICE = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) '
                    'if torch.cuda.is_available() else torch.device("cpu")')
_CUDA = re.compile(r"cuda(?::(\d+))?")


def _cuda_index(value: str | None) -> tuple[bool, int | None]:
    """(is a CUDA device string, its index or None)."""
    m = _CUDA.fullmatch(value or "")
    return (m is not None, int(m.group(1)) if m and m.group(1) else None)


class HardcodedCuda(RuleTransformer):
    info = RuleInfo(
        code="DDF002", name="hardcoded-cuda-device", applicability=Applicability.UNSAFE,
        summary='"cuda", "cuda:0", torch.device("cuda"), .cuda(), .cuda(0) → a DEVICE chosen at run time',
        what='Finds CUDA devices written into the code: device="cuda" / "cuda:N", .to("cuda"), torch.device("cuda"), '
             'torch.device("cuda", N), .cuda() and .cuda(N), also through a variable, an argparse default '
             '(--device cuda), a config dict or an environment-variable default.',
        why="A literal \"cuda\" fails on CPU-only builds (\"Torch not compiled with CUDA enabled\") and on machines "
            "without a GPU. An explicit ordinal (\"cuda:0\", .cuda(0)) in a distributed script also puts every rank "
            "on GPU 0 (\"Duplicate GPU detected\", or all ranks crowding one GPU). The rewrite adds one module-level "
            "DEVICE and uses it wherever a device was written. In a script using torch.distributed it is the rank's "
            "own GPU, cuda:LOCAL_RANK, or the CPU where there is no CUDA (Gloo collectives need CPU tensors, so not "
            "MPS); in a single-process script it is CUDA, else Apple MPS, else the CPU.",
        fix_safety="Unsafe: moving work from a GPU to the CPU or MPS changes speed and, for float16 code, whether "
                   "kernels exist; a value that was a str becomes a torch.device (argparse and environment defaults "
                   "stay str via str(DEVICE)). In a single-process script an index other than 0 (\"cuda:1\", "
                   ".cuda(gpu)) is a deliberate placement: it is shown, never rewritten. Code under an "
                   "is_available() guard, device comparisons (x.device.type == \"cuda\") and autocast's "
                   "device_type are left alone.",
        before='dist.init_process_group(backend)\nx = torch.zeros(4, device="cuda:0")\ncache = torch.zeros(8).cuda()',
        after=f"{RANK_DEVICE_LINE}\n...\ndist.init_process_group(backend)\nx = torch.zeros(4, device=DEVICE)\n"
              "cache = torch.zeros(8).to(DEVICE)")

    triggers = ("cuda",)

    def visit_Module(self, node: cst.Module) -> None:
        """Find every CUDA literal that reaches a device parameter, before any rewrite."""
        index = self.shared("values", node, ValueIndex.of)
        self._targets: dict[cst.SimpleString, tuple[str, Applicability, bool]] = {}
        self._skip: set[cst.CSTNode] = set()
        for call in index.calls:
            name = dotted(call.func) or ""
            if name.endswith("init_process_group"):
                bound = arg(call, "device_id", None)
                if bound is not None:  # ties the group to a GPU: chosen together with the backend (DDF001)
                    self._skip.add(bound.value)
            sinks = [a.value for a in call.args if a.keyword is not None and a.keyword.value == "device"]
            positional = [a.value for a in call.args if a.keyword is None and not a.star]
            if method_name(call) == "to" and positional:
                sinks.append(positional[0])
            if name.endswith("torch.device") and positional and not isinstance(positional[0], cst.SimpleString):
                sinks.append(positional[0])
            for sink in sinks:
                for o in index.origins(sink):
                    self._target(o.literal, o.literal is sink, o.via, call, o.string_only)

    def _target(self, literal: cst.SimpleString, direct: bool, via: str, call: cst.Call, string_only: bool) -> None:
        value = str_value(literal)
        is_cuda, idx = _cuda_index(value)
        if not is_cuda or literal in self._targets:
            return
        where = "" if direct else f" ({via}, used at line {self.line_of(call)})"
        message, how = self._judge(f'the device "{value}" is hard-coded{where}', idx)
        self._targets[literal] = (message, how, string_only)

    def _judge(self, message: str, idx: int | str | None) -> tuple[str, Applicability]:
        """Plain CUDA and, in distributed scripts, any index become DEVICE; elsewhere only index 0 does."""
        if idx is None:
            return message, self.info.applicability
        if self.ctx.distributed:
            return f"{message}: every rank would use that GPU; each rank needs its own (LOCAL_RANK)", \
                self.info.applicability
        if idx == 0:
            return message, self.info.applicability
        shown = f"GPU {idx}" if isinstance(idx, int) else f"the index {idx}"
        return f"{message}: {shown} is a deliberate placement; choose it at run time by hand", \
            Applicability.DISPLAY_ONLY

    def _device(self) -> cst.Name:
        self.imports.add("torch")
        if self.ctx.distributed:
            self.imports.add("os")
        self.prologue[DEVICE_NAME] = RANK_DEVICE_LINE if self.ctx.distributed else DEVICE_LINE
        return cst.Name(DEVICE_NAME)

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        target = self._targets.get(original)
        if target is None or self.guarded:
            return updated
        message, how, string_only = target
        if not self.flag(original, message, how):
            return updated
        device = self._device()
        return cst.Call(func=cst.Name("str"), args=[cst.Arg(device)]) if string_only else device

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = dotted(updated.func) or ""
        is_device = name.endswith("torch.device")
        is_cuda = not is_device and method_name(updated) == "cuda" and not name.startswith("torch.")
        if not (is_device or is_cuda) or original in self._skip or self.guarded:  # the guard test costs most
            return updated
        return self._torch_device(original, updated) if is_device else self._dot_cuda(original, updated)

    def _torch_device(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        kind = arg(updated, "type", 0)
        value = str_value(kind.value) if kind is not None else None
        is_cuda, idx = _cuda_index(value)
        if not is_cuda:
            return updated
        extra = arg(updated, "index", 1)
        if extra is not None:
            if idx is not None or len(updated.args) != 2:
                return updated
            idx = int(extra.value.value) if isinstance(extra.value, cst.Integer) else _shown(extra.value)
        elif len(updated.args) != 1:
            return updated
        message, how = self._judge(f"the device {_shown(original)} is hard-coded", idx)
        return self._device() if self.flag(original, message, how) else updated

    def _dot_cuda(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        where = arg(updated, "device", 0)
        rest = [a for a in updated.args if a is not where]
        if any(a.keyword is None for a in rest):
            return updated
        idx: int | str | None = None
        if where is not None:
            idx = int(where.value.value) if isinstance(where.value, cst.Integer) else _shown(where.value)
        message, how = self._judge(f".cuda({_shown(where.value) if where else ''}) hard-codes a CUDA device", idx)
        if not self.flag(original, message, how):
            return updated
        func = updated.func
        assert isinstance(func, cst.Attribute)
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if rest else cst.MaybeSentinel.DEFAULT
        first = cst.Arg(value=self._device(), comma=comma)
        return updated.with_changes(func=func.with_changes(attr=cst.Name("to")), args=[first, *rest])


def _shown(node: cst.CSTNode) -> str:
    text = cst.Module(body=[]).code_for_node(node)
    return text if len(text) <= 40 else text[:37] + "..."

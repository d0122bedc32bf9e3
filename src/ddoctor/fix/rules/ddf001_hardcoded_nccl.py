"""DDF001 hardcoded-nccl: the "nccl" backend written into the script, wherever the value comes from."""

from __future__ import annotations

import libcst as cst

from ddoctor.fix.rules.base import RuleTransformer, arg, dotted, str_value
from ddoctor.fix.rules.flow import ValueIndex
from ddoctor.model.fix import Applicability, RuleInfo

BACKEND_EXPR = '"nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo"'
# Arguments that tie a process group to NCCL or to one CUDA device: the backend is then a person's choice.
_NCCL_BOUND = ("pg_options", "device_id")


class HardcodedNccl(RuleTransformer):
    info = RuleInfo(
        code="DDF001", name="hardcoded-nccl", applicability=Applicability.SAFE,
        summary='init_process_group("nccl") → NCCL only where CUDA and NCCL exist, else Gloo',
        what='Finds the backend "nccl" given to init_process_group/new_group: as an argument, or through a variable, '
             "a parameter default, an argparse default (--backend nccl), a config dict or class field, or an "
             "environment-variable default.",
        why="NCCL exists only in Linux CUDA builds with GPUs. Hard-coding it (Meta's Llama.build does) fails on "
            "macOS, Windows, CPU wheels and GPU-less machines with \"Distributed package doesn't have NCCL built "
            "in\". The rewrite keeps NCCL wherever it works and uses Gloo elsewhere (Gloo runs collectives on CPU "
            "tensors; DDF002 keeps distributed tensors off MPS for that reason). It never becomes the bare "
            "init_process_group() form, which from torch 2.6 creates only an NCCL backend on CUDA hosts and breaks "
            "CPU collectives.",
        fix_safety="Safe: on a host where NCCL worked the expression still chooses NCCL. Shown but not applied "
                   "(display-only) when the call also passes pg_options or device_id, which bind the group to "
                   "NCCL or to one GPU. A value given on the command line (--backend nccl) is not in the file and "
                   "stays the user's choice.",
        before='parser.add_argument("--backend", default="nccl")\n...\ndist.init_process_group(backend=args.backend)',
        after=f"parser.add_argument(\"--backend\", default={BACKEND_EXPR})\n...\n"
              "dist.init_process_group(backend=args.backend)")

    triggers = ("nccl", "NCCL")

    def visit_Module(self, node: cst.Module) -> None:
        """Find every "nccl" literal that reaches a backend parameter, before any rewrite."""
        index = self.shared("values", node, ValueIndex.of)
        self._targets: dict[cst.SimpleString, tuple[str, Applicability | None]] = {}
        for call in index.calls:
            name = dotted(call.func) or ""
            if name.endswith(("init_process_group", "new_group")):
                self._calls_backend(call, name.rsplit(".", 1)[-1], index)

    def _calls_backend(self, call: cst.Call, fn: str, index: ValueIndex) -> None:
        bound = next((a.keyword.value for a in call.args if a.keyword and a.keyword.value in _NCCL_BOUND), None)
        how = Applicability.DISPLAY_ONLY if bound else None
        sinks = []
        backend = arg(call, "backend", 0 if fn == "init_process_group" else None)
        if backend is not None:
            sinks.append(backend.value)
        # init_process_group(**kwargs): whatever the config gives as "backend"
        sinks += [cst.Subscript(value=a.value, slice=[cst.SubscriptElement(cst.Index(cst.SimpleString('"backend"')))])
                  for a in call.args if a.star == "**"]
        for sink in sinks:
            for o in index.origins(sink):
                if (str_value(o.literal) or "").lower() != "nccl" or o.literal in self._targets:
                    continue
                where = "" if o.literal is sink else f" ({o.via}, used by {fn} at line {self.line_of(call)})"
                why = (f"; {bound}= ties this group to NCCL, so choose the backend by hand" if bound
                       else "; it fails wherever NCCL cannot run")
                self._targets[o.literal] = (f'backend "nccl" is hard-coded{where}{why}', how)

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        target = self._targets.get(original)
        if target is None or self.guarded:
            return updated
        message, how = target
        if not self.flag(original, message, how):
            return updated
        self.imports.add("torch")
        return cst.parse_expression(BACKEND_EXPR)

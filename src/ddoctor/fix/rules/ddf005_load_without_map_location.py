"""DDF005 load-without-map-location: torch.load restoring tensors onto the GPU they were saved from."""

from __future__ import annotations

import libcst as cst

from ddoctor.fix.rules.base import RuleTransformer, arg, dotted
from ddoctor.model.fix import Applicability, RuleInfo


class LoadWithoutMapLocation(RuleTransformer):
    info = RuleInfo(
        code="DDF005", name="load-without-map-location", applicability=Applicability.UNSAFE,
        summary='torch.load(path) → torch.load(path, map_location="cpu")',
        what="Finds torch.load(...) calls without map_location (as a keyword or the second argument).",
        why="A checkpoint saved from GPU tensors restores onto the GPU it came from: on a CPU machine that raises "
            "\"Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False\", and on "
            "a multi-GPU node every rank piles its copy onto cuda:0. Loading to the CPU and moving afterwards (as "
            "Meta's loader does) works everywhere.",
        fix_safety="Unsafe: later code may use the loaded tensors directly and expect them on the GPU (not via "
                   "load_state_dict, which copies into the model's own parameters).",
        before="state = torch.load(path)",
        after='state = torch.load(path, map_location="cpu")')
    triggers = ("load",)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if dotted(updated.func) != "torch.load" or self.guarded:
            return updated
        if arg(updated, "map_location", 1) is not None or any(a.star for a in updated.args):
            return updated
        if not self.flag(original, "torch.load without map_location restores tensors to the device they were "
                                   "saved on"):
            return updated
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

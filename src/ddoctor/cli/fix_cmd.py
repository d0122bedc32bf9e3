"""`ddoctor fix`: show (or apply) the codemods that remove distributed/device failure causes."""

from __future__ import annotations

from ddoctor.cli.output import Output, error
from ddoctor.model.report import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE


def run_fix(*, paths: list[str], write: bool, unsafe: bool, select, ignore, fmt: str, show_diff: bool,
            no_color: bool, list_rules: bool) -> int:
    from ddoctor.fix.engine import atomic_write, fix_source, iter_python_files, select_rules
    from ddoctor.fix.rules import RULES
    from ddoctor.render import fix as r

    out = Output(no_color=no_color)
    if list_rules:
        out.write("\n".join(f"{x.info.code}  {x.info.name:30} {'safe  ' if x.info.safe else 'unsafe'}  "
                            f"{x.info.summary}" for x in RULES))
        return EXIT_OK
    if not paths:
        error("give files or directories to check (e.g. ddoctor fix train.py llama/)")
        return EXIT_USAGE
    missing = [p for p in paths if not __import__("os").path.exists(p)]
    if missing:
        error(f"{missing[0]}: no such file or directory")
        return EXIT_USAGE
    rules = select_rules(select, ignore)
    if not rules:
        error("--select/--ignore leave no rule; `ddoctor fix --list-rules` shows the codes")
        return EXIT_USAGE
    results = []
    for path in iter_python_files(paths):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            from ddoctor.fix.engine import FileFix

            results.append(FileFix(path=str(path), error=f"cannot read: {exc}"))
            continue
        res = fix_source(source, rules=rules, unsafe=unsafe, path=str(path))
        if write and res.new_source is not None and res.error is None:
            atomic_write(path, res.new_source)
        results.append(res)
    if fmt == "json":
        out.write(r.render_json(results, write=write))
    elif fmt == "github":
        from ddoctor.render.github import fix_annotations

        out.write(fix_annotations(results))
    else:
        out.render(lambda console: r.render_text(results, console, write=write, unsafe=unsafe, show_diff=show_diff))
    if any(x.error for x in results):
        return EXIT_USAGE
    left = sum(len(x.remaining) for x in results) if write else sum(len(x.edits) for x in results)
    return EXIT_PROBLEMS if left else EXIT_OK

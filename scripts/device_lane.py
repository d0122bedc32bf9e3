"""The GPU lane's helpers for scripts/device-check.sh and scripts/device-prepare.sh (docs/gpu-lane.md).

The standard library and packaging only (both machines have them): the GPU machine has no network, and
nothing beyond its image and the wheels carried to it.

  install --wheels DIR --site DIR [--report FILE]
      Install ddoctor's wheel and only those of its requirements this interpreter lacks (or has too old) from
      DIR into --site, for PYTHONPATH; the image's own packages are never touched.
  closure --wheels DIR --python-version X.Y --present NAME...
      Every requirement of every wheel in DIR is either in DIR or one of the packages named present.
  summary OUTDIR
      The figures of a device-check run, printed and written to OUTDIR/summary.json; exit 1 unless it passed.
"""

from __future__ import annotations

import argparse
import email.parser
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

SCHEMA = "ddoctor.device-check/1"
# Steps whose failure means the run proves nothing; the summary fails the run on them.
REQUIRED_STEPS = ("install", "verify", "pytest-gpu")
# Reports the run must leave, each a JSON document; smoke-hf.json only where --hf runs (not in a dry run).
REPORTS = ("check.json", "check-live.json", "smoke.json")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(z.read(name).decode())


def runtime_requirements(wheel: Path) -> list[str]:
    """Requires-Dist lines that are not for an extra (pip evaluates the other markers itself)."""
    reqs = wheel_metadata(wheel).get_all("Requires-Dist") or []
    return [r for r in reqs if not re.search(r";.*\bextra\b", r)]


def wheels_in(folder: Path) -> dict[str, Path]:
    """Distribution name -> wheel; a folder with two versions of one package is refused (pip would pick one)."""
    found: dict[str, Path] = {}
    for w in sorted(folder.glob("*.whl")):
        name = canonical(w.name.split("-")[0])
        if name in found:
            raise SystemExit(f"{folder} holds two wheels of {name}: {found[name].name} and {w.name}; keep one")
        found[name] = w
    return found


def pip_env() -> dict[str, str]:
    """Only the wheels given: no configured index, find-links or constraints of the machine it runs on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"})
    return env


def plan_install(by_name: dict[str, Path]) -> tuple[list[Path], list[str], list[str]]:
    """(wheels to install, requirements already met here, requirements nothing meets): ddoctor's wheel, then
    each requirement this interpreter lacks or has too old, taken from the folder, with its own requirements
    in turn. What is installed already is never re-checked beyond the requirement that names it."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.version import Version

    todo = {"ddoctor": by_name["ddoctor"]}
    queue, present, unmet = list(runtime_requirements(by_name["ddoctor"])), [], []
    while queue:
        req = Requirement(queue.pop(0))
        name = canonical(req.name)
        if name in todo or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if have is not None and req.specifier.contains(have, prereleases=True):
            present.append(f"{name} {have}")
            continue
        wheel = by_name.get(name)
        if wheel is None or not req.specifier.contains(Version(wheel.name.split("-")[1]), prereleases=True):
            unmet.append(f"{req} ({f'{have} is installed' if have else 'not installed'}; "
                         f"{'no wheel of it' if wheel is None else wheel.name + ' does not fit'} in the folder)")
            continue
        todo[name] = wheel
        queue += runtime_requirements(wheel)
    return list(todo.values()), sorted(set(present)), unmet


def install(wheels: Path, site: Path, report: Path | None) -> int:
    by_name = wheels_in(wheels)
    if "ddoctor" not in by_name:
        print(f"no ddoctor wheel in {wheels}: run scripts/device-prepare.sh", file=sys.stderr)
        return 2
    todo, present, unmet = plan_install(by_name)
    for line in unmet:
        print(f"install failed: {sys.executable} needs {line}; add it to scripts/device-prepare.sh", file=sys.stderr)
    if unmet:
        return 2
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
                        "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, todo)], env=pip_env())
    if r.returncode != 0:
        print(f"install failed: pip could not unpack {', '.join(w.name for w in todo)} into {site}", file=sys.stderr)
        return 2
    print(f"installed into {site}: {', '.join(w.name for w in todo)}")
    print(f"already present: {', '.join(present) or 'nothing'}")
    if report is not None:
        report.write_text(json.dumps({"python": sys.version.split()[0], "executable": sys.executable,
                                      "site": str(site), "installed": [w.name for w in todo], "present": present},
                                     indent=1))
    return 0


def closure(wheels: Path, python_version: str, present: list[str]) -> int:
    from packaging.requirements import Requirement

    env = {"python_version": python_version, "python_full_version": f"{python_version}.0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    have = set(wheels_in(wheels)) | {canonical(p) for p in present}
    lacking = []
    for name, wheel in wheels_in(wheels).items():
        for line in runtime_requirements(wheel):
            req = Requirement(line)
            if (req.marker is None or req.marker.evaluate(env)) and canonical(req.name) not in have:
                lacking.append(f"{name} needs {line}")
    for line in lacking:
        print(f"missing on the GPU machine: {line}", file=sys.stderr)
    return 1 if lacking else 0


# -- summary ------------------------------------------------------------------------------------------------
def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _steps(out: Path) -> list[dict]:
    steps = []
    for line in (out / "steps.tsv").read_text().splitlines() if (out / "steps.tsv").exists() else ():
        name, rc, seconds = line.split("\t")
        steps.append({"name": name, "exit": None if rc == "skipped" else int(rc), "seconds": int(seconds)})
    return steps


def _pytest(xml: Path) -> dict | None:
    try:
        root = ElementTree.parse(xml).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    cases = suite.findall("testcase")
    failed = [f"{c.get('classname')}::{c.get('name')}" for c in cases
              if c.find("failure") is not None or c.find("error") is not None]
    reasons: dict[str, int] = {}
    for c in cases:
        s = c.find("skipped")
        if s is not None:
            reason = s.get("message", "")
            reasons[reason] = reasons.get(reason, 0) + 1
    return {"tests": len(cases), "failed": failed, "skipped": sum(reasons.values()), "skip_reasons": reasons,
            "passed": len(cases) - len(failed) - sum(reasons.values())}


def _check(doc: dict | None) -> dict | None:
    if not doc:
        return None
    counts = dict(doc.get("summary") or {})
    return {"duration_s": counts.pop("duration_s", None), "counts": counts,
            "findings": {f["id"]: {"status": f["status"], "duration_s": f["duration_s"], "summary": f["summary"]}
                         for f in doc["findings"]}}


def _live(doc: dict | None) -> dict | None:
    if not doc:
        return None
    found = {f["id"]: f for f in doc["findings"]}
    bw = found.get("live.bandwidth") or {}
    return {"statuses": {k: v["status"] for k, v in found.items() if k.startswith("live.")},
            "collectives": (found.get("live.collectives") or {}).get("summary"),
            "placement": (found.get("live.placement") or {}).get("summary"),
            "peak_busbw_GBs": (bw.get("evidence") or {}).get("peak_busbw_GBs"), "table": bw.get("details", [])}


def _smoke(doc: dict | None) -> dict | None:
    if not doc:
        return None
    m = doc.get("metrics") or {}
    return {"ok": doc.get("ok"), "summary": doc.get("summary"), "config": doc.get("config"),
            "tokens_per_s": m.get("tokens_per_s"), "wall_s": m.get("wall_s"),
            "verification": doc.get("verification")}


def _failures(logs: Path) -> list[dict]:
    rows = []
    index = logs / "index.jsonl"
    for line in index.read_text().splitlines() if index.exists() else ():
        entry = json.loads(line)
        diag = _load(logs / entry["file"].replace(".log", ".diagnosis.json")) or {}
        names = [d["name"] for d in diag.get("diagnoses", [])]
        rows.append({"file": entry["file"], "expected": entry["cause"], "diagnosed": names[0] if names else "none",
                     "exit_status": entry["exit_status"]})
    return rows


def summary(out: Path, dry_run: bool) -> int:
    steps = {s["name"]: s for s in _steps(out)}
    reports = [*REPORTS, *(() if dry_run else ("smoke-hf.json",))]
    # The gpu tests leave the reports in gpu/; the script's own commands write them where the tests did not.
    docs = {name: _load(out / name) or _load(out / "gpu" / name) for name in reports}
    doc = {
        "schema": SCHEMA, "dry_run": dry_run, "steps": list(steps.values()),
        "install": _load(out / "install.json"), "pytest": _pytest(out / "pytest-gpu.xml"),
        "check": _check(docs.get("check.json")), "live": _live(docs.get("check-live.json")),
        "smoke": _smoke(docs.get("smoke.json")), "smoke_hf": _smoke(docs.get("smoke-hf.json")),
        "failures": _failures(out / "gpu" / "logs"),
    }
    problems = [f"step {n} did not pass" for n in REQUIRED_STEPS if (steps.get(n) or {}).get("exit") != 0]
    problems += [f"no {name}" for name, d in docs.items() if d is None]
    problems += [f"{r['file']}: diagnosed {r['diagnosed']}, expected {r['expected']}" for r in doc["failures"]
                 if r["diagnosed"] != r["expected"]]
    doc["problems"], doc["ok"] = problems, not problems
    (out / "summary.json").write_text(json.dumps(doc, indent=1))
    _print(doc)
    return 0 if doc["ok"] else 1


def _print(doc: dict) -> None:
    p = print
    p(f"== GPU lane summary ({'dry run, no GPU' if doc['dry_run'] else 'GPU run'})")
    for s in doc["steps"]:
        p(f"  step {s['name']:<16} exit {s['exit'] if s['exit'] is not None else 'not run':<8} {s['seconds']:>4} s")
    if doc["pytest"]:
        t = doc["pytest"]
        p(f"  gpu tests: {t['passed']} passed, {len(t['failed'])} failed, {t['skipped']} skipped "
          f"{t['skip_reasons'] or ''}")
        for name in t["failed"]:
            p(f"    FAILED {name}")
    if doc["check"]:
        c = doc["check"]
        p(f"  check -v: {c['duration_s']} s, {c['counts']}")
        for fid, f in c["findings"].items():
            p(f"    {fid:<16} {f['status']:<5} {f['duration_s']:>7.3f} s  {f['summary'][:90]}")
    if doc["live"]:
        lv = doc["live"]
        p(f"  check --live: {lv['statuses']}; peak busbw {lv['peak_busbw_GBs']} GB/s")
        p(f"    {lv['collectives']}")
        for row in lv["table"]:
            p(f"    {row}")
    for key in ("smoke", "smoke_hf"):
        if doc[key]:
            s = doc[key]
            p(f"  {key}: ok={s['ok']} ({s['summary']}); {s['tokens_per_s'] and round(s['tokens_per_s'], 1)} "
              f"tokens/s, {s['wall_s'] and round(s['wall_s'], 1)} s")
    for r in doc["failures"]:
        p(f"  diagnose {r['file']}: {r['diagnosed']} (expected {r['expected']}, program exit {r['exit_status']})")
    p(f"== {'PASS' if doc['ok'] else 'FAIL'}" + "".join(f"\n  - {x}" for x in doc["problems"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="device_lane.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("install")
    i.add_argument("--wheels", type=Path, required=True)
    i.add_argument("--site", type=Path, required=True)
    i.add_argument("--report", type=Path)
    c = sub.add_parser("closure")
    c.add_argument("--wheels", type=Path, required=True)
    c.add_argument("--python-version", required=True)
    c.add_argument("--present", nargs="*", default=[])
    s = sub.add_parser("summary")
    s.add_argument("out", type=Path)
    s.add_argument("--dry-run", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "install":
        return install(a.wheels, a.site, a.report)
    if a.cmd == "closure":
        return closure(a.wheels, a.python_version, a.present)
    return summary(a.out, a.dry_run)


if __name__ == "__main__":
    sys.exit(main())

"""The printed diff applies exactly: `git apply` (and `patch -p1`) on it give byte for byte what --write writes.

Every fixture pair and seed fixture goes into a scratch repository, as LF, CRLF and BOM files (one
fixture is tab-indented); one copy is patched from `ddoctor fix`'s output, another fixed with --write.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SOURCES = sorted((ROOT / "tests" / "fix" / "cases").glob("*/*.in.py")) + sorted((ROOT / "fixtures" / "fix").glob("*.py"))


def _variant(data: bytes, kind: str) -> bytes:
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    return data


def _tree(root: Path) -> Path:
    for kind in ("lf", "crlf", "bom"):
        for src in SOURCES:
            name = f"{src.parent.name}_{src.name.replace('.in.py', '.py')}"
            folder = root / kind / ("cases" if src.name.endswith(".in.py") else "seeds")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(_variant(src.read_bytes(), kind))
    return root


def _ddoctor(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "40"}  # a narrow console must not matter
    return subprocess.run([sys.executable, "-m", "ddoctor", "fix", *args], cwd=cwd, capture_output=True, env=env,
                          timeout=300)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


@pytest.mark.parametrize("mode", ["default", "diff", "patch", "safe-only"])
def test_applying_the_diff_equals_write(tmp_path, mode):
    """default: the whole output (issue lines and summary around the diff) piped to git apply, as users do."""
    patched = _tree(tmp_path / "patched")
    written = _tree(tmp_path / "written")
    subprocess.run(["git", "init", "-q"], cwd=patched, check=True, timeout=30)
    flags = [] if mode == "safe-only" else ["--unsafe-fixes"]
    shown = _ddoctor(patched, *flags, *(["--diff"] if mode in ("diff", "patch") else []), ".")
    assert shown.returncode == 1, shown.stderr
    tool = ["patch", "-p1", "--quiet", "--binary"] if mode == "patch" else ["git", "apply", "-"]
    applied = subprocess.run(tool, cwd=patched, input=shown.stdout, capture_output=True, timeout=60)
    assert applied.returncode == 0, applied.stderr
    wrote = _ddoctor(written, "--write", *flags, ".")
    assert wrote.returncode == 1, wrote.stdout  # display-only issues remain
    assert _files(patched) == _files(written)


def test_the_write_changed_every_kind_of_file(tmp_path):
    """The comparison above is not between two untouched trees: --write rewrote LF, CRLF and BOM files."""
    written = _tree(tmp_path / "written")
    original = _files(_tree(tmp_path / "original"))
    _ddoctor(written, "--write", "--unsafe-fixes", ".")
    changed = {name.split("/")[0] for name, data in _files(written).items() if data != original[name]}
    assert changed == {"lf", "crlf", "bom"}


def test_the_diff_names_paths_relative_to_the_working_directory(tmp_path):
    root = _tree(tmp_path / "t")
    shown = _ddoctor(root / "lf", "--diff", "cases/DDF003_basic.py")
    assert shown.stdout.startswith(b"--- a/cases/DDF003_basic.py\n+++ b/cases/DDF003_basic.py\n")

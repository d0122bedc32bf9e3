"""Docs generated from the data are fresh and build; the package builds and leaves an existing torch alone."""

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_generated_docs_are_fresh():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_docs_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "site" / "signatures" / "DD101-nccl-unavailable" / "index.html").exists()
    assert (tmp_path / "site" / "fixes" / "DDF001-hardcoded-nccl" / "index.html").exists()


def test_wheel_and_sdist_install_without_touching_torch(tmp_path):
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "--outdir", str(dist),
                        str(ROOT)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    wheel = next(dist.glob("ddoctor-*.whl"))
    assert next(dist.glob("ddoctor-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "ddoctor/kb/signatures/DD101_nccl-unavailable.toml" in names
    assert "ddoctor/smoke/rank.py" in names
    assert "ddoctor/data/torch_wheels.toml" in names  # the wheel advice table
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "torch==2.13.0"], check=True, timeout=600)

    def torch_state():
        out = subprocess.run([py, "-c", "import importlib.metadata as m; d=m.distribution('torch'); "
                              "print(d.version, d.locate_file(''))"], capture_output=True, text=True, timeout=60)
        return out.stdout.strip()

    before = torch_state()
    subprocess.run([py, "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=600)
    assert torch_state() == before
    r = subprocess.run([venv / "bin" / "ddoctor", "check", "-q"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ready"), r.stdout + r.stderr

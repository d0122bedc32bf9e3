"""The parsed-signature cache: used when it is the user's own and matches the files, else ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources

import pytest

from ddoctor.kb import cache, loader


def _files():
    return sorted(p for p in resources.files("ddoctor.kb").joinpath("signatures").iterdir()
                  if p.name.endswith(".toml"))


@pytest.fixture()
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "ddoctor"


def test_a_cached_parse_equals_a_fresh_one(cache_home):
    fresh = loader._read_shipped(_files())
    written = list(cache_home.glob("kb-*.json"))
    assert len(written) == 1
    again = loader._read_shipped(_files())
    assert again == fresh


def test_the_cache_is_read_not_the_files(cache_home):
    loader._read_shipped(_files())
    path = next(cache_home.glob("kb-*.json"))
    data = json.loads(path.read_text())
    data["files"][0]["title"] = "from the cache"
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)
    assert loader._read_shipped(_files())[0].title == "from the cache"


@pytest.mark.parametrize("mode", [0o620, 0o602])
def test_a_cache_others_can_write_is_ignored(cache_home, mode):
    loader._read_shipped(_files())
    path = next(cache_home.glob("kb-*.json"))
    data = json.loads(path.read_text())
    data["files"][0]["title"] = "planted"
    path.write_text(json.dumps(data))
    os.chmod(path, mode)
    assert loader._read_shipped(_files())[0].title != "planted"


def test_a_cache_under_another_key_is_ignored(cache_home):
    loader._read_shipped(_files())
    path = next(cache_home.glob("kb-*.json"))
    data = json.loads(path.read_text())
    data["key"] = "0" * 32
    data["files"][0]["title"] = "stale"
    path.write_text(json.dumps(data))
    assert loader._read_shipped(_files())[0].title != "stale"


def test_a_damaged_cache_is_parsed_afresh(cache_home):
    loader._read_shipped(_files())
    path = next(cache_home.glob("kb-*.json"))
    path.write_text('{"key": ')
    assert len(loader._read_shipped(_files())) == len(_files())


def test_the_key_follows_the_contents():
    a = cache.key("1.0", [("DD101.toml", "name = 'a'")])
    b = cache.key("1.0", [("DD101.toml", "name = 'b'")])
    c = cache.key("1.1", [("DD101.toml", "name = 'a'")])
    assert len({a, b, c}) == 3


def test_an_ascii_log_never_imports_the_mojibake_repair(tmp_path):
    log = tmp_path / "job.log"
    log.write_text("Traceback (most recent call last):\n  File \"t.py\", line 1, in <module>\n"
                   "RuntimeError: Distributed package doesn't have NCCL built in\n")
    code = ("import sys; from ddoctor.kb.engine import diagnose_text; "
            f"diagnose_text(open({str(log)!r}).read()); print('ftfy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr[-500:]

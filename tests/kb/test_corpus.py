"""Every shared corpus log and every fixture we generated diagnoses to its labelled cause."""

import json
from pathlib import Path

import pytest

from ddoctor.kb.engine import Session
from tests.conftest import ROOT, SHARED

CORPUS = SHARED / "corpus"
FIXTURES = ROOT / "fixtures" / "logs"


def _entries(folder: Path):
    index = folder / "index.jsonl"
    if not index.exists():
        return []
    return [json.loads(line) for line in index.read_text().splitlines() if line.strip()]


CASES = [pytest.param(CORPUS, e, id=e["file"], marks=pytest.mark.needs_shared) for e in _entries(CORPUS)] + [
    pytest.param(FIXTURES, e, id=e["file"]) for e in _entries(FIXTURES)]


def diagnose_file(path: Path, small: int):
    s = Session(small=small)
    with open(path, "rb") as f:
        s.add_stream(f, path.name)
    return s.result()


@pytest.mark.parametrize(("folder", "entry"), CASES)
@pytest.mark.parametrize("mode", ["paste", "windowed"])
def test_log_diagnoses_to_its_label(folder, entry, mode):
    # "windowed" forces the large-log path (literal prefilter + windows) on the same input.
    result = diagnose_file(folder / entry["file"], small=0 if mode == "windowed" else 8 << 20)
    names = [d.name for d in result.diagnoses]
    if entry["cause"] == "none":
        assert names == []
    else:
        assert names, names
        assert names[0] == entry["cause"], names


@pytest.mark.needs_shared
def test_the_corpus_is_really_there():
    assert len(_entries(CORPUS)) >= 40

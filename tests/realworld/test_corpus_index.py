"""The real-world corpus index checker and baseline summary: bad indexes are caught, the corpus passes."""

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

REALWORLD = Path(__file__).resolve().parents[2] / "fixtures" / "realworld"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"realworld_{name}", REALWORLD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_index = _load("check_index")
baseline = _load("baseline")


def _split(key):
    return "test" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100 < 35 else "tune"


def _entry(**over):
    entry = {
        "file": "t0001-cuda-oom.log", "cause": "cuda-oom", "source": "owner/repo#1",
        "url": "https://github.com/owner/repo/issues/1", "project": "owner/repo",
        "split": _split("owner/repo#1"), "classes": ["partial-paste"], "why": "OOM line.", "env": "",
    }
    entry.update(over)
    return entry


def _index(tmp_path, *entries, files=("t0001-cuda-oom.log",)):
    folder = tmp_path / "threads"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("torch.OutOfMemoryError: CUDA out of memory.\n")
    path = folder / "index.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


def test_thread_corpus_index_is_valid(capsys):
    assert check_index.main([str(REALWORLD / "threads" / "index.jsonl")]) == 0


def test_valid_entry_passes(tmp_path, capsys):
    assert check_index.main([str(_index(tmp_path, _entry()))]) == 0


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"split": "wrong"}, "disagrees with the hash rule"),
        ({"cause": "not-a-cause", "file": "t0001-not-a-cause.log"}, "unknown cause"),
        ({"file": "t0002-cuda-oom.log"}, "file does not exist"),
        ({"source": "repo-without-owner"}, "is not owner/repo#N"),
        ({"classes": ["sideways"]}, "unknown class"),
        ({"cause": "none", "file": "t0001-none.log"}, "class 'clean'"),
    ],
)
def test_bad_entry_is_reported(tmp_path, capsys, change, problem):
    files = ("t0001-cuda-oom.log", "t0001-not-a-cause.log", "t0001-none.log")  # t0002 is never written
    assert check_index.main([str(_index(tmp_path, _entry(**change), files=files))]) == 1
    assert problem in capsys.readouterr().out


def test_missing_field_is_reported(tmp_path, capsys):
    entry = _entry()
    del entry["why"]
    check_index.main([str(_index(tmp_path, entry))])
    assert "missing field 'why'" in capsys.readouterr().out


def test_duplicate_file_is_reported(tmp_path, capsys):
    check_index.main([str(_index(tmp_path, _entry(), _entry()))])
    assert "duplicate file" in capsys.readouterr().out


def test_new_label_is_accepted(tmp_path, capsys):
    entry = _entry(cause="NEW:stale-init-file", file="t0001-stale-init-file.log")
    assert check_index.main([str(_index(tmp_path, entry, files=("t0001-stale-init-file.log",)))]) == 0


def test_generated_split_follows_the_scenario(tmp_path, capsys):
    folder = tmp_path / "generated"
    folder.mkdir()
    (folder / "g0001-cuda-oom.log").write_text("x\n")
    entry = {
        "file": "g0001-cuda-oom.log", "cause": "cuda-oom", "source": "generated:oom-1", "project": "generated",
        "split": _split("oom-1"), "classes": [], "why": "by construction", "command": "python x.py",
        "torch": "2.13.0+cpu", "exit_status": 1,
    }
    (folder / "index.jsonl").write_text(json.dumps(entry) + "\n")
    assert check_index.main([str(folder / "index.jsonl")]) == 0


def test_unreadable_index_exits_2(tmp_path, capsys):
    folder = tmp_path / "threads"
    folder.mkdir()
    (folder / "index.jsonl").write_text("{not json\n")
    assert check_index.main([str(folder / "index.jsonl")]) == 2


def test_baseline_summary_counts_misses_both_ways():
    rows = [
        {"cause": "cuda-oom", "got": "cuda-oom"},
        {"cause": "cuda-oom", "got": "none"},
        {"cause": "none", "got": "segfault"},
        {"cause": "none", "got": "none"},
    ]
    assert baseline.summarise(rows) == {
        "logs": 4, "top1": 2, "failing_reported_clean": 1, "failing": 2, "clean_reported_failed": 1, "clean": 2,
    }

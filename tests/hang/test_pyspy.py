"""py-spy's JSON -> thread stacks; finding py-spy and sorting its failures into reasons."""

import json
import os
import stat
from pathlib import Path

import pytest

from ddoctor.host import pyspy
from ddoctor.parse.pyspy import PySpyFormatError, native_name, parse_dump

DATA = Path(__file__).parent / "data"


def test_a_real_dump_gives_the_main_thread_innermost_first():
    threads = parse_dump((DATA / "waiting.json").read_text())[4242]
    assert [f.function for f in threads[0].frames] == ["all_reduce", "_exception_logger.<locals>.wrapper",
                                                       "main", "<module>"]


def test_line_numbers_are_kept():
    threads = parse_dump((DATA / "behind.json").read_text())[4243]
    assert threads[0].frames[0].lineno == 23


def test_native_frames_inside_the_innermost_python_frame_are_kept_readable():
    threads = parse_dump((DATA / "waiting_native.json").read_text())[4242]
    assert threads[0].native == ("pthread_cond_wait", "c10d::Work::wait")


def test_native_frames_do_not_become_python_frames():
    threads = parse_dump((DATA / "waiting_native.json").read_text())[4242]
    assert [f.function for f in threads[0].frames][:1] == ["all_reduce"]


@pytest.mark.parametrize("name,want", [("c10d::ProcessGroupGloo::AsyncWork::wait(std::chrono::duration<long>)",
                                        "c10d::ProcessGroupGloo::AsyncWork::wait"),
                                       ("pybind11::cpp_function::dispatcher", None), ("0x7f00", None),
                                       ("_PyEval_EvalFrameDefault", None)])
def test_native_names(name, want):
    assert native_name(name) == want


@pytest.mark.parametrize("text", ["Error: Failed to find python version", "{}", "not json"])
def test_other_output_is_a_format_error(text):
    with pytest.raises(PySpyFormatError):
        parse_dump(text)


def test_hostile_fields_are_ignored():
    doc = [{"pid": "x"}, {"pid": 1, "frames": [{"name": 5, "filename": None, "line": True}, "junk"]}, 7]
    threads = parse_dump(json.dumps(doc))[1]
    assert threads[0].frames[0].lineno is None


def test_an_empty_setting_turns_py_spy_off():
    assert pyspy.find({pyspy.ENV: ""}) is None


def test_the_reason_names_the_setting():
    assert pyspy.missing_reason({pyspy.ENV: "/no/py-spy"}) == "DDOCTOR_PYSPY=/no/py-spy is not an executable"


def _script(tmp_path, body):
    p = tmp_path / "fake-py-spy"
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return str(p)


def test_a_refused_attach_is_said_with_the_way_out(tmp_path):
    exe = _script(tmp_path, "echo 'Error: Permission denied (os error 1)' >&2; exit 1")
    d = pyspy.dump(exe, os.getpid(), native=False, timeout=5)
    assert d.refused


def test_a_py_spy_that_never_answers_is_cut_off(tmp_path):
    exe = _script(tmp_path, "sleep 30")
    d = pyspy.dump(exe, os.getpid(), native=False, timeout=0.5)
    assert d.error.startswith("py-spy did not answer within")


def test_an_unknown_failure_keeps_py_spys_words(tmp_path):
    exe = _script(tmp_path, "echo 'Error: something odd' >&2; exit 3")
    assert pyspy.dump(exe, os.getpid(), native=False, timeout=5).error == "py-spy failed: Error: something odd"

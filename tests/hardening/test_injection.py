"""A hostile log or dump cannot drive the terminal, plant live Markdown, or break the XML of a CI report."""

import json
import re
from xml.etree import ElementTree as ET

import pytest

pytestmark = pytest.mark.slow

# ESC c resets the terminal, OSC 0 sets the title, OSC 8 makes a hyperlink, U+009B is a one-byte CSI, BEL
# rings. (A lone CR is a progress redraw to the parser, which keeps what follows it; render/safe.py shows
# any CR that reaches output, tested in tests/render/test_safe.py.)
CONTROLS = "\x1bc\x1b]0;pwned\x07\x1b]8;;http://evil.test\x1b\\link\x1b]8;;\x1b\\\x9b2J\x07\x00"
MARKDOWN = "[click me](http://evil.test/x) ![pixel](http://evil.test/p.png) <img src=x onerror=alert(1)> ```"
LOG = f"""Traceback (most recent call last):
  File "/job/train.py", line 9, in <module>
KeyError: 'rank {CONTROLS} {MARKDOWN}'
"""
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def raw_controls(text: str) -> list[str]:
    return RAW_CONTROL.findall(text)


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "json"])
def test_log_controls_never_reach_the_output(run_cli, fmt):
    r = run_cli("diagnose", "--no-host", "--format", fmt, input=LOG)
    assert r.returncode == 1
    assert raw_controls(r.stdout) == []


def test_markdown_from_a_log_is_not_live(run_cli):
    md = run_cli("diagnose", "--no-host", "--format", "markdown", input=LOG).stdout
    prose = re.sub(r"(`+)[^`]*?\1", "", re.sub(r"(?ms)^(`{3,})\w*\n.*?^\1$", "", md))  # outside code
    assert re.findall(r"(?<!\\)\[[^\]]*\]\(|<img", prose) == []


def test_the_evidence_fence_is_not_closed_by_the_log(run_cli):
    md = run_cli("diagnose", "--no-host", "--format", "markdown", input=LOG).stdout
    assert "````text" in md  # one backtick longer than the ``` inside the log line


def test_junit_with_controls_in_values_is_valid_xml(run_cli):
    r = run_cli("check", "net.interfaces", "env.hygiene", "--format", "junit",
                env={"NCCL_SOCKET_IFNAME": "eth9\x1b[31m\x01", "CUDA_PROFILE": "1\x1b]0;x\x07"})
    suite = ET.fromstring(r.stdout.split("?>", 1)[1])
    assert suite.find("testsuite") is not None


def test_check_text_with_controls_in_values(run_cli):
    r = run_cli("check", "net.interfaces", "env.hygiene", "-v", env={"NCCL_SOCKET_IFNAME": "eth9\x1bc"})
    assert raw_controls(r.stdout) == []


def test_check_text_shows_the_controls_as_escapes(run_cli):
    r = run_cli("check", "net.interfaces", "-v", env={"NCCL_SOCKET_IFNAME": "eth9\x1bc"})
    assert "eth9\\x1bc" in r.stdout


def test_flight_recorder_text_shows_controls_as_escapes(run_cli, tmp_path):
    def dump(name):
        return {"pg_status": {"0": {"last_completed_collective": 0}},
                "entries": [{"collective_seq_id": 1, "process_group": ["0", "default"], "profiling_name": name,
                             "input_sizes": [[4]], "input_dtypes": ["Float"]}]}

    (tmp_path / "trace_rank_0").write_text(json.dumps(dump("gloo:all_reduce\x1bc")))
    (tmp_path / "trace_rank_1").write_text(json.dumps(dump("gloo:broadcast\x9b2J")))
    r = run_cli("diagnose", "--fr", str(tmp_path))
    assert r.returncode == 1
    assert raw_controls(r.stdout) == []
    assert "gloo:all_reduce\\x1bc" in r.stdout

"""The terminal layer: width, colour and encoding per stream; scrubbing and escaping on the way out."""

import io
import json
import os

import pytest

from ddoctor.cli.output import Output, detect_style, encodable
from ddoctor.render.catalog import Format
from tests.render.samples import DIAGNOSIS


class Stream(io.StringIO):
    def __init__(self, *, tty=False, encoding="utf-8"):
        super().__init__()
        self._tty, self._encoding = tty, encoding

    def isatty(self):
        return self._tty

    def fileno(self):
        raise OSError("not a real terminal")

    @property
    def encoding(self):
        return self._encoding


def test_width_is_100_into_a_file():
    assert detect_style(Stream(), {}).width == 100


def test_columns_sets_the_width_into_a_file():
    assert detect_style(Stream(), {"COLUMNS": "60"}).width == 60


def test_columns_sets_the_width_on_a_terminal():
    assert detect_style(Stream(tty=True), {"COLUMNS": "80"}).width == 80


def test_a_nonsense_columns_is_ignored():
    assert detect_style(Stream(), {"COLUMNS": "wide"}).width == 100


def _pty(columns: int):
    """A real terminal of `columns` columns: (the file its program writes to, the other end)."""
    import fcntl
    import struct
    import termios

    main, sub = os.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return open(sub, "w", encoding="utf-8"), main


def test_a_pipe_takes_the_width_of_the_terminal_stderr_is_on():
    """`ddoctor diagnose job.log | less` in an 80-column window is laid out for 80 columns, not 100."""
    err, main = _pty(80)
    try:
        assert detect_style(Stream(), {}, terminal=err).width == 80
        assert detect_style(Stream(), {"COLUMNS": "120"}, terminal=err).width == 120  # COLUMNS still wins
        assert detect_style(Stream(), {}, terminal=Stream()).width == 100  # both redirected (CI): 100
        assert detect_style(Stream(), {}, terminal=err).color is False  # a pipe gets no colour all the same
    finally:
        err.close()
        os.close(main)


def test_no_colour_into_a_file():
    assert detect_style(Stream(), {}).color is False


def test_colour_on_a_terminal():
    assert detect_style(Stream(tty=True), {"TERM": "xterm"}).color is True


def test_empty_no_color_does_not_disable_colour():
    assert detect_style(Stream(tty=True), {"NO_COLOR": "", "TERM": "xterm"}).color is True


def test_no_color_disables_colour():
    assert detect_style(Stream(tty=True), {"NO_COLOR": "1", "TERM": "xterm"}).color is False


def test_no_color_option_disables_colour():
    assert detect_style(Stream(tty=True), {"TERM": "xterm"}, no_color=True).color is False


def test_force_color_colours_a_log_file():
    assert detect_style(Stream(), {"FORCE_COLOR": "1"}).color is True


def test_force_color_zero_does_not_force():
    assert detect_style(Stream(), {"FORCE_COLOR": "0"}).color is False


def test_an_ascii_stream_is_detected():
    assert detect_style(Stream(encoding="ascii"), {}).ascii is True


def test_a_utf8_stream_is_not_ascii():
    assert detect_style(Stream(), {}).ascii is False


@pytest.mark.parametrize("fmt", [Format.TEXT, Format.MARKDOWN, Format.GITHUB])
def test_text_formats_become_ascii(fmt):
    assert encodable("✓ é — done", Stream(encoding="ascii"), fmt) == "+ \\xe9 -- done"


def test_json_stays_valid_json_on_an_ascii_stream():
    assert json.loads(encodable('{"v": "é ✓"}', Stream(encoding="ascii"), Format.JSON)) == {"v": "é ✓"}


def test_junit_gets_character_references_on_an_ascii_stream():
    assert encodable("<a>é</a>", Stream(encoding="ascii"), Format.JUNIT) == "<a>&#233;</a>"


def output(**kw):
    return Output(environ=kw.pop("environ", {}), stdout=Stream(**kw), stderr=Stream())


def test_emit_writes_the_rendered_document_to_stdout():
    out = output()
    out.emit("diagnosis", "json", DIAGNOSIS)
    assert json.loads(out.stdout.getvalue())["diagnoses"][0]["code"] == "DD101"


def test_emit_to_stderr_leaves_stdout_empty():
    out = output()
    out.emit("diagnosis", "text", DIAGNOSIS, to_stderr=True)
    assert out.stdout.getvalue() == ""


def test_every_value_is_scrubbed_of_the_environments_secrets():
    out = output(environ={"MY_SECRET": "plain-looking-value"})
    out.write("the value plain-looking-value must go")
    assert "plain-looking-value" not in out.stdout.getvalue()


def test_a_report_file_is_utf8_without_colour(tmp_path):
    out = output(tty=True)
    out.report(tmp_path / "r.txt", "diagnosis", "text", DIAGNOSIS)
    assert "\x1b[" not in (tmp_path / "r.txt").read_text(encoding="utf-8")

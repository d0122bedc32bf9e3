"""Data from logs made inert: terminal controls, Markdown links and HTML, XML-invalid characters."""

import json
import re
from xml.etree import ElementTree as ET

import pytest

from ddoctor.render.jsonout import ascii_json, envelope
from ddoctor.render.safe import asciify, md_code, md_fact, md_fence, md_text, visible, xml_text


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1bc", "\\x1bc"),                      # ESC c resets the terminal
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC sets the window title
    ("\x9b31m", "\\x9b31m"),                  # C1 CSI
    ("ok\rHIDDEN", "ok\\rHIDDEN"),            # a carriage return overwrites what came before
    ("\x00\x7f", "\\x00\\x7f"),
])
def test_controls_become_visible_escapes(raw, shown):
    assert visible(raw) == shown


def test_layout_characters_are_kept():
    assert visible("a\tb\nc\r\nd") == "a\tb\nc\r\nd"


def test_no_control_character_survives():
    every = "".join(map(chr, range(0xA0)))
    left = {c for c in visible(every) if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0}
    assert left == {"\t", "\n"}


def test_markdown_links_and_images_are_inert():
    text = md_text("see [click](http://evil.test/x) and ![i](http://evil.test/i.png)")
    assert re.search(r"(?<!\\)\[", text) is None


def test_markdown_bare_urls_become_code():
    assert md_text("go to www.evil.test now") == "go to `www.evil.test` now"


def test_markdown_html_is_escaped():
    assert md_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"


def test_markdown_code_spans_are_kept():
    assert md_text("call `init_process_group(\"nccl\")` now") == "call `init_process_group(\"nccl\")` now"


def test_markdown_cell_escapes_pipes_even_in_code():
    assert md_text("a|b `c|d`", cell=True) == "a\\|b `c\\|d`"


def test_markdown_fence_outlasts_backticks_in_the_body():
    lines = md_fence("x\n````\ny", "text")
    assert (lines[0], lines[-1]) == ("`````text", "`````")


def test_markdown_code_span_holds_backticks():
    assert md_code("a`b") == "``a`b``"


def test_xml_text_is_valid_xml():
    value = xml_text("bad \x00\x1b[31m \ufffe chars \x9b")
    ET.fromstring(f"<a b='{value}'>{value}</a>")  # raises on an invalid character


def test_xml_text_shows_c1_controls():
    assert xml_text("\x9b") == "\\x9b"


def test_json_escapes_c1_and_del():
    assert "\x9b" not in envelope("t", {"v": "\x9b\x7f"})


def test_json_keeps_the_value():
    assert json.loads(envelope("t", {"v": "\x9b\x7f é"}))["v"] == "\x9b\x7f é"


def test_ascii_json_is_ascii_and_equal():
    doc = envelope("t", {"v": "é ✓ 𝄞"})
    assert (ascii_json(doc).isascii(), json.loads(ascii_json(doc))) == (True, json.loads(doc))


def test_asciify_spells_symbols():
    assert asciify("a — b … ✓ → ×") == "a -- b ... + -> x"


def test_facts_keep_their_spelling_but_render_nothing_live():
    assert md_fact("[pip] numpy") == "[pip] numpy"
    assert md_fact("see [x](http://e.vil) <img src=x> a|b") == "see [x]\\(`http://e.vil)` &lt;img src=x> a\\|b"

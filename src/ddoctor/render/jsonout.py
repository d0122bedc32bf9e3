"""The one JSON writer: every document carries its schema and the ddoctor version."""

from __future__ import annotations

import json
import re

from ddoctor import __version__

# json.dumps escapes C0 controls but writes DEL and C1 (U+009B is a one-character CSI) raw.
_RAW_CONTROLS_RE = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def envelope(kind: str, body: dict) -> str:
    doc = {"schema": f"ddoctor.{kind}/1", "ddoctor_version": __version__, **body}
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    return _RAW_CONTROLS_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def ascii_json(text: str) -> str:
    """The same JSON document in pure ASCII (for a stream that cannot encode more): outside strings JSON
    is ASCII already, so every other character can only be inside one and becomes a \\u escape."""
    def esc(m: re.Match) -> str:
        c = ord(m.group(0))
        if c > 0xFFFF:
            c -= 0x10000
            return f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}"
        return f"\\u{c:04x}"

    return re.sub(r"[^\x00-\x7f]", esc, text)

"""The one JSON writer: every document carries its schema and the ddoctor version."""

from __future__ import annotations

import json

from ddoctor import __version__


def envelope(kind: str, body: dict) -> str:
    doc = {"schema": f"ddoctor.{kind}/1", "ddoctor_version": __version__, **body}
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)

"""Data from logs and hosts, made inert for each output: terminals, Markdown, XML, JSON.

A log line can carry terminal control sequences (`ESC c` resets the screen, OSC sets titles and
links, a lone C1 `U+009B` starts a CSI), Markdown that renders as live links and images in a PR
comment, or characters XML forbids. Each function here neutralises one of these and nothing else,
so what people read is what the log said.
"""

from __future__ import annotations

import re

from ddoctor.lazyre import lazy_re

# C0 controls except tab and newline (layout) and the CR of a CRLF line end, DEL, and C1 controls.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_NAMED = {"\r": "\\r", "\x1b": "\\x1b", "\x00": "\\x00"}


def visible(text: str) -> str:
    r"""Every C0/C1 control shown as a visible escape (`\x1b`, `\r`, `\x9b`); tabs, newlines and CRLF kept."""
    return _CONTROL_RE.sub(lambda m: _NAMED.get(m.group(0), f"\\x{ord(m.group(0)):02x}"), text)


# XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates and U+FFFE/U+FFFF.
_XML_INVALID_RE = lazy_re(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Characters XML 1.0 cannot hold are dropped; C1 controls (legal but live in a terminal) made visible."""
    return re.sub(r"[\x7f-\x9f]", lambda m: f"\\x{ord(m.group(0)):02x}", _XML_INVALID_RE.sub("", text))


# Link/image brackets, emphasis, headings, table pipes, strikethrough; `_` only where it can open or
# close emphasis (GFM ignores it inside words such as MASTER_PORT).
_MD_SPECIAL_RE = lazy_re(r"([\\\[\]*#|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_URL_RE = lazy_re(r"(?i)\b(?:[a-z][a-z0-9+.\-]{1,20}://|www\.)[^\s`]{1,2000}")
_CODE_SPAN_RE = lazy_re(r"(`+)(.+?)\1", re.S)


def md_text(text: str, *, cell: bool = False) -> str:
    """Prose for GitHub-flavoured Markdown: code spans are kept as written; outside them link, image and
    HTML syntax is escaped and bare URLs become code spans, so nothing from a log renders as a live link.
    `cell`: for a table cell (one line; a pipe splits cells even inside a code span)."""
    if cell:
        text = text.replace("\n", " ")
    out, pos = [], 0
    for m in _CODE_SPAN_RE.finditer(text):
        out.append(_md_plain(text[pos:m.start()]))
        out.append(m.group(0).replace("|", "\\|") if cell else m.group(0))
        pos = m.end()
    out.append(_md_plain(text[pos:]))
    return "".join(out)


def _md_escape(text: str) -> str:
    text = re.sub(r"[<>&]", lambda m: _MD_ENTITY[m.group(0)], text)  # HTML: entities work in every Markdown
    return _MD_SPECIAL_RE.sub(r"\\\1", text)


def _md_plain(text: str) -> str:
    parts, pos = [], 0
    for m in _URL_RE.finditer(text):
        parts.append(_md_escape(text[pos:m.start()]))
        parts.append(md_code(m.group(0)))
        pos = m.end()
    parts.append(_md_escape(text[pos:]))
    return "".join(parts)


def md_fact(text: str) -> str:
    """A table cell of host facts kept as tools spell them (`[pip] numpy`): one line, pipes escaped, and
    nothing that renders live (HTML tags, inline links, bare URLs, which become code spans)."""
    text = text.replace("\n", " ").replace("<", "&lt;").replace("](", "]\\(")
    parts, pos = [], 0
    for m in _URL_RE.finditer(text):
        parts.append(text[pos:m.start()])
        parts.append(md_code(m.group(0)))
        pos = m.end()
    parts.append(text[pos:])
    return "".join(parts).replace("|", "\\|")


def md_html_safe(text: str) -> str:
    """Trusted Markdown (our own docs) with `<word>` placeholders shown rather than taken for HTML tags
    (escaping `<` is enough: a `>` opens no tag, so `num_workers > 0` stays as written)."""
    out, pos = [], 0
    for m in _CODE_SPAN_RE.finditer(text):
        out.append(text[pos:m.start()].replace("<", "&lt;"))
        out.append(m.group(0))
        pos = m.end()
    out.append(text[pos:].replace("<", "&lt;"))
    return "".join(out)


def md_code(text: str) -> str:
    """An inline code span that holds `text` whatever backticks it contains."""
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fence(body: str, lang: str = "", indent: str = "") -> list[str]:
    """A fenced block whose fence is longer than any backtick run inside, so a log cannot close it early."""
    longest = max((len(r) for r in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [indent + line for line in (fence + lang, *body.split("\n"), fence)]


_ASCII_FALLBACK = str.maketrans({
    "—": "--", "–": "-", "…": "...", "·": "-", "•": "*", "→": "->", "←": "<-", "×": "x", "≥": ">=", "≤": "<=",
    "≠": "!=", "✓": "+", "✗": "x", "☠": "E", "µ": "u", "─": "-", "━": "-", "│": "|", "╭": "+", "╮": "+",
    "╰": "+", "╯": "+", "‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " ",
})


def asciify(text: str) -> str:
    """Typographic characters as their usual ASCII spelling, for a stream that can encode nothing else."""
    return text.translate(_ASCII_FALLBACK)

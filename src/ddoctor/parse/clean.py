"""Undo what terminals, launchers and chat windows do to a log line, and find its rank.

Every regular expression here is anchored and uses bounded repetition, so cost stays linear in
the line length whatever the input (see tests/parse/test_fuzz.py).
"""

from __future__ import annotations

import re

from ddoctor.lazyre import lazy_re
from ddoctor.ranknames import pod_rank

_ANSI = lazy_re(r"\x1b\[[0-9;?]{0,40}[ -/]{0,4}[@-~]|\x1b\][^\x07\x1b]{0,500}(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# torch's excepthook writes `[rank3]:`; torchrun --tee writes `[default0]:`; both can stack.
_RANK_PREFIX = re.compile(r"^\s{0,8}\[(rank\s?(\d{1,6})|[A-Za-z_][\w-]{0,40}?(\d{1,6}))\]:\s?"
                          # torchx: `trainer/0 [1]:` (role/replica, then the local rank)
                          r"|^\s{0,8}[A-Za-z_][\w.-]{0,60}/\d{1,6} \[(\d{1,6})\]:\s?"
                          # `srun --label` (`0: `, padded ` 3: ` past ten tasks) and `mpirun --tag-output`
                          # (`[1,3]<stderr>:`): the task's global rank
                          r"|^ {0,5}(\d{1,6}): |^\[\d{1,6},(\d{1,6})\]<(?:stdout|stderr|stddiag)>: ?"
                          # horovodrun (Gloo): `[1]<stderr>:`, after `time.ctime()` with --log-with-timestamp
                          r"|^(?:[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})?"
                          r"\[(\d{1,6})\]<(?:stdout|stderr)>:")
# A paste whose first line begins inside the prefix (`rank1]: ValueError: ...`, `ault0]: ...`): the bracket's
# tail still says the rank; a tail of `rank` says it is the global one.
_CUT_RANK_PREFIX = re.compile(r"^(?:(r?a?n?k)|[A-Za-z_][\w-]{0,40}?)?(\d{1,6})\]:\s")
# Prefixes of containers and pods that carry no rank: `[vllm]: `, docker compose's `trainer-1  | `.
# torchx's log lines from a scheduler (AWS Batch, Kubernetes): `main/0 ` (role/replica; the replica is a node, not a
# rank, and its local rank follows as `[1]:` where there is one)
# Determined's trial logs: `[2020-06-09T20:10:40Z] cf108822 [RUNNING] || ` (time, container, state), and its CLI's
# `<info>    [2021-12-07 10:43:05] 087c0ee7 || ` (a level first, the time without its T and Z).
_SOURCE_PREFIX = re.compile(r"^\s{0,8}\[[A-Za-z][\w./-]{0,80}\]:\s|^[a-z][\w.-]{0,60}[-_]\d{1,4}\s{1,20}\|\s"
                            r"|^[a-z][\w-]{0,60}/\d{1,4} (?=\S)"
                            r"|^(?:<[a-z]{0,8}>\s{1,12})?"
                            r"\[\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?Z?\] [0-9a-f]{6,64} "
                            r"(?:\[[A-Z_]{2,20}\] )?\|\| {0,2}")
# rich's boxed tracebacks put │ at both ends of every line.
# `kubectl logs --prefix`: `[pod/<pod>/<container>] `; the pod's name may say its rank (ranknames.py).
_KUBECTL_PREFIX = lazy_re(r"^\[pod/(?P<pod>[a-z0-9][a-z0-9.-]{0,252})/[a-z0-9][a-z0-9-]{0,62}\] ")
# The kubelet's own files (/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, CRI format):
# `<RFC 3339 time> stdout F <text>` (P marks a line the runtime split; its rest follows).
_CRI = lazy_re(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d) (?:stdout|stderr) [FP] ")
_BOX_EDGES = lazy_re(r"^\s{0,4}[│┃|]\s?|\s?[│┃]\s{0,4}$")
_BOX_ONLY = re.compile(r"^\s{0,4}[╭╰┏┗─━]+.{0,200}[╮╯┓┛]\s*$")
_CI_TIMESTAMP = lazy_re(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ")
_QUOTE = lazy_re(r"^(?:>\s?){1,4}")
# What logging handlers put before each record they captured from a child's stderr: Hydra's (NeMo's) job
# logging `[2024-01-05 10:00:00,123][__main__][INFO] - `, loguru's `2024-01-05 10:00:00.123 | INFO     | m:f:57 - `
RECORD_PREFIX = lazy_re(
    r"\[\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[,.]\d{1,6})?\](?:\[[\w.:<>-]{1,120}\]){1,3} - "
    r"|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,6})? \| [A-Z]{4,8} {0,8}\| [\w.<>:-]{1,200} - ")
_RECORD_STARTS = frozenset("[0123456789")


def record_prefix(text: str) -> re.Match[str] | None:
    """A logging handler's record prefix at the start of `text` (the cheap first-character test first)."""
    return RECORD_PREFIX.match(text) if text[:1] in _RECORD_STARTS else None


# The escape byte rendered as the word `ESC` (`less` without -R, some log viewers and web UIs), then pasted.
_ANSI_AS_TEXT = lazy_re(r"ESC\[[0-9;]{0,40}m")


def strip_ansi(text: str) -> str:
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return _ANSI_AS_TEXT.sub("", text) if "ESC[" in text else text


def _strip_time(text: str) -> str:
    """The kubelet's CRI header, or the timestamp GitHub Actions / kubectl --timestamps put before a line."""
    if not text[:2].isdigit():
        return text
    m = _CRI.match(text) or _CI_TIMESTAMP.match(text)
    return text[m.end():] if m else text


def clean_line(raw: str, *, has_master: bool = False) -> tuple[int | None, bool, str]:
    """(rank, is_global_rank, text) for one physical line.

    `\\r` progress redraws keep only the last non-empty segment; rank prefixes are peeled off
    (a `[rankN]:` global rank wins over a pod's rank, which wins over a `[default0]:` local one).
    `has_master`: the log holds a PyTorchJob master pod, so worker pods are numbered from 1.
    """
    if "\r" in raw:
        parts = [p for p in raw.split("\r") if p.strip()]
        raw = parts[-1] if parts else ""
    text = strip_ansi(raw).replace("\x00", "").rstrip("\n")
    text = _strip_time(text)
    rank: int | None = None
    is_global = from_pod = False
    if text.startswith("[pod/") and (pod := _KUBECTL_PREFIX.match(text)):
        rank = pod_rank(pod.group("pod"), has_master=has_master)
        from_pod = rank is not None
        text = _strip_time(text[pod.end():])  # kubectl --prefix --timestamps: the prefix comes first
    if (record := record_prefix(text)) is not None and record.end() < len(text):
        text = text[record.end():]  # a handler that captured the child's stderr wrote its record prefix first
    if text[:1] != "[" and "]:" in text[:48] and (cut := _CUT_RANK_PREFIX.match(text)):
        rank, is_global = int(cut.group(2)), cut.group(1) is not None
        text = text[cut.end():]
    for _ in range(3):
        m = _RANK_PREFIX.match(text)
        if not m:
            src = _SOURCE_PREFIX.match(text)
            if src is None:
                break
            text = text[src.end():]
            continue
        launcher_rank = m.group(5) or m.group(6) or m.group(7)
        if m.group(2) is not None or launcher_rank is not None:
            rank, is_global = int(m.group(2) or launcher_rank), True
        elif not is_global and not from_pod:
            rank = int(m.group(3) or m.group(4))
        text = text[m.end():]
    if text.startswith(">"):
        text = _QUOTE.sub("", text)
    if "│" in text or "┃" in text:
        text = _BOX_EDGES.sub("", text)
    elif _BOX_ONLY.match(text):
        # rich's box top carries the header; its other rules are decoration
        text = "Traceback (most recent call last):" if "Traceback" in text else ""
    return rank, is_global, text.rstrip()

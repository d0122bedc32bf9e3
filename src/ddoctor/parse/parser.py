"""A streaming, tolerant parser: lines in, tracebacks and torchrun failures out.

It keeps one small state machine per rank, so interleaved `[rank0]:`/`[rank1]:` tracebacks are
reassembled separately, and it never holds more than the traceback being read: a multi-GB log
is parsed in bounded memory. Every pattern is anchored with bounded repetition (linear time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ddoctor.lazyre import lazy_re
from ddoctor.model.logs import ExceptionBlock, Frame, RankFailure, Traceback
from ddoctor.parse.clean import clean_line, record_prefix
from ddoctor.parse.exits import parse_exit, signal_of

# `Traceback (most recent call last):` as translation tools render it
_TRANSLATED_HEADERS = (r"回溯|追溯|トレースバック|역추적|Rückverfolgung|Трассировка|Обратная трассировка"
                       r"|Trace \(appel|Suivi \(|Seguimiento \(|Rastreo \(|Rastreamento \(|Traccia \(")
HEADER = re.compile(r"^\s{0,16}(?:(?:[A-Za-z_][\w.]{0,200}\s{2,200})?Traceback \(|" + _TRANSLATED_HEADERS + ")")
HEADER_ANYWHERE = lazy_re(f"(?:{_TRANSLATED_HEADERS})")
# `File "x.py", line 3, in f` in any language, as translation tools print it too: any keyword,
# curly quotes, full-width and ideographic commas, `第 3 行` (`文件“x.py”，第 3 行，在 f 中`).
FRAME = re.compile(
    r'^\s{0,16}(?:[^\s"“]{1,12}\s{0,2})?["“](?P<file>[^"”\n]{1,2000})["”]\s{0,2}[,，、]\s{0,2}'
    r"(?:[^\s\d]{1,12}\s{0,2})?(?P<line>\d{1,9})(?:\s{0,2}[^\s,，、]{1,4})?"
    r"(?:\s{0,2}[,，、]\s{0,2}(?P<func>\S[^\n]{0,400}))?$"
)
FRAME_WORDS = ("File", "Fichier", "Datei", "Archivo", "Arquivo", "Plik", "Файл", "ファイル", "文件", "檔案", "파일",
               "Bestand", "Dosya", "Soubor", "Tệp", "File:")
# the word before the function (`in f`, `dans f`, `在 f 中`) and particles after it
_IN_WORDS = frozenset({"in", "dans", "en", "em", "im", "in:", "w", "в", "во", "在", "於", "内", "中", "에서", "내"})
_FUNC_TAIL = re.compile(r"\s{1,2}(?:中|内|内部|에서|내)$")


def frame_function(raw: str | None) -> str | None:
    """`in f` / `在 build 中` / `build 内` -> the function name."""
    if raw is None:
        return None
    text = raw.strip()
    first, _, rest = text.partition(" ")
    if rest and first in _IN_WORDS:
        text = rest.strip()
    return _FUNC_TAIL.sub("", text) or None


def looks_like_source(path: str) -> bool:
    """A frame's file: a path, a module file or `<frozen ...>`/`<string>` (not `echo "hi", 3`)."""
    return path.startswith("<") or "/" in path or "\\" in path or path.endswith((".py", ".pyx", ".pyw"))
# IPython/Jupyter frames: `~/lib/python3.6/site-packages/torch/utils/cpp_extension.py in _run_ninja_build(...)`
IPY_FRAME = re.compile(r"^(?P<file>(?:~|/|[A-Za-z]:\\|<ipython-input-|/tmp/ipykernel_)[^\s:]{0,2000})"
                       r" in (?P<func>[\w<>.]{1,200})(?:\(|$)")
# IPython 8: `File ~/site-packages/vllm/attention.py:1233, in flash_attn_with_kvcache(q, k_cache, ...)` and
# `Cell In[3], line 12` for a notebook cell
IPY8_FRAME = re.compile(r"^(?:File (?P<file>\S[^\n]{0,2000}?):(?P<line>\d{1,9}), in (?P<func>[\w<>.]{1,200})\("
                        r"|Cell (?P<cell>In ?\[\d{1,6}\]), line (?P<cline>\d{1,9}))")
# IPython marks the failing source line with an arrow: `-> 1673             env=env)`
IPY_ARROW = re.compile(r"^\s{0,8}-{0,3}-> ?\d{1,7}\s")
# rich's frames: `/path/train.py:42 in main` (or `in main:42` when the file is unknown).
RICH_FRAME = re.compile(r"^(?P<file>(?:[A-Za-z]:)?[^\s:]{1,2000}):(?P<line>\d{1,9}) in (?P<func>\S{1,300})$"
                        r"|^in (?P<func2>\S{1,300}):(?P<line2>\d{1,9})$")
RICH_PATH_LINE = re.compile(r"^(?:[A-Za-z]:)?[^\s:]{1,2000}\.pyx?:\d{1,9}$")
RICH_FRAME_HEAD = re.compile(r"^(?:[A-Za-z]:)?[^\s:]{1,2000}:\d{1,9} in$")
EXC_LINE = re.compile(r"^(?P<type>(?:[A-Za-z_]\w{0,100}\.){0,12}[A-Za-z_]\w{0,100})(?:\s?[:：](?P<msg>.*))?$")
# An exception named inside a sentence: after a quote, a backtick or `with`/`raises`/`get`/`:`
SAID_EXC = re.compile(
    r"(?:['\"`“(]|[^\x00-\x7f]\s{0,3}|\b(?:get|got|see|with|error)\s?:\s{1,3}|\b(?:with|raises?|raised|throws?|threw|throwing|got|get|gives?|getting|error|fails?|failed|in|on|hits?"
    r"|encounter(?:ed|s)?|shows?|showing|reports?|reported|seeing|see)\s{1,3})"
    r"(?P<type>(?:[A-Za-z_]\w{0,60}\.){0,8}[A-Z]\w{0,80}(?:Error|Exception))\s?[:：]\s{0,2}(?P<msg>\S[^\n]{0,600})")
_CLOSERS = {'"': '"', "'": "'", "`": "`", "“": "”", "(": ")"}
# Where Python prints the exception line, a line in any language: `运行时错误：...` when a translator
# also translated the exception's name.
ANY_EXC_LINE = lazy_re(r"^(?P<type>[^\s:：]{1,100})\s?[:：](?P<msg>.*)$")
EXC_WORD = lazy_re(r"(?:Error|Exception|Interrupt|Exit|Failure|Fault|Timeout|Iteration)$")
# An exception line alone, without a message: a dotted name or a CamelCase name ending in Error/Exception/Interrupt
BARE_EXC = lazy_re(r"^(?:[A-Za-z_]\w{0,100}\.){1,12}[A-Z]\w{0,100}(?:Error|Exception|Interrupt)$"
                   r"|^[A-Z][a-z0-9]{1,30}(?:[A-Z][a-z0-9]{1,30}){0,4}(?:Error|Exception|Interrupt)$")
# An exception class named by its module path whose name does not end in Error/Exception: torch's
# `torch._dynamo.exc.BackendCompilerFailed`, the stdlib's `subprocess.TimeoutExpired`, `zipfile.BadZipFile`,
# `concurrent.futures.process.BrokenProcessPool`, `_queue.Empty` (a DataLoader timeout). The module path and
# the ending keep a config dump's `model.ModelName: llama` out.
_DOTTED_ENDS = ("Failed|Expired|Refused|Denied|Closed|Aborted|Exited|Crashed|Died|Killed|Cancelled|Unavailable|NotFound"
                "|BadZipFile|BrokenProcessPool|Empty|Full")
DOTTED_EXC = lazy_re(rf"^(?:[a-z_][a-z0-9_]{{0,60}}\.){{1,12}}(?:[A-Z]\w{{0,80}})?(?:{_DOTTED_ENDS})$")
# pytest prints the exception of a failed test as `E       RuntimeError: boom` under the test's source, and
# its short summary as `FAILED tests/test_x.py::test_y - RuntimeError: boom`
PYTEST_E = lazy_re(r"^E {1,12}(?=\S)")
PYTEST_SUMMARY = lazy_re(r"^(?:FAILED|ERROR) \S{1,400}::\S{1,400}(?: - |$)")
# A whole paste indented as a Markdown code block (or a list item's) still has its exception lines
MAX_PASTE_INDENT = 8
CAUSE = "The above exception was the direct cause of the following exception"
IGNORED = "Exception ignored in"
CONTEXT = "During handling of the above exception, another exception occurred"
# torch.multiprocessing.spawn's report of a child's traceback, and the same line translated
# (`-- Prozess 1 wurde mit dem folgenden Fehler beendet:`, `-- 进程 1 因以下错误而终止：`): the dashes, a word, the rank
# and a closing colon survive
SPAWN_TRANSLATED = r"^-- [^\W\d_][^\s\d:]{0,30} (\d{1,6}) [^\n:：]{4,80}[:：]\s{0,200}$"
SPAWN = re.compile(r"^-- Process (\d{1,6}) terminated with the following error|" + SPAWN_TRANSLATED)
REPEATED = re.compile(r"^\s{0,16}\[Previous line repeated \d{1,12} more times?\]$")
CARETS = re.compile(r"^\s{0,200}[\^~]{1,2000}\s{0,4}$")
GROUP_DECOR = re.compile(r"^\s{0,16}(?:\+[-+]{1,80}(?: (?:\d{1,6}|\.\.\.) -{1,80})?|\| ?)")
MANGLED_SPLIT = re.compile(r"(?<=\S)\s{2,}(?=File \")")
# ... and the exception line glued after the last frame's source line (`in embedding     return torch.embedding(...)
# RuntimeError: Expected all tensors ...`): the first `Name(Error|Exception...): ` after the source's double space
MANGLED_EXC = re.compile(r" (?=(?:[A-Za-z_]\w{0,60}\.){0,6}[A-Z]\w{0,80}(?:Error|Exception|Interrupt|Exit)(?::\s|$))")
# multiprocessing's line before a child's traceback (`Process SpawnProcess-2:`, nested `Process Process-1:3:`): the next
# process's output, not the previous exception's message running on
MP_PROCESS_HEADER = lazy_re(r"^Process (?:Spawn|Fork|ForkServer)?Process-\d{1,6}(?::\d{1,6}){0,4}:$")
# What loggers put before a record: vLLM/Ray `(Worker pid=3) ERROR 06-13 09:02:44 [core.py:517] `, glog
# `E1124 17:57:34.136000 1 api.py:1002] `, logging/DeepSpeed `[2024-01-05 10:00:00,123] [ERROR] [launch.py:42] `.
LOGGER_PREFIX = lazy_re(
    r"(?:\(\w{1,60}(?: pid=\d{1,9})?(?:, ip=[\d.:]{1,40})?\) )?"
    r"(?:(?:ERROR|INFO|WARNING|WARN|DEBUG|CRITICAL) \d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})? "
    r"(?:\[[\w.]{1,80}:\d{1,6}\]|[\w.]{1,80}:\d{1,6}\]) ?"
    r"|[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{1,9}\s{1,4}\d{1,9} [\w.]{1,80}:\d{1,6}\] "
    r"|\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[,.]\d{1,6})?\] (?:\[\w{1,10}\] )?(?:\[[\w.:-]{1,120}\] )?"
    r"|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?\s{1,4}(?:-\s)?(?:(?:ERROR|INFO|WARNING|DEBUG|CRITICAL)"
    r"\s{0,4}(?:-\s|:\s)?)?(?:[\w.]{1,80}(?::\d{1,6})?\s{0,2}[-:\]]\s)?"
    r")?"
)
LOG_PREFIX = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d|^\d{4}-\d\d-\d\d[ T]\d\d:\d\d|^\[?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)[\]:]"
)

# torchrun's ChildFailedError summary.
TR_ENTRY = re.compile(r"^\s{0,4}\[(\d{1,6})\]:\s*$")
TR_FIELD = re.compile(r"^\s{1,8}(time|host|rank|exitcode|error_file|traceback)\s{0,20}:\s?(.{0,4000})$")
TR_RANK = re.compile(r"^(\d{1,9})(?:\s{0,4}\(local_rank:\s{0,4}(\d{1,9})\))?")
TR_EXIT = re.compile(r"^(-?\d{1,9})(?:\s{0,4}\(pid:\s{0,4}(\d{1,12})\))?(?:\s{0,8}\((SIG[A-Z0-9]{1,12})\))?")
# the same fields with translated labels: the values keep their shape (`1 (local_rank: 1)`, `-11 (pid: 9330)`);
# CJK translations put a full-width colon after the label
TR_ANY_FIELD = re.compile(r"^\s{1,8}[^\s:：][^:：\n]{0,30}?\s{0,20}[:：]\s?"
                          r"(?P<value>(?P<rank>\d{1,9}\s{0,4}\(local_rank:)"
                          r"|(?P<exit>-?\d{1,9}\s{0,4}\(pid:)).{0,4000}$")


# a paste that lost the summary's indent (Markdown outside a code block, a chat window): only the two fields whose
# values keep torchrun's shape are told from any other `rank: 3` line
TR_BARE_FIELD = re.compile(r"^(rank|exitcode)\s{1,20}:\s?"
                           r"((?:\d{1,9}\s{0,4}\(local_rank:|-?\d{1,9}\s{0,4}\(pid:).{0,4000})$")


def _english_field(text: str) -> re.Match[str] | None:
    """A field of torchrun's summary under its English label (group 1 the name, group 2 the value)."""
    return TR_FIELD.match(text) or TR_BARE_FIELD.match(text)


def _entry_field(text: str) -> re.Match[str] | None:
    """A `rank` or `exitcode` field, which may start an entry whose `[0]:` line the paste cut off."""
    f = _english_field(text)
    return f if f is not None and f.group(1) in ("rank", "exitcode") else None


def _summary_field(text: str) -> tuple[str, str] | None:
    """(name, value) of one field of torchrun's summary, its label in English or translated."""
    f = _english_field(text)
    if f:
        return f.group(1), f.group(2).strip()
    m = TR_ANY_FIELD.match(text)
    if m is None:
        return None
    return ("rank" if m.group("rank") else "exitcode"), text[m.start("value"):].strip()


AGENT_FAILED = re.compile(r"failed \(exitcode: (-?\d{1,9})\) local_rank: (\d{1,9}) \(pid: (\d{1,12})\)")
RAISE = lazy_re(r"^raise ((?:[A-Za-z_]\w{0,100}\.){0,8}[A-Z]\w{0,100})\b")
MAX_MESSAGE_LINES = 40
_FENCES = ("```", "~~~")
_DIGITS = re.compile(r"\d")
MAX_FRAMES = 400
MAX_BLOCKS = 64  # exceptions kept of a chain (both ends of a 10^5-deep chain)
MAX_PENDING = 4096  # tracebacks read at once (one per rank prefix); the oldest is finished first
_V = TypeVar("_V")


# What the one-pass scanner of large logs looks for so that every block and line this parser needs
# reaches it: (pattern, whether a hit opens a block window that extends to the block's end).
TRIGGERS: tuple[tuple[str, bool], ...] = (
    (r"Traceback \(most recent call last\)", True),
    (r"(?:回溯|追溯|トレースバック|역추적|Rückverfolgung|Трассировка|Trace \(appel|Suivi \(|Seguimiento \("
     r"|Rastreo \()", True),
    (r"ChildFailedError", True),
    (r"(?:File|Fichier|Datei|Archivo|Arquivo|Plik|Файл|ファイル|文件|파일)\s{1,2}[\"“]", False),
    # a frame whose "File" word a translation changed: found by its `.py", ` (the quote and path before it
    # add nothing to the line found and a bounded repeat before a literal costs the scan a third of its speed)
    (r"\.py[\"”]\s{0,2}[,，、]", False),
    (r"(?:^|[\s\]>|:'\"`(“])[A-Za-z_][\w.]{0,300}(?:Error|Exception|Interrupt|Exit|Failure|Fault|Timeout)\s?(?::|：|$)",
     False),
    # an exception named right after text in another script (`出现了RuntimeError: ...`), or alone on its line
    (r"[^\x00-\x7f][A-Za-z_][\w.]{0,300}(?:Error|Exception)\s?[:：]", False),
    (r"^\s{0,8}[A-Za-z_][\w.]{0,300}(?:Error|Exception|Interrupt)\s{0,4}$", False),
    (r"(?:^|[\s\]>|:])(?:[a-z_][a-z0-9_]{0,60}\.){1,12}(?:[A-Z]\w{0,80})?(?:" + _DOTTED_ENDS + r")(?::|\s{0,4}$)",
     False),
    (r"Root Cause \(first observed failure\)", False),
    (r"^\s{0,8}exitcode\s{0,20}: -?\d", False),
    (r"failed \(exitcode: -?\d{1,9}\)", False),
    (r"^-- Process \d{1,6} terminated with the following error", False),
    (SPAWN_TRANSLATED, False),
    (r"(?:The above exception was the direct cause|During handling of the above exception)", False),
    # rich's boxed frames (`.../dataloader.py:1024 in _try_get_data` and its ❱ failing line), header or not.
    # The path alone (`trainer.py:12`) is in every line of Python's logging format: requiring " in fn"
    # keeps the one-pass scan at memory speed on such logs (a path wrapped alone is found by its ❱ line).
    (r"\.pyx?:\d{1,9} in [\w<>.]{1,200}", False),
    (r"❱", False),
    (r"^(?:File \S[^\n]{0,400}:\d{1,9}, in [\w<>.]{1,200}\(|Cell In ?\[\d{1,6}\], line \d)", False),
)


@dataclass
class _Pending:
    rank: int | None
    start: int
    blocks: list[ExceptionBlock] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    link: str = "root"
    exc_type: str | None = None
    exc_lineno: int = 0
    msg_lines: list[str] = field(default_factory=list)
    state: str = "frames"  # frames | message | after (blank line seen) | chain (marker seen)
    wrap: str = ""  # first half of a rich frame line wrapped at the panel edge
    last: int = 0
    frame_indent: int | None = None  # indentation of the frame lines (a paste may indent everything)
    header: bool = False  # opened by a `Traceback (most recent call last)` header
    base_indent: int = 0  # indentation of the header: a paste indented as a whole has its exception line there
    # Python printed it under `Exception ignored in: <function X.__del__ ...>` (a destructor, an atexit hook, a
    # thread at shutdown) and carried on: not a failure of the program
    ignored: bool = False


_LEVEL_WORDS = "INFO|ERROR|WARNING|WARN|DEBUG|CRITICAL|TRACE|SUCCESS|FATAL"
_LEVEL = re.compile(rf"\b(?:{_LEVEL_WORDS})\b *")


def _prefix_shape(prefix: str) -> re.Pattern[str]:
    """The logger prefix a traceback header carried, as a pattern for the lines after it: any digits (the
    clock) and any level word (a handler writes the exception line as ERROR after INFO frames)."""

    def literal(s: str) -> str:
        return "".join(r"\d{1,12}" if part.isdigit() else re.escape(part) for part in re.split(r"(\d+)", s) if part)

    out, pos = [], 0
    for m in _LEVEL.finditer(prefix):
        out.append(literal(prefix[pos:m.start()]))
        out.append(f"(?:{_LEVEL_WORDS}) {{0,12}}")
        pos = m.end()
    out.append(literal(prefix[pos:]))
    return re.compile("".join(out))


# asyncio's default exception handler: `Exception in callback <handle>`, then `handle: <Handle ...>` and the
# traceback; the event loop logs it and runs on (Windows' proactor reporting a peer that hung up, WinError 10054)
_ASYNCIO_CALLBACK = re.compile(r"(?:^|[|:\]] {0,2})Exception in callback \S")


def _carried_on_header(text: str) -> bool:
    """A header that says the traceback under it was printed by a handler that carried on: Python's
    `Exception ignored in` (also behind a logger's record prefix) or asyncio's `Exception in callback`."""
    if "ignored in" in text and _ignored_header(message_of(text)):
        return True
    return "Exception in callback " in text and _ASYNCIO_CALLBACK.search(text) is not None


def _ignored_header(message: str) -> bool:
    """`Exception ignored in: ...`, also when the paste began inside its first word (`eption ignored in: <...>`)."""
    head, found, _ = message.partition(IGNORED.removeprefix("Exception "))
    return bool(found) and "Exception ".endswith(head)


def message_of(text: str) -> str:
    """What a line says without the indent of a pasted code block or a logger's record prefix (time, level,
    logger name), its own indent after the prefix kept (`(Worker pid=3)     warnings.warn(`)."""
    body = text.lstrip()
    m = record_prefix(body)
    if m is None:
        m = LOGGER_PREFIX.match(body)
    return body[m.end():] if m is not None and 0 < m.end() < len(body) else body


_AFTER_LEVEL = lazy_re(r"\b(?:ERROR|INFO|WARNING|WARN|DEBUG|CRITICAL)\b\]?\s{0,8}(?:[-:|]\s{1,4})?")


def _after_progress_bar(text: str) -> str | None:
    """What another stream printed onto the end of a progress bar (tqdm's `494.73it/s]`, rich's `0.00it/s `): a
    bar redraws its line without a newline, so the next line of stderr starts where the bar stopped, and a paste
    that lost the carriage returns keeps both on one line."""
    at = max(text.rfind("it/s"), text.rfind("s/it"))
    if at < 1 or not (text[at - 1].isdigit() or text[at - 1] == "?"):
        return None
    end = at + 4
    bracket = text.startswith("]", end)
    rest = text[end + bracket:]
    if not rest or not (bracket or rest[0].isspace()):
        return None  # `it/s` inside a word or at the end of the line: nothing was printed after a bar
    return rest.lstrip() or None


def _mangled_pieces(text: str) -> list[str] | None:
    """The lines a paste that lost its line breaks glued together (frames, a frame's source line, the exception
    line), or None when `text` is one line as printed."""
    pieces = MANGLED_SPLIT.split(text)
    last = pieces[-1]
    if last.lstrip().startswith('File "'):
        glued = last.find("  ", last.find('File "'))  # where the source line was glued onto the frame line
        if glued > 0 and (m := MANGLED_EXC.search(last, glued)) is not None:
            pieces[-1:] = [last[:m.start()].rstrip(), last[m.end():]]
    return pieces if len(pieces) > 1 else None


_EMPHASIS_START = "*`"  # not `__`, which a real type may start with (`__main__.ConfigError: ...`)
_EMPHASIS = ("***", "**", "```", "`", "*")  # longest first


def _unmarked(text: str) -> str:
    """An exception line a user emphasised when pasting it into an issue (`**RuntimeError: ...**`, a backticked
    `` `ValueError: ...` ``): Markdown's marks around it, which Python never printed, taken off."""
    for mark in _EMPHASIS:
        if text.startswith(mark):
            body = text[len(mark):]
            return (body[:-len(mark)] if body.endswith(mark) else body).strip()
    return text


def messages_of(text: str) -> tuple[str, ...]:
    """The forms a rule anchored to the line as the program printed it (`^usage: `) reads, whoever logged
    it: `message_of`, the text right after a level word (`2024-01-05 10:00:00,123 INFO usage: ...`,
    where a logger-name part of the prefix would take `usage: ` for a logger's name), and the text printed
    onto the end of a progress bar."""
    message = message_of(text).lstrip()
    level = _AFTER_LEVEL.search(text, 0, 160)
    after = text[level.end():] if level is not None and level.end() < len(text) else message
    forms = (message,) if after == message else (message, after)
    bar_tail = _after_progress_bar(text)
    return forms if bar_tail is None or bar_tail in forms else (*forms, bar_tail)


def _exception_like(text: str) -> bool:
    """`RuntimeError: ...` or a bare `SomeError`: where a warning's message certainly ended."""
    m = EXC_LINE.match(text)
    return m is not None and EXC_WORD.search(m.group("type")) is not None


def _remember(state: dict[object, _V], key: object, value: _V) -> None:
    """Per-rank state, kept for at most MAX_PENDING ranks (the oldest is forgotten): a million distinct rank
    prefixes cost what a few thousand do."""
    state[key] = value
    if len(state) > MAX_PENDING:
        state.pop(next(iter(state)))


# `path.py:47: UserWarning: message` (warnings.formatwarning, also behind logging.captureWarnings' prefix)
# torch reports that CUDA failed to initialise (a driver too old, no device) only as `UserWarning: CUDA
# initialization: ...` and then runs without it: that one is a failure's report, not a notice.
PY_WARNING = lazy_re(r"\.pyx?:\d{1,7}: (?:[A-Z]\w{0,80})?Warning: (?!CUDA initialization: )")
# A program that says it caught an exception and went on (`Warning: caught exception 'Torch not compiled with CUDA
# enabled', memory monitor disabled`): what the line names was handled, like a Python warning's sentence.
HANDLED = lazy_re(r"^(?:Warning|WARNING|WARN|warning)\s?[:：]\s{0,4}"
                  r"(?:caught (?:an? )?exception\b|[Ee]xception caught\b"
                  r"|ignor(?:ed|ing) (?:an? )?(?:exception|error)\b)")
MAX_WARNING_LINES = 12  # lines a warning's message may run on after its header
_PLAIN, _WARNING, _LAST = object(), object(), object()  # what a line is to the warning it may belong to


class LogParser:
    """Feed lines with `feed`; call `close` at the end. Results go to the callbacks.

    `on_warning_line` receives the lines of a Python warning's message (its header and the lines it runs on)
    instead of `on_line`: a library that prints a failure's sentence as a warning and goes on has not failed.
    Which lines those were is only known when the warning ends, so `on_warning_end(rank, confirmed)` follows:
    confirmed when the source line Python prints under a warning closed it (or the input ended inside it, or
    another warning followed), not confirmed when other output came first. Then the lines were printed lines
    after all (a header whose message is one line, then an error), and the receiver reads them as such.
    `on_handled_line` receives a line in which the program says it caught an exception and went on (HANDLED).
    """

    def __init__(self, on_line: Callable[[int, int | None, str], None],
                 on_traceback: Callable[[Traceback], None],
                 on_failure: Callable[[RankFailure], None], *, rank: int | None = None,
                 on_warning_line: Callable[[int, int | None, str], None] | None = None,
                 on_warning_end: Callable[[int | None, bool], None] | None = None,
                 on_handled_line: Callable[[int, int | None, str], None] | None = None) -> None:
        self.on_line, self.on_traceback, self.on_failure = on_line, on_traceback, on_failure
        self.on_warning_line = on_warning_line or on_line
        self.on_handled_line = on_handled_line or self.on_warning_line
        self.on_warning_end = on_warning_end or (lambda _rank, _confirmed: None)
        # (header line, last line, whether a logger prefixed it) of an open warning per rank
        self._warning: dict[int | None, tuple[int, int, bool]] = {}
        self.default_rank = rank  # the rank every unprefixed line belongs to (a per-rank log file)
        self._tbs: dict[object, _Pending] = {}
        self._prefix: dict[object, re.Pattern[str]] = {}
        self._spawn_rank: dict[object, int] = {}
        self._tr_root = False
        self._tr_entry: dict[str, Any] | None = None
        self._has_master = False
        self._said: Traceback | None = None  # an exception quoted in the line being read
        self._ignored: dict[object, int] = {}  # line of the last `Exception ignored in` per rank
        self._cut_raise: dict[object, tuple[int, str]] = {}  # a `raise ...` source line outside a traceback, per rank

    # -- public -------------------------------------------------------------------------------
    def feed(self, lineno: int, raw: str) -> None:
        if "\r" in raw:
            # `\r` redraws (tqdm): a terminal shows only the last one, but an error printed in between
            # is in the log too. Every distinct segment is read (same line number); redraws of one
            # progress bar differ only in digits and are read once.
            parts = [p for p in raw.split("\r") if p.strip()]
            last_shape = None
            for part in parts[:-1]:
                shape = _DIGITS.sub("0", part)
                if shape != last_shape:
                    self._feed_line(lineno, part)
                last_shape = shape
            raw = parts[-1] if parts else ""
        self._feed_line(lineno, raw)

    def _feed_line(self, lineno: int, raw: str) -> None:
        if not self._has_master and raw.startswith("[pod/") and "-master-" in raw[:320]:
            self._has_master = True  # a PyTorchJob master pod: worker pods count from rank 1
        rank, _, text = clean_line(raw, has_master=self._has_master)
        if rank is None:
            rank = self.default_rank
        # clean_line took a handler's record prefix off already; one behind a rank prefix is still there
        record = record_prefix(text)
        bare = text[record.end():] if record else text
        # torchrun's own summary: unprefixed, or behind the task prefix of the launcher that started the agent
        # (`srun --label`, `kubectl --prefix`, a per-node log file) or a logging handler's record prefix
        self._torchrun(lineno, bare)
        text, said = self._strip_prefix(rank, text)
        if said:
            self.on_line(lineno, rank, said)  # `... init_device: NCCL error: ..., Traceback (most recent call last):`
        exit_ = parse_exit((bare if record else text).strip(), lineno, rank) if text else None
        if exit_ is not None:
            self.on_failure(exit_)
        if "File \"" in text and (pieces := _mangled_pieces(text)) is not None:
            # A paste that lost its line breaks: `Traceback (...):  File "x.py", line 3, in f`.
            code = [self._line(lineno, rank, piece) for piece in pieces]
            is_code = all(code)
        else:
            is_code = self._line(lineno, rank, text)
        if text and not is_code:
            # Frames and source lines are not evidence: only what the program and runtime printed.
            part = self._track_warning(lineno, rank, text)
            if part is not _PLAIN:
                self.on_warning_line(lineno, rank, text)
                if part is _LAST:
                    self._end_warning(rank, True)
            elif ("aught" in text or "gnor" in text) and HANDLED.match(message_of(text)) is not None:
                self.on_handled_line(lineno, rank, text)
            else:
                self.on_line(lineno, rank, text)
        if self._said is not None:
            said_tb, self._said = self._said, None
            self.on_traceback(said_tb)

    def _track_warning(self, lineno: int, rank: int | None, text: str) -> object:
        """Follow Python warnings: whether this line is printed output (_PLAIN), a warning's header or a line its
        message runs on (_WARNING), or the source line that closes it (_LAST).
        The message ends at its source line (indented, also behind a logger's prefix), a blank line, an
        exception or traceback line, a log record (unless a logger prefixed the header too: then every line
        has one), or after MAX_WARNING_LINES."""
        if "Warning: " in text and PY_WARNING.search(text) is not None:
            if rank in self._warning:
                self._end_warning(rank, True)  # one warning after another: both were warnings
            elif len(self._warning) >= MAX_PENDING:
                self._end_warning(next(iter(self._warning)), False)
            self._warning[rank] = (lineno, lineno, message_of(text) != text.lstrip())
            return _WARNING
        open_ = self._warning.get(rank)
        if open_ is None:
            return _PLAIN
        start, last, logged = open_
        message = message_of(text)
        stripped = message.strip()
        if lineno != last + 1 or lineno - start > MAX_WARNING_LINES or not stripped or HEADER.match(message) \
                or (not logged and LOG_PREFIX.match(text.strip())) or _exception_like(stripped):
            self._end_warning(rank, False)
            return _PLAIN
        if text[:1].isspace() or (logged and message[:1].isspace()):
            return _LAST  # the source line printed under the message
        self._warning[rank] = (start, lineno, logged)
        return _WARNING

    def _end_warning(self, rank: int | None, confirmed: bool) -> None:
        del self._warning[rank]
        self.on_warning_end(rank, confirmed)

    def close(self) -> None:
        for rank in list(self._warning):
            self._end_warning(rank, True)  # the input ended inside the warning: nothing shows it was more
        for key in list(self._tbs):
            self._finish(key)
        self._flush_entry()

    # -- internals ----------------------------------------------------------------------------
    def _line(self, lineno: int, rank: int | None, text: str) -> bool:
        """Advance the rank's state machine; True when the line is traceback code (a frame or source)."""
        key = rank
        if GROUP_DECOR.match(text) and ("|" in text[:20] or "+-" in text[:20]):
            text = GROUP_DECOR.sub("", text, count=1)
            if not text.strip():
                return True
        tb = self._tbs.get(key)
        gap = tb is not None and lineno - tb.last > 1 and tb.state != "chain" and text.strip() != ""
        if gap and (tb.state == "message" or lineno - tb.last > 50):  # type: ignore[union-attr]  # gap: tb set
            # A gap (windowed scanning, or another process's lines) ends what we were reading.
            self._finish(key)
            tb = None
        if _carried_on_header(text):
            _remember(self._ignored, key, lineno)
        if HEADER.match(text):
            ignored = lineno - self._ignored.pop(key, -10) <= 2
            if tb is not None and tb.state == "chain":
                tb.state, tb.last = "frames", lineno
                return False
            if tb is not None:
                self._finish(key)
            pending_rank = self._spawn_rank.pop(key, None)
            self._open(key, _Pending(rank=pending_rank if pending_rank is not None else rank, start=lineno,
                                     last=lineno, header=True, base_indent=len(text) - len(text.lstrip()),
                                     ignored=ignored))
            return False
        m = SPAWN.match(text)
        if m:
            if tb is not None:
                if not tb.frames and not tb.blocks and not "".join(tb.msg_lines).strip():
                    self._tbs.pop(key, None)  # old torch prints a bare `Exception:` above the spawn report
                else:
                    self._finish(key)
            _remember(self._spawn_rank, key, int(m.group(1) or m.group(2)))
            return False
        if tb is None:
            return self._idle(lineno, rank, key, text)
        tb.last = lineno
        stripped = text.strip()
        if tb.state == "chain":
            if not stripped:
                return False
            # Chain marker seen but the next traceback never came (partial paste).
            self._finish(key)
            return self._idle(lineno, rank, key, text)
        if stripped.startswith((CAUSE, CONTEXT)):
            self._end_block(tb)
            tb.link = "cause" if stripped.startswith(CAUSE) else "context"
            tb.state = "chain"
            return False
        if tb.state == "frames":
            fm = FRAME.match(text)
            if fm and looks_like_source(fm.group("file")):
                self._add_frame(tb, fm)
                if tb.frame_indent is None:
                    tb.frame_indent = len(text) - len(text.lstrip())
                return True
            im = IPY_FRAME.match(stripped) if not text[:1].isspace() else None
            if im:
                tb.frames.append(Frame(filename=im.group("file"), lineno=None, function=im.group("func")))
                return True
            i8 = IPY8_FRAME.match(stripped) if not text[:1].isspace() else None
            if i8:
                tb.frames.append(Frame(filename=i8.group("file") or i8.group("cell"),
                                       lineno=int(i8.group("line") or i8.group("cline")), function=i8.group("func")))
                return True
            if stripped.startswith("❱") or (IPY_ARROW.match(text) and tb.frames):
                # the line rich (❱) or IPython (->) marks as the one that raised
                if tb.frames:
                    fr = tb.frames[-1]
                    tb.frames[-1] = Frame(filename=fr.filename, lineno=fr.lineno, function=fr.function,
                                          line=stripped.lstrip("❱-> ")[:500])
                return True
            if tb.wrap:  # rich hard-wraps long paths at the box edge: join the two halves
                joined, tb.wrap = tb.wrap + stripped, ""
                if not RICH_FRAME.match(joined):
                    joined = joined[: len(joined) - len(stripped)] + " " + stripped  # wrapped between words
                if RICH_FRAME.match(joined):
                    stripped = joined
            rm = RICH_FRAME.match(stripped)
            if rm is None and not text[:1].isspace():
                # rich wraps a long `path:line in function` inside a word (the path) or between words
                if RICH_FRAME_HEAD.match(stripped):
                    tb.wrap = stripped + " "
                    return True
                if stripped and " " not in stripped and ("/" in stripped or "\\" in stripped):
                    tb.wrap = stripped
                    return True
            if rm:
                tb.frames.append(Frame(filename=rm.group("file") or "<unknown>",
                                       lineno=int(rm.group("line") or rm.group("line2")),
                                       function=rm.group("func") or rm.group("func2")))
                return True
            elided = (stripped[:1], stripped[-1:]) == ("[", "]")  # `[... same frames ...]` in pastes
            if not stripped or REPEATED.match(text) or CARETS.match(text) or elided:
                return True
            indent = len(text) - len(text.lstrip())
            at_base = 0 < indent <= tb.base_indent and EXC_LINE.match(stripped) is not None
            if text[:1].isspace() and not at_base and (tb.frame_indent is None or indent > tb.frame_indent
                                                       or not EXC_LINE.match(stripped)):
                if tb.frames and tb.frames[-1].line is None:
                    fr = tb.frames[-1]
                    tb.frames[-1] = Frame(filename=fr.filename, lineno=fr.lineno, function=fr.function,
                                          line=stripped[:500])
                return True
            em = EXC_LINE.match(stripped)
            if em is None and stripped[:1] in _EMPHASIS_START:
                em = EXC_LINE.match(_unmarked(stripped))
            if em is None and tb.frames and not LOG_PREFIX.match(stripped):
                em = ANY_EXC_LINE.match(stripped)
            if em:
                tb.exc_type, tb.exc_lineno = em.group("type"), lineno
                tb.msg_lines = [(em.group("msg") or "").strip()]
                tb.state = "message"
                return False
            # A non-traceback line where the exception line should be: keep what we have.
            self._finish(key)
            return self._idle(lineno, rank, key, text)
        if tb.state == "after":
            if not stripped:
                return False
            self._finish(key)
            return self._idle(lineno, rank, key, text)
        # message state: continuation lines until a blank line, a log-prefixed line or the cap. A Markdown
        # fence (the end of a paste's code block in an issue) ends the message like a blank line.
        if not stripped or stripped.startswith(_FENCES):
            self._end_block(tb)
            tb.state = "after"  # a chain marker may follow
            return False
        if LOG_PREFIX.match(stripped) or len(tb.msg_lines) >= MAX_MESSAGE_LINES or MP_PROCESS_HEADER.match(stripped):
            self._end_block(tb)
            tb.state = "ended"
            self._finish(key)
            return self._idle(lineno, rank, key, text) if stripped else False
        if FRAME.match(text):  # a frame after the exception line: a new, header-less traceback
            self._finish(key)
            return self._idle(lineno, rank, key, text)
        tb.msg_lines.append(stripped)
        return False

    def _strip_prefix(self, key: object, text: str) -> tuple[str, str]:
        """Remove a logger prefix (`ERROR 06-13 09:02:44 [core.py:517] `, `(Worker pid=3) `) that a
        traceback header carried, from that header and every following line with the same shape.

        Returns (text, said): `said` is what a logger printed before the header on the same line
        (vLLM's `Exception in worker ... while processing method init_device: NCCL error: ...,
        Traceback (most recent call last):`): evidence, not prefix.
        """
        pre = self._prefix.get(key)
        if pre is not None and (pm := pre.match(text)) is not None:
            return text[pm.end():], ""
        idx = text.find("Traceback (")
        if idx < 0 and not text.isascii() and (h := HEADER_ANYWHERE.search(text, 0, 2100)) is not None:
            idx = h.start()  # a translated header behind the same logger prefix
        if 0 < idx <= 2000 and not text[:idx].isspace() and '"' not in text[:idx]:
            before = text[:idx]
            # A paste that lost its newlines, the exception line first (`RuntimeError: ... in use Traceback (most
            # recent call last): File ...`): what precedes the header is that exception, not a prefix
            said_first = before.strip()
            exc = EXC_LINE.match(said_first)
            if exc is not None and exc.group("msg") and EXC_WORD.search(exc.group("type")):
                return text[idx:], said_first
            # A message then `, Traceback (...)` on one line (vLLM): the logger prefix is what precedes the
            # message. Otherwise everything before the header is prefix (loguru's `time | LEVEL | where - `).
            logger = LOGGER_PREFIX.match(before).end() if before.rstrip().endswith(",") else 0  # type: ignore[union-attr]
            cut = logger or (idx if idx <= 300 else 0)
            if cut == 0:
                return text, ""
            said = before[cut:].strip(" ,:;-")
            _remember(self._prefix, key, _prefix_shape(before[:cut]))
            return text[idx:], said if logger and len(said) > 12 else ""
        return text, ""

    def _idle(self, lineno: int, rank: int | None, key: object, text: str) -> bool:
        fm = FRAME.match(text)
        if fm and looks_like_source(fm.group("file")) and (
                text.lstrip().startswith(FRAME_WORDS) or fm.group("file").endswith(".py")):
            # a partial paste that starts in the middle of a traceback
            tb = _Pending(rank=rank, start=lineno, last=lineno, frame_indent=len(text) - len(text.lstrip()))
            self._add_frame(tb, fm)
            self._open(key, tb)
            return True
        stripped = text.strip()
        if not text[:1].isspace() and IPY8_FRAME.match(stripped):
            tb = _Pending(rank=rank, start=lineno, last=lineno)
            self._open(key, tb)
            return self._line(lineno, rank, text)
        if not text[:1].isspace() and (RICH_FRAME.match(stripped) or RICH_PATH_LINE.match(stripped)):
            # a rich traceback box pasted without its header: `.../dataloader.py:1024` + `in _try_get_data`
            tb = _Pending(rank=rank, start=lineno, last=lineno)
            self._open(key, tb)
            return self._line(lineno, rank, text)
        if (record := record_prefix(stripped)) is not None:
            stripped = stripped[record.end():].strip()  # an exception line a logging handler captured
        if stripped[:2] == "E " and (pe := PYTEST_E.match(stripped)) is not None:
            stripped = stripped[pe.end():]
        elif stripped[:6] in ("FAILED", "ERROR ") and (ps := PYTEST_SUMMARY.match(stripped)) is not None:
            stripped = stripped[ps.end():]
        indent = len(text) - len(text.lstrip()) if text[:1].isspace() else 0
        if indent and stripped.startswith("raise ") and len(stripped) > 12:
            # a paste that lost the frame line above: the source line alone, the exception line next
            _remember(self._cut_raise, key, (lineno, stripped[:500]))
        if indent > MAX_PASTE_INDENT or (indent and "Error" not in stripped and "Exception" not in stripped):
            return False
        if ":" not in stripped:
            # a bare exception line (`MemoryError`, `...rendezvous.api.RendezvousClosedError`): Python prints
            # no colon for an exception without a message
            bare = EXC_LINE.match(stripped)
            if bare and (BARE_EXC.match(stripped) or DOTTED_EXC.match(stripped)):
                self._open(key, _Pending(rank=rank, start=lineno, last=lineno, exc_type=stripped, exc_lineno=lineno,
                                         msg_lines=[""], state="message"))
            return False
        em = EXC_LINE.match(stripped)
        if em and (EXC_WORD.search(em.group("type")) or DOTTED_EXC.match(em.group("type"))) \
                and not em.group("type").endswith("Warning") \
                and em.group("type") != "Error":  # `Error: failed to run ...`: a CLI's message, not an exception
            tb = _Pending(rank=rank, start=lineno, last=lineno, exc_type=em.group("type"), exc_lineno=lineno,
                          msg_lines=[(em.group("msg") or "").strip()], state="message")
            cut = self._cut_raise.pop(key, None)
            if cut is not None and cut[0] == lineno - 1:
                # what it raised, in words a translator did not touch
                tb.frames.append(Frame(filename="<cut>", lineno=None, function=None, line=cut[1]))
                tb.start = cut[0]
            self._open(key, tb)
            return False
        said = SAID_EXC.search(stripped) if len(stripped) < 4000 and ("Error" in stripped or "Exception" in stripped) \
            else None  # the class it names ends in one of the two
        if said:
            # `... fails with 'TypeError: boost() missing 1 required positional argument'`: an exception
            # quoted in a sentence (a paste cut before its traceback, the error named in prose)
            msg = said.group("msg")
            opener = stripped[said.start("type") - 1] if said.start("type") else ""
            if opener in _CLOSERS and (end := msg.find(_CLOSERS[opener])) > 0:
                msg = msg[:end]  # `fails with "RuntimeError: ...". This is Windows`: the quote ends the message
            msg = msg.rstrip(" .'\"`*)")
            # given to the matcher after the line itself, so that a line rule explaining the line explains it
            self._said = Traceback(blocks=(ExceptionBlock(type_name=said.group("type"), message=msg, lineno=lineno),),
                                   rank=rank, start_line=lineno, end_line=lineno)
        return False

    def _open(self, key: object, tb: _Pending) -> None:
        """Start reading a traceback for `key`; past MAX_PENDING ranks at once the oldest is finished,
        so a million distinct rank prefixes cost what a few thousand do."""
        self._tbs[key] = tb
        while len(self._tbs) > MAX_PENDING:
            self._finish(next(iter(self._tbs)))

    @staticmethod
    def _add_frame(tb: _Pending, fm: re.Match[str]) -> None:
        if len(tb.frames) >= MAX_FRAMES:
            tb.frames.pop(len(tb.frames) // 2)  # keep both ends of very deep stacks
        func = fm.group("func")
        line = None
        if func and "  " in func.strip():  # mangled paste: source line glued to the frame line
            func, line = (p.strip() for p in func.strip().split("  ", 1))
        tb.frames.append(Frame(filename=fm.group("file"), lineno=int(fm.group("line")), function=frame_function(func),
                               line=line))

    @staticmethod
    def _end_block(tb: _Pending) -> None:
        if tb.exc_type is None and not tb.frames and not (tb.header and not tb.blocks):
            return  # (a header followed by nothing readable is still a traceback: a cut paste)
        if tb.exc_type is None and tb.frames and tb.frames[-1].line:
            # cut before the exception line: the innermost source line often says what it raised
            raised = RAISE.match(tb.frames[-1].line)
            if raised:
                tb.exc_type = raised.group(1)
        if len(tb.blocks) >= MAX_BLOCKS:
            tb.blocks.pop(MAX_BLOCKS // 2)  # keep both ends of a very deep chain
        tb.blocks.append(ExceptionBlock(type_name=tb.exc_type or "<unknown>",
                                        message="\n".join(tb.msg_lines).strip(), frames=tuple(tb.frames),
                                        link=tb.link, lineno=tb.exc_lineno or tb.last))
        tb.frames, tb.exc_type, tb.msg_lines, tb.link = [], None, [], "root"

    def _finish(self, key: object) -> None:
        tb = self._tbs.pop(key, None)
        if tb is None:
            return
        if tb.state in ("frames", "message"):
            self._end_block(tb)
        if tb.blocks and not tb.ignored:
            for block in tb.blocks:
                self._wrapped_exit(block, tb.rank)
            self.on_traceback(Traceback(blocks=tuple(tb.blocks), rank=tb.rank, start_line=tb.start,
                                        end_line=tb.last))

    def _wrapped_exit(self, block: ExceptionBlock, rank: int | None) -> None:
        """An exit status in an exception message that a terminal or the paste wrapped over lines
        (`CalledProcessError: Command '[...]' returned non-zero exit` / `status 3221225477.`): each line
        alone holds no exit, the message joined does."""
        lines = block.message.split("\n")
        if len(lines) < 2 or any(parse_exit(line, block.lineno, rank) for line in lines):
            return
        for glue in (" ", ""):  # wrapped at a space, or inside a word
            found = parse_exit(glue.join(line.strip() for line in lines), block.lineno, rank)
            if found is not None:
                self.on_failure(found)
                return

    # -- torchrun summary -----------------------------------------------------------------------
    def _torchrun(self, lineno: int, text: str) -> None:
        s = text.strip()
        if s.startswith("Root Cause (first observed failure)"):
            self._flush_entry()
            self._tr_root = True
            return
        if s == "Failures:":
            self._flush_entry()
            self._tr_root = False
            return
        m = TR_ENTRY.match(text)
        if m:
            self._flush_entry()
            self._tr_entry = {"lineno": lineno, "root": self._tr_root}
            return
        if self._tr_entry is None and _entry_field(text) is not None:
            # a paste that starts inside torchrun's summary: the fields of an entry without its `[0]:` line
            self._tr_entry = {"lineno": lineno, "root": self._tr_root}
        if self._tr_entry is not None:
            field = _summary_field(text)
            if field:
                name, value = field
                self._tr_entry[name] = value
                self._tr_entry["lineno"] = lineno if name == "exitcode" else self._tr_entry["lineno"]
                return
            if s.startswith(("====", "----")) or not s:
                self._flush_entry()
                if s.startswith("===="):
                    self._tr_root = False
            return
        a = AGENT_FAILED.search(text)
        if a:
            code = int(a.group(1))
            self.on_failure(RankFailure(rank=None, local_rank=int(a.group(2)), exitcode=code,
                                        signal=signal_of(code), pid=int(a.group(3)),
                                        lineno=lineno))

    def _flush_entry(self) -> None:
        e, self._tr_entry = self._tr_entry, None
        if not e or "exitcode" not in e:
            return
        rank = local = code = pid = None
        sig = None
        if rm := TR_RANK.match(e.get("rank", "")):
            rank = int(rm.group(1))
            local = int(rm.group(2)) if rm.group(2) else None
        if xm := TR_EXIT.match(e.get("exitcode", "")):
            code = int(xm.group(1))
            pid = int(xm.group(2)) if xm.group(2) else None
            sig = xm.group(3) or (signal_of(code))
        err = e.get("error_file")
        self.on_failure(RankFailure(rank=rank, local_rank=local, exitcode=code, signal=sig, host=e.get("host"),
                                    pid=pid, error_file=None if err in (None, "<N/A>") else err,
                                    detail=e.get("traceback"), root_cause=bool(e["root"]), lineno=e["lineno"]))

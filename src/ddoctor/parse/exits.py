"""Exit statuses and signals as every launcher prints them, as one kind of event.

A rank that dies of SIGKILL leaves no traceback: what is left is one line from whatever started
it, and each launcher words it differently. This table turns those lines into `RankFailure`s so
that signatures match an exit once (`exitcode = [-9, 137]`, `signal = ["SIGKILL"]`) whoever
reported it, and so that a log that ends in a non-zero exit is never called clean.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ddoctor.lazyre import LazyPattern, lazy_re
from ddoctor.model.logs import RankFailure

SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
           9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM"}
_BY_NAME = {v: k for k, v in SIGNALS.items()}
# What shells and `strsignal` print for a signal, as bash reports a killed foreground job.
_SHELL_WORDS = {"Killed": 9, "Segmentation fault": 11, "Bus error": 7, "Aborted": 6, "Illegal instruction": 4,
                "Floating point exception": 8, "Terminated": 15, "Hangup": 1, "Quit": 3,
                # glibc's strsignal under other locales (its libc.po translations): the same shell report, localized.
                # SIGTERM's words ("Beendet", "Terminado") are left out: alone on a line they are ordinary words.
                "段错误": 11, "已杀死": 9, "总线错误": 7, "已放弃": 6, "非法指令": 4, "浮点数例外": 8,  # zh_CN
                "程式記憶體區段錯誤": 11, "強制結束": 9, "匯流排錯誤": 7, "無效指令": 4, "浮點數例外": 8,  # zh_TW
                "強制終了": 9, "バスエラー": 7, "浮動小数点例外": 8,  # ja (its SIGSEGV and SIGILL stay English)
                "세그멘테이션 오류": 11, "죽었음": 9, "버스 오류": 7, "중지됨": 6, "명령어가 잘못됨": 4,  # ko
                "Speicherzugriffsfehler": 11, "Getötet": 9, "Bus-Zugriffsfehler": 7, "Abgebrochen": 6,  # de
                "Ungültiger Maschinenbefehl": 4, "Gleitkomma-Ausnahme": 8,
                "Erreur de segmentation": 11, "Processus arrêté": 9, "Erreur du bus": 7, "Abandon": 6,  # fr
                "Instruction non permise": 4, "Exception en point flottant": 8,
                "Violación de segmento": 11, "Terminado (killed)": 9, "Error del bus": 7, "Abortado": 6,  # es
                "Instrucción ilegal": 4, "Excepción de coma flotante": 8,
                "Falha de segmentação": 11, "Falta de segmentação": 11, "Morto": 9, "Erro no barramento": 7,  # pt
                "Instrução ilegal": 4,
                "Errore di segmentazione": 11, "Ucciso": 9, "Errore di bus": 7, "Annullato": 6,  # it
                "Ошибка сегментирования": 11, "Убито": 9, "Ошибка шины": 7, "Аварийный останов": 6,  # ru
                "Недопустимая инструкция": 4,
                "Помилка адресування": 11, "Вбито": 9,  # uk
                "Naruszenie ochrony pamięci": 11, "Unicestwiony": 9, "Błąd szyny": 7,  # pl
                "Parçalama arızası": 11, "Süreç durduruldu": 9,  # tr
                "Lỗi phân đoạn": 11, "Bị buộc kết thúc": 9,  # vi
                "Segmentatiefout": 11, "Neoprávněný přístup do paměti (SIGSEGV)": 11, "Zabit (SIGKILL)": 9,  # nl, cs
                "Segmenteringsfel": 11, "Dödad": 9, "Szegmentálási hiba": 11, "Kilőve": 9,  # sv, hu
                "Kerusakan segmentasi": 11, "Terbunuh": 9,  # id
                # macOS's shells word SIGABRT so (and follow every word with the signal's number, below)
                "Abort trap": 6}


# Windows has no signals: a crashed process exits with an NTSTATUS code, printed signed or unsigned.
_NTSTATUS = {0xC0000005: "SIGSEGV",  # access violation
             0xC00000FD: "SIGSEGV",  # stack overflow
             0xC000001D: "SIGILL",  # illegal instruction
             0xC0000409: "SIGABRT"}  # fail-fast (abort(), a failed security check)


def signal_of(code: int | None) -> str | None:
    """Signal name for torch-style negative codes, shell-style 128+N codes and Windows crash codes."""
    if code is None:
        return None
    if code & 0xFFFFFFFF in _NTSTATUS and abs(code) > 0xFFFF:
        return _NTSTATUS[code & 0xFFFFFFFF]
    if code < 0:
        return SIGNALS.get(-code)
    if 128 < code <= 128 + 64:
        return SIGNALS.get(code - 128)
    return None


@dataclass(frozen=True, slots=True)
class _Shape:
    launcher: str
    literal: str  # every matching line contains it (a cheap `in` check before the regex)
    regex: LazyPattern
    build: Callable[[re.Match[str]], tuple[int | None, str | None, int | None]]  # (code, signal, rank)


def _code(group: str) -> Callable[[re.Match[str]], tuple[int | None, str | None, int | None]]:
    def build(m: re.Match[str]) -> tuple[int | None, str | None, int | None]:
        code = int(m.group(group))
        rank = m.groupdict().get("rank")
        return code, signal_of(code), int(rank) if rank else None

    return build


def _named_signal(m: re.Match[str]) -> tuple[int | None, str | None, int | None]:
    name = m.group("sig")
    if not name.startswith("SIG"):
        name = "SIG" + name.upper()
    num = _BY_NAME.get(name)
    rank = m.groupdict().get("rank")
    return (-num if num else None), name, int(rank) if rank else None


def _numbered_signal(m: re.Match[str]) -> tuple[int | None, str | None, int | None]:
    """A signal given by number (`exited on signal 9`, `Caught signal 7 (`), with the rank where the line has one."""
    num, rank = int(m.group("num")), m.groupdict().get("rank")
    return -num, SIGNALS.get(num), int(rank) if rank else None


def _nonzero(m: re.Match[str]) -> tuple[int | None, str | None, int | None]:
    """A launcher that says a process failed but not with what status."""
    return 1, None, None


def _shell_word(m: re.Match[str]) -> tuple[int | None, str | None, int | None]:
    num = _SHELL_WORDS[m.group("word")]
    return -num, SIGNALS.get(num), None


_WORDS = "|".join(re.escape(w) for w in _SHELL_WORDS)
# bash's `line` in the locales it is translated to (`bash: 行 1: 12013 段错误 (核心已转储) ...`, `Zeile 3`)
_LINE_WORD = r"(?:line|Zeile|ligne|l[ií]nea|linha|riga|[^\x00-\x7f]{1,8})"
_LOCAL_LINE = re.compile(r": " + _LINE_WORD + r" ?\d{1,9}: ")
# bash's "(core dumped)" in any of its translations (`(Speicherabzug geschrieben)`, `（核心已转储）` with full-width
# parentheses): after a signal word, what stands in parentheses can only be that
_CORE_DUMPED = r"(?:\(|（)[^()\n]{1,60}(?:\)|）)"
_GLUED_WORDS = ("Killed", "Segmentation fault", "段错误", "已杀死")  # what a shell prints after a bar with no newline
_HEAP_ABORT = (r"^(?:(?:free|malloc|realloc|munmap_chunk|malloc_consolidate|_int_malloc|_int_free)\(\): "
               r"(?:invalid|corrupted|double free|memory corruption|unaligned|smallbin|mismatching)"
               r"[a-z0-9 ().!-]{0,60}$|double free or corruption \([!a-z]{2,8}\)$"
               r"|corrupted (?:size vs\. prev_size|double-linked list|top size)$"
               r"|\*\*\* Error in `[^`\n]{1,400}': )")
# Lines that both a shape below reads and the one-pass scan must find (each written once): a c10::Error's tail and
# C++ frames, glog's crash header, Open MPI's crash backtrace (the scan stops at its address) and banner,
# faulthandler's thread header and frames, docker's daemon error, torchelastic's exit barrier, vLLM's worker
# exception, ColossalAI's failed remote shell
_C10_TAIL = r"^Exception raised from \S{1,200} at \S{1,400}:\d{1,7} \(most recent call first\):"
_C10_FRAME = r"^frame #\d{1,4}: [^\n]{0,2000}\(0x[0-9a-f]{1,16} in [^\s()]{0,400}lib(?:c10|torch)[^\s()/]{0,60}\)$"
_GLOG_ABORTED = r"^\*\*\* Aborted at \d{1,12} \(unix time\) try "
_MPI_FRAME = r"^\[[^\]\s]{1,200}:\d{1,9}\] \[ {0,2}\d{1,3}\] \S{1,400}\([^\s()]{0,400}\+0x[0-9a-f]{1,16}\)\[0x"
_MPI_BANNER = r"^\[[^\]\s]{1,200}:\d{1,9}\] \*\*\* Process received signal \*\*\*$"
_FH_THREAD = r"^(?:Current thread|Thread) 0x[0-9a-f]{4,16} \(most recent call first\):$"
_FH_FRAME = r'^ {0,4}File "[^"\n]{1,400}", line \d{1,7} in [\w<>.]{1,200}$'
_DOCKER_DAEMON = r"^(?:docker: )?Error response from daemon: "
_EXIT_BARRIER = r"\[ERROR\] Error waiting on exit barrier"
_VLLM_WORKER = r"\bWorkerProc hit an exception\b"
_COLOSSAL_NO_SHELL = (r"^Error: failed to run \S{1,200} [^\n]{0,4000} on \S{1,200}, is localhost: (?:True|False), "
                      r"exception: \S")
# systemd-coredump in the journal (journalctl, coredumpctl): `Process 2523 (python3) of user 1000 dumped core.`, its
# catalog text `Process 2523 (python3) crashed and dumped core.`, and coredumpctl info's `Signal: 4 (ILL)`
_COREDUMP = r"\bProcess \d{1,10} \([^()\n]{1,64}\) (?:of user \d{1,10} )?(?:crashed and )?dumped core\b"
# The next five shapes' triggers are their core alone, looser than the shape (which reads the line again): a bounded
# repeat before a literal costs the one-pass scan more than the few extra lines the core lets through.
_COREDUMP_CORE = r"dumped core\b"
_COREDUMP = r"\bProcess \d{1,10} \([^()\n]{1,64}\) (?:of user \d{1,10} )?(?:crashed and )?" + _COREDUMP_CORE
_CORE_SIGNAL_NAME = r" \((?:SEGV|ABRT|BUS|ILL|FPE|KILL|QUIT|TRAP|SYS|XCPU|XFSZ)\)$"
_COREDUMP_SIGNAL_CORE = r"Signal: \d{1,2}" + _CORE_SIGNAL_NAME
_COREDUMP_SIGNAL = r"^\s{0,60}Signal: (?P<num>\d{1,2})" + _CORE_SIGNAL_NAME
_LIBCXX_TERMINATE = r"^libc\+\+abi(?:\.dylib)?: terminating(?: (?:due to|with) uncaught exception of type |$|: )"
# the interpreter itself, before any code ran: `python -m` of a module it cannot find, a script that is not there
_PYTHON_REFUSED_CORE = (r"python[\d.]{0,6}(?:\.exe)?: (?:No module named \S|Error while finding module specification "
                        r"for '|can't open file )")
_PYTHON_REFUSED = r"^(?:\S{0,400}[/\\])?" + _PYTHON_REFUSED_CORE
_DIED_OF_SIGNAL_CORE = r"\b(?:died|exited|terminated|was killed|been killed)(?: with| by| on| from)? signal\b"
_DIED_OF_SIGNAL = (_DIED_OF_SIGNAL_CORE
                   + r"[ :=]{0,3}(?:(?P<num>\d{1,2})\b|[^\n]{0,24}?\b(?P<sig>SIG[A-Z]{2,6})\b)")
_EXIT_CODE_CORE = r"\b[Ee]xit(?:ed with)? code:? "
_EXIT_CODE_SAID = (r"(?:^|\b(?:[Ee]rror|ERROR|failed|FAILED|[Ff]ailure)\b[^\n]{0,80}?)" + _EXIT_CODE_CORE
                   + r"(?P<code>-?\d{1,10})\b")
_EXITED_WITH_CODE_CORE = r"(?:exit|return) code[ :=]{0,3}-?\d"
# (the code ends the line or opens a parenthesis: a status, not prose that mentions one)
_EXITED_WITH_CODE = (r"\b(?:[Ee]xit(?:ed|s)|[Tt]erminated|[Kk]illed|[Ff]inished|[Rr]eturned)\b[^\n]{0,60}?"
                     r"\b(?:exit|return) code[ :=]{0,3}(?P<code>-?\d{1,10})(?:[.)]?\s{0,4}$| ?\()")
# the signals torch.multiprocessing.spawn names when a child died of one
_SPAWN_SIGNALS = r"SIG(?:KILL|SEGV|BUS|ABRT|ILL|FPE|TERM|INT|HUP)"
_ZSH_WORDS = {"killed": 9, "segmentation fault": 11, "bus error": 7, "abort": 6, "illegal hardware instruction": 4,
              "terminated": 15, "floating point exception": 8}
_ZWORDS = "|".join(re.escape(w) for w in _ZSH_WORDS)


def _zsh_word(m: re.Match[str]) -> tuple[int | None, str | None, int | None]:
    num = _ZSH_WORDS[m.group("zword")]
    return -num, SIGNALS.get(num), None


SHAPES: tuple[_Shape, ...] = (
    # DeepSpeed: [launch.py:434:sigkill_handler] ['python', ..., '--local_rank=0'] exits with return code = -9
    _Shape("deepspeed", "exits with return code", lazy_re(
        r"(?:--local_rank=(?P<rank>\d{1,6})[^\n]{0,2000}?)?exits with return code = (?P<code>-?\d{1,6})"),
        _code("code")),
    # torch.distributed.launch / subprocess: died with <Signals.SIGSEGV: 11>. / returned non-zero exit status 1.
    _Shape("subprocess", "died with <Signals.", lazy_re(r"died with <Signals\.(?P<sig>SIG[A-Z0-9]{2,8}): \d{1,3}>"),
           _named_signal),
    _Shape("subprocess", "non-zero exit status", lazy_re(r"returned non-zero exit status (?P<code>-?\d{1,10})"),
           _code("code")),
    # torch.multiprocessing.spawn: process 1 terminated with signal SIGKILL / with exit code 1
    _Shape("mp.spawn", "terminated with signal", lazy_re(
        r"process (?P<rank>\d{1,6}) terminated with signal (?P<sig>SIG[A-Z0-9]{2,8})"), _named_signal),
    # the same exception with its message translated: the signal's name survives
    _Shape("mp.spawn", "ProcessExitedException: ", lazy_re(
        r"ProcessExitedException: [^\n]{0,200}?\b(?P<sig>" + _SPAWN_SIGNALS + r")\b"), _named_signal),
    # torch before 1.8 raised a bare Exception there (`Exception: process 3 terminated with signal SIGKILL`)
    _Shape("mp.spawn", "Exception: ", lazy_re(r"^Exception: [^\n]{0,200}?\b(?P<sig>" + _SPAWN_SIGNALS + r")\b"),
           _named_signal),
    _Shape("mp.spawn", "terminated with exit code", lazy_re(
        r"process (?P<rank>\d{1,6}) terminated with exit code (?P<code>-?\d{1,6})"), _code("code")),
    # Open MPI: mpirun noticed that process rank 1 with PID 1234 on node n1 exited on signal 9 (Killed).
    _Shape("mpirun", "exited on signal", lazy_re(
        r"process rank (?P<rank>\d{1,6}) with PID \S{1,20} on node \S{1,200} exited on signal (?P<num>\d{1,3})"),
        _numbered_signal),
    _Shape("mpirun", "Exit code:", lazy_re(r"^\s{0,8}Exit code:\s{1,8}(?P<code>-?\d{1,6})\s*$"), _code("code")),
    # Slurm: srun: error: node1: task 3: Killed / task 0: Exited with exit code 1 / oom_kill events
    _Shape("srun", "srun: error:", lazy_re(
        r"srun: error: \S{1,200}: tasks? (?P<rank>\d{1,6})(?:[-,][\d,-]{0,200})?: (?:Exited with exit code "
        r"(?P<code>-?\d{1,6})|(?P<word>" + _WORDS + r"))"),
        lambda m: (int(m.group("code")), signal_of(int(m.group("code"))), int(m.group("rank"))) if m.group("code")
        else (-_SHELL_WORDS[m.group("word")], SIGNALS.get(_SHELL_WORDS[m.group("word")]), int(m.group("rank")))),
    _Shape("srun", "Out Of Memory", lazy_re(r"srun: error: \S{1,200}: tasks? (?P<rank>\d{1,6})[^\n]{0,200}: "
                                                r"Out Of Memory"), lambda m: (-9, "SIGKILL", int(m.group("rank")))),
    _Shape("slurm", "oom_kill event", lazy_re(r"Detected \d{1,9} oom_kill events?"),
           lambda m: (-9, "SIGKILL", None)),
    _Shape("slurm", "CANCELLED AT", lazy_re(r"\*\*\* (?:JOB|STEP) \S{1,40} ON \S{1,200} CANCELLED AT"),
           lambda m: (-15, "SIGTERM", None)),
    # the kernel and cgroups (dmesg pasted into the log)
    _Shape("kernel", "Killed process", lazy_re(
        r"(?:Out of memory|Memory cgroup out of memory): Killed process \d"), lambda m: (-9, "SIGKILL", None)),
    # Open MPI's signal handler: [host:02519] Signal: Segmentation fault (11)
    _Shape("openmpi", "Signal: ", lazy_re(
        r"^\[[^\]]{1,200}\] Signal: (?P<word>Segmentation fault|Bus error|Aborted|Floating point exception|Illegal "
        r"instruction) \(\d{1,3}\)"), _shell_word),
    # glog / folly / abseil failure handlers in C++ runtimes (PyTorch's, TensorFlow's, Ray's):
    # `*** SIGSEGV (@0x0) received by PID 1234 (TID 0x7f..) from PID 0; stack trace: ***`
    _Shape("glog", "received by PID", lazy_re(
        r"^\*\*\* (?:Signal \d{1,3} \()?(?P<sig>SIG(?:SEGV|ABRT|BUS|FPE|ILL|KILL))\)? \(?@?[^\n]{0,40}?"
        r"received by PID \d"),
        _named_signal),
    # UCX's and Open MPI's signal handlers:
    # `[host:5283 :0:5704] Caught signal 7 (Bus error: nonexistent physical address)`
    _Shape("ucx", "Caught signal ", lazy_re(r"\bCaught signal (?P<num>\d{1,2}) \((?:Segmentation fault|Bus error"
                                            r"|Aborted|Illegal instruction|Floating point exception)"),
           _numbered_signal),
    # a C++ exception nobody caught: std::terminate aborts the process (the shell's `Aborted` is often cut off)
    _Shape("c++", "terminate called after throwing", lazy_re(
        r"^terminate called after throwing an instance of"), lambda m: (-6, "SIGABRT", None)),
    # the same on macOS (libc++): `libc++abi: terminating due to uncaught exception of type gloo::EnforceNotMet: ...`
    _Shape("c++", "libc++abi", lazy_re(_LIBCXX_TERMINATE), lambda m: (-6, "SIGABRT", None)),
    # glog's and abseil's LOG(FATAL) / CHECK, which abort the process: `F1202 12:00:00.000123  1234 foo.cc:12] Check
    # failed: ...`; TensorFlow's own prefix: `2024-01-02 03:04:05.678901: F tensorflow/core/x.cc:12] ...`
    _Shape("glog", "", lazy_re(r"^F\d{4} \d\d:\d\d:\d\d\.\d{1,9} {1,8}\d{1,12} \S{1,400}:\d{1,7}\] "),
           lambda m: (-6, "SIGABRT", None)),
    _Shape("glog", ": F ", lazy_re(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{1,9}: F \S{1,400}:\d{1,7}\] "),
           lambda m: (-6, "SIGABRT", None)),
    # glibc's heap checks, which abort the process: `double free or corruption (!prev)`, `free(): invalid pointer`,
    # and older glibc's `*** Error in `python': double free or corruption (out): 0x... ***`
    _Shape("glibc", "", lazy_re(_HEAP_ABORT), lambda m: (-6, "SIGABRT", None)),
    # a Rust panic (tokenizers, safetensors and other native extensions; a Rust launcher exits 101) and a Go
    # runtime panic (Go-based launchers and sidecars)
    _Shape("rust", "' panicked at ", lazy_re(r"^thread '[^'\n]{1,200}' panicked at "), lambda m: (101, None, None)),
    _Shape("go", "panic: runtime error: ", lazy_re(r"^panic: runtime error: "), lambda m: (2, None, None)),
    # Hydra, when the job it ran raised (the traceback follows unless the paste stops here)
    _Shape("hydra", "Error executing job with overrides", lazy_re(r"^Error executing job with overrides: "),
           _nonzero),
    # wandb's summary when the run's script raised: `wandb: ERROR Run 3xk2 errored: RuntimeError('...')`
    _Shape("wandb", "errored:", lazy_re(r"^wandb: ERROR Run \S{1,100} errored:"), _nonzero),
    # Python's faulthandler
    _Shape("faulthandler", "Fatal Python error:", lazy_re(
        r"^Fatal Python error: (?P<word>Segmentation fault|Bus error|Aborted|Floating point exception|Illegal "
        r"instruction)"), _shell_word),
    # faulthandler on Windows, which has no signals: `Windows fatal exception: access violation` (the NTSTATUS
    # 0xC0000005 a segfault is there), `stack overflow`, `code 0xc0000374` (heap corruption)
    _Shape("faulthandler", "Windows fatal exception: ", lazy_re(
        r"^Windows fatal exception: (?:(?P<av>access violation|stack overflow)|code 0x[0-9a-fA-F]{8}"
        r"|float divide by zero|float overflow|int divide by zero)$"),
        lambda m: (-11, "SIGSEGV", None) if m.group("av") else (1, None, None)),
    # native crash handlers' banners: cpptrace/backward's (vLLM, TensorRT-LLM, Megatron images print it before the
    # native stack), and glog's failure-signal header, whose next line names the signal when the paste has it
    _Shape("crash-handler", "Segfault encountered", lazy_re(r"^!{3,10} ?Segfault encountered ?!{3,10}$"),
           lambda m: (-11, "SIGSEGV", None)),
    _Shape("glog", "(unix time) try", lazy_re(_GLOG_ABORTED), _nonzero),
    # a c10::Error's own tail (TORCH_CHECK, C10_CUDA_CHECK): printed only as part of a raised exception's message,
    # so a paste holding it failed even when the message line above it was cut off
    _Shape("c10", "Exception raised from ", lazy_re(_C10_TAIL), _nonzero),
    # a c10::Error's C++ backtrace (`frame #3: <unknown function> + 0x1f5 (0x7f.. in .../torch/lib/libc10.so)`):
    # torch prints it only as part of a raised error's message, so frames alone (the message scrolled off) failed
    _Shape("c10", "frame #", lazy_re(_C10_FRAME), _nonzero),
    # Open MPI's signal handler's backtrace (`[node1:02519] [ 6] /usr/lib/libpython3.10.so.1.0(_PyEval_+0x47)[0x7f]`)
    # and its banner: a rank crashed even where the `Signal:` line above was cut off
    _Shape("openmpi", "] [", lazy_re(_MPI_FRAME + r"[0-9a-f]{1,16}\]$"), _nonzero),
    _Shape("openmpi", "*** Process received signal ***", lazy_re(_MPI_BANNER), _nonzero),
    # faulthandler's frames (`  File "x.py", line 28 in backward`: no comma before `in`, unlike a traceback) and
    # thread headers: it prints them only on a fatal signal or when a dump for a hang was asked for
    _Shape("faulthandler", " (most recent call first):", lazy_re(_FH_THREAD), _nonzero),
    _Shape("faulthandler", '", line ', lazy_re(_FH_FRAME), _nonzero),
    # docker, when the container could not start (`could not select device driver "" with capabilities: [[gpu]]`)
    _Shape("docker", "Error response from daemon:", lazy_re(_DOCKER_DAEMON), _nonzero),
    # torchelastic's agent when its workers finished but the other nodes' agents never reached the exit barrier
    _Shape("torchelastic", "Error waiting on exit barrier", lazy_re(_EXIT_BARRIER), _nonzero),
    # vLLM's worker processes (V1 engine): `(VllmWorker rank=1 pid=123) ERROR ... WorkerProc hit an exception.`
    _Shape("vllm", "WorkerProc hit an exception", lazy_re(_VLLM_WORKER), _nonzero),
    # bash and other shells: `Killed`, `./run.sh: line 3:  4321 Segmentation fault      (core dumped) python x.py`;
    # macOS adds its own signal number: `Segmentation fault: 11`, `Abort trap: 6`, `Bus error: 10`
    _Shape("shell", "", lazy_re(
        r"^(?:\S{1,400}: " + _LINE_WORD + r" ?\d{1,9}: {1,4}\d{1,12} )?(?P<word>" + _WORDS + r")(?:: \d{1,2})?"
        r"(?: {0,40}" + _CORE_DUMPED + r")?(?: {2,40}\S[^\n]{0,2000})?$"), _shell_word),
    # the same report with the padding before the command collapsed to one space (a paste outside a code block):
    # after bash's `line N: PID` the word can only be the job's fate
    _Shape("shell", "", lazy_re(
        r"^\S{1,400}: " + _LINE_WORD + r" ?\d{1,9}: {1,4}\d{1,12} (?P<word>" + _WORDS + r")(?: " + _CORE_DUMPED
        + r")? \S"),
        _shell_word),
    # the shell's word glued to a progress bar that never printed its newline (tqdm, Lightning):
    # `  6%|####      | 3787/62565 [04:47<1:10:53, 13.82it/s]Killed`
    *(_Shape("shell", word, lazy_re(r"\| ?\d[\d.]{0,12}[kMG]?/[\d.?]{1,12}[kMG]? \[[^\]\n]{0,400}\] ?(?P<word>"
                                       + re.escape(word) + r")(?: ?" + _CORE_DUMPED + r")?\s{0,4}$"), _shell_word)
      for word in _GLUED_WORDS),
    # zsh and fish report a killed foreground job in lower case: `zsh: killed     python train.py`
    _Shape("shell", "", lazy_re(r"^(?:zsh|fish): (?P<zword>" + _ZWORDS + r")\b"), _zsh_word),
    # zsh job control: `[1]    12345 killed     python train.py`, `[2]  + 4321 segmentation fault  python x.py`
    _Shape("shell", "", lazy_re(r"^\[\d{1,4}\] {1,8}(?:[+-] {1,4})?\d{1,12} (?P<zword>" + _ZWORDS + r")\b"),
           _zsh_word),
    # bash job control: `[1]+  Killed                  python train.py`, `[2]-  Exit 1   python x.py`
    _Shape("shell", "", lazy_re(r"^\[\d{1,4}\][+-]? {1,20}(?:Exit (?P<code>\d{1,3})|(?P<word>" + _WORDS + r"))"
                                r"(?: \(core dumped\))? {1,60}\S"),
           lambda m: (int(m.group("code")), signal_of(int(m.group("code"))), None) if m.group("code")
           else _shell_word(m)),
    # kubectl exec / run: command terminated with exit code 137
    _Shape("kubernetes", "command terminated with exit code", lazy_re(
        r"command terminated with exit code (?P<code>-?\d{1,6})"), _code("code")),
    # torch.distributed.elastic before 1.10, when the child wrote no error file: "CHILD PROCESS FAILED WITH NO
    # ERROR_FILE" / "Child process 17057 (local_rank 0) FAILED (exitcode 1)"
    _Shape("torchelastic", ") FAILED (exitcode ", lazy_re(
        r"Child process \d{1,12} \(local_rank (?P<rank>\d{1,6})\) FAILED \(exitcode (?P<code>-?\d{1,6})\)"),
        _code("code")),
    # Lightning's DDP launcher
    _Shape("lightning", "terminated with code", lazy_re(
        r"Child process with PID \d{1,12} terminated with code (?P<code>-?\d{1,6})"), _code("code")),
    # wrapper scripts: `training exited with status 137`, `worker exited with code 1`
    _Shape("wrapper", "exited with ", lazy_re(r"\bexited with (?:exit )?(?:status|code) (?P<code>-?\d{1,10})\b"),
           _code("code")),
    # IDEs and wrappers: Process finished with exit code 137 (interrupted by signal 9: SIGKILL)
    _Shape("process", "finished with exit code", lazy_re(r"finished with exit code (?P<code>-?\d{1,10})"),
           _code("code")),
    # CI runners: GitHub Actions `Error: Process completed with exit code 1.`, GitLab `Job failed: exit code 137`;
    # pip's `Command errored out with exit status 1`
    _Shape("ci", "completed with exit code", lazy_re(r"\bProcess completed with exit code (?P<code>-?\d{1,10})\b"),
           _code("code")),
    _Shape("ci", "Job failed: exit code", lazy_re(r"\bJob failed: exit code (?P<code>-?\d{1,10})\b"), _code("code")),
    _Shape("pip", "errored out with exit status", lazy_re(r"\berrored out with exit status (?P<code>-?\d{1,10})\b"),
           _code("code")),
    # Kubernetes pod status pasted into an issue
    _Shape("kubernetes", "OOMKilled", lazy_re(r"\bOOMKilled\b"), lambda m: (137, "SIGKILL", None)),
    # text-generation-inference's launcher: `Shard process was signaled to shutdown with signal 9 rank=0`
    _Shape("tgi", "signaled to shutdown with signal", lazy_re(
        r"signaled to shutdown with signal (?P<num>\d{1,3})(?: rank=(?P<rank>\d{1,6}))?"), _numbered_signal),
    # make running the job or building an extension: `make: *** [Makefile:12: train] Error 1`
    _Shape("make", "*** [", lazy_re(r"^(?:g?make|ninja)(?:\[\d{1,4}\])?: \*\*\* \[[^\]\n]{1,400}\] Error "
                                    r"(?P<code>\d{1,3})"), _code("code")),
    # GNU time: `Command exited with non-zero status 137`; Go-based launchers and tools: `exit status 1`
    _Shape("time", "exited with non-zero status", lazy_re(r"^Command exited with non-zero status (?P<code>\d{1,3})"),
           _code("code")),
    _Shape("process", "exit status ", lazy_re(r"^exit status (?P<code>\d{1,3})$"), _code("code")),
    # docker build: `The command '/bin/sh -c python x.py' returned a non-zero code: 1`; BuildKit's
    # `process "/bin/sh -c ..." did not complete successfully: exit code: 1`
    _Shape("docker", "returned a non-zero code", lazy_re(r"returned a non-zero code: (?P<code>\d{1,3})"),
           _code("code")),
    _Shape("docker", "did not complete successfully", lazy_re(
        r"did not complete successfully: exit code: (?P<code>\d{1,3})"), _code("code")),
    # conda run: "ERROR conda.cli.main_run:execute(49): `conda run python x.py` failed. (See above for error)"
    _Shape("conda", "failed. (See above for error)", lazy_re(r"`conda run [^`\n]{1,2000}` failed\. \(See above"),
           _nonzero),
    # Open MPI when a rank exits non-zero without a signal: "Primary job  terminated normally, but 1 process
    # returned / a non-zero exit code." and "mpirun detected that one or more processes exited with non-zero status"
    _Shape("mpirun", "terminated normally, but", lazy_re(
        r"Primary job {1,2}terminated normally, but \d{1,9} process(?:es)? returned"), _nonzero),
    _Shape("mpirun", "exited with non-zero status", lazy_re(
        r"mpirun detected that one or more processes exited with non-zero status"), _nonzero),
    # Open MPI's default error handler (MPI_ERRORS_ARE_FATAL) when a call fails: `[host:pid] *** An error occurred in
    # MPI_Allgather` (then "reported by process", "processes in this communicator will now abort"), and a program that
    # aborts on purpose: `MPI_ABORT was invoked on rank 0 in communicator MPI_COMM_WORLD` (errorcode on the next line)
    _Shape("mpirun", "An error occurred in MPI_", lazy_re(r"\*\*\* An error occurred in MPI_\w{1,40}"), _nonzero),
    _Shape("mpirun", "MPI_ABORT was invoked on rank", lazy_re(r"MPI_ABORT was invoked on rank (?P<rank>\d{1,6})"),
           lambda m: (1, None, int(m.group("rank")))),
    # ColossalAI's `colossalai run`: "Error: failed to run torchrun ... on 10.0.0.2, is localhost: False, exception:
    # Encountered a bad command exit code!" (fabric's words for the remote shell's non-zero status)
    _Shape("colossalai", "Encountered a bad command exit code", lazy_re(
        r"Error: failed to run \S{1,200} [^\n]{0,4000}exception: Encountered a bad command exit code"), _nonzero),
    # ... and when the remote shell could not even start (ssh refused, no key): `..., exception: <its error>`
    _Shape("colossalai", "is localhost: ", lazy_re(_COLOSSAL_NO_SHELL), _nonzero),
    # what other launchers and wrappers say of a child killed by a signal: `worker 3 died with signal 9`,
    # `Child terminated with signal = 0x9 (SIGKILL)`, `Worker 0 exited with signal SIGKILL`
    _Shape("process", "signal", lazy_re(_DIED_OF_SIGNAL),
           lambda m: _named_signal(m) if m.group("sig") else _numbered_signal(m)),
    # a status said after an error word or alone on its line: `Error: exit code 137`, `exit code 1`
    _Shape("process", "xit code", lazy_re(_EXIT_CODE_SAID), _code("code")),
    # ... and a process said to have exited or been killed with a code, in the words of schedulers, containers and
    # task runners (`Container exited with a non-zero exit code 137.`, `Task exited with return code -9`,
    # `The process was killed (exit code 137)`)
    _Shape("process", " code", lazy_re(_EXITED_WITH_CODE), _code("code")),
    _Shape("python", "python", lazy_re(_PYTHON_REFUSED), _nonzero),
    _Shape("systemd-coredump", "Signal: ", lazy_re(_COREDUMP_SIGNAL), _numbered_signal),
    _Shape("systemd-coredump", "dumped core", lazy_re(_COREDUMP), _nonzero),
)
_WORD_STARTS = (*_SHELL_WORDS, "zsh: ", "fish: ", "[", "F0", "F1", "double free", "free(): ", "malloc",
                "realloc(): ", "munmap_chunk(): ", "_int_", "corrupted ", "*** Error in `")


def parse_exit(text: str, lineno: int, rank: int | None) -> RankFailure | None:
    """One launcher exit line as a RankFailure, or None. `text` is a cleaned line."""
    if text[:1] == "`" or text[-1:] == "`":
        text = text.strip("` ")  # a Markdown code span around a pasted line: `Killed```
    wordy: bool | None = None  # whether shapes without a literal can match: decided once, at the first such shape
    for shape in SHAPES:
        if shape.literal:
            if shape.literal not in text:
                continue
        else:
            if wordy is None:
                wordy = len(text) <= 2500 and (text.startswith(_WORD_STARTS) or ": line " in text or (
                    ": " in text[:420] and _LOCAL_LINE.search(text, 0, 440) is not None))
            if not wordy:
                continue
        m = shape.regex.search(text)
        if m is None:
            continue
        code, sig, r = shape.build(m)
        if code == 0:
            return None
        return RankFailure(rank=r if r is not None else rank, local_rank=None, exitcode=code, signal=sig,
                           detail=text.strip()[:300], launcher=shape.launcher, lineno=lineno)
    return None


# What the one-pass scanner must look for so that these lines reach the parser in large logs.
TRIGGERS: tuple[str, ...] = (
    r"\] ?(?:" + "|".join(map(re.escape, _GLUED_WORDS)) + r")(?: ?" + _CORE_DUMPED + r")?\s{0,4}$",
    r"exits with return code = -?\d",
    r"died with <Signals\.",
    r"returned non-zero exit status",
    # the same words wrapped by a terminal or the paste: the window must reach the next line, where the status is
    r"returned non-zero(?: exit)?\s{0,4}$",
    r"terminated with (?:signal|exit code)",
    r"ProcessExitedException: [^\n]{0,200}SIG[A-Z]{2,4}",
    r"^Exception: [^\n]{0,200}\b" + _SPAWN_SIGNALS + r"\b",
    r"exited on signal \d",
    r"\*\*\* An error occurred in MPI_\w",
    r"MPI_ABORT was invoked on rank \d",
    r"^\s{0,8}Exit code:\s{1,8}-?\d",
    r"srun: error: ",
    r"oom_kill event",
    r"CANCELLED AT",
    r"Killed process \d",
    r"^Fatal Python error: ",
    r"\] Signal: [A-Z][a-z]{2,30}",
    # a shell's word alone at the start of a line, and bash's job report (`./run.sh: line 3:  4321 Killed  python x.py`)
    # found by its shape alone: the words after a bounded repeat made the one-pass scan 20% slower on every log
    r"^`{0,3}(?:" + _WORDS + r")(?: |`|$|: \d)",
    r"^\S{1,400}: " + _LINE_WORD + r" ?\d{1,9}: {1,4}\d{1,12} \S",
    r"terminated with code -?\d",
    r"\) FAILED \(exitcode -?\d",
    r"finished with exit code",
    r"exited with (?:exit )?(?:status|code) -?\d",
    _EXITED_WITH_CODE_CORE,
    r"OOMKilled",
    r"^F\d{4} \d\d:\d\d:\d\d\.\d{1,9} {1,8}\d{1,12} ",
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{1,9}: F \S",
    _HEAP_ABORT,
    r"^thread '[^'\n]{1,200}' panicked at ",
    r"^panic: runtime error: ",
    r"^Error executing job with overrides: ",
    r"^wandb: ERROR Run \S{1,100} errored:",
    r"^(?:zsh|fish): (?:killed|segmentation fault|bus error|abort|illegal hardware instruction|terminated)",
    r"^\[\d{1,4}\][+-]? {1,20}(?:Exit \d|" + _WORDS + r")",
    r"^\[\d{1,4}\] {1,8}(?:[+-] {1,4})?\d{1,12} "
    r"(?:killed|segmentation fault|bus error|abort|illegal hardware instruction|terminated)",
    r"^\*\*\* (?:Signal \d{1,3} \()?SIG(?:SEGV|ABRT|BUS|FPE|ILL|KILL)\b",
    r"^terminate called after throwing an instance of",
    _LIBCXX_TERMINATE,
    r"command terminated with exit code",
    r"Process completed with exit code -?\d",
    r"Job failed: exit code -?\d",
    r"errored out with exit status -?\d",
    r": Out Of Memory",
    r"signaled to shutdown with signal \d",
    r"Caught signal \d{1,2} \(",
    r"^(?:g?make|ninja)(?:\[\d{1,4}\])?: \*\*\* \[",
    r"^exit status \d{1,3}$",
    r"returned a non-zero code: \d",
    r"did not complete successfully: exit code: \d",
    r"` failed\. \(See above for error\)",
    r"terminated normally, but \d{1,9} process",
    r"exited with non-zero status",
    r"Encountered a bad command exit code",
    _COLOSSAL_NO_SHELL,
    r"^Windows fatal exception: ",
    r"^!{3,10} ?Segfault encountered",
    _GLOG_ABORTED,
    _C10_TAIL,
    _DOCKER_DAEMON,
    _EXIT_BARRIER,
    _VLLM_WORKER,
    _C10_FRAME,
    _MPI_FRAME,
    _MPI_BANNER,
    _FH_THREAD,
    _FH_FRAME,
    _COREDUMP_CORE,
    _COREDUMP_SIGNAL_CORE,
    _DIED_OF_SIGNAL_CORE,
    _EXIT_CODE_CORE + r"-?\d",
    _PYTHON_REFUSED_CORE,
)

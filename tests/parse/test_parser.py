"""The parser against CPython's own traceback printer (the oracle) and against real-world mangling."""

import sys
import traceback

import pytest

from ddoctor.kb.engine import diagnose_text
from ddoctor.parse.clean import clean_line
from ddoctor.parse.parser import LogParser


def parse(text: str):
    tbs, failures, lines = [], [], []
    p = LogParser(lambda n, r, t: lines.append((n, r, t)), tbs.append, failures.append)
    for i, line in enumerate(text.split("\n"), 1):
        p.feed(i, line)
    p.close()
    return tbs, failures, lines


def formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def raise_chain(kind: str):
    def inner():
        raise KeyError("shard_7")

    try:
        try:
            inner()
        except KeyError as e:
            if kind == "cause":
                raise RuntimeError("could not load shard") from e
            raise RuntimeError("while cleaning up")  # noqa: B904 - an implicit context chain is the point
    except RuntimeError as e:
        return e


@pytest.mark.parametrize("kind", ["cause", "context"])
def test_chains_match_traceback_exception(kind):
    exc = raise_chain(kind)
    te = traceback.TracebackException.from_exception(exc)
    (tb,), _, _ = parse(formatted(exc))
    assert [b.short_type for b in tb.blocks] == ["KeyError", "RuntimeError"]
    assert tb.blocks[0].message == "'shard_7'"
    assert tb.blocks[1].message == str(exc)
    assert tb.blocks[1].link == kind
    assert len(tb.blocks[1].frames) == len(te.stack)
    assert len(tb.blocks[0].frames) == len(te.__cause__.stack if kind == "cause" else te.__context__.stack)
    assert tb.blocks[0].frames[-1].function == "inner"


def test_recursion_elision_and_carets():
    def recurse(n):
        if n == 0:
            raise ValueError("bottom")
        return recurse(n - 1)

    try:
        recurse(40)
    except ValueError as e:
        text = formatted(e)
    assert "Previous line repeated" in text
    (tb,), _, _ = parse(text)
    assert tb.final.short_type == "ValueError"
    assert tb.final.message == "bottom"


def test_syntax_error():
    try:
        compile("def f(:\n  pass", "model.py", "exec")
    except SyntaxError as e:
        text = formatted(e)
    (tb,), _, _ = parse(text)
    assert tb.final.short_type == "SyntaxError"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is 3.11+")
def test_exception_group_children_are_found():
    try:
        raise ExceptionGroup("ranks failed", [ValueError("rank 0 bad"), KeyError("rank 1 key")])  # noqa: F821
    except Exception as e:
        text = formatted(e)
    tbs, _, _ = parse(text)
    types = {b.short_type for tb in tbs for b in tb.blocks}
    assert {"ValueError", "KeyError"} <= types


def test_interleaved_rank_prefixes_are_demultiplexed():
    text = "\n".join([
        "[rank1]: Traceback (most recent call last):",
        "[rank0]: Traceback (most recent call last):",
        '[rank1]:   File "/p/train.py", line 9, in <module>',
        '[rank0]:   File "/p/train.py", line 9, in <module>',
        "[rank1]:     main()",
        "[rank0]:     main()",
        "[rank1]: KeyError: 'a'",
        "[rank0]: ValueError: b",
    ])
    tbs, _, _ = parse(text)
    by_rank = {tb.rank: tb.final.short_type for tb in tbs}
    assert by_rank == {0: "ValueError", 1: "KeyError"}


@pytest.mark.parametrize(("raw", "rank", "text"), [
    ("[default0]:[rank3]: RuntimeError: x", 3, "RuntimeError: x"),
    ("[default1]:hello", 1, "hello"),
    ("\x1b[31mRuntimeError\x1b[0m: red", None, "RuntimeError: red"),
    ("progress 10%\rprogress 100%\r", None, "progress 100%"),
    ("│ RuntimeError: boxed                │", None, "RuntimeError: boxed"),
    ("> RuntimeError: quoted", None, "RuntimeError: quoted"),
    ("[rank 1] cached 64 MiB", None, "[rank 1] cached 64 MiB"),
    ("[0]:", None, "[0]:"),
    # srun --label (padded past ten tasks) and mpirun --tag-output give the task's global rank
    ("0: Traceback (most recent call last):", 0, "Traceback (most recent call last):"),
    (' 3:   File "x.py", line 2, in f', 3, '  File "x.py", line 2, in f'),
    ("[1,3]<stderr>:RuntimeError: x", 3, "RuntimeError: x"),
    ("[1]<stderr>:RuntimeError: x", 1, "RuntimeError: x"),
    ("Tue Jun  9 20:10:40 2020[12]<stdout>:  what():  x", 12, "  what():  x"),
    ("[2020-06-09T20:10:40Z] cf108822 [RUNNING] ||  Tue Jun  9 20:10:40 2020[1]<stderr>:*** Received signal 6 ***", 1,
     "*** Received signal 6 ***"),
    ("[2020-06-09T20:10:40Z] cf108822 || RuntimeError: x", None, "RuntimeError: x"),
    ("<>        [2021-12-07 10:43:01] 087c0ee7 || Exit code: 1", None, "Exit code: 1"),
    ("12:00:01 INFO step 3: loss 0.1", None, "12:00:01 INFO step 3: loss 0.1"),
    # a paste that began inside the first line's prefix: the bracket's tail still says the rank
    ("rank1]: ValueError: x", 1, "ValueError: x"),
    ("ank12]: ValueError: x", 12, "ValueError: x"),
    ("ault0]: hello", 0, "hello"),
    ("abc def]: x", None, "abc def]: x"),
    ("Size([1]: x", None, "Size([1]: x"),
])
def test_clean_line(raw, rank, text):
    r, _, t = clean_line(raw)
    assert (r, t) == (rank, text)


def test_crlf_and_localized_french_traceback():
    text = ("Traceback (dernier appel le plus récent) :\r\n"
            '  Fichier "/home/u/llama/generation.py", ligne 42, dans build\r\n'
            '    torch.distributed.init_process_group("nccl")\r\n'
            "RuntimeError: Distributed package doesn't have NCCL built in\r\n")
    (tb,), _, _ = parse(text)
    assert tb.final.frames[0].filename == "/home/u/llama/generation.py"
    assert tb.final.frames[0].lineno == 42
    assert diagnose_text(text).root.name == "nccl-unavailable"


def test_logger_prefixed_traceback():
    pre = "(RayWorkerWrapper pid=3921, ip=192.168.50.12) ERROR 05-29 09:16:31 [worker_base.py:620] "
    text = "\n".join([pre + "Traceback (most recent call last):",
                      pre + '  File "/opt/x/worker.py", line 612, in execute_method',
                      pre + "    return run_method(self)",
                      pre + "KeyError: 'missing'"])
    (tb,), _, _ = parse(text)
    assert tb.final.short_type == "KeyError"
    assert tb.final.frames[0].lineno == 612


def test_mangled_paste_without_line_breaks():
    text = ('`Traceback (most recent call last):  File "run.py", line 512, in <module>\n'
            '    main()  File "run.py", line 219, in main\n'
            "RuntimeError: Address already in use`")
    (tb,), _, _ = parse(text)
    assert len(tb.final.frames) == 2
    assert tb.final.short_type == "RuntimeError"


def test_partial_paste_without_header():
    text = ('  File "/p/model.py", line 88, in forward\n'
            "    outputs = self.encoder(**inputs)\n"
            "RuntimeError: Expected all tensors to be on the same device, but found at least two devices, "
            "cuda:0 and cpu!")
    (tb,), _, _ = parse(text)
    assert tb.user_frame.filename == "/p/model.py"
    assert diagnose_text(text).root.name == "device-mismatch"


def test_mp_spawn_rank_is_recovered():
    text = "\n".join([
        "torch.multiprocessing.spawn.ProcessRaisedException: ",
        "",
        "-- Process 3 terminated with the following error:",
        "Traceback (most recent call last):",
        '  File "/p/w.py", line 14, in worker',
        "    shard = SHARDS[rank]",
        "KeyError: 3",
    ])
    tbs, _, _ = parse(text)
    assert tbs[-1].rank == 3
    assert tbs[-1].final.short_type == "KeyError"


def test_mp_spawn_rank_is_recovered_from_a_translated_report():
    for report in ("-- Prozess 3 wurde mit dem folgenden Fehler beendet:", "-- 进程 3 因以下错误而终止："):
        text = "\n".join(["torch.multiprocessing.spawn.ProcessRaisedException: ", "", report,
                          "Traceback (most recent call last):", '  File "/p/w.py", line 14, in worker',
                          "    shard = SHARDS[rank]", "KeyError: 3"])
        tbs, _, _ = parse(text)
        assert tbs[-1].rank == 3, report
        assert tbs[-1].final.short_type == "KeyError"


def test_torchrun_summary_block():
    text = "\n".join([
        "Failures:",
        "[1]:",
        "  time      : 2026-11-24_17:57:34",
        "  host      : localhost",
        "  rank      : 0 (local_rank: 0)",
        "  exitcode  : -15 (pid: 21777)  (SIGTERM)",
        "  error_file: <N/A>",
        "  traceback : Signal 15 (SIGTERM) received by PID 21777",
        "------------------------------------------------------------",
        "Root Cause (first observed failure):",
        "[0]:",
        "  time      : 2026-11-24_17:57:34",
        "  host      : node7",
        "  rank      : 5 (local_rank: 1)",
        "  exitcode  : -9 (pid: 21778)",
        "  error_file: /tmp/torchelastic_x/attempt_0/1/error.json",
        "  traceback : Signal 9 (SIGKILL) received by PID 21778",
        "============================================================",
    ])
    _, failures, _ = parse(text)
    root = [f for f in failures if f.root_cause]
    assert len(failures) == 2
    assert len(root) == 1
    r = root[0]
    assert (r.rank, r.local_rank, r.exitcode, r.signal, r.pid, r.host) == (5, 1, -9, "SIGKILL", 21778, "node7")
    assert r.error_file.endswith("error.json")
    other = next(f for f in failures if not f.root_cause)
    assert (other.rank, other.signal) == (0, "SIGTERM")


def test_warnings_are_not_failures():
    # (NCCL's not-compiled warning is not here: the same call then raises, so it foretells a failure; see DD101)
    text = ("/venv/torch/distributed/distributed_c10d.py:4807: UserWarning: No device id is provided via "
            "`init_process_group` or `barrier `. Using the current device set by the user.\n  warnings.warn(\n"
            "FutureWarning: something is deprecated\nall good")
    assert diagnose_text(text).diagnoses == ()


def test_frames_are_not_evidence():
    text = ("Traceback (most recent call last):\n"
            '  File "/venv/torch/distributed/distributed_c10d.py", line 2181, in _new_process_group_helper\n'
            "    raise RuntimeError(\"Distributed package doesn't have NCCL built in\")\n"
            "RuntimeError: Distributed package doesn't have NCCL built in")
    root = diagnose_text(text).root
    assert [e.lineno for e in root.evidence] == [4]


def test_secondary_error_during_handling_ranks_after_the_first():
    text = "\n".join([
        "Traceback (most recent call last):",
        '  File "/p/train.py", line 10, in main',
        "    dist.init_process_group('nccl')",
        "RuntimeError: Distributed package doesn't have NCCL built in",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/p/train.py", line 14, in main',
        "    dist.destroy_process_group()",
        "ValueError: Default process group has not been initialized, please make sure to call init_process_group.",
    ])
    names = [d.name for d in diagnose_text(text).diagnoses]
    assert names[0] == "nccl-unavailable"
    assert "pg-not-initialized" in names


def test_oom_killed_rank_beats_peer_timeouts():
    text = "\n".join([
        "[rank1]:[E ProcessGroupNCCL.cpp:475] [Rank 1] Watchdog caught collective operation timeout: "
        "WorkNCCL(SeqNum=9, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600012 ms",
        "[rank2]:[E ProcessGroupNCCL.cpp:475] [Rank 2] Watchdog caught collective operation timeout: "
        "WorkNCCL(SeqNum=9, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600013 ms",
        "Root Cause (first observed failure):",
        "[0]:",
        "  rank      : 0 (local_rank: 0)",
        "  exitcode  : -9 (pid: 1)",
        "  traceback : Signal 9 (SIGKILL) received by PID 1",
        "========",
    ])
    r = diagnose_text(text)
    assert [d.name for d in r.diagnoses] == ["host-oom-killed", "nccl-timeout"]
    assert r.diagnoses[1].symptom
    assert r.diagnoses[1].ranks == (1, 2)


def test_failure_without_any_signature_is_unknown():
    text = "Root Cause (first observed failure):\n[0]:\n  rank      : 0 (local_rank: 0)\n  exitcode  : 3 (pid: 9)\n===="
    assert diagnose_text(text).root.name == "unknown"


def test_chatter_in_other_languages_around_the_log():
    text = ("用官方镜像跑微调脚本，报错如下：\n\nTraceback (most recent call last):\n"
            '  File "train.py", line 3, in <module>\n    model.cuda()\n'
            "AssertionError: Torch not compiled with CUDA enabled\n\n该怎么办？")
    assert diagnose_text(text).root.name == "cuda-unavailable-build"


def test_rich_boxed_traceback_rendered_by_rich_itself():
    import io

    from rich.console import Console
    from rich.traceback import Traceback as RichTraceback

    def load(rank):
        shards = {0: "a"}
        return shards[rank]

    try:
        load(1)
    except KeyError:
        console = Console(file=io.StringIO(), width=100, color_system=None)
        console.print(RichTraceback(show_locals=False))
        text = console.file.getvalue()
    assert "╭" in text
    assert "❱" in text
    (tb,), _, _ = parse(text)
    assert tb.final.short_type == "KeyError"
    assert tb.final.message == "1"
    assert [f.function for f in tb.final.frames][-1] == "load"
    assert tb.final.frames[-1].filename.endswith("test_parser.py")


def test_rich_frame_wrapped_at_the_panel_edge():
    text = "\n".join([
        "╭─────────────── Traceback (most recent call last) ───────────────╮",
        "│ /tmp/a/very/long/directory/name/for/testing/wrapping/of/rich/frames/test_parser_long_module_name │",
        "│ .py:7 in <module>                                                │",
        "│                                                                  │",
        "│ ❱  7 │   load_the_shard_for_this_particular_rank(1)              │",
        "╰──────────────────────────────────────────────────────────────────╯",
        "KeyError: 1",
    ])
    (tb,), _, _ = parse(text)
    assert tb.final.frames[-1].filename.endswith("rich/frames/test_parser_long_module_name.py")
    assert tb.final.frames[-1].lineno == 7
    assert tb.final.short_type == "KeyError"
    between_words = text.replace("test_parser_long_module_name │\n│ .py:7 in <module>",
                                 "test_parser_long_module_name.py:7 in │\n│ a_function_name_that_wrapped")
    (tb,), _, _ = parse(between_words)
    assert tb.final.frames[-1].function == "a_function_name_that_wrapped"


def test_windows_paths_and_user_frame():
    text = ("Traceback (most recent call last):\r\n"
            '  File "C:\\Users\\dev\\proj\\run.py", line 12, in <module>\r\n'
            "    model.cuda()\r\n"
            '  File "C:\\Users\\dev\\miniconda3\\Lib\\site-packages\\torch\\cuda\\__init__.py", line 284, in _lazy_init\r\n'
            "    raise AssertionError(\"Torch not compiled with CUDA enabled\")\r\n"
            "AssertionError: Torch not compiled with CUDA enabled\r\n")
    (tb,), _, _ = parse(text)
    assert tb.user_frame.filename == "C:\\Users\\dev\\proj\\run.py"
    assert tb.user_frame.lineno == 12
    assert diagnose_text(text).root.name == "cuda-unavailable-build"


def test_mis_decoded_utf8_is_tolerated():
    data = "Traceback (most recent call last):\n  File \"/p/m.py\", line 1, in <module>\nKeyError: 'caf\u00e9'\n"
    mangled = data.encode("utf-8").decode("latin-1")  # mojibake as pasted from a wrongly decoded terminal
    root = diagnose_text(mangled).root
    assert root.name == "user-code-error"


def test_torchrun_summary_behind_srun_label_is_read():
    """torchrun started by `srun --label`: its agent's lines carry the node's task prefix."""
    text = "\n".join([
        "0: E0101 00:00:00.000000 4242 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: -9)"
        " local_rank: 3 (pid: 812917) of binary: /usr/bin/python",
    ])
    assert [d.name for d in diagnose_text(text).diagnoses][:1] == ["host-oom-killed"]


def test_srun_labelled_traceback_is_one_traceback():
    text = "\n".join([
        "0: Traceback (most recent call last):",
        '0:   File "/opt/conda/lib/python3.10/site-packages/torch/distributed/distributed_c10d.py", line 1, in barrier',
        "0:     work = default_pg.barrier(opts=opts)",
        "0: RuntimeError: Default process group has not been initialized, please make sure to call init_process_group.",
    ])
    assert [d.name for d in diagnose_text(text).diagnoses][:1] == ["pg-not-initialized"]


@pytest.mark.parametrize("fence", ["```", "```\n", "~~~", "```text"])
def test_a_markdown_fence_ends_the_exception_message(fence):
    """An issue's code block closes right after the exception line: the fence is not part of the message."""
    text = f"```\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nModuleNotFoundError: " \
           f"No module named 'torch._six'\n{fence}\nThanks for any help"
    tbs, _, _ = parse(text)
    assert tbs[0].blocks[-1].message == "No module named 'torch._six'"


def test_a_message_of_several_lines_still_continues_past_text():
    text = "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nRuntimeError: first\nsecond line"
    tbs, _, _ = parse(text)
    assert tbs[0].blocks[-1].message == "first\nsecond line"


@pytest.mark.parametrize(("line", "tail"), [
    ("Predicting ━━━━━━━━━━━━━━━━━━━━ 1/1 0:00:00 • 0:00:00 0.00it/s  terminate called without an active exception",
     "terminate called without an active exception"),
    ("100%|██████████| 499/499 [00:01<00:00, 494.73it/s]pure virtual method called", "pure virtual method called"),
    (" 40%|████      | 4/10 [00:08<00:12,  2.01s/it] usage: train.py [-h]", "usage: train.py [-h]"),
])
def test_a_line_printed_onto_the_end_of_a_progress_bar_is_read_as_printed(line: str, tail: str):
    from ddoctor.parse.parser import messages_of

    assert tail in messages_of(line)


@pytest.mark.parametrize("line", [
    "throughput 512 it/s on this node",  # prose: no number runs into the unit
    " 40%|████      | 4/10 [00:08<00:12,  2.01s/it]",  # a bar alone
    "speed=3.2it/sec",
])
def test_a_progress_bar_without_text_after_it_gives_no_extra_form(line: str):
    from ddoctor.parse.parser import _after_progress_bar

    assert _after_progress_bar(line) is None


@pytest.mark.parametrize("line", ["**ValueError: shard count must be positive**",
                                  "`ValueError: shard count must be positive`"])
def test_an_exception_line_emphasised_in_markdown_is_read_as_python_printed_it(line: str):
    text = f'Traceback (most recent call last):\n  File "/srv/app/train.py", line 3, in <module>\n    main()\n{line}\n'
    (tb,), _, _ = parse(text)
    assert (tb.final.short_type, tb.final.message) == ("ValueError", "shard count must be positive")


def test_multiprocessing_s_header_for_the_next_child_ends_the_previous_message():
    child = ('Traceback (most recent call last):\n'
             '  File "/venv/lib/python3.7/site-packages/torch/distributed/distributed_c10d.py", line 911, in all_reduce\n'
             '    work.wait()\nRuntimeError: Operation timed out!\n')
    tbs, _, _ = parse(f"Process SpawnProcess-4:\n{child}Process SpawnProcess-2:\n{child}")
    assert [tb.final.message for tb in tbs] == ["Operation timed out!"] * 2


def test_a_paste_that_lost_its_line_breaks_keeps_the_exception_glued_after_the_source_line():
    text = ('File "C:\\\\AI\\\\python\\\\lib\\\\site-packages\\\\torch\\\\nn\\\\functional.py", line 2210, in embedding     '
            "return torch.embedding(weight, input, padding_idx, scale_grad_by_freq, sparse) RuntimeError: Expected all "
            "tensors to be on the same device, but found at least two devices, cpu and cuda:0!")
    (tb,), _, _ = parse(text)
    assert tb.final.short_type == "RuntimeError"
    assert tb.final.message.startswith("Expected all tensors")
    assert tb.final.frames[-1].function == "embedding"

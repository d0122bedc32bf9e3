"""What surrounds a line changes what it says: a Python warning's message, a logger's prefix, a wrapped message."""

from ddoctor.kb.engine import Session, diagnose_text, triggers_for
from ddoctor.kb.loader import load_signatures
from ddoctor.parse.parser import LogParser, message_of


def _split(text: str):
    plain, warned, failures = [], [], []
    p = LogParser(lambda n, r, t: plain.append(t), lambda _tb: None, failures.append,
                  on_warning_line=lambda n, r, t: warned.append(t))
    for i, line in enumerate(text.split("\n"), 1):
        p.feed(i, line)
    p.close()
    return plain, warned, failures


def _names(text: str) -> list[str]:
    return [d.name for d in diagnose_text(text).diagnoses]


WARNED = (
    "/env/lib/python3.10/site-packages/unsloth/__init__.py:47: UserWarning: Unsloth: 'CUDA_VISIBLE_DEVICES' is 0,1\n"
    "Unsloth currently does not support multi GPU setups - but we are working on it!\n"
    "Multiple CUDA devices detected but we require a single device.\n"
)


def test_the_lines_a_warning_runs_on_are_warning_lines():
    plain, warned, _ = _split(WARNED + "  warnings.warn(\nstep 1 loss 2.0\n")
    assert len(warned) == 4  # the header, two lines of message and the source line under them
    assert plain == ["step 1 loss 2.0"]


def test_a_warning_ends_at_an_exception_a_blank_line_or_a_log_record():
    for after in ("RuntimeError: Unsloth currently does not support multi GPU setups",
                  "", "2026-12-01 10:00:00,000 INFO starting"):
        plain, warned, _ = _split(WARNED + after)
        assert len(warned) == 3, after
        assert plain == ([after] if after else [])


def test_a_failure_sentence_inside_a_warning_is_not_a_failure():
    assert _names(WARNED) == []


def test_the_same_sentence_counts_once_the_log_failed():
    text = WARNED + "Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\n" \
                    "RuntimeError: Unsloth currently does not support multi GPU setups - but we are working on it!\n"
    assert _names(text)[0] == "single-gpu-only-library"


def test_torch_reports_a_cuda_init_failure_as_a_warning_and_that_one_is_a_failure():
    text = ("/usr/lib/python3/site-packages/torch/cuda/__init__.py:124: UserWarning: CUDA initialization: The NVIDIA "
            "driver on your system is too old (found version 11000). Please update your GPU driver.\n")
    assert _names(text)[0] == "driver-too-old"


def test_message_of_drops_indent_and_record_prefixes_only():
    assert message_of("    usage: train.py [-h]") == "usage: train.py [-h]"
    assert message_of("[2026-12-01 10:02:30,643][__main__][INFO] - usage: train.py [-h]") == "usage: train.py [-h]"
    assert message_of("2026-12-01 12:12:02.192 | INFO     | train:main:57 - usage: x") == "usage: x"
    assert message_of("usage: train.py") == "usage: train.py"
    assert message_of("[2026-12-01 10:02:30,643][__main__][INFO] - ") == "[2026-12-01 10:02:30,643][__main__][INFO] - "


def test_anchored_rules_read_lines_behind_a_logger_prefix_and_keep_the_prefix_as_evidence():
    """A logger's prefix says who printed the line (DeepSpeed's `[launch.py:...]`): it stays in the evidence. A
    logging handler's record prefix around captured stderr (Hydra's `[time][name][LEVEL] - `) is taken off like a
    rank prefix, before anything reads the line."""
    usage = ["usage: train.py [-h] [--lr LR]",
             "train.py: error: unrecognized arguments: --foo=1"]
    for prefix, kept in (("", ""), ("    ", ""), ("[2026-12-01 10:02:30,643] [INFO] [runner.py:42:main] ", "[2026-12"),
                         ("[2026-12-01 10:02:30,643][__main__][INFO] - ", "")):
        r = diagnose_text("\n".join(prefix + line for line in usage) + "\n")
        assert r.diagnoses and r.diagnoses[0].name == "script-arguments-rejected", prefix
        assert r.diagnoses[0].evidence[0].text.startswith(kept or "usage:"), prefix


def test_anchored_rules_open_windows_in_large_logs_behind_a_prefix():
    noise = "".join(f"[2026-12-01 10:02:30,643][__main__][INFO] - step {i} loss 0.5\n" for i in range(800))
    text = noise + ("[2026-12-01 10:02:31,000][__main__][INFO] - usage: train.py [-h] [--lr LR]\n"
                    "[2026-12-01 10:02:31,001][__main__][INFO] - train.py: error: unrecognized arguments: --foo=1\n")
    s = Session(small=0)  # the windowed scan of large logs
    s.add_text(text)
    assert [d.name for d in s.result().diagnoses][:1] == ["script-arguments-rejected"]
    patterns = triggers_for(load_signatures()).patterns.patterns
    assert ": error: (?:unrecognized arguments" in "".join(p[:40] for p in patterns)


def test_an_exit_status_wrapped_over_two_lines_is_read():
    text = ("CalledProcessError: Command '['python.exe', 'train_network.py', '--xformers']' returned non-zero exit\n"
            "status 3221225477.\n")
    _, _, failures = _split(text)
    assert [(f.exitcode, f.signal) for f in failures] == [(3221225477, "SIGSEGV")]
    assert _names(text)[0] == "segfault"


def test_a_status_on_one_line_is_read_once():
    _, _, failures = _split("CalledProcessError: Command 'x' returned non-zero exit status 3.\nmore text\n")
    assert len(failures) == 1


def test_a_warning_without_its_source_line_does_not_hide_the_error_after_it():
    text = ("/env/lib/python3.10/site-packages/y.py:12: UserWarning: something is deprecated\n"
            "RuntimeError: CUDA error: an illegal memory access was encountered\n")
    assert _names(text)[0] == "cuda-illegal-address"
    text = ("/env/lib/python3.10/site-packages/y.py:12: UserWarning: something is deprecated\n"
            "CUDA error: an illegal memory access was encountered\n"
            "step 3 loss 0.2\n")
    assert _names(text)[:1] == ["cuda-illegal-address"]


def test_a_logged_warning_ends_at_its_source_line_behind_the_prefix():
    text = ("(RayTrainWorker pid=4242) /env/lib/python3.10/site-packages/y.py:12: UserWarning: old API\n"
            "(RayTrainWorker pid=4242)   warnings.warn(\n"
            "(RayTrainWorker pid=4242) step 1 loss 0.5\n"
            "(RayTrainWorker pid=4242) CUDA error: an illegal memory access was encountered\n")
    assert _names(text)[:1] == ["cuda-illegal-address"]


def test_anchored_rules_read_the_text_after_a_level_word():
    text = ("2024-01-05 10:00:00,123 INFO usage: train.py [-h] [--lr LR]\n"
            "2024-01-05 10:00:00,124 INFO train.py: error: unrecognized arguments: --foo=1\n")
    assert _names(text)[:1] == ["script-arguments-rejected"]


def test_a_warning_repeated_every_step_does_not_crowd_out_other_warnings():
    text = WARNED * 70 + (
        "[W1002 10:00:00.000000000 socket.cpp:752] [c10d] The IPv6 network addresses of (trainer-0, 29500) cannot be "
        "retrieved (gai error: -2 - Name or service not known).\n"
        "torch.distributed.DistStoreError: Timed out after 901 seconds waiting for clients. 1/2 clients joined.\n")
    assert "rendezvous-unreachable" in _names(text)


def test_a_plain_warning_header_with_trailing_spaces_still_ends_at_a_log_record():
    text = ("/env/lib/python3.10/site-packages/y.py:12: UserWarning: Unsloth currently does not support multi GPU   \n"
            "2026-12-01 10:00:00,000 INFO Unsloth currently does not support multi GPU setups\n"
            "Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\nValueError: x\n")
    plain, warned, _ = _split(text)
    assert len(warned) == 1
    assert plain[0].startswith("2026-12-01 10:00:00,000 INFO")

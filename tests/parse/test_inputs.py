"""Inputs of every shape are read whole and in bounded memory: pipes, FIFOs, process substitution,
gzip (and gzip bombs), UTF-16, NUL runs, ANSI colour, endless lines, `\\r` progress, hits on every
line, many rank prefixes, deep chains. Memory is asserted with tracemalloc (what Python holds),
time only as growth (N vs 4N), never against the clock."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from ddoctor.host import log_input
from ddoctor.kb.engine import Session

NCCL = b"RuntimeError: Distributed package doesn't have NCCL built in\n"


class Generated(io.RawIOBase):
    """A stream of `total` bytes made from `unit` repeated, then `tail`: never materialised."""

    def __init__(self, unit: bytes, total: int, tail: bytes = b"") -> None:
        self.block = memoryview(unit * max(1, (1 << 20) // len(unit)))
        self.left, self.tail = total, tail

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.left <= 0:
            n = min(len(b), len(self.tail))
            b[:n], self.tail = self.tail[:n], self.tail[n:]
            return n
        n = min(len(b), self.left, len(self.block))
        b[:n] = self.block[:n]
        self.left -= n
        return n


def diagnose_stream(stream, small: int = 1 << 20):
    s = Session(small=small)
    s.add_stream(io.BufferedReader(stream, 1 << 20) if isinstance(stream, io.RawIOBase) else stream, "x")
    return s.result()


def peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_an_endless_line_without_newline_is_read_in_bounded_memory():
    out = {}
    mib = peak_mib(lambda: out.setdefault("r", diagnose_stream(Generated(b"x" * 4096, 256 << 20, b"\n" + NCCL))))
    assert out["r"].root.name == "nccl-unavailable"
    assert mib < 100, mib


def test_a_failure_inside_a_huge_carriage_return_progress_line_is_found():
    # tqdm redraws with \r and never prints \n; the NCCL error lands in the middle of that one line
    bar = b"\rEpoch 1:  42%|####      | 420/1000 [00:10<00:14, 41.0it/s]"
    out = {}

    def run():
        stream = Generated(bar, 64 << 20, b"\r[E ProcessGroupNCCL.cpp:475] [Rank 2] Watchdog caught collective "
                                          b"operation timeout: WorkNCCL(SeqNum=2)" + bar * 1000 + b"\n")
        out["r"] = diagnose_stream(stream)

    mib = peak_mib(run)
    assert out["r"].root.name == "nccl-timeout"
    assert mib < 100, mib


def test_a_trigger_word_on_every_line_does_not_parse_every_line():
    # Lightning prints val_error= on every step: the one-pass scan must not open a window per line
    line = b"Epoch 3: 100%|##########| 20/20 [00:01<00:00, train_loss=0.12, val_error=0.031, error_rate=0.2]\n"
    out = {}
    mib = peak_mib(lambda: out.setdefault("r", diagnose_stream(Generated(line, 128 << 20, NCCL), small=0)))
    assert out["r"].root.name == "nccl-unavailable"
    assert mib < 100, mib
    assert out["r"].lines_parsed > 1_000_000


def test_a_million_rank_prefixes_stay_bounded():
    def lines():
        for r in range(1_000_000):
            yield f"[rank{r}]: Traceback (most recent call last):\n".encode()

    data = b"".join(lines()) + NCCL
    out = {}
    mib = peak_mib(lambda: out.setdefault("r", diagnose_stream(io.BytesIO(data), small=0)))
    assert out["r"].root.name == "nccl-unavailable"
    assert mib < 150, mib


def test_a_deep_exception_chain_is_bounded():
    link = ("Traceback (most recent call last):\n  File \"/p/x.py\", line 1, in f\nKeyError: 1\n\n"
            "During handling of the above exception, another exception occurred:\n\n")
    data = (link * 100_000 + "Traceback (most recent call last):\n  File \"/p/x.py\", line 2, in g\n").encode() + NCCL
    out = {}
    mib = peak_mib(lambda: out.setdefault("r", diagnose_stream(io.BytesIO(data), small=1 << 30)))
    assert out["r"].root.name == "nccl-unavailable"
    assert mib < 150, mib


def _cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def test_many_traceback_headers_cost_linear_time():
    unit = (b"[rank1]: Traceback (most recent call last):\n[rank1]:   File \"/p/x.py\", line 3, in f\n"
            b"[rank1]: RuntimeError: Distributed package doesn't have NCCL built in\n")
    small = min(_cpu(lambda: diagnose_stream(io.BytesIO(unit * 5_000), small=0)) for _ in range(2))
    large = min(_cpu(lambda: diagnose_stream(io.BytesIO(unit * 20_000), small=0)) for _ in range(2))
    assert large <= 8 * max(small, 0.01), (small, large)  # quadratic would be 16x


def test_utf16_logs_are_transcoded(tmp_path):
    p = tmp_path / "ps.log"
    p.write_bytes(codecs.BOM_UTF16_LE + ("noise\r\n" * 100 + NCCL.decode()).encode("utf-16-le"))
    inp = log_input.open_log(str(p))
    try:
        assert inp.path is None  # never reopened by path: it is transcoded while it streams
        s = Session()
        s.add_stream(inp.stream, inp.name)
    finally:
        inp.close()
    assert s.result().root.name == "nccl-unavailable"


def test_utf16_without_bom_is_recognised():
    text = ("line of text\n" * 50).encode("utf-16-le")
    assert log_input.utf16_encoding(text) == "utf-16-le"
    assert log_input.utf16_encoding(b"plain ascii log\n" * 50) is None


def test_gzip_bombs_are_capped_and_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(log_input, "GZIP_FREE", 1 << 20)
    monkeypatch.setattr(log_input, "GZIP_MAX_RATIO", 4)
    p = tmp_path / "bomb.log.gz"
    with gzip.open(p, "wb") as f:
        for _ in range(64):
            f.write(b"\0" * (1 << 20))
        f.write(NCCL)
    inp = log_input.open_log(str(p))
    try:
        s = Session()
        s.add_stream(inp.stream, inp.name)
    finally:
        inp.close()
    assert s.bytes_read <= max(1 << 20, os.path.getsize(p) * 4)
    assert inp.notices
    assert "gzip" in inp.notices[0]


def test_a_leading_nul_run_is_text_not_binary():
    from ddoctor.parse.reader import looks_binary

    assert not looks_binary(b"\0" * 100_000 + b"log line\n")
    assert looks_binary(bytes(range(256)) * 40)


def test_ansi_heavy_logs_are_text():
    from ddoctor.parse.reader import looks_binary

    line = b"\x1b[32m2024-01-01 10:00:00\x1b[0m | \x1b[1mINFO\x1b[0m | \x1b[36mtrain\x1b[0m - step\n"
    assert not looks_binary(line * 200)


def test_escape_codes_rendered_as_text_are_colours_too():
    # `less` without -R and some log viewers show the escape byte as the word ESC; users paste that
    line = b"ESC[36m(RayWorkerWrapper pid=14390)ESC[0m RuntimeError: Distributed package doesn't have NCCL built in\n"
    assert diagnose_stream(io.BytesIO(line)).root.name == "nccl-unavailable"
    from ddoctor.parse.clean import strip_ansi

    assert strip_ansi("ESC[1;31mERRORESC[0m: ESCAPE[1] kept") == "ERROR: ESCAPE[1] kept"


def test_mojibake_is_repaired_before_matching():
    mangled = "RuntimeError: Distributed package doesnâ€™t have NCCL built in\n".encode()
    assert diagnose_stream(io.BytesIO(mangled)).root.name == "nccl-unavailable"


def test_a_line_copied_out_of_a_url_is_percent_decoded():
    pasted = b"ImportError: /env/site-packages/torch/lib/libtorch_cuda.so:%20undefined%20symbol:%20ncclCommRegister\n"
    assert diagnose_stream(io.BytesIO(pasted)).root.name == "nccl-lib-mismatch"
    from ddoctor.parse.text import repair

    # a URL inside a message with spaces is the program's own text: left alone
    kept = "Downloading https://hub.example/files/model%20v2%20final.bin to /tmp"
    assert repair(kept) == kept


# -- through the real command ------------------------------------------------------------------------
def ddoctor(*args, **kw):
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "ddoctor", "diagnose", "--no-host", *args], capture_output=True,
                          timeout=60, env=env, **kw)


@pytest.mark.slow
def test_process_substitution_loses_no_bytes(tmp_path):
    log = tmp_path / "job.log"
    log.write_bytes(NCCL + b"ok\n" * 10)
    r = subprocess.run(["bash", "-c", f"{sys.executable} -m ddoctor diagnose --no-host --quiet <(cat {log})"],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 1, r.stderr
    assert "nccl-unavailable" in r.stdout


@pytest.mark.slow
def test_a_fifo_whose_writer_finished_does_not_hang(tmp_path):
    fifo = tmp_path / "job.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["bash", "-c", f"printf '%s' \"$0\" > {fifo}", NCCL.decode()])
    try:
        r = ddoctor("--quiet", str(fifo), text=True)
    finally:
        writer.wait(timeout=30)
    assert r.returncode == 1, r.stderr
    assert "nccl-unavailable" in r.stdout


@pytest.mark.slow
def test_an_empty_pipe_is_a_usage_error_with_a_hint():
    r = ddoctor(input=b"")
    assert r.returncode == 2
    assert b"2>&1" in r.stderr


@pytest.mark.slow
def test_hundreds_of_rank_files_under_a_low_open_file_limit(tmp_path):
    files = []
    for i in range(300):
        f = tmp_path / f"rank{i}.log"
        f.write_bytes(b"step ok\n" + (NCCL if i == 150 else b""))
        files.append(str(f))

    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    r = ddoctor("--quiet", *files, preexec_fn=limit, text=True)
    assert r.returncode == 1, r.stderr[-500:]
    assert "nccl-unavailable" in r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_during_a_parallel_scan_ends_it_promptly(tmp_path, sig):
    """What `timeout`, `scancel` and Kubernetes send: no worker may keep the process alive."""
    import signal

    big = tmp_path / "big.log"
    with open(big, "wb") as f:
        # Every line trips a trigger, so each window is parsed: seconds of work even on a fast
        # machine (a clean log of this size is scanned in about one second).
        block = b"[rank0]: RuntimeError: step 10 failed, retrying (error 3)\n" * 16384
        for _ in range(300):  # ~285 MB
            f.write(block)
    proc = subprocess.Popen([sys.executable, "-m", "ddoctor", "diagnose", "--no-host", str(big)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    io = f"/proc/{proc.pid}/io"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:  # the scan has begun once the process has read part of the file
            with open(io) as f:
                rchar = int(next(line for line in f if line.startswith("rchar:")).split()[1])
        except (OSError, StopIteration):
            rchar = 0
        if rchar > 32 << 20:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"the scan ended (rc {proc.returncode}) before it could be interrupted")
    proc.send_signal(getattr(signal, sig))
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"ddoctor diagnose did not end within 30 s of {sig}")
    assert rc in (130, 143, -signal.SIGTERM, -signal.SIGINT), rc


def test_an_editor_s_curly_quotes_read_as_the_ascii_ones_programs_print():
    from ddoctor.parse.text import repair

    assert repair("ModuleNotFoundError: No module named \u2018dgl\u2019") == "ModuleNotFoundError: No module named 'dgl'"
    assert repair("File \u201ctrain.py\u201d, line 5") == 'File "train.py", line 5'

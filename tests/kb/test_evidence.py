"""Evidence beyond the final line: frames, source lines, warnings, exits from every launcher,
messages in other languages or mis-encoded, and the root cause across ranks."""

from __future__ import annotations

import pytest

from ddoctor.kb.engine import diagnose_text

NCCL_FRAMES = """\
Traceback (most recent call last):
  File "/home/dev/llama/example_text_completion.py", line 20, in main
    generator = Llama.build(
  File "/home/dev/llama/llama/generation.py", line 84, in build
    torch.distributed.init_process_group("nccl")
  File "/venv/lib/python3.10/site-packages/torch/distributed/distributed_c10d.py", line 1570, in init_process_group
    default_pg, _ = _new_process_group_helper(
  File "/venv/lib/python3.10/site-packages/torch/distributed/distributed_c10d.py", line 1761, in _new_process_group_helper
    raise RuntimeError("Distributed package doesn't have NCCL " "built in")
"""


def names(text: str) -> list[str]:
    return [d.name for d in diagnose_text(text).diagnoses]


def test_a_machine_translated_message_is_diagnosed_from_the_source_line():
    zh = NCCL_FRAMES + "RuntimeError：分布式包没有内置 NCCL\n"
    assert names(zh)[0] == "nccl-unavailable"


def test_translated_frame_keywords_and_header_are_read():
    de = ("Rückverfolgung (letzter Aufruf zuletzt):\n"
          + NCCL_FRAMES.split("\n", 1)[1].replace('  File "', '  Datei "').replace(", line ", ", Zeile ")
          .replace(", in ", ", in ") + "Laufzeitfehler: Das verteilte Paket hat kein NCCL eingebaut\n")
    assert names(de)[0] == "nccl-unavailable"


def test_chinese_google_translate_frames():
    zh = ("回溯（最近一次调用最后一次）：\n"
          "  文件“/venv/lib/python3.10/site-packages/torch/distributed/distributed_c10d.py”，第 1761 行，在 "
          "_new_process_group_helper 中\n"
          '    raise RuntimeError("Distributed package doesn\'t have NCCL " "built in")\n'
          "运行时错误：分布式包没有内置 NCCL\n")
    assert names(zh)[0] == "nccl-unavailable"


def test_utf8_read_as_mac_roman_is_repaired():
    text = "RuntimeError: Distributed package doesn't have NCCL built in — le paquet distribué\n"
    mangled = text.encode("utf-8").decode("mac_roman")
    assert "√©" in mangled
    assert names(mangled)[0] == "nccl-unavailable"


def test_device_mismatch_in_another_language_keeps_its_devices_and_op():
    ja = ("Traceback (most recent call last):\n"
          '  File "/venv/lib/python3.11/site-packages/torch/nn/functional.py", line 2264, in embedding\n'
          "    return torch.embedding(weight, input, padding_idx, scale_grad_by_freq, sparse)\n"
          "RuntimeError: すべてのテンソルが同じデバイス上にあることが期待されますが、少なくとも 2 つのデバイス cuda:0 と cpu が"
          "見つかりました。 (メソッド wrapper_CUDA__index_select の引数 index の引数をチェックするとき)\n")
    assert names(ja)[0] == "device-mismatch"


def test_the_generate_device_warning_counts_only_when_the_log_failed():
    warning = ("UserWarning: You are calling .generate() with the `input_ids` being on a device type different than "
               "your model's device. `input_ids` is on cpu, whereas the model is on cuda.\n")
    assert names(warning) == []
    failed = warning + "Traceback (most recent call last):\n  File \"/srv/gen.py\", line 9, in <module>\n" \
                       "    out = model.generate(input_ids)\nRuntimeError: oops\n"
    assert names(failed)[0] == "device-mismatch"


def test_exits_from_other_launchers_are_failures():
    cases = {
        "[2023-05-03 10:12:11,317] [ERROR] [launch.py:434:sigkill_handler] ['/usr/bin/python', '-u', 'train.py', "
        "'--local_rank=1'] exits with return code = -9": "host-oom-killed",
        "subprocess.CalledProcessError: Command '['/usr/bin/python', '-u', 'train.py']' died with "
        "<Signals.SIGSEGV: 11>.": "segfault",
        "Killed": "host-oom-killed",
        "./run.sh: line 3:  1234 Segmentation fault      (core dumped) python train.py": "segfault",
        "srun: error: node7: task 3: Killed": "host-oom-killed",
        "mpirun noticed that process rank 1 with PID 1234 on node n1 exited on signal 11 (Segmentation fault).":
            "segfault",
        "Fatal Python error: Segmentation fault": "segfault",
    }
    for line, want in cases.items():
        assert names("step 1 ok\n" + line + "\n")[:1] == [want], line


@pytest.mark.parametrize(("line", "want"), [
    ("srun: error: gpu07: task 3: Out Of Memory", "host-oom-killed"),
    ("command terminated with exit code 137", "host-oom-killed"),
    ("zsh: killed     python train.py", "host-oom-killed"),
    ("zsh: segmentation fault  python train.py", "segfault"),
    ("[1]+  Killed                  python train.py", "host-oom-killed"),
    ("[2]-  Exit 1                  python train.py", "unknown"),
    ("Process finished with exit code -1073741819 (0xC0000005)", "segfault"),
    ("Process finished with exit code 3221225477", "segfault"),
    ("ray.exceptions.RayActorError: The actor died unexpectedly before finishing this task.", "unknown"),
    ("*** SIGSEGV (@0x0) received by PID 4242 (TID 0x7f00) from PID 0; stack trace: ***", "segfault"),
    ("[1]    12345 killed     python train.py", "host-oom-killed"),
    ("[2]  + 4321 segmentation fault (core dumped)  python train.py", "segfault"),
    ("terminate called after throwing an instance of 'std::runtime_error'", "unknown"),
    ("Error: Process completed with exit code 1.", "unknown"),
    ("##[error]Process completed with exit code 137.", "host-oom-killed"),
    ("ERROR: Job failed: exit code 1", "unknown"),
    ("torch.multiprocessing.spawn.ProcessExitedException: Prozess 1 wurde mit Signal SIGKILL beendet", "host-oom-killed"),
    ("MemoryError", "cpu-oom"),
    ("torch.distributed.elastic.rendezvous.api.RendezvousClosedError", "rendezvous-closed"),
    ("这几行之后，又出现了RuntimeError: 分布式包没有内置 NCCL", "nccl-unavailable"),
    ("    RuntimeError: CUDA error: an illegal memory access was encountered", "cuda-illegal-address"),
    ("  6%|######    | 3787/62565 [04:47<1:10:53, 13.82it/s]Killed", "host-oom-killed"),
    ("Epoch 3:  41%|####      | 410/1000 [02:11<03:09,  3.12it/s, loss=0.231, v_num=0]Killed", "host-oom-killed"),
    ("100%|##########| 10/10 [00:01<00:00,  9.1it/s] Segmentation fault (core dumped)", "segfault"),
    ("段错误 (核心已转储)", "segfault"),
    ("Validating:   0%|          | 0/4071 [00:00<?, ?it/s]段错误 (核心已转储)", "segfault"),
    ("make: *** [Makefile:12: train] Error 2", "unknown"),
    ("make[1]: *** [Makefile:30: run] Error 137", "host-oom-killed"),
    ("Command exited with non-zero status 139", "segfault"),
    ("exit status 1", "unknown"),
    # the C library's words translated under another locale; the errno numbers are not
    ("RuntimeError: unable to open shared memory object </torch_37963_40480_792> in read-write mode: Zu viele offene "
     "Dateien (24)", "fd-limit"),
    ("safetensors_rust.SafetensorError: Error while serializing: I/O error: Kein Platz mehr auf dem Gerät (os error 28)",
     "disk-full"),
    ("gpu2:2143:2561 [1] include/shm.h:28 NCCL WARN Call to posix_fallocate failed : Kein Platz mehr auf dem Gerät",
     "shm-exhausted"),
    (" system:24: 打开的文件过多", "fd-limit"),  # Ray's raylet prints the error_code as category:value
    ("RuntimeError: [enforce fail at inline_container.cc:672] . position inattendue 1024 contre 918", "disk-full"),
    ("Child process 17057 (local_rank 0) FAILED (exitcode 1)", "unknown"),  # torchelastic < 1.10, no error file
    # macOS's shell reports with the signal's number; glog's fatal lines and glibc's heap checks abort
    ("Segmentation fault: 11", "segfault"),
    ("Abort trap: 6", "unknown"),
    ("F1202 12:00:00.000123  1234 sharded_reader.cc:88] Check failed: offset < size (12 vs. 8)", "unknown"),
    ("[rank3]:F1202 12:00:00.000123  1234 sharded_reader.cc:88] Check failed: offset < size", "unknown"),
    ("2024-01-02 03:04:05.678901: F tensorflow/core/framework/tensor.cc:730] Check failed: IsAligned()", "unknown"),
    ("double free or corruption (!prev)", "unknown"),
    ("free(): invalid pointer", "unknown"),
    ("*** Error in `python': double free or corruption (out): 0x00007f3c2c000b20 ***", "unknown"),
    ("thread '<unnamed>' panicked at 'index out of bounds', tokenizers-lib/src/models/bpe/word.rs:147:21", "unknown"),
    ("Error executing job with overrides: ['trainer.devices=8']", "unknown"),
    ("wandb: ERROR Run 3xk2p9 errored: RuntimeError('boom')", "unknown"),
    ("panic: runtime error: invalid memory address or nil pointer dereference", "unknown"),
    ("Child process 17057 (local_rank 1) FAILED (exitcode -9)", "host-oom-killed"),
    # faulthandler on Windows, native crash handlers' banners, a c10::Error's tail, docker, torchelastic, vLLM
    ("Error: failed to run torchrun --nnodes=2 train.py on node1, is localhost: False, exception: timed out",
     "unknown"),
    # what is left of a crash when its first lines scrolled off: a c10::Error's C++ frames, Open MPI's signal
    # handler's backtrace, faulthandler's thread dump
    ("frame #9: <unknown function> + 0xc06676 (0x7f2424f4b676 in /env/site-packages/torch/lib/libtorch_python.so)",
     "unknown"),
    ("[node1:02519] [ 6] /usr/lib/libpython3.10.so.1.0(_PyEval_EvalFrameDefault+0x472b)[0x7fbb41e0d65b]", "unknown"),
    ("[node1:02519] *** Process received signal ***", "unknown"),
    # Open MPI's fatal error handler and an MPI_Abort, without the launcher's summary below them
    ("[node3:07356] *** An error occurred in MPI_Allgather", "unknown"),
    ("MPI_ABORT was invoked on rank 1 in communicator MPI_COMM_WORLD", "unknown"),
    ("Current thread 0x00007f3b8c9ff740 (most recent call first):", "unknown"),
    ('  File "/env/site-packages/torch/autograd/__init__.py", line 89 in backward', "unknown"),
    ("Windows fatal exception: access violation", "segfault"),
    ("Windows fatal exception: code 0xc0000374", "unknown"),
    ("!!!!!!! Segfault encountered !!!!!!!", "segfault"),
    ('*** Aborted at 1700000000 (unix time) try "date -d @1700000000" if you are using GNU date ***', "unknown"),
    ("Exception raised from c10_cuda_check_implementation at ../c10/cuda/CUDAException.cpp:44 (most recent call "
     "first):", "unknown"),
    ('docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].', "nvidia-container-toolkit-missing"),
    ("[2024-01-01 10:00:00,000] torch.distributed.elastic.agent.server.api: [ERROR] Error waiting on exit barrier. "
     "Elapsed: 300.01 seconds", "unknown"),
    ("(VllmWorker rank=1 pid=123) ERROR 05-01 10:00:00 [multiproc_executor.py:470] WorkerProc hit an exception.",
     "unknown"),
    ("The command '/bin/sh -c python train.py' returned a non-zero code: 137", "host-oom-killed"),
    # other launchers' words for a child a signal killed, and a status said after an error word or alone
    ("worker 3 died with signal 9", "host-oom-killed"),
    ("Child terminated with signal = 0x9 (SIGKILL)", "host-oom-killed"),
    ("Worker 0 exited with signal SIGSEGV", "segfault"),
    ("Error: exit code 137", "host-oom-killed"),
    ("exit code 1", "unknown"),
    ("error: command 'python' failed with exit code -9", "host-oom-killed"),
    ("exitcode  : -9 (pid: 4321)", "host-oom-killed"),  # torchrun's summary field, its indent lost in the paste
    ("/usr/bin/bash: line 1: 12345 Killed python train.py", "host-oom-killed"),  # bash's padding collapsed
    # bash in other locales translates `line` too (and glibc the signal's name)
    ('bash: 行 1: 12013 段错误               (核心已转储) env "PYTHONUNBUFFERED"="1" python x.py', "segfault"),
    ("./run.sh: Zeile 3:  4321 Killed                  python x.py", "host-oom-killed"),
    # glibc's signal words under other locales, alone as bash prints a killed foreground job, with bash's translated
    # "(core dumped)" (full-width parentheses in zh_CN)
    ("Speicherzugriffsfehler (Speicherabzug geschrieben)", "segfault"),
    ("Erreur de segmentation (core dumped)", "segfault"),
    ("Ошибка сегментирования (образ памяти сброшен на диск)", "segfault"),
    ("段错误 （核心已转储）", "segfault"),
    ("Getötet", "host-oom-killed"),
    ("Убито", "host-oom-killed"),
    ("強制終了", "host-oom-killed"),
    ("Abgebrochen (Speicherabzug geschrieben)", "unknown"),
    ("Ungültiger Maschinenbefehl (Speicherabzug geschrieben)", "illegal-instruction"),
    ("Container killed by the OOM killer", "host-oom-killed"),
    # schedulers', containers' and task runners' words for a process that exited with a code
    ("Container exited with a non-zero exit code 137.", "host-oom-killed"),
    ("Task exited with return code -9", "host-oom-killed"),
    ("The process was killed (exit code 137)", "host-oom-killed"),
    ("Exited with exit code 1", "unknown"),
    # the interpreter refusing before any code ran: `python -m` of a module it cannot find, a missing script
    ("/usr/bin/python: No module named torch.distributed.run", "unknown"),
    ("python3: No module named deepspeed", "missing-python-package"),
    ("python: can't open file '/app/train.py': [Errno 2] No such file or directory", "unknown"),
    # systemd-coredump in the journal, and coredumpctl info's signal line
    ("Dec 01 06:46:13 gpu1 systemd-coredump[2535]: Process 2523 (python3.10) of user 1000 dumped core.", "unknown"),
    ("░░ Process 2523 (python3.10) crashed and dumped core.", "unknown"),
    ("           Signal: 11 (SEGV)", "segfault"),
    ('ERROR: failed to solve: process "/bin/sh -c python setup.py" did not complete successfully: exit code: 1',
     "unknown"),
    ("ERROR conda.cli.main_run:execute(49): `conda run python train.py` failed. (See above for error)", "unknown"),
    ("Primary job  terminated normally, but 1 process returned", "unknown"),
    ("mpirun detected that one or more processes exited with non-zero status, thus causing", "unknown"),
    ("torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised:", "user-code-error"),
    ("subprocess.TimeoutExpired: Command '['nvidia-smi']' timed out after 10 seconds", "user-code-error"),
    ("zipfile.BadZipFile", "user-code-error"),
    ("E       RuntimeError: Distributed package doesn't have NCCL built in", "nccl-unavailable"),
    ("FAILED tests/test_dist.py::test_init - RuntimeError: Distributed package doesn't have NCCL built in",
     "nccl-unavailable"),
    ("FAILED tests/test_data.py::test_load - KeyError: 'input_ids'", "user-code-error"),
])
def test_exits_of_shells_schedulers_and_windows_are_failures(line, want):
    assert names("step 1 ok\n" + line + "\n")[:1] == [want]


@pytest.mark.parametrize("line", [
    "make: Nothing to be done for 'all'.", "exit status 0", "make: *** No rule to make target 'x'",
    "Command exited with non-zero status 0", "model.ModelName: llama-7b", "config.Trainer: default",
    "torch.Size([8, 4096])", "E 12 steps left", "FAILED: 0", "ERROR tests summary follows",
    "Primary job terminated normally", "  exit status of the last step: ok",
    "Abort trap handler installed", "F1202 is the part number", "I1202 12:00:00.000123  1234 reader.cc:88] opened",
    "W1202 12:00:00.000123  1234 reader.cc:88] Check failed once, retrying", "free(): frees a block (see malloc(3))",
    "panic: a word in the README", "wandb: Run 3xk2p9 finished", "Error executing job? no, the job ran",
    "Windows fatal exception: handler installed for faults", "Segfault encountered? none so far",
    "*** Aborted at startup? no", "Exception raised from nowhere, said the docs",
    "Error response from daemon? none", "INFO: WorkerProc started",
    "frame #3: <unknown function> + 0xdc253 (0x7fe3c60b0253 in /usr/lib/x86_64-linux-gnu/libstdc++.so.6)",
    "frame #3 rendered in 0.2 s", "[node1:02519] [ 6] rank ready", "Thread 0x7f3b8c9ff740 (idle): \"Thread-1\"",
    'See File "train.py", line 89 in the docs',
    "Process 2523 (python3.10) exited normally; no core dumped", "Signal: 11 (SEGV) handlers installed",
    "exit code 0", "If the exit code is 1, retry", "the worker exited with signal handlers restored",
    "The process is killed by SIGKILL by OOM killer due to high memory usage (one of the possible causes).",
    "rank      : 3, world size 8", "Killed the stale cache entries", "Task exited with return code 0",
    "Returned exit code 3 is retried by the scheduler", "run.sh: 行 3: cd: /x: 没有那个文件或目录", "see python: No module named X in the FAQ",
])
def test_lines_like_failure_shapes_that_are_not_failures(line):
    assert names("step 1 ok\n" + line + "\n") == []


@pytest.mark.parametrize("line", ["[1]+  Done                    python train.py", "[3] 4242",
                                  "zsh: command not found: nvidia-smi  ",
                                  " 50%|#####     | 5/10 [00:01<00:01, 4.1it/s, status=Killed the stale cache]"])
def test_job_control_lines_that_are_not_failures(line):
    assert names("step 1 ok\n" + line + "\n") != ["segfault"]
    assert "host-oom-killed" not in names("step 1 ok\n" + line + "\n")


def test_a_silent_non_zero_exit_is_unknown_not_clean():
    assert names("training...\nsrun: error: node1: task 0: Exited with exit code 3\n") == ["unknown"]


def test_a_cut_paste_of_frames_only_is_not_clean():
    assert names('Traceback (most recent call last):\n  File "/srv/train.py", line 3, in <module>\n    main()\n') \
        == ["unknown"]


def test_one_ranks_oom_ranks_above_the_timeouts_it_causes():
    log = """\
[rank1]: Traceback (most recent call last):
[rank1]:   File "/srv/train.py", line 40, in step
[rank1]:     loss = model(batch)
[rank1]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 1 has a total capacity of 79.15 GiB
[rank0]:[E1124 ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=9, OpType=ALLREDUCE) ran for 600005 milliseconds before timing out.
[rank2]:[E1124 ProcessGroupNCCL.cpp:616] [Rank 2] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=9, OpType=ALLREDUCE) ran for 600005 milliseconds before timing out.
W1124 torch/distributed/elastic/multiprocessing/api.py:897] Sending process 11 closing signal SIGTERM
"""
    got = names(log)
    assert got[0] == "cuda-oom"
    assert "nccl-timeout" in got[1:]


_TIMEOUT_THEN_STUCK = """\
[rank7]:[E626 05:14:36.393067540 ProcessGroupNCCL.cpp:1743] [PG ID 0 PG GUID 0(default_pg) Rank 7] ProcessGroupNCCL's watchdog got stuck for 480 seconds without making progress in monitoring enqueued collectives.
[rank2]:[E626 05:06:30.929096625 ProcessGroupNCCL.cpp:632] [Rank 2] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=120049, OpType=_ALLGATHER_BASE, NumelIn=16384000, NumelOut=131072000, Timeout(ms)=600000) ran for 600049 milliseconds before timing out.
"""


def test_stamps_order_what_the_ranks_interleaved():
    # rank 2's collective timed out at 05:06; rank 7's watchdog got stuck aborting it eight minutes later, though its
    # line was written first
    assert names(_TIMEOUT_THEN_STUCK)[0] == "nccl-timeout"


def test_a_watchdog_stuck_first_stays_the_cause():
    stuck_first = _TIMEOUT_THEN_STUCK.replace("05:06:30", "05:20:30")
    assert names(stuck_first)[0] == "nccl-watchdog-hang"


def test_without_stamps_line_order_and_specificity_decide():
    unstamped = "\n".join(line.split("] ", 1)[1] for line in _TIMEOUT_THEN_STUCK.splitlines()) + "\n"
    assert names(unstamped)[0] == "nccl-watchdog-hang"


def test_a_killed_rank_reported_at_the_end_explains_the_network_errors_before_it():
    log = """\
[rank0]: torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:1970, remote process exited or there was a network error, NCCL version 2.21.5
[rank0]: ncclRemoteError: A call failed possibly due to a network error or a remote process exiting prematurely.
Root Cause (first observed failure):
[0]:
  time      : 2026-11-24_17:57:34
  host      : node1
  rank      : 3 (local_rank: 3)
  exitcode  : -9 (pid: 9)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 9
"""
    d = diagnose_text(log).diagnoses
    assert d[0].name == "host-oom-killed"
    assert next(x for x in d if x.name == "nccl-network-error").symptom


def test_an_nccl_error_below_nccl_names_the_cause_below():
    log = """\
node1:12:34 [0] misc/shmutils.cc:72 NCCL WARN Error: failed to extend /dev/shm/nccl-abc to 9637892 bytes
node1:12:34 [0] NCCL INFO transport/shm.cc:114 -> 2
RuntimeError: NCCL error in: ProcessGroupNCCL.cpp:1269, unhandled system error, NCCL version 2.18.1
"""
    d = diagnose_text(log).diagnoses
    assert d[0].name == "shm-exhausted"
    assert next(x for x in d if x.name == "nccl-internal-error").symptom


def test_store_barrier_counts_tell_missing_ranks_from_duplicates():
    missing = ("RuntimeError: Timed out initializing process group in store based barrier on rank: 7, for key: "
               "store_based_barrier_key:1 (world_size=8, worker_count=4, timeout=0:30:00)\n")
    assert names(missing)[0] == "store-barrier-timeout"
    assert names(missing.replace("worker_count=4", "worker_count=9"))[0] == "duplicate-rank"


def test_the_raise_statement_under_the_innermost_frame_carries_a_translated_message():
    """The message is translated, the code printed under the frame is not: `raise AssertionError("Torch not
    compiled with CUDA enabled")` says what the message said."""
    text = ("Traceback (most recent call last):\n"
            '  File "/opt/conda/lib/python3.11/site-packages/torch/cuda/__init__.py", line 310, in _lazy_init\n'
            '    raise AssertionError("Torch not compiled with CUDA enabled")\n'
            "AssertionError: Torch wurde nicht mit aktiviertem CUDA kompiliert\n")
    assert names(text)[:1] == ["cuda-unavailable-build"]


def test_a_raise_site_elsewhere_than_the_innermost_frame_is_not_evidence():
    text = ("Traceback (most recent call last):\n"
            '  File "/srv/app/train.py", line 3, in <module>\n'
            '    raise AssertionError("Torch not compiled with CUDA enabled")\n'
            '  File "/srv/app/util.py", line 9, in check\n'
            "    return shapes[k]\n"
            "KeyError: 'w'\n")
    assert names(text)[:1] == ["user-code-error"]


def test_a_logger_prefix_whose_level_changes_is_stripped_from_the_exception_line():
    """loguru writes the frames at INFO and the exception line at ERROR: one prefix, two level words."""
    pre = "2026-12-01 14:01:23.{} | {} | train:main:57 - "
    text = "\n".join([
        pre.format("772", "INFO    ") + "Traceback (most recent call last):",
        pre.format("773", "INFO    ") + '  File "/srv/app/train.py", line 7, in <module>',
        pre.format("774", "INFO    ") + "    print(batch[4])",
        pre.format("775", "ERROR   ") + "IndexError: list index out of range",
    ])
    assert names(text)[:1] == ["user-code-error"]


def test_a_translated_torchrun_summary_keeps_its_exit_codes():
    """Translation tools rename the summary's labels; the values keep their shape."""
    text = "\n".join([
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ",
        "programs/segv_rank.py FAILED",
        "Fehler:",
        "[1]:",
        "  Rang      : 1 (local_rank: 1)",
        "  Exitcode  : -15 (pid: 9331)  (SIGTERM)",
        "------------------------------------------------------",
        "Grundursache (erster beobachteter Fehler):",
        "[0]:",
        "  Zeit      : 2026-12-01_21:55:15",
        "  Rang      : 0 (local_rank: 0)",
        "  Exitcode  : -11 (pid: 9330)  (SIGSEGV)",
        "======================================================",
    ])
    assert names(text)[:1] == ["segfault"]
    # a CJK translation puts a full-width colon after each label
    cjk = "\n".join(["torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ", "根本原因（首次观察到的故障）：",
                     "[0]:", "  等级      ： 0 (local_rank: 0)", "  退出代码  ： -11 (pid: 9330)  (SIGSEGV)"])
    assert names(cjk)[:1] == ["segfault"]


def test_old_torch_spawn_s_bare_exception_keeps_its_signal_when_translated():
    frames = ('  File "/env/site-packages/torch/multiprocessing/spawn.py", line 107, in join\n')
    assert names(frames + "Exception: process 1 terminated with signal SIGKILL\n")[:1] == ["host-oom-killed"]
    assert names(frames + "Exception: 进程 1 因信号 SIGKILL 而终止\n")[:1] == ["host-oom-killed"]
    assert names("Exception: no signal named here\n")[:1] == ["user-code-error"]


def test_an_exception_named_after_a_colon_in_prose_is_read():
    assert names("On Windows I get: RuntimeError: В распределённом пакете нет встроенного NCCL\n")[:1] == [
        "nccl-unavailable"]


def test_an_exception_quoted_in_prose_is_explained_by_the_line_rule_that_names_it():
    """The quoted exception and the line rule are one piece of evidence, not a user bug beside a symptom."""
    text = ("Training fails with RuntimeError: [/opt/conda/third_party/gloo/gloo/transport/tcp/unbound_buffer.cc:84] "
            "Timed out waiting 1800000ms for recv operation to complete. One V100, mp.spawn.\n")
    assert names(text)[:1] == ["gloo-timeout"]


DATALOADER_REWRAP = """\
Traceback (most recent call last):
  File "/srv/app/train.py", line 18, in <module>
    for batch in loader:
  File "/opt/conda/lib/python3.11/site-packages/torch/_utils.py", line 794, in reraise
    raise exception
RuntimeError: Caught RuntimeError in DataLoader worker process 0.
Original Traceback (most recent call last):
  File "/opt/conda/lib/python3.11/site-packages/torch/utils/data/_utils/worker.py", line 374, in _worker_loop
    data = fetcher.fetch(index)
  File "/opt/conda/lib/python3.11/site-packages/torch/storage.py", line 414, in _new_shared
"""


def test_a_dataloader_reraise_whose_worker_traceback_is_cut_is_unknown():
    """'Caught X in DataLoader worker process 0.' only reports the worker's exception; with the worker's own
    exception line cut off, the log shows a failure but not its cause."""
    assert names(DATALOADER_REWRAP)[:1] == ["unknown"]


def test_a_dataloader_reraise_is_diagnosed_from_the_workers_exception():
    text = DATALOADER_REWRAP + "    fd, size = storage._share_fd_cpu_()\nRuntimeError: received 0 items of ancdata\n"
    assert names(text)[:1] == ["fd-limit"]


@pytest.mark.parametrize("prefix", ["[2026-12-01 11:29:40,929][__main__][INFO] - ",
                                    "2026-12-01 14:01:23.772 | ERROR    | train:main:57 - "])
def test_exits_and_torchrun_summaries_behind_a_logging_handlers_prefix_are_read(prefix):
    """Hydra's job logging and loguru put their record prefix before every line they captured."""
    summary = ["Root Cause (first observed failure):", "[0]:", "  rank      : 0 (local_rank: 0)",
               "  exitcode  : -11 (pid: 9330)", "=" * 40]
    assert names("".join(prefix + ln + "\n" for ln in summary))[:1] == ["segfault"]
    assert names(prefix + "Killed\n")[:1] == ["host-oom-killed"]


def test_an_exception_line_a_logging_handler_captured_is_read():
    assert names("[2026-12-01 11:29:40,958][__main__][ERROR] - TypeError: init_process_group() got multiple values "
                 "for keyword argument 'backend'\n")[:1] == ["user-code-error"]


def test_an_exception_asyncio_logged_and_ran_on_is_not_a_failure():
    """asyncio's default handler logs `Exception in callback ...` with its traceback and the loop goes on."""
    log = ("2024-04-29 21:07:34 | ERROR | root | Exception in callback _ProactorBasePipeTransport._call_connection_lost(None)\n"
           "handle: <Handle _ProactorBasePipeTransport._call_connection_lost(None)>\n"
           "Traceback (most recent call last):\n"
           '  File "asyncio\\proactor_events.py", line 162, in _call_connection_lost\n'
           "ConnectionResetError: [WinError 10054] An existing connection was forcibly closed by the remote host\n")
    assert names(log) == []
    assert names(log.split("\n", 2)[2]) == ["user-code-error"]  # the same traceback without asyncio's header
    # a real failure later in the log still counts
    assert names(log + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")[:1] == ["cuda-oom"]


def test_a_paste_that_lost_its_newlines_keeps_the_exception_before_the_traceback():
    flat = ("RuntimeError: The server socket has failed to listen on any local network address. port: 12341, "
            "useIpv6: 0, code: -98, name: EADDRINUSE, message: address already in use Traceback (most recent call "
            'last):   File "/srv/train.py", line 9, in <module>\n')
    assert names(flat)[:1] == ["port-in-use"]
    # a logger's record prefix before the header is still only a prefix
    assert names("2024-01-05 10:00:00.123 | ERROR    | train:main:57 - Traceback (most recent call last):\n"
                 '  File "/srv/train.py", line 9, in <module>\n'
                 "KeyError: 'RANK'\n")[:1] == ["env-not-set"]


def test_a_traceback_python_ignored_is_not_a_failure():
    """`Exception ignored in:` (a destructor or atexit hook at shutdown): Python printed it and carried on."""
    log = ("Exception ignored in: <function Engine.__del__ at 0x7f17>\n"
           "Traceback (most recent call last):\n"
           '  File "/srv/lib/engine.py", line 217, in __del__\n'
           "ImportError: sys.meta_path is None, Python is likely shutting down\n")
    assert names(log) == []
    assert names(log.replace("Exception ignored in: <function Engine.__del__ at 0x7f17>\n", "")) == [
        "user-code-error"]
    # the same, captured by a logging handler that prefixes every record (Hydra's job logging)
    logged = "".join(f"[2026-12-01 10:02:30,{i:03d}][__main__][ERROR] - {ln}" for i, ln in
                     enumerate(log.splitlines(True)))
    assert names(logged) == []
    # a paste that began inside the header's first word
    assert names(log.replace("Exception ignored", "eption ignored")) == []
    assert names(log.replace("Exception ignored", "ignored")) == []
    assert names(log.replace("Exception ignored", "Nothing ignored"))[:1] == ["user-code-error"]


def test_a_cut_rank_prefix_still_leaves_an_exception_line():
    assert names("rank1]: ValueError: 您尝试加载的检查点的模型类型为 `qwen9`\n")[:1] == ["user-code-error"]


def test_an_exception_quoted_in_prose_ends_at_its_closing_quote():
    said = 'Training fails with "RuntimeError: 分布式包没有内置 NCCL". This is Windows, one GPU.\n'
    assert names(said)[:1] == ["nccl-unavailable"]


@pytest.mark.parametrize(("text", "want"), [
    ("RuntimeError: Das verteilte Paket hat kein integriertes NCCL", "nccl-unavailable"),
    ("ValueError: Die Standardprozessgruppe wurde nicht initialisiert. Bitte rufen Sie init_process_group auf.",
     "pg-not-initialized"),
    ("    base_model.layers.4.v_proj.weight 的大小不匹配：从检查点复制形状为 torch.Size([8, 4096]) 的参数，"
     "当前模型中的形状为 torch.Size([8, 5120])。", "checkpoint-shape-mismatch"),
    ('"addmm_impl_cpu_" 未针对“Half”实现', "half-on-cpu"),
    ("Error al inicializar torch.distributed usando env:// rendezvous: variable de entorno RANK esperada, pero no "
     "establecida", "env-not-set"),
])
def test_identifiers_carry_a_machine_translated_message(text, want):
    assert names(text + "\n")[:1] == [want]


@pytest.mark.parametrize("text", [
    "RuntimeError: NCCL error in: ProcessGroupNCCL.cpp:1269, unhandled system error, NCCL version 2.14.3",
    "INFO torch.distributed initialised through env:// with RANK=0 WORLD_SIZE=2",
])
def test_identifier_rules_leave_other_messages_alone(text):
    got = names(text + "\n")
    assert "nccl-unavailable" not in got and "env-not-set" not in got


WAITING = ("INFO - torch.distributed.distributed_c10d - Waiting in store based barrier to initialize process group "
           "for rank: 0, key: store_based_barrier_key:1 (world_size=8, worker_count={n}, timeout=0:30:00)\n")


@pytest.mark.parametrize("small", [1 << 20, 0], ids=["paste", "windowed"])
def test_a_log_that_ends_while_a_barrier_still_waits_is_that_hang(small: int):
    import io

    from ddoctor.kb.engine import Session

    def diagnose(*inputs: str) -> list[str]:
        s = Session(small=small)
        for i, text in enumerate(inputs):
            s.add_stream(io.BytesIO(text.encode()), f"in{i}")
        return [d.name for d in s.result().diagnoses]

    stuck = "step: loading the model\n" + WAITING.format(n=1) * 4 + "\n```\n"
    assert diagnose(stuck)[:1] == ["store-barrier-timeout"]
    # printed once, or left behind (the other ranks came and the job went on): no failure
    assert diagnose("step: loading the model\n" + WAITING.format(n=1) + "\n") == []
    assert diagnose(WAITING.format(n=7) * 3 + "".join(f"epoch 0 step {i} loss 2.0\n" for i in range(8))) == []
    # every rank arrived: nothing to wait for
    assert diagnose(WAITING.format(n=8) * 4) == []
    # the end that counts is the end of the input the lines are in, not of the next file read
    assert diagnose(stuck, "rank 1: epoch 0 step 1 loss 2.0\n" * 20)[:1] == ["store-barrier-timeout"]
    assert diagnose(WAITING.format(n=1) * 4 + "epoch 0 step 1\n" * 20, "other file\n") == []
    # left behind in a log that failed later: a warning of that failure
    failed = WAITING.format(n=1) * 3 + "epoch 0 step 1\n" * 20 + "Killed\n"
    assert "store-barrier-timeout" in diagnose(failed)


def test_a_worker_exception_re_raised_in_the_parent_is_told_by_its_frame_when_the_message_is_translated():
    log = ("Rückverfolgung (letzter Aufruf zuletzt):\n"
           '  Datei "/srv/train.py", Zeile 18, in <module>\n'
           "    for batch in loader:\n"
           '  Datei "/venv/lib/python3.11/site-packages/torch/_utils.py", Zeile 794, in reraise\n'
           "    raise exception\n"
           "RuntimeError: RuntimeError im DataLoader-Worker-Prozess 0 abgefangen.\n")
    assert names(log) == ["unknown"]  # the worker's own error is not in this paste: not a bug in train.py


def test_a_paste_cut_after_the_frame_line_keeps_the_raise_statement_as_evidence():
    cut = '    raise RuntimeError("Distributed package doesn\'t have NCCL " "built in")\n'
    assert names(cut + "RuntimeError: 분산 패키지에 NCCL이 내장되어 있지 않습니다\n")[:1] == ["nccl-unavailable"]
    # a raise statement in pasted code, with no exception after it, is not a failure by itself
    assert names("    raise ValueError(\"batch size must be positive\")\nthen the script continues\n") == []


@pytest.mark.parametrize(("line", "want"), [
    # Korean and Japanese attach particles to an English word: `NCCL이`, `NCCLが`
    ("RuntimeError: 분산 패키지에 NCCL이 내장되어 있지 않습니다", "nccl-unavailable"),
    ("RuntimeError: 分散パッケージにNCCLが組み込まれていません", "nccl-unavailable"),
])
def test_signature_words_end_where_ascii_ends(line: str, want: str):
    """Rules read `\\b`, `\\w` and `\\d` as ASCII, as the multi-pattern engine that finds their candidates does."""
    assert names(line + "\n")[:1] == [want]


def test_an_exception_the_program_says_it_caught_counts_only_when_the_log_failed():
    caught = "Warning: caught exception 'Torch not compiled with CUDA enabled', memory monitor disabled\n"
    assert names("Launching Web UI\n" + caught + "Model loaded.\nRunning on local URL:  http://127.0.0.1:7860\n") == []
    failed = caught + "Traceback (most recent call last):\n  File \"/srv/webui.py\", line 9, in <module>\n" \
                      "    x.cuda()\nAssertionError: Torch not compiled with CUDA enabled\n"
    assert names(failed)[0] == "cuda-unavailable-build"


def test_a_barrier_that_completed_is_no_hang_and_one_rank_printing_once_is_no_repeat():
    done = ("INFO - torch.distributed.distributed_c10d - Rank 0: Completed store-based barrier for key:"
            "store_based_barrier_key:1 with 8 nodes.\n")
    assert names(WAITING.format(n=1) * 2 + done) == []
    once_each = "".join(f"[rank{r}]: " + WAITING.format(n=1).replace("rank: 0", f"rank: {r}") for r in range(2))
    assert names(once_each) == []
    # one rank still waiting while another keeps printing: that rank hung
    other = "".join(f"[rank1]: step {i}\n" for i in range(6))
    assert names(("[rank0]: " + WAITING.format(n=1)) * 2 + other) == []  # its last wait is not among the last lines
    assert names(other + ("[rank0]: " + WAITING.format(n=1)) * 3)[:1] == ["store-barrier-timeout"]


def test_an_exit_with_no_rank_says_what_it_was_and_shows_its_line():
    d = diagnose_text("F1202 12:00:00.000123  1234 reader.cc:88] Check failed: offset < size\n").diagnoses[0]
    assert d.name == "unknown"
    assert d.evidence[0].text.startswith("failure: a process exitcode -6 (SIGABRT) [glog]: F1202 12:00:00")
    assert "rank ?" not in d.evidence[0].text
    oom = diagnose_text("ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: -9) local_rank: 0 "
                        "(pid: 91820) of binary: python\n").diagnoses[0]
    assert oom.evidence[0].text.startswith("local_rank 0 exitcode -9 (SIGKILL)")


def test_an_uncaught_cpp_exception_is_read_as_the_message_torch_would_have_raised():
    """`terminate called ...` then `what():` (a DataLoader worker's thread, NCCL's watchdog): never a Python
    exception, but message rules for the classes torch translates c10's errors to read its text."""
    log = ("terminate called after throwing an instance of 'c10::Error'\n"
           "  what():  CUDA error: initialization error\n"
           "Exception raised from c10_cuda_check_implementation at ../c10/cuda/CUDAException.cpp:44 (most recent call first):\n")
    assert names(log)[:1] == ["cuda-fork"]
    # libc++ (macOS) says the same on one line
    assert names("libc++abi: terminating due to uncaught exception of type c10::Error: CUDA error: initialization "
                 "error\n")[:1] == ["cuda-fork"]
    assert names("libc++abi: terminating due to uncaught exception of type gloo::EnforceNotMet: [enforce fail at "
                 "pair.cc:248] op.nread == op.preamble.nbytes.\n")[:1] == ["unknown"]
    # a rule for a class no C++ exception becomes does not read it: the abort stays unexplained
    assert names(log.replace("CUDA error: initialization error", "No module named 'apex'"))[:1] == ["unknown"]


def test_spawn_reporting_a_child_killed_by_a_signal_is_the_launcher_not_user_code():
    log = ("Traceback (most recent call last):\n"
           '  File "train.py", line 30, in <module>\n'
           "    mp.spawn(main, nprocs=4)\n"
           "Exception: process 2 terminated with signal SIGFPE\n")
    assert names(log)[:1] == ["unknown"]
    assert names(log.replace("SIGFPE", "SIGSEGV"))[:1] == ["segfault"]


def test_a_py_spy_dump_of_the_main_thread_is_a_hang_not_a_clean_log():
    dump = ('Thread 4888 (idle): "MainThread"\n'
            "    _engine_run_backward (torch/autograd/graph.py:769)\n"
            "    backward (deepspeed/runtime/zero/stage3.py:2247)\n"
            'Thread 5406 (idle): "Thread-1"\n'
            "    wait (threading.py:324)\n")
    assert names(dump) == ["unknown"]
    # a named cause in the same log wins over the dump
    assert names(dump + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")[0] == "cuda-oom"



def test_a_log_of_terminated_tasks_alone_is_not_clean():
    """srun (or torchrun) ending every task with SIGTERM names no cause, but the job did not finish."""
    result = diagnose_text("srun: error: node12: task 3: Terminated\nsrun: Force Terminated StepId=1234.0\n")
    assert [d.name for d in result.diagnoses] == ["unknown"]

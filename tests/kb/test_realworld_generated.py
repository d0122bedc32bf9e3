"""The generated real-world corpus: its index keeps its contract, and the variants derive what they say."""

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REALWORLD = ROOT / "fixtures" / "realworld"
GENERATED = REALWORLD / "generated"
sys.path.insert(0, str(REALWORLD))

import generate  # noqa: E402
import variants  # noqa: E402

FIELDS = {"file", "cause", "source", "project", "split", "classes", "why", "command", "torch", "exit_status"}
CLASSES = {"partial-paste", "multi-rank", "other-launcher", "non-english", "mis-encoded", "utf16", "nul-prefix",
           "ansi", "rich-box", "chained", "warning-before", "clean"}
# The taxonomy's cause names plus the ones being added with this corpus.
LABELS = {
    "nccl-unavailable", "cuda-unavailable-build", "no-gpu-visible", "invalid-device-ordinal", "duplicate-gpu",
    "device-mismatch", "half-on-cpu", "bf16-unsupported", "mps-op-unsupported", "mps-oom", "cuda-oom", "cpu-oom",
    "host-oom-killed", "segfault", "shm-exhausted", "nccl-timeout", "gloo-timeout", "nccl-internal-error",
    "nccl-lib-mismatch", "gloo-connect", "port-in-use", "rendezvous-unreachable", "env-not-set",
    "pg-not-initialized", "mp-size-mismatch", "checkpoint-missing", "driver-too-old", "no-kernel-image",
    "device-side-assert", "cublas-error", "import-error-cuda-libs", "user-code-error", "unknown", "none",
    "ddp-unused-parameters", "checkpoint-shape-mismatch", "library-too-old", "collective-mismatch",
    "nccl-network-error", "duplicate-rank", "store-barrier-timeout", "nccl-watchdog-hang", "libuv-unsupported",
    "dataloader-worker-crash", "cuda-fork", "cuda-illegal-address", "disk-full", "fd-limit", "op-build-failed",
    "gpu-hardware-error", "rendezvous-timeout", "nccl-invalid-usage"
}
INDEX = [json.loads(line) for line in (GENERATED / "index.jsonl").read_text().splitlines()]


def test_every_entry_has_exactly_the_index_fields():
    assert [e["file"] for e in INDEX if set(e) != FIELDS] == []


def test_every_indexed_file_exists():
    assert [e["file"] for e in INDEX if not (GENERATED / e["file"]).is_file()] == []


def test_every_log_on_disk_is_indexed():
    assert sorted(p.name for p in GENERATED.glob("g*.log")) == sorted(e["file"] for e in INDEX)


def test_causes_are_known_labels():
    assert sorted({e["cause"] for e in INDEX} - LABELS) == []


def test_classes_come_from_the_vocabulary():
    assert sorted({c for e in INDEX for c in e["classes"]} - CLASSES) == []


def test_split_follows_the_scenario_hash():
    def split(source):
        return "test" if int(hashlib.sha1(source.removeprefix("generated:").encode()).hexdigest(), 16) % 100 < 35 \
            else "tune"

    assert [e["file"] for e in INDEX if e["split"] != split(e["source"])] == []


def test_file_names_carry_the_cause():
    assert [e["file"] for e in INDEX if not e["file"].endswith(f"-{e['cause']}.log")] == []


def test_clean_logs_exited_zero_and_failing_logs_did_not():
    assert [e["file"] for e in INDEX if (e["exit_status"] == 0) != (e["cause"] == "none")] == []


def test_at_least_160_failing_logs():
    assert sum(e["cause"] != "none" for e in INDEX) >= 160


def test_at_least_30_clean_logs():
    assert sum(e["cause"] == "none" for e in INDEX) >= 30


def test_at_least_60_variants():
    assert sum("variant of" in e["why"] or "rerun with rich" in e["why"] for e in INDEX) >= 60


def test_test_split_holds_at_least_30_percent_of_the_logs():
    assert sum(e["split"] == "test" for e in INDEX) >= 0.3 * len(INDEX)


@pytest.mark.parametrize("needle", [b"/root/", b"/work/", b".pyenv"])
def test_no_path_of_the_generating_machine_is_in_a_log(needle):
    assert [p.name for p in GENERATED.glob("g*.log") if needle in p.read_bytes()] == []


def test_plan_numbers_runs_before_variants():
    kinds = [v is None for _, v, _ in generate.plan()]
    assert kinds == sorted(kinds, reverse=True)


def test_plan_file_names_are_unique():
    names = [f for _, _, f in generate.plan()]
    assert len(names) == len(set(names))


def test_plan_names_exactly_the_logs_in_the_index():
    assert [f for _, _, f in generate.plan()] == [e["file"] for e in INDEX]


def test_retired_numbers_stay_unused():
    assert [f for _, _, f in generate.plan() if int(f[1:5]) in generate.RETIRED_NUMBERS] == []


# ---------------------------------------------------------------- labels follow the text


def _text(path):
    data = path.read_bytes()
    return data[2:].decode("utf-16-le") if data.startswith(b"\xff\xfe") else data.decode("utf-8", "replace")


def test_every_failing_log_shows_a_failure():
    assert [e["file"] for e in INDEX if e["cause"] != "none" and not variants.shows_failure(_text(GENERATED / e["file"]))] == []


def _cuts():
    base = {sc.id: f for sc, v, f in generate.plan() if v is None}
    return [(sc, v, f, base[sc.id]) for sc, v, f in generate.plan() if v in variants.CUTS]


def _derived(sc, v, base):
    return variants.derive(v, (GENERATED / base).read_bytes(), cause=sc.cause, evidence=sc.expect,
                           reading=sc.readings.get(v))


def test_cut_variants_rebuild_to_the_bytes_on_disk():
    assert [f for sc, v, f, base in _cuts() if _derived(sc, v, base).data != (GENERATED / f).read_bytes()] == []


def test_cut_variants_carry_the_label_their_kept_text_supports():
    causes = {e["file"]: e["cause"] for e in INDEX}
    assert [f for sc, v, f, base in _cuts() if _derived(sc, v, base).cause != causes[f]] == []


def test_relabelled_variants_say_so_in_why():
    scenario = {f"generated:{sc.id}": sc for sc in generate.scenarios()}
    assert [e["file"] for e in INDEX if e["cause"] != scenario[e["source"]].cause
            and f"relabelled from {scenario[e['source']].cause}: the variant keeps only" not in e["why"]] == []


def test_readings_are_given_only_for_cuts_the_scenario_makes():
    assert [(sc.id, v) for sc in generate.scenarios() for v in sc.readings
            if v not in variants.CUTS or v not in sc.variants] == []


def test_a_failing_run_whose_text_shows_no_failure_is_refused():
    sc = generate.S("quiet", "unknown", "bash programs/quiet.sh", "exits 4 silently", "preprocessing", "bash")
    run = generate.Run(command="bash programs/quiet.sh", exit_status=4, text="preprocessing shard 3\n")
    assert "shows no failure" in generate.check_run(sc, run)


# ---------------------------------------------------------------- variants

CHAINED = """Traceback (most recent call last):
  File "/tmp/job/a.py", line 3, in <module>
    import foo
KeyError: 'a'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/tmp/job/a.py", line 5, in <module>
    raise RuntimeError("Distributed package doesn't have NCCL built in")
RuntimeError: Distributed package doesn't have NCCL built in
"""


def test_mac_roman_mojibake_matches_what_users_paste():
    assert variants.mojibake("distribué", "mac_roman") == "distribu√©"


def test_cp1252_mojibake_matches_what_users_paste():
    assert variants.mojibake("distribué", "cp1252") == "distribuÃ©"


def test_mojibake_refuses_ascii_text():
    with pytest.raises(ValueError):
        variants.mojibake("plain ascii", "cp1252")


def test_utf16_starts_with_a_bom():
    assert variants.utf16("a\n").startswith(b"\xff\xfe")


def test_utf16_uses_crlf_line_ends():
    assert variants.utf16("a\nb\n")[2:].decode("utf-16-le") == "a\r\nb\r\n"


def test_nul_prefix_keeps_the_log_after_the_nuls():
    data = b"Traceback\n"
    out = variants.nul_prefix(data)
    assert out.lstrip(b"\0") == data


def test_cut_chain_stops_before_the_last_exception():
    assert "RuntimeError" not in variants.cut_chain(CHAINED).splitlines()[-1]


def test_cut_chain_keeps_the_first_exception():
    assert variants.cut_chain(CHAINED).rstrip().endswith("KeyError: 'a'")


def test_no_final_line_ends_on_a_frame():
    assert variants.no_final_line(CHAINED).splitlines()[-1].startswith("    raise RuntimeError")


def test_translation_keeps_source_lines():
    out = variants.translate(CHAINED, "zh")
    assert '    raise RuntimeError("Distributed package doesn\'t have NCCL built in")' in out


def test_translation_translates_the_message():
    assert "RuntimeError: 分布式包没有内置 NCCL" in variants.translate(CHAINED, "zh")


def test_translation_translates_the_header():
    assert "回溯（最近一次调用最后）：" in variants.translate(CHAINED, "zh")


def test_interleave_keeps_every_line():
    text = "".join(f"[rank{r}]: line {i}\n" for r in (0, 1) for i in range(6))
    assert sorted(variants.interleave(text, b"seed").splitlines()) == sorted(text.splitlines())


def test_interleave_mixes_the_ranks():
    text = "".join(f"[rank{r}]: line {i}\n" for r in (0, 1) for i in range(6))
    assert variants.interleave(text, b"seed") != text


SUMMARY = """torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
programs/train.py FAILED
------------------------------------------------------------
Failures:
[1]:
  rank      : 1 (local_rank: 1)
  exitcode  : {other} (pid: 11)
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  rank      : 0 (local_rank: 0)
  exitcode  : {root} (pid: 10)
============================================================
"""


def test_a_summary_of_plain_exit_codes_supports_only_unknown():
    assert variants.summary_cause(SUMMARY.format(other="1", root="1")) == "unknown"


def test_a_summary_whose_root_cause_was_sigkill_supports_host_oom_killed():
    assert variants.summary_cause(SUMMARY.format(other="-15", root="-9")) == "host-oom-killed"


def test_a_summary_whose_root_cause_was_sigsegv_supports_segfault():
    assert variants.summary_cause(SUMMARY.format(other="-15", root="-11")) == "segfault"


def test_the_root_cause_rank_decides_over_the_other_ranks():
    assert variants.summary_cause(SUMMARY.format(other="-9", root="1")) == "unknown"


def test_deepspeeds_return_code_is_read_like_torchruns_exitcode():
    line = "[ERROR] [launch.py:259:sigkill_handler] ['python', 'train.py'] exits with return code = -9\n"
    assert variants.summary_cause(line) == "host-oom-killed"


def test_a_cut_that_keeps_no_failure_has_no_label():
    with pytest.raises(ValueError, match="no sign of a failure"):
        variants.supported_cause("tail5", "preprocessing shard 3\n", run_cause="unknown", run_evidence="shard",
                                 reading=None)


def test_a_cut_that_keeps_the_runs_evidence_keeps_the_runs_cause():
    kept = variants.tail5(CHAINED)
    assert variants.supported_cause("tail5", kept, run_cause="nccl-unavailable", run_evidence="NCCL built in",
                                    reading=None) == "nccl-unavailable"


def test_a_cut_that_loses_the_runs_evidence_needs_a_reading():
    with pytest.raises(ValueError, match="give it a Reading"):
        variants.supported_cause("cut-chain", variants.cut_chain(CHAINED), run_cause="nccl-unavailable",
                                 run_evidence="NCCL built in", reading=None)


def test_a_reading_labels_the_cut_it_was_given_for():
    reading = variants.Reading(cause="user-code-error", shown_by="KeyError: 'a'", keeps="a KeyError in import")
    assert variants.supported_cause("cut-chain", variants.cut_chain(CHAINED), run_cause="nccl-unavailable",
                                    run_evidence="NCCL built in", reading=reading) == "user-code-error"


def test_a_reading_whose_evidence_was_cut_away_is_reviewed_again():
    reading = variants.Reading(cause="user-code-error", shown_by="KeyError: 'b'", keeps="a KeyError in import")
    with pytest.raises(ValueError, match="review its label again"):
        variants.supported_cause("cut-chain", variants.cut_chain(CHAINED), run_cause="nccl-unavailable",
                                 run_evidence="NCCL built in", reading=reading)


def test_a_launcher_summary_is_labelled_by_its_signals_without_a_reading():
    kept = variants.launcher_only(SUMMARY.format(other="-15", root="-9"))
    assert variants.supported_cause("launcher-only", kept, run_cause="host-oom-killed", run_evidence="SIGKILL",
                                    reading=None) == "host-oom-killed"


def test_a_reading_that_contradicts_a_launcher_summary_is_refused():
    reading = variants.Reading(cause="unknown", shown_by="exitcode", keeps="torchrun's summary")
    with pytest.raises(ValueError, match="reads as segfault"):
        variants.supported_cause("launcher-only", SUMMARY.format(other="-15", root="-11"), run_cause="segfault",
                                 run_evidence="SIGSEGV", reading=reading)


def test_a_variant_that_keeps_every_line_takes_no_reading():
    reading = variants.Reading(cause="unknown", shown_by="KeyError", keeps="everything")
    with pytest.raises(ValueError, match="a Reading is for cuts"):
        variants.derive("ansi", CHAINED.encode(), cause="nccl-unavailable", evidence="NCCL", reading=reading)


def test_a_variant_that_keeps_every_line_keeps_the_runs_cause():
    assert variants.derive("ansi", CHAINED.encode(), cause="nccl-unavailable", evidence="NCCL").cause \
        == "nccl-unavailable"

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

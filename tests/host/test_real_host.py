"""The real machine: CPU torch 2.13, no GPU, loopback sockets."""

import socket
from pathlib import Path

import pytest

from ddoctor.host import system
from ddoctor.host.facts import NvmlFacts
from ddoctor.host.real import RealHost
from ddoctor.host.torch_facts import collect_torch_facts, static_torch_facts


def test_static_facts_read_torch_version_without_importing(monkeypatch):
    import sys

    had = "torch" in sys.modules
    t = static_torch_facts()
    assert t.installed
    assert t.version
    assert t.version.startswith("2.")
    assert had or "torch" not in sys.modules


@pytest.mark.slow
def test_child_import_reports_this_cpu_build_and_caches_it(tmp_path):
    env = {**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path)}
    t, rt, failure = collect_torch_facts(environ=env, runtime=False, use_cache=True, timeout=120)
    assert failure is None
    assert rt is None
    assert t.import_ok
    assert t.source == "child"
    assert t.cuda is None
    assert t.nccl_available is False
    assert t.gloo_available is True
    assert ("cpu", "gloo") in t.default_backends
    assert list(Path(tmp_path, "ddoctor").glob("torch-*.json"))
    again, _, _ = collect_torch_facts(environ=env, runtime=False, use_cache=True, timeout=120)
    assert again.source == "cache"
    assert again.gloo_available is True
    assert again.nccl_available is False


@pytest.mark.slow
def test_runtime_child_on_this_host(tmp_path):
    env = {**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path)}
    _, rt, failure = collect_torch_facts(environ=env, runtime=True, use_cache=True, timeout=120)
    assert failure is None
    assert rt.cuda_available is False
    assert rt.device_count == 0


@pytest.mark.slow
def test_broken_torch_import_is_reported_not_raised(tmp_path):
    fake_pkg = tmp_path / "site" / "torch"
    fake_pkg.mkdir(parents=True)
    (fake_pkg / "__init__.py").write_text(
        "raise OSError('libcudnn.so.8: cannot open shared object file: No such file or directory')\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site"), "XDG_CACHE_HOME": str(tmp_path)}
    t, _, failure = collect_torch_facts(environ=env, runtime=False, use_cache=False, timeout=60)
    assert failure is None
    assert t.import_ok is False
    assert "libcudnn.so.8" in t.import_error


@pytest.mark.slow
def test_torch_import_that_hangs_times_out(tmp_path):
    fake_pkg = tmp_path / "site" / "torch"
    fake_pkg.mkdir(parents=True)
    (fake_pkg / "__init__.py").write_text("import time\ntime.sleep(60)\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site"), "XDG_CACHE_HOME": str(tmp_path)}
    t, _, failure = collect_torch_facts(environ=env, runtime=False, use_cache=False, timeout=2)
    assert failure is not None
    assert failure.timed_out
    assert t.import_ok is None


def test_nvml_is_absent_here():
    nv = RealHost().nvml()
    assert isinstance(nv, NvmlFacts)
    assert not nv.available
    assert "NVMLError_LibraryNotFound" in nv.error


def test_port_state_names_this_process_as_holder():
    import os

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        st = system.port_state(port)
        assert not st.free
        assert st.holder_pid == os.getpid()
    assert system.port_state(port).free


def test_free_port_is_bindable():
    port = system.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_resolve_and_interfaces():
    assert "127.0.0.1" in system.resolve("localhost")
    assert isinstance(system.resolve("no-such-host.invalid"), str)
    assert any(i.is_loopback for i in system.interfaces())


def test_nccl_conf_is_read(tmp_path):
    conf = tmp_path / "nccl.conf"
    conf.write_text("# comment\nNCCL_IB_DISABLE=1\n\nNCCL_DEBUG = WARN\n")
    files = system.nccl_conf_files({"NCCL_CONF_FILE": str(conf)})
    assert files[-1].entries == (("NCCL_IB_DISABLE", "1"), ("NCCL_DEBUG", "WARN"))


def _cpu_build(**over):
    build = {"phase": "build", "version": "2.13.0+cpu", "cuda": None, "hip": None, "debug": False, "arch_list": [],
             "nccl_available": False, "nccl_version": None, "gloo_available": True, "mpi_available": False,
             "mps_built": False, "default_backends": [["cpu", "gloo"]], "cudnn_version": None, "xnnpack": True}
    return {**build, **over}


def _static():
    from ddoctor.host.facts import TorchFacts

    return TorchFacts(installed=True, version="2.13.0+cpu", location="/site/torch", cuda=None, hip=None)


def _write(path, static, key, build):
    import json

    from ddoctor.host.torch_facts import _static_snapshot

    path.write_text(json.dumps({"key": key, "static": _static_snapshot(static), "build": build}))


def test_a_cache_entry_for_this_install_is_used(tmp_path):
    from ddoctor.host.torch_facts import _load_cache

    p = tmp_path / "torch-k.json"
    _write(p, _static(), "k", _cpu_build())
    assert _load_cache(p, "k", _static())["gloo_available"] is True


@pytest.mark.parametrize(("why", "override", "key"), [
    ("NCCL claimed for a CPU build", {"nccl_available": True, "nccl_version": "2.27.5"}, "k"),
    ("CUDA kernels claimed for a CPU build", {"arch_list": ["sm_90"]}, "k"),
    ("a version other than the files say", {"version": "2.13.0+cu130"}, "k"),
    ("a CUDA version the files do not have", {"cuda": "13.0"}, "k"),
    ("a string where a bool belongs", {"gloo_available": "yes"}, "k"),
    ("an NCCL version without NCCL", {"nccl_version": "2.27.5"}, "k"),
    ("written under another key", {}, "other"),
])
def test_a_tampered_cache_is_refused(tmp_path, why, override, key):
    from ddoctor.host.torch_facts import _load_cache

    p = tmp_path / "torch-k.json"
    _write(p, _static(), key, _cpu_build(**override))
    assert _load_cache(p, "k", _static()) is None, why


@pytest.mark.slow
def test_a_poisoned_cache_cannot_make_require_nccl_pass_on_a_cpu_build(run_cli, tmp_path):
    import json

    assert run_cli("check", "torch.install").returncode == 0  # fills the cache (XDG_CACHE_HOME=tmp_path/cache)
    (entry,) = (tmp_path / "cache" / "ddoctor").glob("torch-*.json")
    doc = json.loads(entry.read_text())
    doc["build"].update(nccl_available=True, nccl_version="2.27.5")
    entry.write_text(json.dumps(doc))
    r = run_cli("check", "--require", "nccl", "--format", "json")
    f = {x["id"]: x for x in json.loads(r.stdout)["findings"]}
    assert f["require.nccl"]["status"] == "fail"
    assert f["torch.install"]["evidence"]["facts_source"] == "child"  # re-imported, not read from the poisoned file


@pytest.mark.slow
def test_a_prefetched_torch_child_is_adopted_not_started_twice(tmp_path, monkeypatch):
    import os

    from ddoctor.host import torch_facts

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    torch_facts.prefetch(env, runtime=False, use_cache=True)
    assert "build" in torch_facts._PREFETCHED
    monkeypatch.setattr(torch_facts, "run_python_child", lambda *a, **k: pytest.fail("a second child was started"))
    t, _, _ = torch_facts.collect_torch_facts(environ=env, runtime=False, use_cache=True, timeout=120)
    assert t.source == "child"
    torch_facts.prefetch(env, runtime=False, use_cache=True)  # the cache now answers: nothing to start
    assert "build" not in torch_facts._PREFETCHED

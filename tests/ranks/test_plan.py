"""The rank plan follows the host: NCCL per GPU with a CUDA build, Gloo on CPU, MPS on Apple silicon."""

from ddoctor.model.host import HostFacts
from ddoctor.ranks.plan import make_plan

GPU = HostFacts(system="Linux", machine="x86_64", torch_installed=True, torch_cuda="12.8", nvidia_gpus=8)


def test_one_nccl_rank_per_gpu():
    p = make_plan(GPU)
    assert (p.nproc, p.backend, p.device) == (8, "nccl", "cuda")


def test_a_cpu_build_on_a_gpu_host_runs_gloo_on_cpu():
    p = make_plan(HostFacts(system="Linux", machine="x86_64", torch_installed=True, nvidia_gpus=4))
    assert (p.nproc, p.backend, p.device) == (2, "gloo", "cpu")


def test_apple_silicon_puts_the_model_on_mps():
    assert make_plan(HostFacts(system="Darwin", machine="arm64", torch_installed=True)).device == "mps"


def test_explicit_choices_win():
    p = make_plan(GPU, nproc=2, backend="gloo", device="cpu")
    assert (p.nproc, p.backend, p.device) == (2, "gloo", "cpu")


def test_more_than_eight_gpus_caps_at_eight_ranks():
    assert make_plan(HostFacts(system="Linux", machine="x86_64", torch_cuda="12.8", nvidia_gpus=16)).nproc == 8

import torch.distributed as dist


def setup():
    # keep this comment
    dist.init_process_group("nccl", timeout=None)
    dist.init_process_group(backend="nccl")
    dist.init_process_group("gloo")  # already portable
    group = dist.new_group([0, 1], backend="nccl")
    return group

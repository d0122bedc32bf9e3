import torch
import torch.distributed as dist


def setup():
    # keep this comment
    dist.init_process_group("nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo", timeout=None)
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo")
    dist.init_process_group("gloo")  # already portable
    group = dist.new_group([0, 1], backend="nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo")
    return group

import torch.distributed as dist

backend = "nccl"


def setup(rank: int, world_size: int, pg_backend: str = "nccl") -> None:
    dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    group = dist.new_group([0, 1], backend=pg_backend)
    del group

import torch
import torch.distributed as dist

if torch.cuda.is_available():
    dist.init_process_group("nccl")
else:
    dist.init_process_group("gloo")
backend = "nccl" if torch.cuda.is_available() else "gloo"

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

CONFIG = {"backend": "nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo", "timeout_s": 600}
dist.init_process_group(backend=CONFIG["backend"])
dist.init_process_group(CONFIG.get("backend", "nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo"))


@dataclass
class DistConfig:
    backend: str = "nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo"
    world_size: int = 1


cfg = DistConfig()
dist.init_process_group(backend=cfg.backend)

kwargs = dict(backend="nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo", init_method="env://")
dist.init_process_group(**kwargs)

dist.init_process_group(backend=os.environ.get("DIST_BACKEND", "nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo"))

import os
from dataclasses import dataclass

import torch.distributed as dist

CONFIG = {"backend": "nccl", "timeout_s": 600}
dist.init_process_group(backend=CONFIG["backend"])
dist.init_process_group(CONFIG.get("backend", "nccl"))


@dataclass
class DistConfig:
    backend: str = "nccl"
    world_size: int = 1


cfg = DistConfig()
dist.init_process_group(backend=cfg.backend)

kwargs = dict(backend="nccl", init_method="env://")
dist.init_process_group(**kwargs)

dist.init_process_group(backend=os.environ.get("DIST_BACKEND", "nccl"))

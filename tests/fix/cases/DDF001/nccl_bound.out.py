import os

import torch
import torch.distributed as dist
from torch.distributed import ProcessGroupNCCL

# Shown, not rewritten: these arguments tie the group to NCCL or to one GPU.
options = ProcessGroupNCCL.Options()
dist.init_process_group("nccl", pg_options=options)
local_rank = int(os.environ["LOCAL_RANK"])
dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))

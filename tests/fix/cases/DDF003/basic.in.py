import os

import torch

local_rank = int(os.environ["LOCAL_RANK"])
torch.cuda.set_device(local_rank)
if torch.cuda.is_available():
    torch.cuda.set_device(local_rank)

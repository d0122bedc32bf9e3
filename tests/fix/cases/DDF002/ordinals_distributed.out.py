import os

import torch
import torch.distributed as dist

DEVICE = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else torch.device("cpu")

dist.init_process_group("gloo")
local_rank = int(os.environ["LOCAL_RANK"])
x = torch.zeros(4, device=DEVICE)
y = torch.ones(2, device=DEVICE)
model = torch.nn.Linear(2, 2).to(DEVICE)
z = x.to(DEVICE)
dev = DEVICE
other = DEVICE
mine = DEVICE
w = torch.zeros(1).to(DEVICE)
plain = torch.zeros(1).to(DEVICE)

import os

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
local_rank = int(os.environ["LOCAL_RANK"])
x = torch.zeros(4, device="cuda:0")
y = torch.ones(2, device="cuda:1")
model = torch.nn.Linear(2, 2).cuda(0)
z = x.to("cuda:0")
dev = torch.device("cuda:0")
other = torch.device("cuda", 0)
mine = torch.device("cuda", local_rank)
w = torch.zeros(1).cuda(local_rank)
plain = torch.zeros(1).cuda()

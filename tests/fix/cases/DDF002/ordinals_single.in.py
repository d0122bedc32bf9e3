import torch

x = torch.zeros(4, device="cuda:0")
model = torch.nn.Linear(2, 2).cuda(0)
dev = torch.device("cuda:0")
second = torch.zeros(4, device="cuda:1")  # a deliberate placement: shown, left as it is
gpu = 2
third = torch.zeros(1).cuda(gpu)

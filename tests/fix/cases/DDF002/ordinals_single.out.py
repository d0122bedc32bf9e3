import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")

x = torch.zeros(4, device=DEVICE)
model = torch.nn.Linear(2, 2).to(DEVICE)
dev = DEVICE
second = torch.zeros(4, device="cuda:1")  # a deliberate placement: shown, left as it is
gpu = 2
third = torch.zeros(1).cuda(gpu)

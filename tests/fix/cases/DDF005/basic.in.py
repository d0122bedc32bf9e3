import torch

state = torch.load("ckpt.pth")
ok = torch.load("ckpt.pth", map_location="cpu")
also_ok = torch.load("ckpt.pth", "cpu")
model_state = torch.load(
    "big.pth",
    weights_only=True,
)

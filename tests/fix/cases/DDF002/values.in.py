import argparse
import os

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda", help="where to run")
args = parser.parse_args()

device = "cuda"
settings = {"device": "cuda:0", "steps": 10}
fallback = os.environ.get("TRAIN_DEVICE", "cuda")

model = torch.nn.Linear(2, 2).to(args.device)
x = torch.zeros(4, device=device)
y = torch.ones(4).to(settings["device"])
z = torch.ones(4).to(fallback)
moved = torch.ones(4).cuda(non_blocking=True)
if x.device.type == "cuda":  # a comparison, not a placement
    print("on the GPU")

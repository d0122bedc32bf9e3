import argparse
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")

parser = argparse.ArgumentParser()
parser.add_argument("--device", default=str(DEVICE), help="where to run")
args = parser.parse_args()

device = DEVICE
settings = {"device": DEVICE, "steps": 10}
fallback = os.environ.get("TRAIN_DEVICE", str(DEVICE))

model = torch.nn.Linear(2, 2).to(args.device)
x = torch.zeros(4, device=device)
y = torch.ones(4).to(settings["device"])
z = torch.ones(4).to(fallback)
moved = torch.ones(4).to(DEVICE, non_blocking=True)
if x.device.type == "cuda":  # a comparison, not a placement
    print("on the GPU")

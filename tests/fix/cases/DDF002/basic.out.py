import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")


def run(model):
    x = torch.zeros(4, device=DEVICE)
    model = model.to(DEVICE)
    y = x.to(DEVICE)
    dev = DEVICE
    pinned = torch.ones(2, device="cuda:1")  # an indexed device is deliberate
    z = x.cuda(3)
    if x.device.type == "cuda":
        pass
    with torch.autocast(device_type="cuda"):
        pass
    return model, y, dev, pinned, z

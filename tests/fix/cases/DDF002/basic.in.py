import torch


def run(model):
    x = torch.zeros(4, device="cuda")
    model = model.cuda()
    y = x.to("cuda")
    dev = torch.device("cuda")
    pinned = torch.ones(2, device="cuda:1")  # an indexed device is deliberate
    z = x.cuda(3)
    if x.device.type == "cuda":
        pass
    with torch.autocast(device_type="cuda"):
        pass
    return model, y, dev, pinned, z

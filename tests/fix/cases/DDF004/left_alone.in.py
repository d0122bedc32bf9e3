import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("m")

cpu_model = AutoModelForCausalLM.from_pretrained("m")  # stays on the CPU: nothing to move
inputs = tokenizer("hi", return_tensors="pt")
print(inputs)
cpu_model.generate(**inputs)

gpu_model = AutoModelForCausalLM.from_pretrained("m", device_map="auto")
moved = tokenizer("hi", return_tensors="pt")
moved = moved.to(gpu_model.device)  # the code places them itself
gpu_model.generate(**moved)

wrapped = DDP(AutoModelForCausalLM.from_pretrained("m").cuda())  # a wrapper has no .device


def generate(batch):
    return gpu_model.generate(**batch)  # a parameter: the caller decides


wrapped(**tokenizer("x", return_tensors="pt"))
torch.manual_seed(0)

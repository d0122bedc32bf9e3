import torch
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("m", device_map="auto", torch_dtype=torch.float16)

out = model.generate(input_ids=torch.tensor([[1, 306, 4966]]).to(model.device), max_new_tokens=4)
prompt = torch.tensor([[1, 450, 6593]]).to(model.device)
more = model.generate(prompt, max_new_tokens=4)
placed = model.generate(torch.tensor([[1, 2]], device=model.device))

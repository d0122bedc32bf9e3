import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("m")
model = AutoModelForCausalLM.from_pretrained("m")
model.cuda()


def score(prompt: str) -> torch.Tensor:
    inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
    with torch.no_grad():
        return model(**inputs).logits


def forward(prompt: str) -> torch.Tensor:
    batch = tokenizer(prompt, return_tensors="pt").to(model.device)
    return model.forward(**batch).logits

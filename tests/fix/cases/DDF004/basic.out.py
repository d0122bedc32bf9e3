from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("m")
model = AutoModelForCausalLM.from_pretrained("m", device_map="auto")
inputs = tokenizer("hi", return_tensors="pt").to(model.device)
out = model.generate(**inputs)
ids = tokenizer("hello", return_tensors="pt").input_ids.to(model.device)
more = model.generate(ids, max_new_tokens=3)
placed = tokenizer("x", return_tensors="pt").to("cuda")
model.generate(**placed)

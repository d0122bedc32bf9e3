from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("m")
model = AutoModelForCausalLM.from_pretrained("m", device_map="auto")
inputs = tokenizer("hi", return_tensors="pt")
out = model.generate(**inputs)
ids = tokenizer("hello", return_tensors="pt").input_ids
more = model.generate(ids, max_new_tokens=3)
placed = tokenizer("x", return_tensors="pt").to("cuda")
model.generate(**placed)

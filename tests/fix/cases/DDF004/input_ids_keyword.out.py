from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("m")
model = AutoModelForCausalLM.from_pretrained("m", device_map="auto")

ids = tokenizer("hello", return_tensors="pt").input_ids.to(model.device)
out = model.generate(input_ids=ids, max_new_tokens=8)

inputs = tokenizer("hi there", return_tensors="pt").to(model.device)
again = model.generate(input_ids=inputs.input_ids, attention_mask=inputs.attention_mask)

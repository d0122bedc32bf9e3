from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("m")
model = AutoModelForCausalLM.from_pretrained("m").to("cuda")

inputs = tokenizer("hello", return_tensors="pt")
out = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=8)

encoded = tokenizer("again", return_tensors="pt")
input_ids = encoded["input_ids"]
more = model.generate(input_ids)

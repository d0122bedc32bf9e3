from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("m", padding_side="left")
tokenizer.pad_token = tokenizer.eos_token
model = AutoModelForCausalLM.from_pretrained("m", device_map="auto")

prompts = ["The capital of France is", "Two plus two is"]
batch = tokenizer(prompts, padding=True, return_tensors="pt")
outputs = model.generate(**batch, max_new_tokens=16)

chat = [{"role": "user", "content": "Hello"}]
chat_ids = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
reply = model.generate(chat_ids, max_new_tokens=16)
print(tokenizer.batch_decode(outputs), reply)

"""The tiny model's shape (torch-free, so the CLI can validate rank counts without importing torch).

dim 128, 2 layers, 16 query heads sharing 8 KV heads (GQA), SwiGLU hidden 352, vocabulary 64: every
split dimension divides by 1, 2, 4 and 8 model-parallel ranks.
"""

from ddoctor.llama_format import Params

TINY = Params(dim=128, n_layers=2, n_heads=16, n_kv_heads=8, vocab_size=64, multiple_of=32, norm_eps=1e-5)

"""Cross-check against Hugging Face transformers: convert the unsharded Meta checkpoint to
`LlamaForCausalLM` (with the q/k row permutation Meta's interleaved RoPE needs) and compare greedy tokens.

Optional: runs only with `ddoctor smoke --hf` and only where transformers is installed.
"""

from __future__ import annotations

import json
from pathlib import Path


def permute(w, n_heads: int):
    """Meta's interleaved rotary pairs (2k, 2k+1) → HF's rotate_half halves (k, k + d/2), per head."""
    dim1, dim2 = w.shape
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def to_hf_state(meta: dict, n_heads: int, n_kv_heads: int) -> dict:
    out = {"model.embed_tokens.weight": meta["tok_embeddings.weight"], "model.norm.weight": meta["norm.weight"],
           "lm_head.weight": meta["output.weight"]}
    layers = {int(k.split(".")[1]) for k in meta if k.startswith("layers.")}
    for i in layers:
        m, h = f"layers.{i}.", f"model.layers.{i}."
        out[h + "self_attn.q_proj.weight"] = permute(meta[m + "attention.wq.weight"], n_heads)
        out[h + "self_attn.k_proj.weight"] = permute(meta[m + "attention.wk.weight"], n_kv_heads)
        out[h + "self_attn.v_proj.weight"] = meta[m + "attention.wv.weight"]
        out[h + "self_attn.o_proj.weight"] = meta[m + "attention.wo.weight"]
        out[h + "mlp.gate_proj.weight"] = meta[m + "feed_forward.w1.weight"]
        out[h + "mlp.down_proj.weight"] = meta[m + "feed_forward.w2.weight"]
        out[h + "mlp.up_proj.weight"] = meta[m + "feed_forward.w3.weight"]
        out[h + "input_layernorm.weight"] = meta[m + "attention_norm.weight"]
        out[h + "post_attention_layernorm.weight"] = meta[m + "ffn_norm.weight"]
    return out


def cross_check(ref_dir: Path, prompts: list[list[int]], meta_greedy: list[list[int]], max_new: int,
                eos_id: int) -> dict:
    try:
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        return {"skipped": "transformers is not installed"}
    import torch

    from ddoctor.llama_format import parse_params

    state = torch.load(ref_dir / "consolidated.00.pth", map_location="cpu", weights_only=True)
    p = parse_params(json.loads((ref_dir / "params.json").read_text()), state["output.weight"].shape[0])
    cfg = LlamaConfig(vocab_size=p.vocab_size, hidden_size=p.dim, intermediate_size=p.ffn_hidden,
                      num_hidden_layers=p.n_layers, num_attention_heads=p.n_heads, num_key_value_heads=p.n_kv_heads,
                      rms_norm_eps=p.norm_eps, rope_theta=p.rope_theta, tie_word_embeddings=False, bos_token_id=1,
                      eos_token_id=eos_id, max_position_embeddings=256)
    model = LlamaForCausalLM(cfg).eval()
    missing, unexpected = model.load_state_dict(to_hf_state(state, p.n_heads, p.n_kv_heads), strict=False)
    missing = [k for k in missing if "rotary_emb" not in k]
    if missing or unexpected:
        return {"error": f"state dict does not fit LlamaForCausalLM: missing {missing}, unexpected {unexpected}"}
    hf_tokens = []
    with torch.inference_mode():
        for prompt in prompts:
            ids = torch.tensor([prompt])
            out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=max_new,
                                 eos_token_id=eos_id, pad_token_id=eos_id)
            toks = out[0, len(prompt):].tolist()
            hf_tokens.append(toks[: toks.index(eos_id)] if eos_id in toks else toks)
    return {"transformers": transformers.__version__, "greedy_match": hf_tokens == meta_greedy, "tokens": hf_tokens}

import pytest

from ddoctor.llama_format import FormatError, check_mp, full_shapes, parse_params, shard_shape, split_dim
from ddoctor.smoke.checkpoint_spec import TINY


@pytest.mark.parametrize(("key", "dim"), [
    ("tok_embeddings.weight", 1), ("layers.0.attention.wq.weight", 0), ("layers.11.attention.wk.weight", 0),
    ("layers.3.attention.wv.weight", 0), ("layers.3.attention.wo.weight", 1), ("layers.0.feed_forward.w1.weight", 0),
    ("layers.0.feed_forward.w2.weight", 1), ("layers.0.feed_forward.w3.weight", 0), ("output.weight", 0),
    ("layers.0.attention_norm.weight", None), ("layers.0.ffn_norm.weight", None), ("norm.weight", None),
    ("rope.freqs", None),
])
def test_split_table_matches_meta_fairscale_layout(key, dim):
    assert split_dim(key) == dim


def test_unknown_key_is_an_error():
    with pytest.raises(FormatError):
        split_dim("model.layers.0.self_attn.q_proj.weight")  # an HF key, not Meta's


def test_llama2_ffn_sizes():
    seven_b = parse_params({"dim": 4096, "multiple_of": 256, "n_heads": 32, "n_layers": 32, "norm_eps": 1e-05,
                            "vocab_size": -1}, vocab_size=32000)
    assert seven_b.ffn_hidden == 11008
    assert seven_b.n_kv_heads == 32
    seventy_b = parse_params({"dim": 8192, "multiple_of": 4096, "ffn_dim_multiplier": 1.3, "n_heads": 64,
                              "n_kv_heads": 8, "n_layers": 80, "norm_eps": 1e-05, "vocab_size": -1}, 32000)
    assert seventy_b.ffn_hidden == 28672
    check_mp(seventy_b, 8)
    with pytest.raises(FormatError, match="n_kv_heads=8 is not divisible by 16"):
        check_mp(seventy_b, 16)


def test_tiny_model_shards_on_1_2_4_8():
    for mp in (1, 2, 4, 8):
        check_mp(TINY, mp)
        for key, shape in full_shapes(TINY).items():
            shard_shape(key, shape, mp)
    with pytest.raises(FormatError):
        check_mp(TINY, 3)


def test_params_errors():
    with pytest.raises(FormatError, match="vocab_size -1"):
        parse_params({"dim": 8, "n_layers": 1, "n_heads": 2, "vocab_size": -1})
    with pytest.raises(FormatError, match=r"unknown|does not know"):
        parse_params({"dim": 8, "n_layers": 1, "n_heads": 2, "vocab_size": 4, "hidden_act": "silu"})
    with pytest.raises(FormatError, match="missing"):
        parse_params({"n_layers": 1, "n_heads": 2, "vocab_size": 4})


GOOD = {"dim": 128, "n_layers": 2, "n_heads": 16, "n_kv_heads": 8, "vocab_size": 64, "multiple_of": 32,
        "norm_eps": 1e-5}


@pytest.mark.parametrize(("field", "value"), [
    ("n_layers", 10**9), ("n_layers", 0), ("n_heads", 0), ("n_heads", -4), ("dim", "128"), ("dim", 128.5),
    ("dim", True), ("dim", [128]), ("dim", 1 << 40), ("vocab_size", 10**12), ("n_kv_heads", 3),
    ("n_kv_heads", 32), ("norm_eps", float("inf")), ("norm_eps", float("nan")), ("norm_eps", "small"),
    ("rope_theta", -1.0), ("ffn_dim_multiplier", float("inf")), ("multiple_of", 0), ("dim", None),
])
def test_absurd_params_are_a_format_error(field, value):
    with pytest.raises(FormatError, match=field):
        parse_params({**GOOD, field: value})


def test_params_must_be_an_object():
    with pytest.raises(FormatError, match="object"):
        parse_params([GOOD])  # type: ignore[arg-type]


def test_sane_params_still_parse():
    p = parse_params(GOOD)
    assert (p.dim, p.n_layers, p.n_heads, p.n_kv_heads) == (128, 2, 16, 8)

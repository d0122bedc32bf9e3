from ddoctor.redact import REDACTED, is_secret_name, redact_env_value, scrub, secret_values

PLANTED = {
    "hf": "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7",
    "github": "ghp_" + "A" * 36,
    "aws": "AKIA" + "ABCDEFGHIJKLMNOP",
    "openai": "sk-proj-" + "x" * 40,
    "slack": "xoxb-" + "1234567890-abcdefghij",
}


def test_secret_names():
    for name in ("HF_TOKEN", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "DB_PASSWORD", "WANDB_API_KEY",
                 "MY_SECRET"):
        assert is_secret_name(name), name
    for name in ("MASTER_ADDR", "NCCL_DEBUG", "CUDA_VISIBLE_DEVICES", "PATH", "TOKENIZERS_PARALLELISM", "HOME", "PWD", "KEYBOARD"):
        assert not is_secret_name(name), name


def test_token_shapes_are_scrubbed_from_free_text():
    for kind, tok in PLANTED.items():
        out = scrub(f"error while loading with {tok} at step 3")
        assert tok not in out, kind
        assert REDACTED in out


def test_url_password_and_assignments():
    out = scrub("proxy http://alice:s3cretpw@proxy:3128 and HF_TOKEN=abcdefgh123 and password: hunter22")
    assert "s3cretpw" not in out and "abcdefgh123" not in out and "hunter22" not in out
    assert "alice" in out  # the user name is not a secret


def test_env_values_of_secret_variables_are_scrubbed_anywhere():
    env = {"MY_API_TOKEN": "plain-looking-value", "PATH": "/usr/bin"}
    assert secret_values(env) == ("plain-looking-value",)
    assert "plain-looking-value" not in scrub("x=plain-looking-value", secret_values(env))
    assert redact_env_value("MY_API_TOKEN", "v") == REDACTED
    assert redact_env_value("NCCL_DEBUG", "INFO") == "INFO"


def test_code_and_words_that_merely_contain_secret_words_are_kept():
    for text in ('tokenizer = AutoTokenizer.from_pretrained("x")', "TOKENIZERS_PARALLELISM=false",
                 "max_tokens: 4096", "keyboard=us"):
        assert scrub(text) == text, text

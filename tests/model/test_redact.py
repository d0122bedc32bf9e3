import pytest

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
    assert "s3cretpw" not in out
    assert "abcdefgh123" not in out
    assert "hunter22" not in out
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


# -- shapes from the hardening round (issue 12): each a (text, secret) pair ----------------------------------
SHAPES = {
    "assignment after an exception type": ("RuntimeError: HF_TOKEN=hf-but-not-a-token-shape", "hf-but-not-a-token-shape"),
    "password after an exception type": ("ValueError: password=hunter2hunter2", "hunter2hunter2"),
    "bearer header": ("Authorization: Bearer abc.def.ghi-123", "abc.def.ghi-123"),
    "basic header": ('{"Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz"),
    "token header": ("-H 'authorization: token tok_12345678'", "tok_12345678"),
    "escaped header": ("\\'Authorization\\': \\'Basic dXNlcjpwYXNz\\'", "dXNlcjpwYXNz"),
    "bare bearer": ("sent Bearer abcdefgh12345678 upstream", "abcdefgh12345678"),
    "json password": ('{"password": "with spaces in it"}', "with spaces in it"),
    "bare key with a credential": ("key: a8Fk29sLq0ZpX7", "a8Fk29sLq0ZpX7"),
    "bare key with a dashed token": ("key=proj-x93kd-22mzq", "proj-x93kd-22mzq"),
    "json api_key": ('{"api_key": "k-0123456"}', "k-0123456"),
    "json-escaped password": ('"text": "password=\\"pw-in-json\\""', "pw-in-json"),
    "url password with @ and /": ("https://u:p@ss/w0rd@host.example/x", "p@ss/w0rd"),
    "empty-user url": ("redis://:redis-pw-1@cache:6379", "redis-pw-1"),
    "user:pass@host": ("carol:carol-pw-2@db.internal:5432", "carol-pw-2"),
    "*PASS": ("SMTP_PASS=smtp-pw-33", "smtp-pw-33"),
    "PGPASSWORD": ("PGPASSWORD=pg-pw-44", "pg-pw-44"),
    "APITOKEN": ("APITOKEN=api-tok-55", "api-tok-55"),
    "camelCase": ("accessToken=camel-tok-66", "camel-tok-66"),
    "AccountKey": ("AccountName=a;AccountKey=az+Key/77==;EndpointSuffix=core", "az+Key/77=="),
    "cli flag": ("train.py --hf-token my-hf-token-88", "my-hf-token-88"),
    "query string": ("GET /x?sig=sas-sig-99&se=2025", "sas-sig-99"),
    "pem block": ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAkey\nbody-line\n-----END RSA PRIVATE KEY-----",
                  "body-line"),
    "cut pem block": ("-----BEGIN PRIVATE KEY-----\nsecret-body-until-the-end", "secret-body-until-the-end"),
    "pem body line alone": ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "MIIEvQIBADANBgkqhkiG9w0"),
    "github": ("ghs_" + "g" * 36, "ghs_" + "g" * 36),
    "hugging face": ("hf_" + "h" * 34, "hf_" + "h" * 34),
    "openai service account": ("sk-svcacct-" + "o" * 30, "sk-svcacct-" + "o" * 30),
    "anthropic": ("sk-ant-api03-" + "a" * 40, "sk-ant-api03-" + "a" * 40),
    "aws": ("ASIA" + "W" * 16, "ASIA" + "W" * 16),
    "google api key": ("AIza" + "x" * 35, "AIza" + "x" * 35),
    "google oauth": ("ya29." + "y" * 30, "ya29." + "y" * 30),
    "slack": ("xoxp-" + "5" * 20, "xoxp-" + "5" * 20),
    "slack webhook": ("https://hooks.slack.com/services/T000/B000/" + "w" * 24, "w" * 24),
    "stripe": ("rk_live_" + "r" * 24, "rk_live_" + "r" * 24),
    "npm": ("npm_" + "n" * 36, "npm_" + "n" * 36),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_is_scrubbed(name):
    text, secret = SHAPES[name]
    assert secret not in scrub(text, ())


@pytest.mark.parametrize("text", [
    "disk-0123456789abcdefghij0123 is full",   # contains `sk-` inside a word
    "max_new_tokens: 4096", "the token expired", "git@github.com:org/repo.git", "basic configuration",
    "[E socket.cpp:957] [c10d] The client socket has timed out after 900s while trying to connect to (10.0.0.1, 29500).",
    "ready: 20 passed, 1 warning",
    "Added key: store_based_barrier_key:1 to store for rank: 0",  # a lookup key's name, not a credential
    "missing key: model.layers.0.mlp",
])
def test_ordinary_text_is_kept(text):
    assert scrub(text, ()) == text


def test_a_scrubbed_json_document_stays_valid_json():
    import json

    doc = json.dumps({"password": "x1234", "first_token_s": 0.25, "pass": 7,
                      "text": 'password="abc12345" HF_TOKEN=hf_' + "q" * 34})
    assert json.loads(scrub(doc, ()))["first_token_s"] == 0.25


def test_secret_names_from_the_hardening_round():
    assert [is_secret_name(n) for n in ("SMTP_PASS", "PGPASSWORD", "APITOKEN", "accessToken", "AccountKey",
                                        "HTTP_AUTHORIZATION")] == [True] * 6


def test_names_that_only_look_secret():
    assert [is_secret_name(n) for n in ("pass", "BYPASS_CACHE", "MAX_TOKENS", "TOKENIZER_PATH")] == [False] * 4


def test_environment_values_are_scrubbed_by_default(monkeypatch):
    import ddoctor.redact as redact

    monkeypatch.setattr(redact, "_environment_secrets", lambda: ("plain-env-value",))
    assert "plain-env-value" not in scrub("it was plain-env-value")


ADVERSARIAL = {
    "assignments": lambda n: "a=" * (n // 2),
    "colons": lambda n: "a:" * (n // 2),
    "schemes": lambda n: "x://" * (n // 4),
    "ats": lambda n: "a:b@" * (n // 4),
    "pem": lambda n: "-----BEGIN PRIVATE KEY-----" * (n // 27),
    "authorization": lambda n: "Authorization: " * (n // 15),
    "quotes": lambda n: '"password": "' * (n // 13),
    "flags": lambda n: "--token " * (n // 8),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_scrub_stays_linear(name):
    from tests.parse.test_fuzz import grows_linearly

    grows_linearly(ADVERSARIAL[name], lambda s: scrub(s, ()))


def test_evidence_is_scrubbed_before_it_is_cut():
    from ddoctor.kb.match import EVIDENCE_CHARS, evidence_text

    token = "hf_" + "Q" * 34
    line = "RuntimeError: " + "x" * (EVIDENCE_CHARS - 25) + " token " + token  # the token crosses the cut
    assert len(line) - len(token) < EVIDENCE_CHARS < len(line)
    shown = evidence_text(line)
    assert len(shown) <= EVIDENCE_CHARS
    assert "hf_Q" not in shown

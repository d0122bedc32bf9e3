"""Planted credentials, in the environment and in logs, never appear in any output format."""

import json

import pytest

pytestmark = pytest.mark.slow

TOKENS = {
    "HF_TOKEN": "hf_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3f",
    "GITHUB_TOKEN": "ghp_" + "x8Y7z6W5v4U3t2S1r0Q9p8O7n6M5l4K3j2I1",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_ACCESS_KEY_ID": "AKIA" + "IOSFODNN7EXAMPLE",
    "OPENAI_API_KEY": "sk-proj-" + "Zq8Xw7Vv6Uu5Tt4Ss3Rr2Qq1Pp0OoNnMm",
    "WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",
    "DB_PASSWORD": "correct-horse-battery-staple",
    "MY_SECRET": "s3cr3t-value-never-print",
    "SLACK_BOT_TOKEN": "xoxb-" + "123456789012-abcdefABCDEF",
}
URL_PASSWORD = "pr0xyPassw0rd"


def env_with_secrets():
    env = dict(TOKENS)
    env["HTTPS_PROXY"] = f"http://alice:{URL_PASSWORD}@proxy.internal:3128"
    # variables ddoctor does print, carrying the secrets
    env["CUDA_INJECTION64_PATH"] = TOKENS["HF_TOKEN"]
    env["NCCL_SOCKET_IFNAME"] = TOKENS["MY_SECRET"]
    env["MASTER_ADDR"] = TOKENS["DB_PASSWORD"]
    return env


def assert_clean(output: str, hardening_stats, values=(*TOKENS.values(), URL_PASSWORD)):
    leaked = [v for v in values if v in output]
    hardening_stats["secrets_planted"] += len(values)
    hardening_stats["secrets_leaked"] += len(leaked)
    assert leaked == []


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown", "github"])
def test_check(run_cli, fmt, hardening_stats):
    r = run_cli("check", "-v", "--format", fmt, env=env_with_secrets())
    assert "CUDA_INJECTION64_PATH" in r.stdout or fmt in ("github",)  # the variable is reported, its value is not
    assert_clean(r.stdout + r.stderr, hardening_stats)


LOG = f"""HF_TOKEN={TOKENS['HF_TOKEN']} torchrun train.py
export OPENAI_API_KEY={TOKENS['OPENAI_API_KEY']}
downloading from https://bob:{URL_PASSWORD}@mirror.internal/weights
Traceback (most recent call last):
  File "/job/train.py", line 9, in <module>
    login(token="{TOKENS['GITHUB_TOKEN']}")
KeyError: 'aws {TOKENS['AWS_ACCESS_KEY_ID']} {TOKENS['SLACK_BOT_TOKEN']} password: {TOKENS['DB_PASSWORD']}'
"""


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "github"])
def test_diagnose(run_cli, fmt, hardening_stats):
    # diagnosed on a machine that does not have these variables: token shapes and assignments must suffice
    r = run_cli("diagnose", "--all", "--format", fmt, input=LOG)
    assert r.returncode == 1
    for value in (TOKENS["WANDB_API_KEY"], TOKENS["MY_SECRET"], TOKENS["AWS_SECRET_ACCESS_KEY"]):
        assert value not in LOG  # (these are only planted in the environment tests)
    assert_clean(r.stdout + r.stderr, hardening_stats, (
        TOKENS["HF_TOKEN"], TOKENS["OPENAI_API_KEY"], TOKENS["GITHUB_TOKEN"], TOKENS["AWS_ACCESS_KEY_ID"],
        TOKENS["SLACK_BOT_TOKEN"], TOKENS["DB_PASSWORD"], URL_PASSWORD))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_smoke_failure_output(run_cli, fmt, hardening_stats):
    env = {**env_with_secrets(), "MASTER_ADDR": "127.0.0.1"}
    r = run_cli("smoke", "--fault", "raise@1", "--format", fmt, "-v", env=env, timeout=180)
    assert r.returncode == 1
    if fmt == "json":
        json.loads(r.stdout)
    assert_clean(r.stdout + r.stderr, hardening_stats)

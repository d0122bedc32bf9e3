"""Planted credentials, in the environment and in logs, never appear in any output format or stream.

Every check counts what it planted and what leaked *before* asserting, so the hardening line at the
end of the run shows a leak as a number, not only as a failed test.
"""

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
    "SMTP_PASS": "mail-pass-4417",
    "PGPASSWORD": "pg-pass-9932",
    "APITOKEN": "api-token-5501",
}
URL_PASSWORD = "pr0xyPassw0rd"
BEARER = "eyJhbGciOiJIUzI1NiJ9" + "Q" * 30
ADDR_PASSWORD = "addr-pw-7731"


def env_with_secrets():
    env = dict(TOKENS)
    env["HTTPS_PROXY"] = f"http://alice:{URL_PASSWORD}@proxy.internal:3128"
    # variables ddoctor does print, carrying the secrets
    env["CUDA_INJECTION64_PATH"] = TOKENS["HF_TOKEN"]
    env["NCCL_SOCKET_IFNAME"] = TOKENS["MY_SECRET"]
    env["NCCL_DEBUG_SUBSYS"] = f"Authorization: Bearer {BEARER}"
    env["MASTER_ADDR"] = f"bob:{ADDR_PASSWORD}@10.0.0.5"
    return env


ENV_SECRETS = [*TOKENS.values(), URL_PASSWORD, BEARER, ADDR_PASSWORD]


def assert_none_leaked(output: str, planted, stats):
    leaked = [s for s in planted if s in output]
    stats["secrets_planted"] += len(planted)
    stats["secrets_leaked"] += len(leaked)
    assert leaked == []


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown", "github"])
def test_check(run_cli, fmt, hardening_stats):
    r = run_cli("check", "-v", "--format", fmt, env=env_with_secrets())
    assert_none_leaked(r.stdout + r.stderr, ENV_SECRETS, hardening_stats)


def test_check_names_the_variables_it_will_not_print(run_cli):
    r = run_cli("check", "env.hygiene", "-v", env=env_with_secrets())
    assert "CUDA_INJECTION64_PATH" in r.stdout


# (what the log line looks like, the secret in it): every shape the redactor knows, in one log.
SHAPES = [
    ("RuntimeError: HF_TOKEN=hf_{}".format("k" * 34), "hf_" + "k" * 34),
    ("ValueError: password=hunter2-long-enough", "hunter2-long-enough"),
    ("RuntimeError: HF_TOKEN=short-but-named", "short-but-named"),
    ("curl -H 'Authorization: Bearer abc.def-bearer-9911'", "abc.def-bearer-9911"),
    ("requests: {'Authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "dXNlcjpwYXNzd29yZA=="),
    ("git: Authorization: token tok-abc-12345", "tok-abc-12345"),
    ('{"password": "json pass phrase", "user": "x"}', "json pass phrase"),
    ('{"api_key": "json-api-key-0042"}', "json-api-key-0042"),
    ("pip: https://alice:p@ss/w0rd-77@mirror.internal/simple", "p@ss/w0rd-77"),
    ("redis://:empty-user-pw-3@cache:6379/0", "empty-user-pw-3"),
    ("psql: carol:no-scheme-pw-5@db.internal:5432", "no-scheme-pw-5"),
    ("DB_PASS=dbpass-2231 MYSQL_PASS=mysql-pass-5512", "dbpass-2231"),
    ("export PGPASSWORD=pg-in-log-88", "pg-in-log-88"),
    ("APITOKEN=apitoken-in-log-61", "apitoken-in-log-61"),
    ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=azKey+9/zz==;EndpointSuffix=x", "azKey+9/zz=="),
    ("gh: github_pat_" + "A1" * 20, "github_pat_" + "A1" * 20),
    ("openai: sk-" + "b" * 40, "sk-" + "b" * 40),
    ("aws: ASIA" + "Q" * 16, "ASIA" + "Q" * 16),
    ("google: AIza" + "G" * 35, "AIza" + "G" * 35),
    ("google oauth: ya29." + "o" * 40, "ya29." + "o" * 40),
    ("slack: xoxp-" + "1" * 12 + "-slack", "xoxp-" + "1" * 12 + "-slack"),
    ("stripe: sk_live_" + "s" * 24, "sk_live_" + "s" * 24),
    ("npm: npm_" + "n" * 36, "npm_" + "n" * 36),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", None),
    ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZWQ", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"),
    ("-----END OPENSSH PRIVATE KEY-----", None),
    ("x" * 480 + " password=crosses-the-evidence-cut-0001 RuntimeError: boom",  "crosses-the-evidence-cut"),
]
PLANTED = [secret for _, secret in SHAPES if secret]
LOG = "\n".join(line for line, _ in SHAPES) + f"""
[E socket.cpp:957] [c10d] The client socket has timed out after 900s while trying to connect to (dave:{ADDR_PASSWORD}@10.52.7.18, 29500).
Traceback (most recent call last):
  File "/job/train.py", line 9, in <module>
    login(token="{TOKENS['GITHUB_TOKEN']}")
RuntimeError: HF_TOKEN=hf_{"z" * 34} AKIA{"K" * 16} password: {TOKENS['DB_PASSWORD']}
"""
LOG_SECRETS = [*PLANTED, ADDR_PASSWORD, TOKENS["GITHUB_TOKEN"], "hf_" + "z" * 34, "AKIA" + "K" * 16,
               TOKENS["DB_PASSWORD"]]


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "github"])
def test_diagnose(run_cli, fmt, hardening_stats):
    # diagnosed on a machine that does not have these variables: token shapes and assignments must suffice
    r = run_cli("diagnose", "--all", "--fix-hints", "--format", fmt, input=LOG)
    assert r.returncode == 1
    assert_none_leaked(r.stdout + r.stderr, LOG_SECRETS, hardening_stats)


def test_the_log_really_holds_the_secrets():
    assert [s for s in LOG_SECRETS if s not in LOG] == []


def test_run_report_and_its_stderr(run_cli, tmp_path, hardening_stats):
    import sys

    report = tmp_path / "report.json"
    code = f"import sys; sys.stderr.write({LOG!r}); sys.exit(1)"
    r = run_cli("run", "--report", str(report), "--", sys.executable, "-c", code)
    ddoctor_part = r.stderr[r.stderr.index("ddoctor: the job exited"):]
    assert_none_leaked(ddoctor_part + report.read_text(), LOG_SECRETS, hardening_stats)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_smoke_failure_output(run_cli, fmt, hardening_stats):
    env = {**env_with_secrets(), "MASTER_ADDR": "127.0.0.1"}
    r = run_cli("smoke", "--fault", "raise@1", "--format", fmt, "-v", env=env, timeout=180)
    assert r.returncode == 1
    if fmt == "json":
        json.loads(r.stdout)
    assert_none_leaked(r.stdout + r.stderr, [s for s in ENV_SECRETS if s != ADDR_PASSWORD], hardening_stats)


def test_a_crash_message_and_the_crash_file(monkeypatch, tmp_path, capsys, hardening_stats):
    from ddoctor.cli import entry as app

    monkeypatch.setattr(app.Path, "home", lambda: tmp_path)
    secret = "hf_" + "c" * 34
    try:
        raise RuntimeError(f"HF_TOKEN={secret} and password=crash-pw-0091")
    except RuntimeError as exc:
        app._crash(exc)
    crash = (tmp_path / ".cache" / "ddoctor" / "last-crash.txt").read_text()
    assert_none_leaked(capsys.readouterr().err + crash, [secret, "crash-pw-0091"], hardening_stats)

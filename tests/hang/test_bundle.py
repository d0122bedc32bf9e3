"""--bundle: the snapshot, the job's last lines and the check report in one .tar.gz, every member redacted."""

import tarfile

import pytest

from ddoctor.cli import snapshot_cmd
from ddoctor.cli.output import Output
from ddoctor.model.hang import RankStack
from tests.hang.helpers import waiting
from tests.hang.test_render import snap

SECRET = "s3cr3t-Value-0123456789abcdef"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture
def bundle(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(snapshot_cmd, "check_report", lambda timeout=0: f'{{"env": "WANDB_API_KEY={SECRET}"}}\n')
    planted = RankStack(pid=7, rank=1, source="none", state="gone", exit=f"exited after printing {SECRET}",
                        last_line=f"export HF_TOKEN={TOKEN}")
    s = snap([waiting(0), planted])
    path = tmp_path / "hang.tar.gz"
    out = Output({"WANDB_API_KEY": SECRET}, no_color=True)
    snapshot_cmd.write(path, s, logs={"job-output": [f"token {TOKEN}", f"key={SECRET}", "step 3"]}, out=out)
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}


def test_the_bundle_has_every_part(bundle):
    assert sorted(bundle) == [f"ddoctor-bundle/{n}" for n in ("README.txt", "check.json", "logs/job-output.log",
                                                               "snapshot.json", "snapshot.txt")]


def test_a_planted_secret_never_reaches_the_bundle(bundle):
    assert [n for n, text in bundle.items() if SECRET in text] == []


def test_a_token_shape_never_reaches_the_bundle(bundle):
    assert [n for n, text in bundle.items() if TOKEN in text] == []


def test_the_job_lines_are_kept(bundle):
    assert "step 3" in bundle["ddoctor-bundle/logs/job-output.log"]


def test_a_bad_bundle_name_is_refused_before_any_work(tmp_path):
    assert snapshot_cmd.bundle_problem(tmp_path / "hang.zip") == f"--bundle {tmp_path / 'hang.zip'}: name it FILE.tar.gz"

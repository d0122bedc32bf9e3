"""`check --cluster` at a thousand ranks: grouped findings, outliers named, missing ranks a finding."""

import json

from ddoctor.live.grouping import summarize
from ddoctor.model.cluster import ClusterReport
from ddoctor.model.fingerprint import Fingerprint
from ddoctor.render import cluster
from ddoctor.render.options import RenderOptions, Style

WORLD = 1024
PER_NODE = 8


def _fp(rank: int, **over) -> dict:
    fp = {"rank": rank, "local_rank": rank % PER_NODE, "host": f"node{rank // PER_NODE:03d}", "ddoctor": "0.1",
          "python": "3.11.9", "torch": "2.13.0", "torch_cuda": "12.8", "nccl": "2.27.3", "driver": "570.86",
          "gpus": "NVIDIA H100", "gpu_count": 8, "shm_bytes": 1 << 36, "interfaces": "eth0,ib0,lo",
          "env": {"NCCL_DEBUG": "WARN", "NCCL_SOCKET_IFNAME": "eth0"}, "failed_checks": "",
          "arrived_at": 1000.0 + rank * 0.001}
    fp.update(over)
    return fp


def _job(missing=(5, 700, 701)) -> list[dict]:
    """A 1024-rank job: two ranks on an older NCCL, one node with a different NCCL_DEBUG, a rank with
    failed ECC checks, a late rank, and three ranks that never reported."""
    fps = []
    for r in range(WORLD):
        if r in missing:
            continue
        over: dict = {}
        if r in (17, 512):
            over["nccl"] = "2.21.5"
        if 8 <= r < 16:
            over["env"] = {"NCCL_DEBUG": "INFO", "NCCL_SOCKET_IFNAME": "eth0"}
        if r == 900:
            over["failed_checks"] = "gpu.ecc"
        if r == 1000:
            over["arrived_at"] = 1030.0
        fps.append(_fp(r, **over))
    return fps


def _summary(fps=None, **kw):
    return summarize([Fingerprint.from_dict(fp) for fp in (fps if fps is not None else _job())], world_size=WORLD,
                     **kw)


def _text(summary) -> list[str]:
    return cluster.text(ClusterReport(ranks=(), summary=summary), RenderOptions(style=Style(width=200))).splitlines()


def render_json(fps, summary) -> str:
    return cluster.json(ClusterReport(ranks=tuple(fps), summary=summary), RenderOptions())


def test_the_ranks_that_never_reported_are_named():
    assert _summary().missing == (5, 700, 701)


def test_the_majority_is_one_group_and_the_outliers_are_named():
    nccl = next(s for s in _summary().skews if s.field == "nccl")
    assert [(g.value, len(g.ranks)) for g in nccl.groups] == [("2.27.3", 1019), ("2.21.5", 2)]


def test_outlier_ranks_are_listed():
    nccl = next(s for s in _summary().skews if s.field == "nccl")
    assert nccl.outliers[0].ranks == (17, 512)


def test_critical_skew_comes_first():
    assert [s.field for s in _summary().skews] == ["nccl", "NCCL_DEBUG"]


def test_failed_checks_are_grouped_by_what_failed():
    assert [(g.value, g.ranks) for g in _summary().failed] == [("gpu.ecc", (900,))]


def test_a_late_rank_is_a_straggler():
    assert [r for r, _ in _summary().stragglers] == [1000]


def test_a_clean_job_has_no_problems():
    assert not _summary([_fp(r) for r in range(WORLD)]).problems


def test_missing_ranks_alone_are_a_problem():
    assert _summary([_fp(r) for r in range(WORLD) if r != 3]).problems


def test_a_thousand_ranks_render_in_a_screen():
    assert len(_text(_summary(deadline_s=60))) <= 20


def test_the_text_says_the_majority_once_and_names_the_outliers():
    line = next(line for line in _text(_summary()) if "nccl:" in line)
    assert line == "[✗] nccl: 1019 ranks have 2.27.3; outliers: 2.21.5 on ranks 17,512"


def test_the_text_names_the_missing_ranks_and_the_deadline():
    line = next(line for line in _text(_summary(deadline_s=60)) if "never reported" in line)
    assert "ranks 5,700-701 (3 of 1024)" in line
    assert "60\u00a0s deadline" in line  # a duration never split from its unit


def test_a_small_majority_is_listed_rank_by_rank():
    fps = [_fp(r, env={"NCCL_DEBUG": "INFO" if r >= 2 else "WARN"}) for r in range(4)]
    line = next(line for line in _text(summarize([Fingerprint.from_dict(fp) for fp in fps])) if "NCCL_DEBUG" in line)
    assert line == "[✗] NCCL_DEBUG: ranks 0-1 have WARN; outliers: INFO on ranks 2-3"


def test_a_value_unique_to_every_rank_stays_one_line():
    fps = [_fp(r, env={"NCCL_DEBUG": "WARN", "NCCL_SOCKET_IFNAME": f"eth{r}"}) for r in range(WORLD)]
    lines = _text(_summary(fps))
    assert "1,020 other values on 1,020 ranks" in next(line for line in lines if line.startswith("[✗] NCCL_SOCKET"))


def test_many_differing_fields_are_capped():
    fps = [_fp(r, env={f"NCCL_X{i}": str(r % 2) for i in range(30)}) for r in range(WORLD)]
    assert len(_text(_summary(fps))) <= 20


def test_long_rank_lists_are_capped():
    fps = [_fp(r, nccl="2.21.5" if r % 3 == 0 and r < 600 else "2.27.3") for r in range(WORLD)]
    line = next(line for line in _text(_summary(fps)) if "nccl:" in line)
    assert "more)" in line
    assert len(line) < 200


def test_json_keeps_every_rank_of_every_value():
    doc = json.loads(render_json(_job(), _summary()))
    nccl = next(d for d in doc["differences"] if d["field"] == "nccl")
    assert nccl["values"]["2.21.5"] == [17, 512]


def test_json_lists_the_missing_ranks():
    assert json.loads(render_json(_job(), _summary()))["missing"] == [5, 700, 701]

"""ClusterSummary → what differs across ranks and nodes, grouped (a screen long at any job size); JSON
(ddoctor.cluster/1)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ddoctor.model.fingerprint import ClusterSummary, Skew, ValueGroup
from ddoctor.ranksets import compress
from ddoctor.render.jsonout import envelope

MAX_SKEWS = 10  # fields listed before "N more differ"
MAX_OUTLIER_GROUPS = 3
SMALL_GROUP = 8  # groups this small are named rank by rank, as NCCL's RAS lists members
LISTED = 8  # ranges per rank list


def _ranks(g: ValueGroup) -> str:
    return f"rank {g.ranks[0]}" if len(g.ranks) == 1 else f"ranks {compress(g.ranks, LISTED)}"


def _value(v: str) -> str:
    return v if len(v) <= 40 else v[:39] + "…"


def _skew(s: Skew) -> str:
    m = s.majority
    who = _ranks(m) if len(m.ranks) <= SMALL_GROUP else f"{len(m.ranks)} ranks"
    shown = [f"{_value(g.value)} on {_ranks(g)}" for g in s.outliers[:MAX_OUTLIER_GROUPS]]
    rest = s.outliers[MAX_OUTLIER_GROUPS:]
    if rest:
        shown.append(f"{len(rest)} other values on {sum(len(g.ranks) for g in rest)} ranks")
    return f"{s.field}: {who} {'has' if len(m.ranks) == 1 else 'have'} {_value(m.value)}; outliers: " + "; ".join(shown)


def render_text(summary: ClusterSummary, console: Console) -> None:
    s = summary
    n = len(s.reported)
    ranks = f"{n} of {s.world_size} ranks" if s.missing else f"{n} rank{'s' if n != 1 else ''}"
    console.print(Text(f"ddoctor check --cluster · {ranks} on {s.hosts} host(s)", style="bold"))
    if s.identical:
        console.print(Text("identical on every rank: " + ", ".join(f"{k} {v}" for k, v in s.identical),
                           style="green"))
    if s.missing:
        within = f" within the {s.deadline_s:.0f} s deadline" if s.deadline_s else ""
        console.print(Text(f"✗ never reported{within}: {_ranks(ValueGroup(value='', ranks=s.missing))} "
                           f"({len(s.missing)} of {s.world_size}): their hosts are down, still starting, or cannot "
                           "reach the job's master", style="bold red"))
    for skew in s.skews[:MAX_SKEWS]:
        console.print(Text("✗ " if skew.critical else "! ", style="bold red" if skew.critical else "yellow")
                      + Text(_skew(skew)))
    if len(s.skews) > MAX_SKEWS:
        console.print(Text(f"… {len(s.skews) - MAX_SKEWS} more fields differ (--format json lists every value "
                           "and rank)", style="yellow"))
    if s.stragglers:
        late = ", ".join(f"rank {r} (+{t:.1f} s)" for r, t in s.stragglers[:LISTED])
        more = f" (+{len(s.stragglers) - LISTED} more)" if len(s.stragglers) > LISTED else ""
        console.print(Text(f"! stragglers, arriving after the first rank: {late}{more}", style="yellow"))
    for g in s.failed[:MAX_OUTLIER_GROUPS]:
        its = "its" if len(g.ranks) == 1 else "their"
        console.print(Text(f"✗ {_ranks(g)} failed {its} own checks ({_value(g.value)}): run `ddoctor check` there",
                           style="red"))
    if len(s.failed) > MAX_OUTLIER_GROUPS:
        rest = s.failed[MAX_OUTLIER_GROUPS:]
        console.print(Text(f"✗ {sum(len(g.ranks) for g in rest)} more ranks failed other checks", style="red"))
    verdict = ("skew that causes hangs or failures: " + ", ".join(k.field for k in s.critical) if s.critical else
               "ranks missing from the job" if s.missing else
               "some ranks failed their own checks" if s.failed else "no critical differences")
    console.print(Text(verdict, style="bold red" if s.problems else "bold green"))


def render_json(fps, summary: ClusterSummary) -> str:
    diffs = [{"field": k.field, "critical": k.critical, "values": {g.value: list(g.ranks) for g in k.groups}}
             for k in summary.skews]
    return envelope("cluster", {"world_size": summary.world_size, "ranks": fps, "missing": list(summary.missing),
                                "differences": diffs,
                                "stragglers": [{"rank": r, "late_s": round(t, 3)} for r, t in summary.stragglers]})

"""ClusterReport → what differs across ranks and nodes, grouped (a screen long at any job size); JSON
(ddoctor.cluster/1)."""

from __future__ import annotations

from rich.text import Text

from ddoctor.model.cluster import ClusterReport
from ddoctor.model.fingerprint import Skew, ValueGroup
from ddoctor.ranksets import compress
from ddoctor.render.check import NBSP
from ddoctor.render.console import Lines, plural
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions

MAX_SKEWS = 10  # fields listed before "N more differ"
MAX_OUTLIER_GROUPS = 3
SMALL_GROUP = 8  # groups this small are named rank by rank, as NCCL's RAS lists members
LISTED = 8  # ranges per rank list


def _ranks(g: ValueGroup) -> str:
    return f"rank {g.ranks[0]}" if len(g.ranks) == 1 else f"ranks {compress(g.ranks, LISTED)}"


def _value(v: str, ellipsis: str) -> str:
    return v if len(v) <= 40 else v[:39] + ellipsis


def _skew(s: Skew, ellipsis: str) -> str:
    m = s.majority
    who = _ranks(m) if len(m.ranks) <= SMALL_GROUP else f"{len(m.ranks)} ranks"
    shown = [f"{_value(g.value, ellipsis)} on {_ranks(g)}" for g in s.outliers[:MAX_OUTLIER_GROUPS]]
    rest = s.outliers[MAX_OUTLIER_GROUPS:]
    if rest:
        shown.append(f"{plural(len(rest), 'other value')} on {plural(sum(len(g.ranks) for g in rest), 'rank')}")
    return (f"{s.field}: {who} {'has' if len(m.ranks) == 1 else 'have'} {_value(m.value, ellipsis)}; outliers: "
            + "; ".join(shown))


def text(rep: ClusterReport, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    g = out.g
    s = rep.summary
    n = len(s.reported)
    ranks = f"{n} of {s.world_size} ranks" if s.missing else plural(n, "rank")
    out.prose(Text(f"ddoctor check --cluster {g.dot} {ranks} on {plural(s.hosts, 'host')}", style="bold"), hang=2)
    if s.identical:
        out.prose(Text("identical on every rank: " + ", ".join(f"{k} {v}" for k, v in s.identical), style="green"),
                  hang=2)
    if s.missing:
        within = f" within the {s.deadline_s:.0f}{NBSP}s deadline" if s.deadline_s else ""
        out.prose(Text(f"[{g.fail}] never reported{within}: {_ranks(ValueGroup(value='', ranks=s.missing))} "
                       f"({len(s.missing)} of {s.world_size}): their hosts are down, still starting, or cannot "
                       "reach the job's master", style="bold red"), hang=4)
    for skew in s.skews[:MAX_SKEWS]:
        head = Text(f"[{g.fail if skew.critical else g.warn}] ", style="bold red" if skew.critical else "yellow")
        out.prose(head + Text(_skew(skew, g.ellipsis)), hang=4)
    if len(s.skews) > MAX_SKEWS:
        out.prose(Text(f"{g.ellipsis} {len(s.skews) - MAX_SKEWS} more fields differ (--format json lists every "
                       "value and rank)", style="yellow"), hang=2)
    if s.stragglers:
        late = ", ".join(f"rank {r} (+{t:.1f}{NBSP}s)" for r, t in s.stragglers[:LISTED])
        more = f" (+{len(s.stragglers) - LISTED} more)" if len(s.stragglers) > LISTED else ""
        out.prose(Text(f"[{g.warn}] stragglers, arriving after the first rank: {late}{more}", style="yellow"), hang=4)
    for grp in s.failed[:MAX_OUTLIER_GROUPS]:
        its = "its" if len(grp.ranks) == 1 else "their"
        out.prose(Text(f"[{g.fail}] {_ranks(grp)} failed {its} own checks ({_value(grp.value, g.ellipsis)}): run "
                       "`ddoctor check` there", style="red"), hang=4)
    if len(s.failed) > MAX_OUTLIER_GROUPS:
        rest = s.failed[MAX_OUTLIER_GROUPS:]
        out.prose(Text(f"[{g.fail}] {plural(sum(len(x.ranks) for x in rest), 'more rank')} failed other checks",
                       style="red"), hang=4)
    verdict = ("skew that causes hangs or failures: " + ", ".join(k.field for k in s.critical) if s.critical else
               "ranks missing from the job" if s.missing else
               "some ranks failed their own checks" if s.failed else "no critical differences")
    out.prose(Text(verdict, style="bold red" if s.problems else "bold green"), hang=2)
    return out.render()


def json(rep: ClusterReport, opts: RenderOptions) -> str:
    s = rep.summary
    diffs = [{"field": k.field, "critical": k.critical, "values": {g.value: list(g.ranks) for g in k.groups}}
             for k in s.skews]
    return envelope("cluster", {"world_size": s.world_size, "ranks": list(rep.ranks), "missing": list(s.missing),
                                "differences": diffs,
                                "stragglers": [{"rank": r, "late_s": round(t, 3)} for r, t in s.stragglers]})

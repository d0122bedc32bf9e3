"""Which network interface NCCL and Gloo would use, and whether the *_SOCKET_IFNAME names exist."""

from __future__ import annotations

from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, warn

VIRTUAL_PREFIXES = ("docker", "veth", "virbr", "br-", "cni", "flannel", "cali", "tun", "tap")


def ifname_matches(spec: str, names: list[str]) -> list[str]:
    """NCCL's rule: comma-separated prefixes; leading '^' excludes, '=' asks for exact names."""
    spec = spec.strip()
    exclude = spec.startswith("^")
    spec = spec.lstrip("^")
    exact = spec.startswith("=")
    spec = spec.lstrip("=")
    parts = [p for p in spec.split(",") if p]

    def hit(n: str) -> bool:
        return any(n == p if exact else n.startswith(p) for p in parts)

    return [n for n in names if hit(n) != exclude]


def check_interfaces(ctx: ProbeContext) -> Outcome:
    ifs = [i for i in ctx.host.interfaces() if i.is_up and i.addresses]
    names = [i.name for i in ifs]
    route = ctx.host.default_route_interface()
    ev = {"up": ",".join(names), "default_route": route}
    for var in ("NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME"):
        spec = ctx.env.get(var)
        if spec is None:
            continue
        ev[var] = spec
        if var == "GLOO_SOCKET_IFNAME":
            # Gloo takes exact names (comma-separated for several devices), no prefixes.
            missing = [p for p in spec.split(",") if p and p not in names]
            matched = [] if missing else spec.split(",")
        else:
            matched = ifname_matches(spec, names)
            missing = [] if matched else [spec]
        if missing or not matched:
            pick = route or next((n for n in names if not n.startswith("lo")), "lo")
            return fail(f"{var}={spec!r} matches no interface that is up (up: {', '.join(names) or 'none'})",
                        fix(f"Name an interface that exists on every node; {pick} carries the default route here.",
                            f"export {var}={pick}"), evidence=ev)
    routable = [i for i in ifs if not i.is_loopback]
    if route and route.startswith(VIRTUAL_PREFIXES) and "NCCL_SOCKET_IFNAME" not in ctx.env:
        real = next((i.name for i in routable if not i.name.startswith(VIRTUAL_PREFIXES)), None)
        if real:
            return warn(f"the default route goes through virtual interface {route}; NCCL may bootstrap over it",
                        fix(f"Pin the physical interface ({real}).",
                            f"export NCCL_SOCKET_IFNAME={real} GLOO_SOCKET_IFNAME={real}"), evidence=ev)
    if not routable:
        return ok("only loopback is up: single-node jobs work, multi-node jobs cannot", evidence=ev)
    pick = route or routable[0].name
    addr = next((a for i in routable if i.name == pick for a in i.addresses), "")
    return ok(f"multi-node traffic would use {pick} ({addr})", evidence=ev,
              details=(f"to pin it: export NCCL_SOCKET_IFNAME={pick} GLOO_SOCKET_IFNAME={pick}",))

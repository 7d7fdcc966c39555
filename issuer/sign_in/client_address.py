"""Which address a request comes from, for throttling and logs.

The socket peer, unless the peer is a proxy listed in ISSUER_TRUSTED_PROXIES: then the
right-most X-Forwarded-For entry that is not itself a trusted proxy. Entries to the left of that
one were written by the client and are never believed. uvicorn's own X-Forwarded-For handling
is off (`proxy_headers=False`): it trusts 127.0.0.1 by default, which would let any local
client choose the address it is throttled under.
"""

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"
IPV4_NETWORK_PREFIX = 24
IPV6_NETWORK_PREFIX = 64


def parse_networks(cidrs: Sequence[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or single addresses) as networks; raises ValueError naming a bad entry."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _trusted(address: str, proxies: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[IPNetwork]
) -> str:
    """`forwarded_for`: every X-Forwarded-For header's value, in order."""
    if peer is None:
        return UNKNOWN
    if not _trusted(peer, proxies):
        return _canonical(peer)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    address = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # a trusted proxy would not write this: stop at the last hop we believe
        address = hop
        if not _trusted(hop, proxies):
            break
    return _canonical(address)


def network_of(address: str) -> str | None:
    """The address's /24 (IPv4) or /64 (IPv6) as a CIDR; None for what is not an IP address
    (`unknown`), which belongs to no neighbourhood."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_NETWORK_PREFIX if ip.version == 4 else IPV6_NETWORK_PREFIX
    return str(ipaddress.ip_network((ip, prefix), strict=False))


def _canonical(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address  # a peer that is not an IP (a Unix socket's path): as the server gave it

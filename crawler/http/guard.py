"""The network guard's rules, as pure functions: which schemes and addresses may be fetched.

Only global unicast addresses are public. IPv6 addresses that carry an IPv4 address (IPv4-mapped,
NAT64, 6to4, Teredo) are judged by the IPv4 address they lead to, so `::ffff:127.0.0.1` is as
much loopback as `127.0.0.1`.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address

# Checked in order; the first network containing the address names the reason.
_IPV4_RANGES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/32", "unspecified"),
        ("0.0.0.0/8", "reserved"),  # "this network"
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("169.254.0.0/16", "link-local"),
        ("100.64.0.0/10", "cgnat"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("198.18.0.0/15", "benchmarking"),
        ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_IPV6_RANGES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "reserved"),  # deprecated IPv4-compatible addresses
        ("64:ff9b:1::/48", "private"),  # local-use NAT64
        ("100::/64", "reserved"),  # discard-only
        ("2001:2::/48", "benchmarking"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("2001::/23", "reserved"),  # IETF protocol assignments (Teredo is handled before)
        ("fc00::/7", "private"),  # unique local
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # deprecated site-local
        ("ff00::/8", "multicast"),
    )
)

_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")


def classify_address(ip: IPAddress) -> str | None:
    """None when `ip` is a public (global unicast) address, else why it is not.

    The reason is one of "unspecified", "loopback", "private", "link-local", "cgnat",
    "multicast", "broadcast", "documentation", "benchmarking" or "reserved". Never raises.
    """
    if isinstance(ip, IPv4Address):
        return _classify_v4(ip)
    return _classify_v6(ip)


def _classify_v4(ip: IPv4Address) -> str | None:
    for network, reason in _IPV4_RANGES:
        if ip in network:
            return reason
    return None if ip.is_global else "reserved"


def _classify_v6(ip: IPv6Address) -> str | None:
    embedded = _embedded_ipv4(ip)
    if embedded:
        reasons = [_classify_v4(v4) for v4 in embedded]
        return next((r for r in reasons if r is not None), None)
    for network, reason in _IPV6_RANGES:
        if ip in network:
            return reason
    if ip not in _GLOBAL_UNICAST_V6 or not ip.is_global:
        return "reserved"
    return None


def _embedded_ipv4(ip: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address leads to, for the forms that embed one."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _NAT64:
        return (IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        server, client = ip.teredo
        return (client, server)
    return ()


class BlockedTarget(Exception):
    """The guard refused to connect to `host`, because it resolves to a non-public `address`."""

    def __init__(self, host: str, address: IPAddress, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        super().__init__(f"{host} resolves to {address}, a {reason} address")


def check_scheme(url: str, allow_http: bool) -> str | None:
    """None when `url`'s scheme may be fetched, else why not.

    https is always allowed, http only when `allow_http`, every other scheme (and a URL without
    a host) is refused. Never raises.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme == "http" and not allow_http:
        return "plain http is not allowed (CDS_CRAWLER_ALLOW_HTTP is false)"
    if scheme not in ("http", "https"):
        return f"scheme {scheme or '(none)'!r} is not fetched; only https is"
    if not parts.hostname:
        return "the URL has no host"
    return None

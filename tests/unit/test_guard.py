"""The network guard's address and scheme rules, as data: no traffic is sent."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from crawler.http.guard import BlockedTarget, check_scheme, classify_address

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "cgnat"),
    ("100.127.255.254", "cgnat"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.99", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "reserved"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("febf:ffff::1", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fec0::1", "private"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("100::1", "reserved"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("2002:0a00:0001::", "private"),  # 6to4 of 10.0.0.1
    ("2002:7f00:0001::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
    ("::127.0.0.1", "reserved"),  # deprecated IPv4-compatible
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "172.32.0.1",  # just outside 172.16.0.0/12
    "100.128.0.1",  # just outside 100.64.0.0/10
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:0808:0808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_non_public_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    assert classify_address(ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify_address(ip_address(address)) is None


def test_blocked_target_names_host_address_and_reason() -> None:
    error = BlockedTarget("metadata.internal", ip_address("10.1.2.3"), "private")
    assert (error.host, str(error.address), error.reason) == (
        "metadata.internal",
        "10.1.2.3",
        "private",
    )
    assert str(error) == "metadata.internal resolves to 10.1.2.3, a private address"


@pytest.mark.parametrize(
    ("url", "allow_http", "allowed"),
    [
        ("https://example.org/.well-known/carbon-data-spec.json", False, True),
        ("HTTPS://example.org/", False, True),
        ("https://example.org/", True, True),
        ("http://example.org/", False, False),
        ("http://example.org/", True, True),
        ("ftp://example.org/file", True, False),
        ("file:///etc/passwd", True, False),
        ("gopher://example.org/", True, False),
        ("data:application/json,{}", True, False),
        ("example.org/no-scheme", True, False),
        ("https:///no-host", True, False),
        ("", True, False),
    ],
)
def test_check_scheme(url: str, allow_http: bool, allowed: bool) -> None:
    reason = check_scheme(url, allow_http)
    assert (reason is None) is allowed
    if not allowed:
        assert reason

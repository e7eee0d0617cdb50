from __future__ import annotations

import pytest

from crawler.domain.relations import LINKS_BACK, SAME_DOMAIN, confirmation, registrable_domain


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://grid.example.co.uk/x", "example.co.uk"),
        ("https://a.b.example.com/.well-known/carbon-data-spec.json", "example.com"),
        ("https://Example.COM", "example.com"),
        ("https://foo.github.io/x", "foo.github.io"),
        ("http://127.0.0.1:8080/x", "127.0.0.1"),
        ("http://[::1]:8080/x", "::1"),
    ],
)
def test_registrable_domain(url: str, domain: str) -> None:
    assert registrable_domain(url) == domain


def test_a_shared_domain_or_a_link_back_confirms_and_nothing_else_does() -> None:
    assert (
        confirmation("https://a.pge.com/m", "https://b.pge.com/m", links_back=False) == SAME_DOMAIN
    )
    assert confirmation("https://a.pge.com/m", "https://hub.org/m", links_back=True) == LINKS_BACK
    assert (
        confirmation("https://a.pge.com/m", "https://pge.com.evil.net/m", links_back=False) is None
    )
    assert (
        confirmation("https://alice.github.io/m", "https://bob.github.io/m", links_back=False)
        is None
    )

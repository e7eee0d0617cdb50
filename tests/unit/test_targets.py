from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crawler.domain.targets import (
    WELL_KNOWN_PATH,
    InvalidTarget,
    Target,
    normalise_list_url,
    normalise_target,
)


def url_of(raw: str) -> str:
    return normalise_target(raw).url


def rejection_of(raw: str) -> str:
    with pytest.raises(InvalidTarget) as caught:
        normalise_target(raw)
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", f"https://example.com{WELL_KNOWN_PATH}"),
        ("Sub.Example.COM", f"https://sub.example.com{WELL_KNOWN_PATH}"),
        ("example.com.", f"https://example.com{WELL_KNOWN_PATH}"),
        ("example.com/", f"https://example.com{WELL_KNOWN_PATH}"),
        ("example.com:8443", f"https://example.com:8443{WELL_KNOWN_PATH}"),
        ("example.com:443", f"https://example.com{WELL_KNOWN_PATH}"),
        ("example.com:80", f"https://example.com:80{WELL_KNOWN_PATH}"),
    ],
)
def test_domain_becomes_https_well_known_url(raw: str, expected: str) -> None:
    assert url_of(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com", f"https://example.com{WELL_KNOWN_PATH}"),
        ("https://example.com/", f"https://example.com{WELL_KNOWN_PATH}"),
        ("http://example.com", f"http://example.com{WELL_KNOWN_PATH}"),
        ("http://example.com/", f"http://example.com{WELL_KNOWN_PATH}"),
        ("https://example.com:443", f"https://example.com{WELL_KNOWN_PATH}"),
        ("http://example.com:80/", f"http://example.com{WELL_KNOWN_PATH}"),
        ("https://example.com:8443/", f"https://example.com:8443{WELL_KNOWN_PATH}"),
        ("http://example.com:443", f"http://example.com:443{WELL_KNOWN_PATH}"),
        ("https://example.com:80", f"https://example.com:80{WELL_KNOWN_PATH}"),
        ("HTTPS://EXAMPLE.COM", f"https://example.com{WELL_KNOWN_PATH}"),
        ("https://example.com?x=1", f"https://example.com{WELL_KNOWN_PATH}?x=1"),
    ],
)
def test_origin_becomes_well_known_url_on_its_scheme_and_port(raw: str, expected: str) -> None:
    assert url_of(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/cds/metadata.json", "https://example.com/cds/metadata.json"),
        (
            "HTTPS://Example.COM/Path/Meta.json?Key=Value&b=2#section",
            "https://example.com/Path/Meta.json?Key=Value&b=2",
        ),
        ("http://example.com:8080/x?y=z#", "http://example.com:8080/x?y=z"),
        ("https://example.com/x#only-a-fragment", "https://example.com/x"),
        ("example.com/meta.json", "https://example.com/meta.json"),
        ("example.com:8080/meta.json", "https://example.com:8080/meta.json"),
    ],
)
def test_full_url_keeps_path_and_query_and_drops_fragment(raw: str, expected: str) -> None:
    assert url_of(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("bücher.de", f"https://xn--bcher-kva.de{WELL_KNOWN_PATH}"),
        ("https://BÜCHER.de/meta.json", "https://xn--bcher-kva.de/meta.json"),
        ("xn--bcher-kva.de", f"https://xn--bcher-kva.de{WELL_KNOWN_PATH}"),
        ("例え.テスト", f"https://xn--r8jz45g.xn--zckzah{WELL_KNOWN_PATH}"),
    ],
)
def test_internationalised_domain_becomes_punycode(raw: str, expected: str) -> None:
    assert url_of(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.0.2.7", f"https://192.0.2.7{WELL_KNOWN_PATH}"),
        ("http://192.0.2.7:8080/m.json", "http://192.0.2.7:8080/m.json"),
        ("[::1]", f"https://[::1]{WELL_KNOWN_PATH}"),
        ("https://[2001:DB8:0:0::1]:8443/", f"https://[2001:db8::1]:8443{WELL_KNOWN_PATH}"),
        ("http://[2001:db8::1]/m.json", "http://[2001:db8::1]/m.json"),
    ],
)
def test_ip_literals_are_accepted_and_compressed(raw: str, expected: str) -> None:
    assert url_of(raw) == expected


def test_localhost_with_port_is_accepted() -> None:
    assert url_of("localhost:8080") == f"https://localhost:8080{WELL_KNOWN_PATH}"


def test_surrounding_whitespace_is_trimmed_from_given_and_url() -> None:
    assert normalise_target("  \texample.com \r\n") == Target(
        "example.com", f"https://example.com{WELL_KNOWN_PATH}"
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not a url", "white space"),
        ("https://exa mple.com", "white space"),
        ("ftp://x", "unsupported scheme 'ftp'"),
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 5000, "5000 characters long"),
        ("exa\x00mple.com", "control characters"),
        ("exa\x01mple.com", "control characters"),
        ("https://exa\x7fmple.com", "control characters"),
        ("exa\x85mple.com", "control characters"),
        ("mailto:x@y.z", "unsupported scheme 'mailto'"),
        ("javascript:alert(1)", "unsupported scheme 'javascript'"),
        ("file:///etc/passwd", "unsupported scheme 'file'"),
        ("https://user:secret@example.com", "credentials"),
        ("https://user@example.com/m.json", "credentials"),
        ("user@example.com", "credentials"),
        ("intranet", "is not a domain"),
        ("https://intranet/m.json", "is not a domain"),
        ("-bad-.com", "not a valid host name"),
        ("a_b.com", "not a valid host name"),
        ("a..b.com", "not a valid host name"),
        (f"{'a' * 64}.com", "not a valid host name"),
        ("example.com:99999", "invalid port"),
        ("https://example.com:99999", "invalid port"),
        ("example.com:abc", "invalid port"),
        ("https://example.com:abc/", "invalid port"),
        ("https://example.com:-1", "invalid port"),
        ("https://example.com:0", "invalid port"),
        ("https://", "no host"),
        ("https:///m.json", "no host"),
        ("http://999.1.1.1", "neither a domain nor an IP address"),
        ("999.1.1.1", "neither a domain nor an IP address"),
        ("https://[::1", "not a valid URL"),
        ("[", "not a valid URL"),
        ("https://[v1.example]/", "not an IPv6 address"),
    ],
)
def test_rejection_names_the_problem(raw: str, problem: str) -> None:
    assert problem in rejection_of(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://p.example/%7Euser/m.json", "https://p.example/~user/m.json"),
        ("https://p.example/%41%2d%5f%2E%30.json", "https://p.example/A-_.0.json"),
        ("https://p.example/a%2fb%3a", "https://p.example/a%2Fb%3A"),
        ("https://p.example/%25", "https://p.example/%25"),
        ("https://p.example/m?q=%7e%2b%c3%a9", "https://p.example/m?q=~%2B%C3%A9"),
        ("https://p.example/é", "https://p.example/%C3%A9"),
        ("https://p.example/%c3%a9", "https://p.example/%C3%A9"),
        ("https://p.example/m?city=Zürich", "https://p.example/m?city=Z%C3%BCrich"),
        ("p.example/例.json", "https://p.example/%E4%BE%8B.json"),
        ("https://p.example/a/../b", "https://p.example/b"),
        ("https://p.example/./a/./b", "https://p.example/a/b"),
        ("https://p.example/a/b/c/./../../g", "https://p.example/a/g"),
        ("https://p.example/../../m.json", "https://p.example/m.json"),
        ("https://p.example/a/b/..", "https://p.example/a/"),
        ("https://p.example/a/b/.", "https://p.example/a/b/"),
        ("https://p.example/a/%2E%2e/m.json", "https://p.example/m.json"),
        ("https://p.example/a/..", f"https://p.example{WELL_KNOWN_PATH}"),
        ("https://p.example/./?x=1", f"https://p.example{WELL_KNOWN_PATH}?x=1"),
        ("https://p.example/a..b/.c/m.json", "https://p.example/a..b/.c/m.json"),
    ],
)
def test_equivalent_urls_normalise_alike_per_rfc_3986(raw: str, expected: str) -> None:
    assert url_of(raw) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://p.example/é", "https://p.example/%C3%A9"),
        ("https://p.example/%7e", "https://p.example/~"),
        ("https://p.example/a/../b", "https://p.example/b"),
        ("HTTPS://P.EXAMPLE:443/x/./y?%2a", "https://p.example/x/y?%2A"),
    ],
)
def test_equivalent_urls_are_one_target(first: str, second: str) -> None:
    assert url_of(first) == url_of(second)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("https://[2001:db8::1]junk:8443/", "may be followed only by :PORT"),
        ("https://[::1]x/", "may be followed only by :PORT"),
        ("https://[::1]]/", "may be followed only by :PORT"),
        ("https://x[::1]/", "may be followed only by :PORT"),
        ("https://a]/", "not a valid URL"),
        ("[::1]x", "may be followed only by :PORT"),
        ("https://[fe80::1%eth0]/", "zone id"),
        ("https://[fe80::1%25eth0]/", "zone id"),
        ("[fe80::1%25eth0]:8443", "zone id"),
        ("https://p.example/%zz", "malformed percent-encoding '%zz'"),
        ("https://p.example/m.json%", "malformed percent-encoding '%'"),
        ("https://p.example/%4", "malformed percent-encoding '%4'"),
        ("https://p.example/m?q=%4g", "malformed percent-encoding '%4g'"),
        ("ex\u200bample.com", "U+200B"),
        ("ex\u200cample.com", "U+200C"),
        ("ex\u200dample.com", "U+200D"),
        ("ex\u2060ample.com", "U+2060"),
        ("\ufeffexample.com", "U+FEFF"),
        ("https://example.com/m\u202a.json", "U+202A"),
        ("ex\u202eample.com", "U+202E"),
        ("example.com/?q=\u2066", "U+2066"),
        ("https://ex\u2069ample.com", "U+2069"),
        ("exa\u00admple.com", "U+00AD"),
        ("exa\udcffmple.com", "U+DCFF"),
        ("http:example.com", "'http:example.com' is missing // after 'http:'"),
        ("https:example.com/m.json", "is missing // after 'https:'"),
        ("HTTPS:/example.com", "is missing // after 'HTTPS:'"),
    ],
)
def test_hidden_host_text_zone_ids_bad_escapes_and_invisible_characters_are_refused(
    raw: str, problem: str
) -> None:
    assert problem in rejection_of(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "https://[fe80::1%eth0]/seeds.txt",
        "https://[fe80::1%25eth0]/",
        "https://[::1]x/seeds.txt",
        "https://lists.example.org/%zz",
        "https://lists.example.org/seeds\u200b.txt",
    ],
)
def test_a_list_url_is_refused_like_a_target(raw: str) -> None:
    with pytest.raises(InvalidTarget):
        normalise_list_url(raw)


def test_a_list_url_is_normalised_and_keeps_its_path() -> None:
    assert normalise_list_url("HTTPS://Lists.Example.org/a/../%7eops/seeds.txt").url == (
        "https://lists.example.org/~ops/seeds.txt"
    )


def _has_forbidden_character(text: str) -> bool:
    return any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in text)


_url_alphabet = st.sampled_from(
    [*"abcXYZ019-._~:/?#[]@!$&'()*+,;=% \t\n\x00\x7f\x85", "ü", "例", "\u3000", "\u200b", "ß"]
)


@given(
    st.one_of(
        st.text(),
        st.text(_url_alphabet, max_size=40),
        st.builds(
            lambda scheme, rest: scheme + rest,
            st.sampled_from(["http://", "https://", "HTTPS://", "", "ftp://", "//"]),
            st.text(_url_alphabet, max_size=40),
        ),
    )
)
@example("https://example.com?x=1")
@example("example.com:8080/a?b#c")
@example("https://[fe80::1%25eth0]/")
@example("https://p.example/a/%2e%2E/..//x?%7e=%c3%a9")
@example("example.com/ü/./%41")
@example("[::ffff:192.0.2.1]")
def test_normalise_is_idempotent_and_yields_clean_http_urls(raw: str) -> None:
    try:
        first = normalise_target(raw).url
    except InvalidTarget:
        return

    assert first.startswith(("https://", "http://"))
    assert not _has_forbidden_character(first)
    assert normalise_target(first).url == first

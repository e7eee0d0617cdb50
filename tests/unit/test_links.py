from __future__ import annotations

from crawler.domain.links import related_metadata_links

URL = "https://holding.example.com/.well-known/carbon-data-spec.json"
WELL_KNOWN = "/.well-known/carbon-data-spec.json"


def test_links_are_normalised_deduplicated_and_exclude_the_document_itself() -> None:
    document = {
        "related_metadata": [
            "https://North.example.com",
            "https://north.example.com/.well-known/carbon-data-spec.json",
            URL,
            "https://south.example.com/meta.json#top",
        ]
    }

    links, findings = related_metadata_links(document, URL, max_links=10)

    assert links == (
        f"https://north.example.com{WELL_KNOWN}",
        "https://south.example.com/meta.json",
    )
    assert findings == ()


def test_values_that_are_not_http_urls_are_not_followed() -> None:
    document = {
        "related_metadata": [
            "file:///etc/passwd",
            "ftp://x.example.com/a",
            7,
            None,
            "javascript:x",
            "data:,{}",
        ]
    }

    assert related_metadata_links(document, URL, max_links=10) == ((), ())


def test_a_valid_url_the_crawler_will_not_follow_is_skipped_with_a_finding() -> None:
    document = {
        "related_metadata": [
            "https://user:secret@north.example.com/",
            "https://south.example.com/",
            "https://" + "h" * 70_000 + ".example.com/",
        ]
    }

    links, findings = related_metadata_links(document, URL, max_links=10)

    assert links == (f"https://south.example.com{WELL_KNOWN}",)
    assert [(f.rule, f.pointer) for f in findings] == [
        ("links.not-followed", "/related_metadata/0"),
        ("links.not-followed", "/related_metadata/2"),
    ]
    assert "credentials" in findings[0].message
    assert all(len(f.message) < 300 for f in findings)


def test_a_missing_or_malformed_member_gives_no_links() -> None:
    assert related_metadata_links({}, URL, max_links=10) == ((), ())
    assert related_metadata_links(
        {"related_metadata": "https://a.example.com"}, URL, max_links=10
    ) == ((), ())


def test_links_past_the_bound_are_dropped_with_one_finding() -> None:
    document = {"related_metadata": [f"https://u{n}.example.com" for n in range(10_000)]}

    links, findings = related_metadata_links(document, URL, max_links=3)

    assert len(links) == 3
    assert [(f.rule, f.pointer) for f in findings] == [("links.too-many", "/related_metadata")]
    assert "10000" in findings[0].message

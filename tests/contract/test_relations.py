"""Related metadata: a link is a confirmed relationship only with a shared domain or a link back."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.pipeline.interpret import CrawlTarget, interpret
from crawler.pipeline.poll import Poll
from crawler.pipeline.snapshot import record_polls
from storage import readmodel
from storage.reader import open_reader

WELL_KNOWN = "/.well-known/carbon-data-spec.json"
UTILITY = f"https://grid.utility-a.com{WELL_KNOWN}"
SUBSIDIARY = f"https://east.utility-a.com{WELL_KNOWN}"
PARTNER = f"https://hub.partner.org{WELL_KNOWN}"
IMPOSTOR = f"https://utility-a.impostor.net{WELL_KNOWN}"


def document(url: str, *links: str) -> dict[str, Any]:
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": url,
        "created": "2024-01-01T00:00:00Z",
        "updated": "2025-01-01T00:00:00Z",
        "name": url,
        "description": "An entity.",
        "website": "https://www.example.com",
        "documentation": "https://www.example.com/docs",
        "support": "https://www.example.com/support",
        "capabilities": [],
        "related_metadata": list(links),
    }


def poll(url: str, *links: str) -> Poll:
    fetched = FetchResult(
        url=url,
        final_url=url,
        outcome=FetchOutcome.OK,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=0.01,
        status_code=200,
        body=json.dumps(document(url, *links)).encode(),
        content_type="application/json",
        requests=1,
    )
    return Poll(CrawlTarget(url, url), None, fetched, interpret(fetched, current_valid=None), None)


async def test_links_are_confirmed_by_a_shared_domain_or_a_link_back(engine: AsyncEngine) -> None:
    await record_polls(
        engine,
        [
            poll(UTILITY, SUBSIDIARY, PARTNER),
            poll(SUBSIDIARY),
            poll(PARTNER, UTILITY),
            poll(IMPOSTOR, UTILITY),  # claims the utility; the utility does not link back
        ],
    )

    with open_reader(engine.url.render_as_string(hide_password=False)) as reader:
        detail = readmodel.show_server(reader, [UTILITY])

    assert detail is not None
    assert [(r["url"], r["confirmed"], r["basis"], r["status"]) for r in detail["related"]] == [
        (SUBSIDIARY, True, "same registrable domain", "ok"),
        (PARTNER, True, "links back", "ok"),
    ]
    assert [(r["url"], r["confirmed"], r["basis"]) for r in detail["linked_from"]] == [
        (PARTNER, True, "links back"),
        (IMPOSTOR, False, None),
    ]


async def test_a_coverage_link_is_not_a_related_server(engine: AsyncEngine) -> None:
    with_listing = poll(UTILITY)
    document_with_coverage = {
        **json.loads(with_listing.fetch.body or b"{}"),
        "capabilities": ["coverage"],
        "coverage": "https://grid.utility-a.com/cds-coverage.json",
    }
    fetched = replace(with_listing.fetch, body=json.dumps(document_with_coverage).encode())
    meaning = interpret(fetched, current_valid=None)
    await record_polls(engine, [replace(with_listing, fetch=fetched, meaning=meaning)])

    with open_reader(engine.url.render_as_string(hide_password=False)) as reader:
        detail = readmodel.show_server(reader, [UTILITY])

    assert detail is not None
    assert detail["related"] == []

"""Recording polls: versions, findings, statuses and the fetch log, on SQLite and Postgres."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.pipeline.interpret import CrawlTarget, interpret
from crawler.pipeline.poll import Change, Poll
from crawler.pipeline.snapshot import record_polls
from storage import readmodel
from storage.reader import Reader, open_reader
from storage.repositories import servers
from storage.schema import documents, fetch_log, findings, versions

T = TypeVar("T")
URL = "https://utility.example.com/.well-known/carbon-data-spec.json"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

DOCUMENT = {
    "cds_metadata_version": "v1",
    "cds_metadata_url": URL,
    "created": "2024-01-01T00:00:00Z",
    "updated": "2025-01-01T00:00:00Z",
    "name": "Example Utility",
    "description": "An example utility.",
    "website": "https://utility.example.com",
    "documentation": "https://utility.example.com/docs",
    "support": "https://utility.example.com/support",
    "capabilities": [],
}


def fetched(body: bytes, minutes: int, outcome: FetchOutcome = FetchOutcome.OK) -> FetchResult:
    ok = outcome is FetchOutcome.OK
    return FetchResult(
        url=URL,
        final_url=URL,
        outcome=outcome,
        started_at=T0 + timedelta(minutes=minutes),
        duration_s=0.01,
        status_code=200 if ok else None,
        body=body if ok else None,
        content_type="application/json",
        etag='"v1"' if ok else None,
        bytes_received=len(body),
        requests=1,
    )


async def poll(engine: AsyncEngine, result: FetchResult) -> Change:
    async with engine.connect() as conn:
        state = (await servers.states_for(conn, [URL])).get(URL)
    has_version = state is not None and state.current_version_id is not None
    meaning = interpret(
        result, current_valid=state.current_valid if state and has_version else None
    )
    target = CrawlTarget(URL, "utility.example.com")
    [change] = await record_polls(engine, [Poll(target, state, result, meaning, None)])
    return change


def reading(engine: AsyncEngine, query: Callable[[Reader], T]) -> T:
    with open_reader(engine.url.render_as_string(hide_password=False)) as reader:
        return query(reader)


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)))  # type: ignore[arg-type]


async def test_same_content_adds_no_version_and_moves_last_confirmed(engine: AsyncEngine) -> None:
    body = json.dumps(DOCUMENT).encode()

    first = await poll(engine, fetched(body, 0))
    second = await poll(engine, fetched(body, 5))

    assert (first, second) == (Change.NEW, Change.UNCHANGED)
    assert await count(engine, versions) == 1
    history = reading(engine, lambda r: readmodel.server_history(r, [URL]))
    assert history is not None
    assert history[0]["last_confirmed_at"] == (T0 + timedelta(minutes=5)).isoformat()
    assert history[0]["fetched_at"] == T0.isoformat()


async def test_key_order_and_whitespace_never_make_a_version(engine: AsyncEngine) -> None:
    await poll(engine, fetched(json.dumps(DOCUMENT).encode(), 0))
    reordered = dict(reversed(list(DOCUMENT.items())))

    change = await poll(engine, fetched(json.dumps(reordered, indent=7).encode(), 1))

    assert change is Change.UNCHANGED
    assert await count(engine, versions) == 1


async def test_changed_content_adds_a_version_with_its_difference(engine: AsyncEngine) -> None:
    await poll(engine, fetched(json.dumps(DOCUMENT).encode(), 0))

    change = await poll(engine, fetched(json.dumps({**DOCUMENT, "name": "Renamed"}).encode(), 1))

    assert change is Change.CHANGED
    history = reading(engine, lambda r: readmodel.server_history(r, [URL]))
    listed = reading(engine, readmodel.list_servers)
    assert history is not None
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["changes"] == ['name changed from "Example Utility" to "Renamed"']
    assert history[0]["patch"] == [{"op": "replace", "path": "/name", "value": "Renamed"}]
    assert listed[0]["name"] == "Renamed"
    assert listed[0]["versions"] == 2


async def test_returning_to_earlier_content_reuses_the_document(engine: AsyncEngine) -> None:
    original = json.dumps(DOCUMENT).encode()
    await poll(engine, fetched(original, 0))
    await poll(engine, fetched(json.dumps({**DOCUMENT, "name": "B"}).encode(), 1))

    await poll(engine, fetched(original, 2))

    assert await count(engine, versions) == 3
    assert await count(engine, documents) == 2


async def test_state_is_the_latest_version_with_the_few_before_it(engine: AsyncEngine) -> None:
    for minute, name in enumerate("ABCDE"):
        await poll(engine, fetched(json.dumps({**DOCUMENT, "name": name}).encode(), minute))
    unknown = "https://unknown.example.com/.well-known/carbon-data-spec.json"

    async with engine.connect() as conn:
        states = await servers.states_for(conn, [URL, unknown])
        stored = (
            await conn.execute(
                select(versions.c.version, versions.c.id, versions.c.document_sha256).order_by(
                    versions.c.version.desc()
                )
            )
        ).all()

    assert list(states) == [URL]
    state = states[URL]
    assert [row.version for row in stored] == [5, 4, 3, 2, 1]
    assert (state.current_version, state.current_version_id) == (5, stored[0].id)
    assert state.current_sha256 == stored[0].document_sha256
    assert state.earlier_versions == tuple((row.id, row.document_sha256) for row in stored[1:4])


async def test_not_modified_confirms_the_current_version(engine: AsyncEngine) -> None:
    await poll(engine, fetched(json.dumps(DOCUMENT).encode(), 0))

    change = await poll(engine, fetched(b"", 9, FetchOutcome.NOT_MODIFIED))

    assert change is Change.UNCHANGED
    detail = reading(engine, lambda r: readmodel.show_server(r, [URL]))
    assert detail is not None
    assert detail["status"] == "ok"
    assert detail["current_version"]["last_confirmed_at"] == (T0 + timedelta(minutes=9)).isoformat()


async def test_failed_poll_keeps_the_last_good_version(engine: AsyncEngine) -> None:
    await poll(engine, fetched(json.dumps(DOCUMENT).encode(), 0))

    change = await poll(engine, fetched(b"", 1, FetchOutcome.TIMEOUT))

    assert change is Change.FAILED
    detail = reading(engine, lambda r: readmodel.show_server(r, [URL]))
    assert detail is not None
    assert detail["status"] == "unreachable"
    assert detail["consecutive_failures"] == 1
    assert detail["document"] == DOCUMENT
    assert detail["versions"] == 1


async def test_invalid_json_is_a_finding_without_a_version(engine: AsyncEngine) -> None:
    change = await poll(engine, fetched(b'{"name": "x",}', 0))

    assert change is Change.FAILED
    assert await count(engine, versions) == 0
    detail = reading(engine, lambda r: readmodel.show_server(r, [URL]))
    assert detail is not None
    assert detail["status"] == "invalid"
    assert [f["rule"] for f in detail["findings"]] == ["json.trailing-comma"]
    assert detail["findings"][0]["scope"] == "latest_fetch"


async def test_attempt_findings_are_replaced_by_the_next_attempt(engine: AsyncEngine) -> None:
    await poll(engine, fetched(b"[]", 0))
    await poll(engine, fetched(json.dumps(DOCUMENT).encode(), 1))

    async with engine.connect() as conn:
        rules = [r.rule for r in await conn.execute(select(findings.c.rule))]
    assert "json.not-object" not in rules


async def test_every_attempt_is_in_the_fetch_log(engine: AsyncEngine) -> None:
    await poll(engine, fetched(json.dumps(DOCUMENT).encode(), 0))
    await poll(engine, fetched(b"", 1, FetchOutcome.NOT_FOUND))

    async with engine.connect() as conn:
        outcomes = [
            r.outcome
            for r in await conn.execute(select(fetch_log.c.outcome).order_by(fetch_log.c.id))
        ]
    assert outcomes == ["ok", "not_found"]


async def test_a_document_the_database_refuses_is_recorded_as_invalid(engine: AsyncEngine) -> None:
    # Postgres JSONB cannot hold U+0000; SQLite can. Either way the crawl records something.
    body = json.dumps({**DOCUMENT, "description": "nul \u0000 inside"}).encode()

    change = await poll(engine, fetched(body, 0))

    detail = reading(engine, lambda r: readmodel.show_server(r, [URL]))
    assert detail is not None
    if engine.dialect.name == "postgresql":
        assert change is Change.FAILED
        assert [f["rule"] for f in detail["findings"]] == ["storage.rejected"]
    else:
        assert change is Change.NEW
        assert detail["document"]["description"] == "nul \u0000 inside"


async def test_fetch_log_retention_prunes_only_old_attempts(engine: AsyncEngine) -> None:
    from storage.repositories import fetch_log as fetch_log_repo

    await poll(engine, fetched(json.dumps(DOCUMENT).encode(), 0))
    await poll(engine, fetched(b"", 60 * 24 * 10, FetchOutcome.NOT_FOUND))

    async with engine.begin() as conn:
        pruned = await fetch_log_repo.prune(conn, T0 + timedelta(days=5))

    assert pruned == 1
    async with engine.connect() as conn:
        outcomes = [r.outcome for r in await conn.execute(select(fetch_log.c.outcome))]
    assert outcomes == ["not_found"]


async def test_one_refused_document_does_not_lose_the_rest_of_its_batch(
    engine: AsyncEngine,
) -> None:
    urls = [f"https://u{n}.example.com/.well-known/carbon-data-spec.json" for n in range(3)]
    bodies = [
        json.dumps(DOCUMENT).encode(),
        json.dumps({**DOCUMENT, "description": "nul \u0000 inside"}).encode(),
        json.dumps({**DOCUMENT, "name": "Third"}).encode(),
    ]
    batch = []
    for url, body in zip(urls, bodies, strict=True):
        result = replace(fetched(body, 0), url=url, final_url=url)
        batch.append(
            Poll(CrawlTarget(url, url), None, result, interpret(result, current_valid=None), None)
        )

    changes = await record_polls(engine, batch)

    refused = Change.FAILED if engine.dialect.name == "postgresql" else Change.NEW
    assert changes == [Change.NEW, refused, Change.NEW]
    statuses = {s["url"]: s["status"] for s in reading(engine, readmodel.list_servers)}
    expected_middle = "invalid" if engine.dialect.name == "postgresql" else "ok"
    assert statuses == {urls[0]: "ok", urls[1]: expected_middle, urls[2]: "ok"}

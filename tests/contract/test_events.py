"""The outbox on SQLite and Postgres: an event stored twice is one row; progress per sink."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain import events as domain
from crawler.pipeline.outbox import Outbox
from storage.reader import open_reader
from storage.readmodel import event_pages, event_sequence
from storage.repositories import events

AT = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://u.example/.well-known/carbon-data-spec.json"


async def test_the_same_event_written_twice_is_stored_once_in_order(engine: AsyncEngine) -> None:
    made = [domain.entry_added(URL, f"e{n}", 1, {}, AT) for n in range(3)]
    for _ in range(2):
        async with engine.begin() as conn:
            outbox = Outbox()
            for event in made:
                outbox.add(event, None, None)
            await outbox.flush(conn)

    async with engine.connect() as conn:
        stored = await events.after(conn, 0, 10)
        tail = await events.after(conn, stored[0]["id"], 10)
    assert [row["event_id"] for row in stored] == [event.event_id for event in made]
    assert [row["id"] for row in tail] == [row["id"] for row in stored[1:]]


async def test_events_are_read_a_page_at_a_time_after_a_sequence_or_an_id(
    engine: AsyncEngine,
) -> None:
    made = [domain.entry_added(URL, f"e{n}", 1, {}, AT) for n in range(5)]
    async with engine.begin() as conn:
        outbox = Outbox()
        for event in made:
            outbox.add(event, None, None)
        await outbox.flush(conn)

    with open_reader(engine.url.render_as_string(hide_password=False)) as reader:
        every = list(event_pages(reader, 0, None, page_size=2))
        first_three = list(event_pages(reader, 0, 3, page_size=2))
        second = event_sequence(reader, made[1].event_id)
        assert second is not None
        after_second = list(event_pages(reader, second, None, page_size=2))
        unknown = event_sequence(reader, "no-such-event")

    assert [len(page) for page in every] == [2, 2, 1]
    ids = [event["id"] for page in every for event in page]
    assert ids == [event.event_id for event in made]
    assert [event["id"] for page in first_three for event in page] == ids[:3]
    assert [len(page) for page in first_three] == [2, 1]
    assert [event["id"] for page in after_second for event in page] == ids[2:]
    assert unknown is None


async def test_delivery_state_is_kept_per_sink(engine: AsyncEngine) -> None:
    waiting = events.SinkState(last_event_id=9, attempts=2, next_attempt_at=AT, last_error="503")
    async with engine.begin() as conn:
        await events.save_sink_state(conn, "jsonl:a", events.SinkState(last_event_id=5), AT)
        await events.save_sink_state(conn, "jsonl:a", waiting, AT)
        await events.save_sink_state(conn, "jsonl:b", events.SinkState(last_event_id=2), AT)

    async with engine.connect() as conn:
        assert await events.sink_state(conn, "jsonl:a") == waiting
        assert (await events.sink_state(conn, "jsonl:b")).last_event_id == 2
        assert await events.sink_state(conn, "jsonl:c") == events.SinkState()

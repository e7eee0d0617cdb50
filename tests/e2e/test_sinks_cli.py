"""The pg_notify and NATS JetStream sinks, against a real LISTEN connection and a real
NATS server with JetStream (127.0.0.1:4222, as on the machines this project runs on)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import nats
import psycopg
import pytest

from crawler.testing import LoopbackServer
from tests.cli import run_cli
from tests.federation import discovered_events

NATS_URL = "nats://127.0.0.1:4222"


def with_events(database_url: str, server: LoopbackServer, count: int) -> list[str]:
    return [event["id"] for event in discovered_events(database_url, server, count)]


def configure(tmp_path: Path, table: str) -> str:
    path = tmp_path / "cds.toml"
    path.write_text("[[sinks]]\n" + table)
    return str(path)


@pytest.mark.postgres
def test_pg_notify_sends_each_event_id_to_listeners(
    postgres_database: str, server: LoopbackServer, tmp_path: Path
) -> None:
    ids = with_events(postgres_database, server, 3)
    config = configure(tmp_path, 'type = "pg_notify"\nchannel = "cds_events_test"\n')
    dsn = postgres_database.replace("postgresql+asyncpg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute("LISTEN cds_events_test")
        result = run_cli(postgres_database, "--config", config, "events", "deliver", "--json")
        heard = [n.payload for n in listener.notifies(timeout=5, stop_after=3)]

    assert result.code == 0, result.stderr
    assert result.json()["pg_notify:cds_events_test"]["delivered"] == 3
    assert heard == ids


def test_pg_notify_needs_postgres(tmp_path: Path) -> None:
    config = configure(tmp_path, 'type = "pg_notify"\nchannel = "cds_events"\n')
    result = run_cli(f"sqlite:///{tmp_path}/x.sqlite3", "--config", config, "events", "deliver")

    assert result.code == 2
    assert "Postgres" in result.stderr


async def _stream_messages(subject: str, stream: str, count: int) -> list[tuple[str, str]]:
    client = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        jetstream = client.jetstream()
        subscription = await jetstream.pull_subscribe(subject, durable=None, stream=stream)
        messages = await subscription.fetch(count + 1, timeout=2)
        return [(m.headers["Nats-Msg-Id"], json.loads(m.data)["id"]) for m in messages]
    except nats.errors.TimeoutError:
        return []
    finally:
        await client.close()


async def _delete_stream(stream: str) -> None:
    client = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


def test_nats_jetstream_gets_each_event_once_with_its_id(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    ids = with_events(database_url, server, 3)
    token = uuid.uuid4().hex[:10]
    subject, stream = f"cds.test.{token}", f"CDS_TEST_{token}"
    config = configure(
        tmp_path,
        f'type = "nats"\nservers = "{NATS_URL}"\nsubject = "{subject}"\nstream = "{stream}"\n',
    )
    try:
        first = run_cli(database_url, "--config", config, "events", "deliver", "--json")
        run_cli(database_url, "--config", config, "events", "deliver", "--json")
        received = asyncio.run(_stream_messages(subject, stream, len(ids)))
    finally:
        asyncio.run(_delete_stream(stream))

    assert first.code == 0, first.stderr
    assert first.json()[f"nats:{subject}"]["delivered"] == 3
    assert received == [(event_id, event_id) for event_id in ids]

"""NATS JetStream: each event published on a subject, de-duplicated by its id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from crawler.delivery.failures import DeliveryFailed
from crawler.delivery.schedule import DEFAULT_RETRY_SCHEDULE

_TIMEOUT_S = 5.0


class NatsSink:
    """Publishes with the `Nats-Msg-Id` header set to the event id, so JetStream drops an
    event delivered twice within its duplicate window. A stream for the subject is created
    (named `stream`) when none captures it yet."""

    batch_size = 100
    retry_schedule = DEFAULT_RETRY_SCHEDULE

    def __init__(self, servers: list[str], subject: str, stream: str) -> None:
        self.name = f"nats:{subject}"
        self._servers = servers
        self._subject = subject
        self._stream = stream
        self._client: Client | None = None

    async def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        try:
            jetstream = (await self._connected()).jetstream(timeout=_TIMEOUT_S)
            for event in batch:
                await jetstream.publish(
                    self._subject,
                    orjson.dumps(event),
                    timeout=_TIMEOUT_S,
                    headers={"Nats-Msg-Id": event["id"]},
                )
        except (NatsError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"NATS publish on {self._subject} failed: {exc!r}") from exc

    async def _connected(self) -> Client:
        if self._client is None:
            client = await nats.connect(
                self._servers,
                connect_timeout=_TIMEOUT_S,
                allow_reconnect=False,
                max_reconnect_attempts=0,
            )
            jetstream = client.jetstream(timeout=_TIMEOUT_S)
            try:
                await jetstream.find_stream_name_by_subject(self._subject)
            except NotFoundError:
                await jetstream.add_stream(name=self._stream, subjects=[self._subject])
            self._client = client
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

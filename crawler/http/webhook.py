"""POST events to a webhook, signed as the Standard Webhooks specification describes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from crawler.delivery.failures import DeliveryFailed, EndpointGone

_BATCH_NAMESPACE = uuid.UUID("0f1d3c52-8d0a-4b7e-a3f4-5b8e2c9d7a61")
# Only an answer's status matters. A body up to this size is read, so that the connection is
# kept for the next request; past it the connection is closed rather than the body read.
ANSWER_BODY_LIMIT = 64 * 1024


class WebhookSink:
    """One event per request (`batch=False`) or a JSON array of events per request.

    `webhook-id` is the event's id (for a batch, an id derived from its events' ids), so a
    receiver can discard what it already has; `webhook-signature` is HMAC-SHA256 over
    "id.timestamp.body" with the shared secret. The endpoint is the operator's own, so the
    crawler's network guard does not apply to it.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        batch: bool,
        batch_size: int,
        retry_schedule: Sequence[float],
        user_agent: str,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.name = f"webhook:{url}"
        self.batch = batch
        self.batch_size = batch_size if batch else 1
        self.retry_schedule = tuple(retry_schedule)
        self._signer = Webhook(secret)
        self._client = httpx.AsyncClient(
            timeout=timeout,
            trust_env=False,
            follow_redirects=False,
            headers={"user-agent": user_agent},
        )

    async def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        if self.batch:
            body = orjson.dumps(list(batch))
            message_id = str(uuid.uuid5(_BATCH_NAMESPACE, ",".join(e["id"] for e in batch)))
            await self._post(message_id, body, "application/cloudevents-batch+json")
            return
        for event in batch:
            await self._post(event["id"], orjson.dumps(event), "application/cloudevents+json")

    async def close(self) -> None:
        await self._client.aclose()

    async def _post(self, message_id: str, body: bytes, content_type: str) -> None:
        now = datetime.now(UTC)
        headers = {
            "content-type": content_type,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(message_id, now, body.decode()),
        }
        try:
            async with self._client.stream("POST", self.url, content=body, headers=headers) as r:
                status = r.status_code
                await _drain(r)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if status == 410:
            raise EndpointGone(f"{self.url} answered 410 Gone")
        if not 200 <= status < 300:
            raise DeliveryFailed(f"{self.url} answered {status}")


async def _drain(response: httpx.Response) -> None:
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > ANSWER_BODY_LIMIT:
            return

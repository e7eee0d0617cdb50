"""The webhook sink against a real receiver on loopback that verifies Standard Webhooks
signatures and fails on demand."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crawler.testing import LoopbackServer, Request, Response, stream
from tests.cli import Result, run_cli
from tests.federation import discovered_events

USER_AGENT = "cds-crawler-test/1 (+https://example.com/about)"
SECRET = "whsec_" + base64.b64encode(b"a shared secret of the test").decode()


class Receiver:
    """Answers `status` to every delivery; keeps what it accepted, checked and in order."""

    def __init__(self, server: LoopbackServer) -> None:
        self.status = 200
        self.accepted: list[dict[str, Any]] = []
        self.requests = 0
        self.bad_signatures = 0
        self.user_agents: set[str | None] = set()
        self.url = server.url("/hooks/cds")
        server.route("/hooks/cds", self.handle)

    async def handle(self, request: Request, writer: object) -> Response:
        self.requests += 1
        self.user_agents.add(request.headers.get("user-agent"))
        try:
            payload = Webhook(SECRET).verify(request.body, dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            return Response(400, b"bad signature")
        if self.status != 200:
            return Response(self.status, b"")
        received = payload if isinstance(payload, list) else [payload]
        if not isinstance(payload, list):
            assert request.headers["webhook-id"] == payload["id"]
        self.accepted.extend(received)
        return Response(200, b"")


@pytest.fixture
def receiver(server: LoopbackServer) -> Receiver:
    return Receiver(server)


def configure(tmp_path: Path, url: str, **options: Any) -> str:
    lines = ["[[sinks]]", 'type = "webhook"', f'url = "{url}"', f'secret = "{SECRET}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    path = tmp_path / "cds.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def with_events(database_url: str, server: LoopbackServer, count: int) -> list[str]:
    return [event["subject"] for event in discovered_events(database_url, server, count)]


def deliver(database_url: str, config: str, *command: str) -> Result:
    result = run_cli(
        database_url,
        "--config",
        config,
        "events",
        *(command or ("deliver",)),
        "--json",
        env={"CDS_CRAWLER_USER_AGENT": USER_AGENT},
    )
    assert result.code == 0, result.stderr
    return result


def test_each_event_is_posted_signed_once(
    database_url: str, server: LoopbackServer, receiver: Receiver, tmp_path: Path
) -> None:
    subjects = with_events(database_url, server, 3)
    config = configure(tmp_path, receiver.url)

    first = deliver(database_url, config).json()
    again = deliver(database_url, config).json()

    assert first[f"webhook:{receiver.url}"]["delivered"] == 3
    assert again[f"webhook:{receiver.url}"]["delivered"] == 0
    assert [e["subject"] for e in receiver.accepted] == subjects
    assert receiver.requests == 3
    assert receiver.bad_signatures == 0
    assert receiver.user_agents == {USER_AGENT}


def test_a_batch_is_one_signed_request(
    database_url: str, server: LoopbackServer, receiver: Receiver, tmp_path: Path
) -> None:
    subjects = with_events(database_url, server, 3)
    deliver(database_url, configure(tmp_path, receiver.url, batch=True))

    assert receiver.requests == 1
    assert [e["subject"] for e in receiver.accepted] == subjects


def test_a_receiver_that_was_down_gets_every_event_in_order_once_back(
    database_url: str, server: LoopbackServer, receiver: Receiver, tmp_path: Path
) -> None:
    subjects = with_events(database_url, server, 3)
    config = configure(tmp_path, receiver.url, retry_schedule=[0.5, 0.5])
    receiver.status = 503

    down = deliver(database_url, config).json()[f"webhook:{receiver.url}"]
    too_early = deliver(database_url, config).json()[f"webhook:{receiver.url}"]
    receiver.status = 200
    time.sleep(0.7)
    back = deliver(database_url, config).json()[f"webhook:{receiver.url}"]

    assert (down["delivered"], down["state"]) == (0, "waiting")
    assert "503" in down["error"]
    assert too_early["state"] == "waiting"
    assert (back["delivered"], back["state"]) == (3, "idle")
    assert [e["subject"] for e in receiver.accepted] == subjects


def test_exhausted_events_are_dead_lettered_and_redelivered_on_demand(
    database_url: str, server: LoopbackServer, receiver: Receiver, tmp_path: Path
) -> None:
    subjects = with_events(database_url, server, 2)
    config = configure(tmp_path, receiver.url, retry_schedule=[0])
    receiver.status = 500

    gave_up = deliver(database_url, config).json()[f"webhook:{receiver.url}"]
    receiver.status = 200
    nothing_pending = deliver(database_url, config).json()[f"webhook:{receiver.url}"]
    replayed = deliver(database_url, config, "redeliver").json()
    replayed_again = deliver(database_url, config, "redeliver").json()

    assert (gave_up["delivered"], gave_up["dead_lettered"]) == (0, 2)
    assert nothing_pending["delivered"] == 0
    assert replayed == {f"webhook:{receiver.url}": 2}
    assert replayed_again == {f"webhook:{receiver.url}": 0}
    assert [e["subject"] for e in receiver.accepted] == subjects


def test_an_endless_answer_does_not_hold_delivery(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    with_events(database_url, server, 2)
    server.route("/hooks/endless", stream(10**12))  # 200, then a body that never ends

    report = deliver(database_url, configure(tmp_path, server.url("/hooks/endless"))).json()

    assert report[f"webhook:{server.url('/hooks/endless')}"]["delivered"] == 2


def test_410_gone_disables_the_endpoint(
    database_url: str, server: LoopbackServer, receiver: Receiver, tmp_path: Path
) -> None:
    with_events(database_url, server, 1)
    config = configure(tmp_path, receiver.url)
    receiver.status = 410

    gone = deliver(database_url, config).json()[f"webhook:{receiver.url}"]
    receiver.status = 200
    later = deliver(database_url, config).json()[f"webhook:{receiver.url}"]

    assert gone["state"] == later["state"] == "disabled"
    assert receiver.requests == 1
    assert receiver.accepted == []


def test_a_bad_secret_is_a_configuration_error(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "cds.toml"
    path.write_text(
        '[[sinks]]\ntype = "webhook"\nurl = "http://127.0.0.1:9/x"\nsecret = "whsec_"\n'
    )

    result = run_cli(database_url, "--config", str(path), "events", "deliver")

    assert result.code == 2
    assert "secret" in result.stderr

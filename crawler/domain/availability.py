"""How a poll moves a server between statuses, without noise (issue: state transitions).

A server is `unreachable` only once the retry policy has given up (the caller retries
transient failures first); a single 404 after a good document is not yet a removal (a second
one in a row, or a 410, is); and a flapping server yields at most one unreachable/recovered
pair per window. The status recorded and the events emitted follow from the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.domain.status import ServerStatus

SERVER_UNREACHABLE = "cds.server.unreachable"
SERVER_RECOVERED = "cds.server.recovered"
SERVER_REMOVED = "cds.server.removed"


def is_transient(fetch: FetchResult) -> bool:
    """A failure worth retrying: the network, a timeout, a 5xx or 429."""
    if fetch.outcome in (FetchOutcome.TIMEOUT, FetchOutcome.CONNECT_ERROR):
        return True
    if fetch.outcome is FetchOutcome.PROTOCOL_ERROR:
        return True
    code = fetch.status_code or 0
    return fetch.outcome is FetchOutcome.HTTP_ERROR and (code >= 500 or code == 429)


@dataclass(frozen=True, slots=True)
class Settled:
    status: ServerStatus  # what to record
    event: str | None  # SERVER_UNREACHABLE, SERVER_RECOVERED or SERVER_REMOVED, if any


def settle(
    previous: str | None, previous_outcome: str | None, observed: ServerStatus, fetch: FetchResult
) -> Settled:
    """The status to record after a poll that `observed` a status, given the status and fetch
    outcome recorded before it (None for a new server)."""
    if observed is ServerStatus.NOT_FOUND and previous == ServerStatus.OK:
        gone_for_good = fetch.status_code == 410 or previous_outcome == FetchOutcome.NOT_FOUND
        if not gone_for_good:
            return Settled(ServerStatus.OK, None)  # one 404: wait for a second before removing
        return Settled(ServerStatus.NOT_FOUND, SERVER_REMOVED)
    if observed is ServerStatus.UNREACHABLE and previous not in (None, ServerStatus.UNREACHABLE):
        return Settled(observed, SERVER_UNREACHABLE)
    if previous == ServerStatus.UNREACHABLE and observed is not ServerStatus.UNREACHABLE:
        return Settled(observed, SERVER_RECOVERED)
    return Settled(observed, None)


def worth_announcing(
    event: str, last: tuple[str, datetime] | None, at: datetime, window: timedelta
) -> bool:
    """Whether an availability event goes out, given the last unreachable or recovered event
    of the server (`last`: its type and time).

    An unreachable event waits until `window` has passed since the last one; a recovered
    event answers only an unreachable one that went out. So a server that flaps emits at
    most one pair per window, and the two always alternate.
    """
    if event == SERVER_UNREACHABLE:
        return last is None or (last[0] != SERVER_UNREACHABLE and at - last[1] >= window)
    if event == SERVER_RECOVERED:
        return last is not None and last[0] == SERVER_UNREACHABLE
    return True

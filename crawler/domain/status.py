"""Server statuses, as `servers --json` reports them."""

from __future__ import annotations

from enum import StrEnum

from crawler.domain.fetching import FetchOutcome


class ServerStatus(StrEnum):
    OK = "ok"  # a document that conforms to one of the known drafts
    INVALID = "invalid"  # fetched, but not a usable metadata document
    UNREACHABLE = "unreachable"  # network error, timeout, 5xx, redirect trouble
    NOT_FOUND = "not_found"  # 404 / 410
    MOVED = "moved"  # redirected to another origin
    BLOCKED = "blocked"  # refused by the network guard


_FAILED_FETCH_STATUS = {
    FetchOutcome.NOT_FOUND: ServerStatus.NOT_FOUND,
    FetchOutcome.BLOCKED: ServerStatus.BLOCKED,
    FetchOutcome.TOO_LARGE: ServerStatus.INVALID,
    FetchOutcome.HTTP_ERROR: ServerStatus.UNREACHABLE,
    FetchOutcome.TIMEOUT: ServerStatus.UNREACHABLE,
    FetchOutcome.CONNECT_ERROR: ServerStatus.UNREACHABLE,
    FetchOutcome.PROTOCOL_ERROR: ServerStatus.UNREACHABLE,
    FetchOutcome.REDIRECT_ERROR: ServerStatus.UNREACHABLE,
    FetchOutcome.MOVED: ServerStatus.MOVED,
}


def status_of_failed_fetch(outcome: FetchOutcome) -> ServerStatus:
    """The status a fetch that produced no document leaves the server in."""
    return _FAILED_FETCH_STATUS[outcome]


def status_of_document(valid: bool) -> ServerStatus:
    return ServerStatus.OK if valid else ServerStatus.INVALID

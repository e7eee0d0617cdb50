"""What one fetch of a URL produced, as plain data (the HTTP layer fills it in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from crawler.domain.findings import Finding


class FetchOutcome(StrEnum):
    OK = "ok"  # 200 with a complete body within the cap
    NOT_MODIFIED = "not_modified"  # 304 to a conditional request
    NOT_FOUND = "not_found"  # 404 or 410
    HTTP_ERROR = "http_error"  # any other status that is not 200/304/redirect
    TIMEOUT = "timeout"  # connect/read timeout or the total deadline
    CONNECT_ERROR = "connect_error"  # refused, reset, TLS failure, DNS failure
    PROTOCOL_ERROR = "protocol_error"  # malformed HTTP, bad content coding
    TOO_LARGE = "too_large"  # body (decompressed) over the cap
    BLOCKED = "blocked"  # refused by the network guard: no connection was made
    REDIRECT_ERROR = "redirect_error"  # loop, too many hops, or a redirect without Location
    MOVED = "moved"  # redirected to another origin: a server migration (final_url is the target)


@dataclass(frozen=True, slots=True)
class RedirectHop:
    url: str
    status_code: int
    location: str


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    outcome: FetchOutcome
    started_at: datetime
    duration_s: float
    status_code: int | None = None
    body: bytes | None = None  # decoded (decompressed) body, only for OK
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    bytes_received: int = 0  # decoded bytes read, also when the cap cut the body short
    requests: int = 0  # HTTP requests made, redirects included (0 when blocked)
    redirects: tuple[RedirectHop, ...] = ()
    error_class: str | None = None  # exception class or reason, for the fetch log
    findings: tuple[Finding, ...] = field(default=())  # why a non-OK outcome happened
    fresh_for_s: float | None = None  # Cache-Control max-age / Expires of an answer
    retry_after_s: float | None = None  # Retry-After of a 429 or 503

    @property
    def reason(self) -> str:
        """Why a fetch that was not OK failed, for a person."""
        return self.findings[0].message if self.findings else self.outcome.value

    @property
    def restricted(self) -> bool:
        """Refused for want of credentials (401/403): CDSC-WG1-01 8.1 restricted access."""
        return self.outcome is FetchOutcome.HTTP_ERROR and self.status_code in (401, 403)

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased ("" when there is none)."""
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        """Labelled as JSON: application/json or a +json type."""
        return self.media_type == "application/json" or self.media_type.endswith("+json")

"""Read a server's OAuth authorization server metadata (CDSC-WG1-02 3.1, RFC 8414)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.domain import rules
from crawler.domain.canonical import canonical_form
from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.domain.findings import Finding
from crawler.domain.jsondoc import parse_json_object
from crawler.domain.oauth import OAuthMetadata, validate_oauth_metadata
from crawler.http.fetch import Fetcher
from crawler.pipeline.failures import unavailable
from crawler.pipeline.once import OncePerPass
from storage.repositories.history import StoredResource


@dataclass(frozen=True, slots=True)
class OAuthLink:
    """Where a metadata document says its OAuth metadata is."""

    url: str
    well_known: bool  # the RFC 8414 location, assumed because `oauth_metadata` is missing
    issuer: str | None = None  # the issuer the well-known URL was built from


@dataclass(frozen=True, slots=True)
class OAuthDocument:
    content: dict[str, Any]
    sha256: str
    size_bytes: int
    metadata: OAuthMetadata


@dataclass(frozen=True, slots=True)
class OAuthRead:
    """What one read of a server's OAuth metadata gave."""

    link: OAuthLink
    document: OAuthDocument | None  # a body that parsed as a JSON object
    not_modified: bool  # 304: the stored version stands
    findings: tuple[Finding, ...]
    etag: str | None
    last_modified: str | None


class OAuthReader:
    """Fetches OAuth metadata for a pass, each (URL, validators) once."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self._once: OncePerPass[OAuthRead] = OncePerPass()
        self.requests = 0

    async def read(self, link: OAuthLink, stored: StoredResource | None) -> OAuthRead:
        same_url = stored is not None and stored.url == link.url
        etag = stored.etag if stored and same_url else None
        last_modified = stored.last_modified if stored and same_url else None
        read = await self._once.get(
            (link, etag, last_modified), lambda: self._fetch(link, etag, last_modified)
        )
        if read.not_modified and stored is not None:
            return OAuthRead(link, None, True, stored.findings, read.etag, read.last_modified)
        return read

    async def _fetch(
        self, link: OAuthLink, etag: str | None, last_modified: str | None
    ) -> OAuthRead:
        fetched = await self._fetcher.fetch(link.url, etag=etag, last_modified=last_modified)
        self.requests += fetched.requests
        if fetched.outcome is FetchOutcome.NOT_MODIFIED:
            return OAuthRead(link, None, True, (), fetched.etag, fetched.last_modified)
        if fetched.outcome is not FetchOutcome.OK:
            return OAuthRead(link, None, False, (_unavailable(link, fetched),), None, None)
        content, findings = parse_json_object(fetched.body or b"", fetched.final_url)
        if content is None:
            return OAuthRead(link, None, False, findings, None, None)
        metadata = validate_oauth_metadata(
            content, fetched.final_url, expected_issuer=link.issuer if link.well_known else None
        )
        canonical, sha256 = canonical_form(content)
        document = OAuthDocument(content, sha256, len(canonical), metadata)
        return OAuthRead(
            link,
            document,
            False,
            findings + metadata.findings,
            fetched.etag,
            fetched.last_modified,
        )


def _unavailable(link: OAuthLink, fetched: FetchResult) -> Finding:
    if link.well_known:
        what = (
            "capabilities lists oauth without oauth_metadata, and the RFC 8414 location of its "
            "origin"
        )
        return unavailable(fetched, rules.OAUTH_WELL_KNOWN_MISSING, what)
    return unavailable(fetched, rules.OAUTH_UNAVAILABLE, "the oauth_metadata document")

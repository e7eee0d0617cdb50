"""Turn one fetch of a metadata URL into what should be recorded: parse, validate, hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.domain import rules
from crawler.domain.canonical import canonical_form
from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.domain.findings import Finding, has_errors
from crawler.domain.jsondoc import parse_json_object
from crawler.domain.links import related_metadata_links
from crawler.domain.metadata import validate_metadata
from crawler.domain.oauth import issuer_for, well_known_oauth_url
from crawler.domain.status import ServerStatus, status_of_document, status_of_failed_fetch
from crawler.domain.targets import (
    WELL_KNOWN_PATH,
    InvalidTarget,
    normalise_list_url,
    normalise_target,
)
from crawler.pipeline.oauth import OAuthLink


@dataclass(frozen=True, slots=True)
class CrawlTarget:
    url: str
    discovered_via: str  # the seed target, or the URL of the document that linked it
    seed_id: int | None = None
    depth: int = 0  # related_metadata hops from a seed


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A metadata document as published, hashed and validated."""

    content: dict[str, Any]
    sha256: str
    size_bytes: int
    draft: str
    valid: bool
    name: str | None
    canonical_url: str | None
    findings: tuple[Finding, ...]
    links: tuple[str, ...] = ()  # related_metadata URLs to follow, normalised
    coverage_url: str | None = None  # the coverage listing's first page, when a usable URL
    oauth_link: OAuthLink | None = None  # where its OAuth metadata is, when it offers oauth


@dataclass(frozen=True, slots=True)
class Interpretation:
    status: ServerStatus
    snapshot: Snapshot | None = None  # a document was received (new or the same content)
    not_modified: bool = False  # 304: the current version is confirmed as is
    findings: tuple[Finding, ...] = ()  # about the attempt itself, when no snapshot
    moved_to: str | None = None  # the migration target, when the server moved


def interpret(
    fetch: FetchResult, *, current_valid: bool | None, max_links: int = 100
) -> Interpretation:
    """What a fetch means for the server, given whether it has a current version (and its validity).

    Never raises for anything in the response: every problem becomes a finding.
    """
    if fetch.outcome is FetchOutcome.OK:
        return _interpret_body(fetch, max_links)
    if fetch.outcome is FetchOutcome.NOT_MODIFIED:
        if current_valid is None:
            finding = rules.HTTP_UNCONDITIONAL_304.finding(
                fetch.final_url, "", "304 Not Modified to a request that carried no validators"
            )
            return Interpretation(ServerStatus.INVALID, findings=(finding,))
        return Interpretation(status_of_document(current_valid), not_modified=True)
    if fetch.outcome is FetchOutcome.MOVED:
        return _interpret_move(fetch)
    if fetch.outcome is FetchOutcome.HTTP_ERROR and fetch.status_code in (401, 403):
        return _interpret_restricted(fetch)
    return Interpretation(status_of_failed_fetch(fetch.outcome), findings=fetch.findings)


def _interpret_restricted(fetch: FetchResult) -> Interpretation:
    """401/403: a conformance error at the well-known URI (8.1), a restriction elsewhere."""
    answer = f"{fetch.final_url} answered {fetch.status_code}"
    if urlsplit(fetch.url).path == WELL_KNOWN_PATH:
        message = f"{answer}: the well-known metadata URL must not require authentication"
        finding = rules.ACCESS_WELL_KNOWN_RESTRICTED.finding(fetch.url, "", message)
        return Interpretation(ServerStatus.INVALID, findings=(finding,))
    message = f"{answer}: this metadata URL is restricted to authenticated clients"
    finding = rules.ACCESS_RESTRICTED.finding(fetch.url, "", message)
    return Interpretation(ServerStatus.UNREACHABLE, findings=(finding,))


def _interpret_move(fetch: FetchResult) -> Interpretation:
    """A redirect to another origin: the server migrated (CDSC-WG1-01 5 asks for 301 or 302)."""
    findings = fetch.findings
    status_code = fetch.redirects[-1].status_code if fetch.redirects else None
    if status_code not in (301, 302):
        message = f"moved with status {status_code}; the specification asks for 301 or 302"
        findings += (rules.SERVER_MOVED_STATUS.finding(fetch.url, "", message),)
    return Interpretation(ServerStatus.MOVED, findings=findings, moved_to=fetch.final_url)


def _interpret_body(fetch: FetchResult, max_links: int) -> Interpretation:
    url = fetch.final_url
    document, parse_findings = parse_json_object(fetch.body or b"", url)
    response_findings = _content_type_findings(fetch)
    if document is None:
        if _looks_like_html(fetch):
            message = "an HTML page, not a JSON metadata document (a soft 404?)"
            parse_findings = (rules.HTTP_SOFT_404.finding(url, "", message),)
        return Interpretation(ServerStatus.INVALID, findings=parse_findings + response_findings)
    report = validate_metadata(document, url)
    links, link_findings = related_metadata_links(document, url, max_links=max_links)
    found = (
        parse_findings
        + response_findings
        + report.findings
        + link_findings
        + _canonical_url_findings(report.canonical_url, fetch.url)
    )
    valid = not has_errors(found)
    canonical, sha256 = canonical_form(document)
    snapshot = Snapshot(
        content=document,
        sha256=sha256,
        size_bytes=len(canonical),
        draft=report.draft.value,
        valid=valid,
        name=report.name,
        canonical_url=report.canonical_url,
        findings=found,
        links=links,
        coverage_url=_linked_url(document.get("coverage")),
        oauth_link=oauth_link(document, url),
    )
    return Interpretation(status_of_document(valid), snapshot=snapshot)


def _linked_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return normalise_list_url(value).url
    except InvalidTarget:
        return None  # the metadata validator reports it


def oauth_link(document: dict[str, Any], url: str) -> OAuthLink | None:
    """Where the document at `url` says its OAuth metadata is: `oauth_metadata`, or the RFC
    8414 location of its origin when `capabilities` lists oauth without it (CDSC-WG1-02 3.1)."""
    explicit = _linked_url(document.get("oauth_metadata"))
    if explicit is not None:
        return OAuthLink(explicit, well_known=False)
    capabilities = document.get("capabilities")
    if isinstance(capabilities, list) and "oauth" in capabilities:
        issuer = issuer_for(url)
        return OAuthLink(well_known_oauth_url(issuer), well_known=True, issuer=issuer)
    return None


def stored_oauth_link(url: str | None, well_known: bool, metadata_url: str) -> OAuthLink | None:
    """The OAuth link a stored version made (the link table keeps the URL and its kind)."""
    if url is None:
        return None
    return OAuthLink(url, well_known, issuer_for(metadata_url) if well_known else None)


def _looks_like_html(fetch: FetchResult) -> bool:
    start = (fetch.body or b"").lstrip()[:15].lower()
    return fetch.media_type == "text/html" or start.startswith((b"<!doctype html", b"<html"))


def _canonical_url_findings(canonical: str | None, fetched: str) -> tuple[Finding, ...]:
    """A cds_metadata_url naming another URL than the one fetched (normalised alike)."""
    if canonical is None:
        return ()
    try:
        same = normalise_target(canonical).url == fetched
    except InvalidTarget:
        return ()  # the validator reports a malformed URL
    if same:
        return ()
    message = (
        f"cds_metadata_url is {canonical[:120]!r}, but the document was fetched from {fetched}"
    )
    return (rules.METADATA_CANONICAL_URL.finding(fetched, "/cds_metadata_url", message),)


def _content_type_findings(fetch: FetchResult) -> tuple[Finding, ...]:
    if fetch.is_json:
        return ()
    shown = fetch.content_type or "no Content-Type"
    message = f"served as {shown!r}; expected application/json"
    return (rules.HTTP_CONTENT_TYPE.finding(fetch.final_url, "", message),)


def migration_findings(
    url: str, moved_to_before: str | None, meaning: Interpretation
) -> tuple[Finding, ...]:
    """What changed about a migration (CDSC-WG1-01 5) since the URL was last seen moved to
    `moved_to_before`: the redirect now leads elsewhere, or is gone."""
    if moved_to_before is None or meaning.moved_to == moved_to_before:
        return ()
    if meaning.moved_to is not None:
        message = f"{url} now redirects to {meaning.moved_to}, no longer to {moved_to_before}"
        return (rules.SERVER_MIGRATION_RETARGETED.finding(url, "", message),)
    message = (
        f"{url} no longer redirects to {moved_to_before} (its status is now "
        f"{meaning.status.value}); a migration redirect must stay for up to 3 years"
    )
    return (rules.SERVER_MIGRATION_ENDED.finding(url, "", message),)

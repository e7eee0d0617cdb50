"""Conformance report for one live metadata URL, without storing anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.domain.findings import Finding, has_errors
from crawler.http.client import build_transport
from crawler.http.fetch import Fetcher
from crawler.http.politeness import HostLimiter
from crawler.pipeline.interpret import interpret
from crawler.settings import Settings


@dataclass(frozen=True, slots=True)
class ValidationReport:
    url: str
    status: str
    findings: tuple[Finding, ...]

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "findings": [finding.to_json() for finding in self.findings],
        }


async def validate_url(settings: Settings, url: str) -> ValidationReport:
    """Fetch `url` once (unconditionally) and report every finding on what came back.

    Never raises for anything the server does; nothing is written anywhere.
    """
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))
        fetched = await fetcher.fetch(url, migrations=True)
    meaning = interpret(fetched, current_valid=None, max_links=settings.max_links_per_document)
    found = meaning.snapshot.findings if meaning.snapshot else meaning.findings
    return ValidationReport(url, meaning.status.value, found)

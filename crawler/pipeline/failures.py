"""What it means when a resource a document links to cannot be read."""

from __future__ import annotations

from crawler.domain import rules
from crawler.domain.fetching import FetchResult
from crawler.domain.findings import Finding, Rule


def unavailable(fetched: FetchResult, rule: Rule, what: str) -> Finding:
    """`rule`'s finding that `what` (fetched at `fetched.url`) could not be read, or, when it
    asked for credentials, that it is restricted (CDSC-WG1-01 8.1: linked resources may be
    behind the same authentication as the document; `host_headers` supplies it)."""
    if fetched.restricted:
        return rules.ACCESS_RESTRICTED.finding(
            fetched.url,
            "",
            f"{what} is restricted to authenticated clients ({fetched.status_code}); "
            "credentials for its host can be configured in host_headers",
        )
    return rule.finding(fetched.url, "", f"{what} could not be read: {fetched.reason}")

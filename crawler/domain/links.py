"""Links a metadata document makes to other metadata documents (`related_metadata`)."""

from __future__ import annotations

from typing import Any

from crawler.domain import rules
from crawler.domain.checks import MAX_REPEATS, clip, url_problem
from crawler.domain.findings import Finding, json_pointer
from crawler.domain.targets import InvalidTarget, normalise_target


def related_metadata_links(
    document: dict[str, Any], url: str, *, max_links: int
) -> tuple[tuple[str, ...], tuple[Finding, ...]]:
    """The normalised http(s) URLs the document lists in `related_metadata`, at most `max_links`.

    Values that are not http(s) URLs are skipped here (the metadata validator reports them);
    a URL the crawler will not follow is skipped with a finding; a link to the document itself
    and repeated links are dropped; links past `max_links` are dropped with one finding, so a
    hostile document cannot flood the frontier.
    """
    listed = document.get("related_metadata")
    if not isinstance(listed, list):
        return (), ()
    links: dict[str, None] = {}
    findings: list[Finding] = []
    for index, value in enumerate(listed):
        if not isinstance(value, str):
            continue
        try:
            target = normalise_target(value).url
        except InvalidTarget as refusal:
            if url_problem(value) is None and len(findings) < MAX_REPEATS:
                findings.append(
                    rules.LINKS_NOT_FOLLOWED.finding(
                        url,
                        json_pointer("related_metadata", index),
                        f"{clip(value)!r} is not followed: {clip(str(refusal))}",
                    )
                )
            continue
        if target != url:
            links[target] = None
    if len(links) > max_links:
        findings.append(
            rules.LINKS_TOO_MANY.finding(
                url,
                json_pointer("related_metadata"),
                f"lists {len(links)} related metadata URLs; "
                f"only the first {max_links} are followed",
            )
        )
    return tuple(links)[:max_links], tuple(findings)

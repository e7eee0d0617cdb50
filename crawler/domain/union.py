"""CDSC-WG1-01 3.2: listing `coverage` obliges a server to list its entries' capabilities too."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crawler.domain import rules
from crawler.domain.coverage import CoverageEntry
from crawler.domain.findings import Finding, json_pointer


def capabilities_union_findings(
    document: dict[str, Any], entries: Iterable[CoverageEntry], url: str
) -> tuple[Finding, ...]:
    """One finding naming the entries' capabilities that the metadata object does not list."""
    listed = document.get("capabilities")
    if not isinstance(listed, list) or "coverage" not in listed:
        return ()
    declared = {value for value in listed if isinstance(value, str)}
    offered = {capability for entry in entries for capability in entry.capabilities}
    missing = sorted(offered - declared - {"coverage"})
    if not missing:
        return ()
    message = (
        f"coverage entries offer {', '.join(missing)}, which `capabilities` does not list; "
        "it must include the union of the entries' capabilities"
    )
    return (rules.METADATA_CAPABILITIES_UNION.finding(url, json_pointer("capabilities"), message),)

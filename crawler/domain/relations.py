"""Whether a link between two metadata documents is a confirmed relationship or only a claim.

Any site can list a utility's metadata URL in its `related_metadata`. A link is trusted as a
relationship only when both ends share a registrable domain (the Public Suffix List's idea of
"one organisation's domain") or the target links back.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

SAME_DOMAIN = "same registrable domain"
LINKS_BACK = "links back"


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled with the package: no network


def registrable_domain(url: str) -> str:
    """`example.co.uk` for `https://grid.example.co.uk/x`; an IP address or a bare public
    suffix is its own domain."""
    host = (urlsplit(url).hostname or "").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _suffixes().privatesuffix(host) or host
    return host


def confirmation(source: str, target: str, *, links_back: bool) -> str | None:
    """Why the link from `source` to `target` is confirmed, or None when it is only a claim."""
    if registrable_domain(source) == registrable_domain(target):
        return SAME_DOMAIN
    return LINKS_BACK if links_back else None

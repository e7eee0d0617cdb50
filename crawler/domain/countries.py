"""ISO 3166-1 alpha-2 country codes (the list bundled with pycountry: no network)."""

from __future__ import annotations

from functools import cache


@cache
def _alpha_2_codes() -> frozenset[str]:
    import pycountry  # loads its bundled data on first use only

    return frozenset(country.alpha_2 for country in pycountry.countries)


def is_country_code(value: str) -> bool:
    """True for an officially assigned ISO 3166-1 alpha-2 code such as "US" (case matters)."""
    return value in _alpha_2_codes()

"""The entry filters that coverage queries and exports share, as one dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from crawler.api import params
from crawler.domain.coverage import CommodityType, EntryType, InfrastructureType, Role
from storage.coverage_query import EntryFilters


def entry_filters(
    role: Annotated[Role | None, Query()] = None,
    type: Annotated[EntryType | None, Query()] = None,
    country: Annotated[
        str | None, Query(max_length=10, description="ISO 3166-1 alpha-2, e.g. US.")
    ] = None,
    commodity: Annotated[CommodityType | None, Query()] = None,
    infrastructure: Annotated[InfrastructureType | None, Query()] = None,
    capability: Annotated[str | None, Query(max_length=100)] = None,
) -> EntryFilters:
    return EntryFilters(
        role=role,
        type=type,
        country=params.country(country),
        commodity=commodity,
        infrastructure=infrastructure,
        capability=capability,
    )


EntryFiltersDep = Annotated[EntryFilters, Depends(entry_filters)]

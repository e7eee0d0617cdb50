"""The adoption report: how many seeds publish and conform, now and day by day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from crawler.api import params
from crawler.api.deps import ReaderDep
from crawler.api.params import BadRequest
from crawler.api.responses import Json
from storage.adoption import adoption_report, adoption_series

router = APIRouter(prefix="/reports", tags=["reports"])

_LONGEST_SERIES = 3660  # days: ten years, one answer


@router.get("/adoption", summary="Seeds that publish and conform, by country, tag, commodity")
def adoption(reader: ReaderDep) -> Json:
    return Json(adoption_report(reader))


@router.get("/adoption/daily", summary="The same counts day by day (UTC)")
def adoption_daily(
    reader: ReaderDep,
    since: Annotated[
        str | None, Query(description="First day, YYYY-MM-DD (default: 30 days ago).")
    ] = None,
    until: Annotated[
        str | None, Query(description="Last day, YYYY-MM-DD (default: today).")
    ] = None,
) -> Json:
    last = params.day(until, "until") or datetime.now(UTC).date()
    first = params.day(since, "since") or max(last - timedelta(days=29), params.FIRST_DAY)
    if first > last:
        raise BadRequest(f"since ({first}) is after until ({last})")
    if (last - first).days >= _LONGEST_SERIES:
        raise BadRequest(f"a series covers at most {_LONGEST_SERIES} days")
    return Json(
        {
            "since": first.isoformat(),
            "until": last.isoformat(),
            "days": adoption_series(reader, first, last),
        }
    )

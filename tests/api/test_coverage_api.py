"""/v1/coverage: what covers a point or meets a box, now and as of a past moment."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Crawled

# North's electric territory is (-100,30)-(-99,31) before the second crawl and grows to -98
# after it; its gas territory (-101,29)-(-98,32) is withdrawn by then.
IN_BOTH = {"lat": 30.5, "lon": -99.5}
IN_THE_GROWTH = {"lat": 30.5, "lon": -98.5}
IN_BERLIN = {"lat": 52.5, "lon": 13.5}


def entries(api: httpx.Client, **query: Any) -> list[str]:
    answer = api.get("/v1/coverage", params=query)
    assert answer.status_code == 200, answer.text
    return [item["entry_id"] for item in answer.json()["items"]]


def test_a_point_lists_the_entries_whose_territory_holds_it(api: httpx.Client) -> None:
    answer = api.get("/v1/coverage", params=IN_BERLIN).json()
    assert [item["entry_id"] for item in answer["items"]] == ["b-electric", "b-water"]
    water = answer["items"][1]
    assert water["entity_name"] == "Berlin Wasser"
    assert water["commodity_types"] == ["water"]
    assert water["valid"] is True
    assert water["link"] == f"/v1/servers/{water['server_id']}/entries/b-water"
    assert api.get(water["link"]).status_code == 200
    assert entries(api, **IN_THE_GROWTH) == ["n-electric"]
    assert entries(api, lat=0, lon=0) == []


def test_a_point_as_of_a_past_moment_is_answered_from_the_history(
    api: httpx.Client, crawled: Crawled
) -> None:
    then = crawled.between.isoformat()
    assert entries(api, **IN_BOTH, as_of=then) == ["n-electric", "n-gas"]
    assert entries(api, **IN_THE_GROWTH, as_of=then) == ["n-gas"]
    assert entries(api, **IN_BERLIN, as_of=then) == ["b-electric"]
    assert entries(api, **IN_BERLIN, as_of=crawled.before.isoformat()) == []
    assert entries(api, **IN_BOTH, as_of="2999-01-01") == ["n-electric"]


def test_a_box_lists_the_entries_whose_territory_meets_it(
    api: httpx.Client, crawled: Crawled
) -> None:
    assert entries(api, bbox="-98.9,29,-98.1,33") == ["n-electric"]
    assert entries(api, bbox="-98.9,29,-98.1,33", as_of=crawled.between.isoformat()) == ["n-gas"]
    assert entries(api, bbox="0,0,10,10") == []
    assert entries(api, bbox="13.5,52.5,13.5,52.5") == ["b-electric", "b-water"]  # a point


def test_filters_narrow_the_entries(api: httpx.Client, crawled: Crawled) -> None:
    assert entries(api, **IN_BERLIN, commodity="water") == ["b-water"]
    assert entries(api, **IN_BERLIN, infrastructure="supplier") == ["b-water"]
    assert entries(api, **IN_BERLIN, country="de", role="authoritative") == [
        "b-electric",
        "b-water",
    ]
    assert entries(api, **IN_BERLIN, country="US") == []
    assert entries(api, **IN_BOTH, as_of=crawled.between.isoformat(), role="official") == ["n-gas"]
    assert entries(api, **IN_BERLIN, type="logical") == []


def test_pages_of_entries_follow_each_other(api: httpx.Client) -> None:
    first = api.get("/v1/coverage", params={**IN_BERLIN, "limit": 1}).json()
    assert [item["entry_id"] for item in first["items"]] == ["b-electric"]
    second = api.get(
        "/v1/coverage", params={**IN_BERLIN, "limit": 1, "cursor": first["next"]}
    ).json()
    assert [item["entry_id"] for item in second["items"]] == ["b-water"]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"lat": 91, "lon": 0}, "lat"),
        ({"lat": "north", "lon": 0}, "lat"),
        ({"lat": "nan", "lon": 0}, "lat"),
        ({"lat": 10, "lon": -181}, "lon"),
        ({"lat": 10}, "both lat and lon"),
        ({}, "either a point"),
        ({"lat": 1, "lon": 1, "bbox": "0,0,2,2"}, "either a point"),
        ({"bbox": "1,2,3"}, "four numbers"),
        ({"bbox": "0,0,nan,1"}, "four numbers"),
        ({"bbox": "10,0,5,1"}, "inverted"),
        ({"bbox": "0,10,1,5"}, "inverted"),
        ({"bbox": "-180,-90,180,90"}, "square degrees"),
        ({"bbox": "0,0,200,1"}, "-180..180"),
        ({"bbox": "0,-95,1,1"}, "-90..90"),
        ({"lat": 1, "lon": 1, "as_of": "last week"}, "as_of"),
        ({"lat": 1, "lon": 1, "commodity": "coal"}, "commodity"),
        ({"lat": 1, "lon": 1, "country": "Germany"}, "ISO 3166-1"),
        ({"lat": 1, "lon": 1, "cursor": "eyJ4Ijo"}, "cursor"),
    ],
)
def test_bad_input_is_refused_with_a_message(
    api: httpx.Client, query: dict[str, Any], words: str
) -> None:
    answer = api.get("/v1/coverage", params=query)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["message"]

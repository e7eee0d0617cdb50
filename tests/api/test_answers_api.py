"""/v1 reports, events, exports and seed list; caching, errors, tokens and CORS."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import SERVERS, Crawled, api_client
from tests.cli import run_cli


def test_the_adoption_report_counts_seeds_that_publish_and_conform(api: httpx.Client) -> None:
    report = api.get("/v1/reports/adoption").json()
    assert report["total"] == {
        "seeds": 4,
        "publishing": 3,
        "conforming": 3,
        "publishing_share": 0.75,
    }
    assert report["by_country"]["DE"]["seeds"] == 1
    assert report["by_country"]["US"]["publishing"] == 1
    assert report["by_country"]["unknown"] == {  # quiet and plain have no entries, no ccTLD
        "seeds": 2,
        "publishing": 1,
        "conforming": 1,
        "publishing_share": 0.5,
    }
    assert report["by_tag"]["loopback"]["seeds"] == 4
    assert report["by_commodity"]["water"]["seeds"] == 1
    assert report["by_commodity"]["electricity"]["seeds"] == 2


def test_the_daily_series_counts_as_things_stood_each_day(api: httpx.Client) -> None:
    today = datetime.now(UTC).date()
    since = today - timedelta(days=2)
    answer = api.get("/v1/reports/adoption/daily", params={"since": str(since)}).json()
    days = answer["days"]
    assert [day["date"] for day in days] == [str(since + timedelta(days=n)) for n in range(3)]
    assert days[0] == {"date": str(since), "seeds": 0, "publishing": 0, "conforming": 0}
    assert days[-1] == {"date": str(today), "seeds": 4, "publishing": 3, "conforming": 3}
    default = api.get("/v1/reports/adoption/daily").json()
    assert len(default["days"]) == 30
    inverted = api.get(
        "/v1/reports/adoption/daily", params={"since": "2025-02-01", "until": "2025-01-01"}
    )
    assert inverted.status_code == 400
    assert "after" in inverted.json()["message"]
    too_long = api.get("/v1/reports/adoption/daily", params={"since": "1900-01-01"})
    assert too_long.status_code == 400


def test_events_page_by_sequence(api: httpx.Client, crawled: Crawled) -> None:
    every = api.get("/v1/events", params={"limit": 1000}).json()
    assert every["next"] is None
    types = [event["type"] for event in every["items"]]
    assert types.count("cds.server.discovered") == 3
    assert "cds.server.changed" in types
    assert "cds.coverage.entry.removed" in types
    listed = run_cli(crawled.database_url, "events", "--json").stdout.splitlines()
    assert len(listed) == len(every["items"])
    first = api.get("/v1/events", params={"limit": 2}).json()
    assert first["next"] == first["items"][-1]["sequence"]
    rest = api.get("/v1/events", params={"after": first["next"], "limit": 1000}).json()
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in every["items"]]
    assert api.get("/v1/events", params={"after": -1}).status_code == 400


def streamed(api: httpx.Client, count: int, **options: Any) -> list[dict[str, Any]]:
    """The first `count` server-sent events of /v1/events/stream, parsed."""
    found: list[dict[str, Any]] = []
    with api.stream("GET", "/v1/events/stream", **options) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in answer.iter_lines():
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            event = json.loads(fields["data"])
            assert fields["id"] == str(event["sequence"])
            assert fields["event"] == event["type"]
            found.append(event)
            if len(found) == count:
                return found
    raise AssertionError("the stream ended")


def test_events_stream_as_server_sent_events(api: httpx.Client) -> None:
    listed = api.get("/v1/events", params={"limit": 4}).json()["items"]
    assert streamed(api, 3) == listed[:3]
    resumed = streamed(api, 2, headers={"Last-Event-ID": str(listed[1]["sequence"])})
    assert resumed == listed[2:4]
    after = streamed(api, 1, params={"after": listed[2]["sequence"]})
    assert after == listed[3:4]


def test_territories_export_as_one_geojson_feature_collection(api: httpx.Client) -> None:
    answer = api.get("/v1/exports/territories.geojson")
    assert answer.headers["content-type"].startswith("application/geo+json")
    collection = answer.json()
    assert collection["type"] == "FeatureCollection"
    assert [f["properties"]["entry_id"] for f in collection["features"]] == [
        "b-electric",
        "b-water",
        "n-electric",
    ]
    water = collection["features"][1]
    assert water["geometry"]["type"] == "Polygon"
    assert water["id"] == f"{water['properties']['server_id']}/b-water"
    assert water["properties"]["link"].endswith("/entries/b-water")
    only_water = api.get("/v1/exports/territories.geojson", params={"commodity": "water"}).json()
    assert [f["properties"]["entry_id"] for f in only_water["features"]] == ["b-water"]
    unknown = api.get("/v1/exports/territories.geojson", params={"server_id": 999999})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"


def test_servers_and_entries_export_as_csv(api: httpx.Client, crawled: Crawled) -> None:
    servers = list(csv.DictReader(io.StringIO(api.get("/v1/exports/servers.csv").text)))
    assert sorted(row["url"] for row in servers) == sorted(crawled.url(n) for n in SERVERS)
    assert {row["status"] for row in servers} == {"ok", "not_found"}
    answer = api.get("/v1/exports/entries.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    entries = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["entry_id"] for row in entries] == ["b-electric", "b-water", "n-electric"]
    assert entries[1]["commodity_types"] == "water"
    assert entries[1]["valid"] == "True"


def test_the_seed_list_holds_every_live_metadata_url(api: httpx.Client, crawled: Crawled) -> None:
    answer = api.get("/v1/seeds.txt")
    assert answer.headers["content-type"].startswith("text/plain")
    lines = answer.text.splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == sorted(crawled.url(name) for name in ("berlin", "north", "plain"))


def test_answers_carry_validators_and_a_repeat_is_not_modified(api: httpx.Client) -> None:
    first = api.get("/v1/servers")
    assert first.headers["cache-control"] == "public, max-age=60"
    etag = first.headers["etag"]
    again = api.get("/v1/servers", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = api.get("/v1/servers", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert "etag" not in api.get("/v1/servers/999999").headers


def test_every_get_route_answers_head_with_the_get_headers_and_no_body(
    api: httpx.Client,
) -> None:
    for path in ("/v1/servers", "/healthz", "/v1/exports/territories.geojson", "/"):
        got, head = api.get(path), api.head(path)

        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers.get("etag") == got.headers.get("etag")


def test_hostile_query_parameters_are_refused_not_failed(api: httpx.Client) -> None:
    server_id = api.get("/v1/servers").json()["items"][0]["id"]
    refused = [
        (f"/v1/servers/{server_id}", {"as_of": "9999-12-31"}),
        (f"/v1/servers/{server_id}", {"as_of": "0001-01-01T00:00:00+01:00"}),
        (f"/v1/servers/{server_id}", {"as_of": "2025-W01-1"}),
        ("/v1/coverage", {"lat": "46.2", "lon": "-122.1", "as_of": "9999-12-31"}),
        ("/v1/coverage", {"bbox": "1_0,0,11,1"}),
        ("/v1/reports/adoption/daily", {"until": "0001-01-05"}),
        ("/v1/reports/adoption/daily", {"until": "0"}),
        ("/v1/reports/adoption/daily", {"since": "9999-12-01", "until": "9999-12-31"}),
        ("/v1/servers", {"q": "\x00zzz"}),
        ("/v1/servers", {"q": "zzz\n"}),
    ]

    for path, params in refused:
        answer = api.get(path, params=params)

        assert answer.status_code == 400, (path, params, answer.text)
        assert answer.json()["error"] == "invalid_request"
    last_day = api.get(f"/v1/servers/{server_id}", params={"as_of": "9999-12-30"})
    assert last_day.status_code == 200


def test_unknown_paths_and_methods_answer_in_the_error_shape(api: httpx.Client) -> None:
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    refused = api.post("/v1/servers")
    assert refused.status_code == 405
    assert refused.json()["error"] == "method_not_allowed"


def test_the_openapi_description_and_docs_are_served(api: httpx.Client) -> None:
    described = api.get("/openapi.json").json()
    assert described["openapi"].startswith("3.")
    for path in ("/v1/servers", "/v1/coverage", "/v1/seeds.txt", "/v1/reports/adoption"):
        assert path in described["paths"]
    assert "swagger" in api.get("/docs").text.lower()


def test_a_configured_token_is_required_on_v1(crawled: Crawled) -> None:
    with api_client(crawled, api_token="s3cret") as client:
        refused = client.get("/v1/servers")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in refused.json()["message"]
        wrong = client.get("/v1/servers", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/v1/servers", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/").status_code == 200


def test_cors_is_off_unless_origins_are_configured(api: httpx.Client, crawled: Crawled) -> None:
    origin = {"Origin": "https://maps.example.org"}
    assert "access-control-allow-origin" not in api.get("/v1/servers", headers=origin).headers
    with api_client(crawled, api_cors_origins="https://maps.example.org") as client:
        allowed = client.get("/v1/servers", headers=origin)
        assert allowed.headers["access-control-allow-origin"] == "https://maps.example.org"

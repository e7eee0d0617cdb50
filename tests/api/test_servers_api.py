"""/v1/servers: the filtered list, one server now and as of a past moment, its versions."""

from __future__ import annotations

import httpx

from tests.api.conftest import Crawled, server_id


def urls(answer: dict[str, object]) -> list[str]:
    items = answer["items"]
    assert isinstance(items, list)
    return [item["url"] for item in items]


def test_the_list_holds_every_server_in_url_order_with_what_it_publishes(
    api: httpx.Client, crawled: Crawled
) -> None:
    answer = api.get("/v1/servers").json()
    assert urls(answer) == sorted(
        crawled.url(name) for name in ("berlin", "north", "plain", "quiet")
    )
    assert answer["next"] is None
    north = next(item for item in answer["items"] if item["url"] == crawled.url("north"))
    assert north["name"] == "North Power and Light"
    assert north["status"] == "ok"
    assert north["versions"] == 2
    assert north["countries"] == ["US"]
    assert north["commodity_types"] == ["electricity"]
    assert north["capabilities"] == ["coverage"]
    assert north["link"] == f"/v1/servers/{north['id']}"


def test_filters_narrow_the_list(api: httpx.Client, crawled: Crawled) -> None:
    def listed(query: str) -> list[str]:
        answer = api.get(f"/v1/servers?{query}")
        assert answer.status_code == 200, answer.text
        return urls(answer.json())

    assert listed("status=not_found") == [crawled.url("quiet")]
    assert listed("status=ok&status=not_found") == sorted(
        crawled.url(name) for name in ("berlin", "north", "plain", "quiet")
    )
    assert listed("country=de") == [crawled.url("berlin")]
    assert listed("commodity=water") == [crawled.url("berlin")]
    assert listed("commodity=natural_gas") == []  # north withdrew its gas entry
    assert listed("infrastructure=supplier") == [crawled.url("berlin")]
    assert listed("role=authoritative") == [crawled.url("berlin"), crawled.url("north")]
    assert listed("role=official") == []
    assert listed("capability=coverage") == [crawled.url("berlin"), crawled.url("north")]
    assert listed("q=LIGHT") == [crawled.url("north")]
    assert listed("q=wasser") == [crawled.url("berlin")]  # an entry's entity name
    assert listed("q=100%25") == []  # a LIKE wildcard is matched literally
    assert listed("tag=loopback&status=ok") == [
        crawled.url(name) for name in ("berlin", "north", "plain")
    ]
    assert listed("tag=other") == []
    assert listed(f"url={crawled.url('plain')}") == [crawled.url("plain")]


def test_pages_follow_each_other_without_gaps_or_repeats(api: httpx.Client) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
        answer = api.get(f"/v1/servers?{query}").json()
        assert len(answer["items"]) <= 1
        seen += urls(answer)
        cursor = answer["next"]
        if cursor is None:
            break
    assert seen == urls(api.get("/v1/servers").json())
    assert len(seen) == 4


def test_bad_filters_are_refused_with_a_message(api: httpx.Client) -> None:
    for query, words in [
        ("status=alive", "status"),
        ("country=XX", "ISO 3166-1"),
        ("commodity=coal", "commodity"),
        ("role=boss", "role"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ]:
        answer = api.get(f"/v1/servers?{query}")
        assert answer.status_code == 400, query
        body = answer.json()
        assert body["error"] == "invalid_request"
        assert words in body["message"], (query, body)


def test_one_server_with_its_document_entries_and_findings(
    api: httpx.Client, crawled: Crawled
) -> None:
    north = server_id(api, crawled, "north")
    detail = api.get(f"/v1/servers/{north}").json()
    assert detail["id"] == north
    assert detail["document"]["name"] == "North Power and Light"
    assert detail["current_version"]["version"] == 2
    assert [entry["entry_id"] for entry in detail["coverage_entries"]] == ["n-electric"]
    entry = detail["coverage_entries"][0]
    assert entry["link"] == f"/v1/servers/{north}/entries/n-electric"
    assert entry["territory"]["bbox"] == [-100.0, 30.0, -98.0, 31.0]
    assert isinstance(detail["findings"], list)
    assert detail["discovered_via"]


def test_a_server_as_it_stood_at_a_past_moment(api: httpx.Client, crawled: Crawled) -> None:
    north = server_id(api, crawled, "north")
    then = api.get(f"/v1/servers/{north}", params={"as_of": crawled.between.isoformat()}).json()
    assert then["document"]["name"] == "North Power"
    assert then["current_version"]["version"] == 1
    assert [entry["entry_id"] for entry in then["coverage_entries"]] == ["n-electric", "n-gas"]
    assert then["coverage_entries"][0]["territory"]["bbox"] == [-100.0, 30.0, -99.0, 31.0]
    earlier = api.get(f"/v1/servers/{north}", params={"as_of": "2001-01-01"}).json()
    assert earlier["current_version"] is None
    assert earlier["document"] is None
    assert earlier["coverage_entries"] == []


def test_unknown_servers_and_bad_moments_are_4xx(api: httpx.Client, crawled: Crawled) -> None:
    missing = api.get("/v1/servers/999999")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "message": "no server has id 999999"}
    assert api.get("/v1/servers/0").status_code == 400
    assert api.get("/v1/servers/abc").status_code == 400
    north = server_id(api, crawled, "north")
    for moment in ("yesterday", "2025-13-01", "2025-06-30T12:00:00"):
        answer = api.get(f"/v1/servers/{north}", params={"as_of": moment})
        assert answer.status_code == 400, moment
        assert "as_of" in answer.json()["message"]


def test_versions_newest_first_each_with_what_changed(api: httpx.Client, crawled: Crawled) -> None:
    north = server_id(api, crawled, "north")
    versions = api.get(f"/v1/servers/{north}/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["changes"] == ["first version"]
    assert {"op": "replace", "path": "/name", "value": "North Power and Light"} in versions[0][
        "patch"
    ]
    first = api.get(f"/v1/servers/{north}/versions/1").json()
    assert first["document"]["name"] == "North Power"
    assert first["content_sha256"] == versions[1]["content_sha256"]
    assert api.get(f"/v1/servers/{north}/versions/3").status_code == 404


def test_the_difference_between_any_two_versions(api: httpx.Client, crawled: Crawled) -> None:
    north = server_id(api, crawled, "north")
    forward = api.get(f"/v1/servers/{north}/diff?from=1&to=2").json()
    assert forward["from"]["version"] == 1
    assert forward["to"]["version"] == 2
    assert {"op": "replace", "path": "/name", "value": "North Power and Light"} in forward["patch"]
    backward = api.get(f"/v1/servers/{north}/diff?from=2&to=1").json()
    assert {"op": "replace", "path": "/name", "value": "North Power"} in backward["patch"]
    same = api.get(f"/v1/servers/{north}/diff?from=2&to=2").json()
    assert same["patch"] == []
    assert api.get(f"/v1/servers/{north}/diff?from=1&to=9").status_code == 404
    assert api.get(f"/v1/servers/{north}/diff?from=1").status_code == 400


def test_one_entry_with_its_territory_now_and_then(api: httpx.Client, crawled: Crawled) -> None:
    north = server_id(api, crawled, "north")
    now = api.get(f"/v1/servers/{north}/entries/n-electric").json()
    assert now["server_id"] == north
    assert now["published"]["name"] == "North wires"
    assert now["territory"]["geometry"]["type"] == "Polygon"
    assert now["territory"]["bbox"] == [-100.0, 30.0, -98.0, 31.0]
    then = api.get(
        f"/v1/servers/{north}/entries/n-electric", params={"as_of": crawled.between.isoformat()}
    ).json()
    assert then["territory"]["bbox"] == [-100.0, 30.0, -99.0, 31.0]
    assert api.get(f"/v1/servers/{north}/entries/n-gas").status_code == 404  # withdrawn
    gas_then = api.get(
        f"/v1/servers/{north}/entries/n-gas", params={"as_of": crawled.between.isoformat()}
    )
    assert gas_then.status_code == 200
    assert gas_then.json()["until"] is not None

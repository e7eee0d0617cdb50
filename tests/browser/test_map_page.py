"""The coverage map page in a real browser, served by `cds-crawler serve` over a crawled
federation on loopback.

What a click should list is computed here from the rings the test published (an even-odd
test written without shapely), not asked of the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from crawler.testing import LoopbackServer, Response
from tests.browser.chromium import Chromium, chromium
from tests.cli import run_cli
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    coverage_entry,
    crawl,
    metadata_document,
    running_server,
)
from tests.geometry import Ring, box, covers, multipolygon, polygon
from tests.serving import serving

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
VENDOR = Path(__file__).parents[2] / "crawler" / "api" / "static" / "vendor"
SOUTH = [box(-100, 34, -96, 38), box(-99, 35, -97, 37)]  # with a hole
# entry id: (server, entity, role, commodities, polygons as lists of rings, outer ring first)
TERRITORIES: dict[str, tuple[str, str, str, list[str], list[list[Ring]]]] = {
    "north": ("a", "Prairie Power", "authoritative", ["electricity"], [[box(-100, 40, -96, 44)]]),
    "south": ("a", "Prairie Power", "official", ["natural_gas"], [SOUTH]),
    "middle": (
        "a",
        "Prairie Power",
        "direct",
        ["electricity", "natural_gas"],
        [[box(-98, 36, -94, 42)]],
    ),
    "islands": (
        "a",
        "Lake Water",
        "aggregator",
        ["water"],
        [[box(-92, 34, -90, 36)], [box(-92, 40, -90, 42)]],
    ),
    "ridge": ("b", "Ridge Grid", "official", ["electricity"], [[box(-99, 41, -97, 43)]]),
}
MANY = (41.5, -97.5)  # (lat, lon): north, middle and ridge
ISLAND = (41.0, -91.0)  # the second polygon of islands
HOLE = (35.5, -98.5)  # in south's hole, outside every other territory


@pytest.fixture(autouse=True)
def _assets_built() -> None:
    if not (VENDOR / "leaflet.js").exists():
        pytest.fail(f"the map page's assets are missing from {VENDOR}: run `make static`")


def geometry(polygons: list[list[Ring]]) -> dict[str, Any]:
    return polygon(*polygons[0]) if len(polygons) == 1 else multipolygon(*polygons)


def publish(server: LoopbackServer, prefix: str) -> str:
    """Server `prefix`'s metadata, coverage listing and territories; returns its URL."""
    entries = []
    for entry_id, (owner, entity, role, commodities, polygons) in TERRITORIES.items():
        if owner != prefix:
            continue
        server.route(f"/geo/{entry_id}.geojson", Response.json(geometry(polygons)))
        resource = server.url(f"/geo/{entry_id}.geojson")
        entries.append(
            coverage_entry(
                entry_id,
                entity_name=entity,
                role=role,
                commodity_types=commodities,
                geojson_resource=resource,
            )
        )
    if prefix == "a":  # an entry with no territory to draw
        entries.append(coverage_entry("billing", type="logical", entity_name="Prairie Power"))
    url = server.url(f"/{prefix}{WELL_KNOWN}")
    listing = server.url(f"/{prefix}/coverage.json")
    document = metadata_document(url, capabilities=["coverage"], coverage=listing)
    server.route(f"/{prefix}{WELL_KNOWN}", Response.json(document))
    server.route(
        f"/{prefix}/coverage.json",
        Response.json({"coverage_entries": entries, "next": None, "previous": None}),
    )
    return url


@pytest.fixture
def crawled(database_url: str) -> str:
    """The test's database, holding a crawl of two servers and their five territories."""
    with running_server() as server:
        urls = [publish(server, "a"), publish(server, "b")]
        added = run_cli(database_url, "seeds", "add", *urls, env=LOOPBACK)
        assert added.code == 0, added.stderr
        crawl(database_url, CDS_CRAWLER_PER_HOST_RATE="1000")
    return database_url


def covering(lat: float, lon: float) -> list[str]:
    return sorted(
        entry_id for entry_id, (*_, polygons) in TERRITORIES.items() if covers(polygons, lon, lat)
    )


def open_map(browser: Chromium, url: str) -> tuple[Page, list[str]]:
    """The page, loaded; and the console errors and uncaught exceptions it reports."""
    page = browser.context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(url)
    page.locator("body[data-state='ready']").wait_for(timeout=20_000)
    return page, problems


def click_at(page: Page, lat: float, lon: float) -> list[tuple[str, str]]:
    """Click the map at (lat, lon); the (href, text) of each entry the page then lists."""
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.cdsMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    frame = page.locator("#map").bounding_box()
    assert frame is not None
    assert 0 < x < frame["width"]
    assert 0 < y < frame["height"]
    page.evaluate("document.getElementById('point-results').dataset.state = 'clicked'")
    page.mouse.click(frame["x"] + x, frame["y"] + y)
    page.locator("#point-results[data-state='done']").wait_for(timeout=10_000)
    links: list[tuple[str, str]] = page.locator("#point-results a").evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.textContent])"
    )
    return links


def entry_ids(links: list[tuple[str, str]]) -> list[str]:
    return sorted(href.rsplit("/", 1)[-1] for href, _ in links)


def territory_paths(page: Page) -> int:
    return page.locator("#map path.territory").count()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_map_draws_every_territory_and_lists_what_covers_a_clicked_point(
    crawled: str, tmp_path: Path
) -> None:
    with (
        serving(crawled, tmp_path / "serve.log") as url,
        chromium(tmp_path / "chromium") as browser,
    ):
        page, problems = open_map(browser, url)

        assert page.locator("#territory-count").text_content() == "5 territories"
        assert territory_paths(page) == 5
        assert page.locator("#map path.country").count() > 100  # the outline layer

        many = click_at(page, *MANY)
        assert entry_ids(many) == covering(*MANY) == ["middle", "north", "ridge"]
        assert all(href.startswith("/v1/servers/") for href, _ in many)
        texts = {href.rsplit("/", 1)[-1]: text for href, text in many}
        assert "Ridge Grid" in texts["ridge"]
        assert "Territory ridge" in texts["ridge"]
        assert entry_ids(click_at(page, *ISLAND)) == covering(*ISLAND) == ["islands"]
        assert click_at(page, *HOLE) == [] == covering(*HOLE)
        assert "Nothing covers this point" in page.locator("#point-results").inner_text()

        page.locator("#colour-by").select_option("commodity")
        assert "electricity + natural_gas" in page.locator("#legend").inner_text()
        page.locator("#filter").fill("ridge")
        assert page.locator("#territory-count").text_content() == "1 territory"
        assert territory_paths(page) == 1
        page.locator("#filter").fill("")
        assert territory_paths(page) == 5

        click_at(page, *MANY)
        ARTIFACTS.mkdir(exist_ok=True)
        screenshot = ARTIFACTS / "map_page.png"
        page.screenshot(path=screenshot)
        print(f"map page screenshot: {screenshot}")

    assert problems == []
    assert browser.outside_requests == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_map_of_an_empty_database_draws_no_territory(database_url: str, tmp_path: Path) -> None:
    with (
        serving(database_url, tmp_path / "serve.log") as url,
        chromium(tmp_path / "chromium") as browser,
    ):
        page, problems = open_map(browser, url)

        assert page.locator("#territory-count").text_content() == "0 territories"
        assert territory_paths(page) == 0
        assert click_at(page, 48.85, 2.35) == []
        assert "Nothing covers this point" in page.locator("#point-results").inner_text()

    assert problems == []
    assert browser.outside_requests == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_map_asks_for_the_token_the_api_requires(database_url: str, tmp_path: Path) -> None:
    token = {"CDS_CRAWLER_API_TOKEN": "map-test-token"}
    with (
        serving(database_url, tmp_path / "serve.log", env=token) as url,
        chromium(tmp_path / "chromium") as browser,
    ):
        page = browser.context.new_page()
        page.goto(url)
        page.locator("body[data-state='unauthorized']").wait_for(timeout=20_000)
        assert "requires a bearer token" in page.locator("#message").inner_text()
        page.goto(f"{url}?token=wrong")
        page.locator("body[data-state='unauthorized']").wait_for(timeout=20_000)
        assert "refused the token" in page.locator("#message").inner_text()

        page, problems = open_map(browser, f"{url}?token=map-test-token")
        assert page.locator("#territory-count").text_content() == "0 territories"
        assert page.locator("#message").is_hidden()

    assert problems == []
    assert browser.outside_requests == []

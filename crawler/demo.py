"""`make demo`: serve the sample federation in seeds/demo/ on 127.0.0.1, crawl it, show it.

Everything runs offline: the federation is served from this process on loopback, the crawler
runs as the real command line against a fresh SQLite file, and both are gone at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from crawler.testing import LoopbackServer, Response

DEMO_DIR = Path(__file__).resolve().parent.parent / "seeds" / "demo"
WELL_KNOWN = "/.well-known/carbon-data-spec.json"
PUBLISHERS = {
    "holding": "holding.json",
    "north": "north.json",
    "south": "south-2023.json",
    "hub": "hub.json",
    "copied": "copied-example.json",
    "quiet": None,  # publishes nothing yet: 404
}
# North and south are not seeds: the crawl finds them through the holding company's
# related_metadata.
SEEDS = ("holding", "hub", "copied", "quiet")


COVERAGE = {
    "north": "north-coverage.json",
    "south": "south-coverage.json",
    "hub": "hub-coverage.json",
}
# What the documents and listings link to, by path under each publisher.
RESOURCES = {
    "north": {
        "territory-electric.geojson": "north-territory-electric.geojson",
        ".well-known/oauth-authorization-server": "north-oauth.json",
    },
    "south": {
        "territory-electric.geojson": "south-territory-electric.geojson",
        "territory-gas.png": "south-territory-gas.png",
    },
    "hub": {".well-known/oauth-authorization-server": "hub-oauth.json"},
}
MEDIA_TYPES = {".json": "application/json", ".geojson": "application/geo+json", ".png": "image/png"}


def publish(server: LoopbackServer, name: str, file: str) -> None:
    serve(server, f"/{name}{WELL_KNOWN}", file)
    if name in COVERAGE:
        serve(server, f"/{name}/cds-coverage.json", COVERAGE[name])
    for path, resource in RESOURCES.get(name, {}).items():
        serve(server, f"/{name}/{path}", resource)


def serve(server: LoopbackServer, path: str, file: str) -> None:
    body = (DEMO_DIR / file).read_bytes().replace(b"{base}", server.base_url.encode())
    headers = {"Content-Type": MEDIA_TYPES[Path(file).suffix]}
    server.route(path, Response(200, body, headers, etag=True))


def cds_crawler(env: dict[str, str], *args: str) -> None:
    print(f"\n$ cds-crawler {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "crawler", *args], env=env, check=True, timeout=120)


def main() -> None:
    if not DEMO_DIR.is_dir():
        sys.exit(f"demo: {DEMO_DIR} not found (run the demo from a source checkout)")
    server = LoopbackServer()
    stop = server.start_in_thread()
    try:
        with tempfile.TemporaryDirectory(prefix="cds-demo-") as workdir:
            run_demo(server, Path(workdir))
    finally:
        stop()


def run_demo(server: LoopbackServer, workdir: Path) -> None:
    for name, file in PUBLISHERS.items():
        if file:
            publish(server, name, file)
    seed_file = workdir / "demo-seeds.txt"
    seed_file.write_text("".join(f"{server.url('/' + n + WELL_KNOWN)}\n" for n in SEEDS))
    env = {
        **os.environ,
        "COLUMNS": os.environ.get("COLUMNS", str(shutil.get_terminal_size((140, 40)).columns)),
        "CDS_CRAWLER_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'demo.sqlite3'}",
        # The demo federation lives on 127.0.0.1 over plain HTTP, which the network guard
        # refuses by default; these two settings are for local testing only.
        "CDS_CRAWLER_ALLOW_HTTP": "true",
        "CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS": "true",
    }
    print(f"Serving the demo federation ({len(PUBLISHERS)} publishers) at {server.base_url}")
    print(f"Seeds: {', '.join(SEEDS)}; the others are found through related_metadata.")
    cds_crawler(env, "seeds", "import", str(seed_file), "--tag", "demo")
    cds_crawler(env, "crawl")
    print("\n# Northern Demo Electric publishes a new version; the others stay the same.")
    publish(server, "north", "north-v2.json")
    cds_crawler(env, "crawl")
    cds_crawler(env, "servers")
    cds_crawler(env, "events")
    cds_crawler(env, "history", server.url("/north" + WELL_KNOWN))
    cds_crawler(env, "show", server.url("/copied" + WELL_KNOWN))
    cds_crawler(env, "show", server.url("/south" + WELL_KNOWN))
    cds_crawler(env, "show", server.url("/hub" + WELL_KNOWN))
    print("\n# Who covers a point in the north, and one in the city the south serves?")
    cds_crawler(env, "coverage", "--at", "46.2,-122.1")
    cds_crawler(env, "coverage", "--at", "45.55,-122.6")


if __name__ == "__main__":
    main()

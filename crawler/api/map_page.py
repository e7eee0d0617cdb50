"""The coverage map page: `GET /` answers index.html, `/static/...` the files it loads.

The page is static: it reads the territories and point lookups from the API's own JSON
endpoints, in the browser. Its third-party scripts and country outlines are copied into
`static/vendor/` at build time (`make static`), so it loads nothing from outside this server.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIRECTORY = Path(__file__).parent / "static"


def mount_map_page(app: FastAPI) -> None:
    """Serve the map at `/` and its assets under `/static`. Neither asks for a token (a browser
    cannot send one for a page it opens); the page sends `?token=` to the API's endpoints."""
    app.mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static")

    @app.get("/", include_in_schema=False)
    async def map_page() -> FileResponse:
        return FileResponse(STATIC_DIRECTORY / "index.html", media_type="text/html")

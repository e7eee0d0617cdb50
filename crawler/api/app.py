"""The API's composition: routes under /v1, the map page at /, caching, errors, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException

from crawler import __version__
from crawler.api.caching import HttpCaching
from crawler.api.deps import ApiState, ReaderDep, require_token
from crawler.api.head import HeadAsGet
from crawler.api.map_page import mount_map_page
from crawler.api.params import BadRequest, no_control_characters
from crawler.api.responses import Json, error
from crawler.api.routes import coverage, events, exports, reports, servers
from crawler.settings import Settings
from storage.errors import StorageError
from storage.reader_pool import ReaderPool

DESCRIPTION = """Read-only answers from the snapshot database of cds-crawler: servers and their
versions, coverage by point or box (also as of a past date), the adoption report, change
events, exports, and a seed list other crawlers can follow.

Lists are paged: each answer holds `items` and `next`, the cursor of the next page (null on the
last). Errors are `{"error": CODE, "message": TEXT}` with a 4xx status."""


def create_app(settings: Settings, pool: ReaderPool | None = None) -> FastAPI:
    state = ApiState(settings, pool or ReaderPool(settings.database_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(state.pool.open)
        try:
            yield
        finally:
            state.pool.close()

    app = FastAPI(
        title="cds-crawler",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=Json,
        dependencies=[Depends(_plain_query)],
    )
    app.state.api = state
    _errors(app)
    for module in (servers, coverage, reports, events):
        app.include_router(module.router, prefix="/v1", dependencies=[Depends(require_token)])
    app.include_router(exports.router, prefix="/v1", dependencies=[Depends(require_token)])

    @app.get("/healthz", include_in_schema=False)
    def healthz(reader: ReaderDep) -> Json:
        reader.rows("SELECT 1 AS one")
        return Json({"status": "ok"})

    mount_map_page(app)
    app.add_middleware(HttpCaching, max_age=settings.api_cache_max_age)
    origins = [origin.strip() for origin in settings.api_cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET"],
            allow_headers=["Authorization"],
        )
    app.add_middleware(HeadAsGet)
    return app


def _plain_query(request: Request) -> None:
    no_control_characters(request.query_params.multi_items())


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Json:
        problems = [_problem(item) for item in exc.errors()]
        return error(400, "invalid_request", "; ".join(problems), problems=problems)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> Json:
        return error(400, "invalid_request", str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Json:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        answer = error(exc.status_code, code.get(exc.status_code, "error"), str(exc.detail))
        answer.headers.update(exc.headers or {})
        return answer

    @app.exception_handler(StorageError)
    async def unavailable(request: Request, exc: StorageError) -> Json:
        return error(503, "database_unavailable", str(exc))


def _problem(item: Mapping[str, Any]) -> str:
    """`lat: Input should be less than or equal to 90`, from one of pydantic's errors."""
    location = ".".join(str(part) for part in item.get("loc", ()) if part != "query")
    return f"{location}: {item.get('msg')}"

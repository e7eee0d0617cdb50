"""What routes ask FastAPI for: a reader from the pool, the settings, the bearer token check."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crawler.settings import Settings
from storage.reader import Reader
from storage.reader_pool import ReaderPool
from storage.territory_index import TerritoryIndex


@dataclass
class ApiState:
    settings: Settings
    pool: ReaderPool
    # The check for new territories scans them on Postgres: once a second is enough.
    index: TerritoryIndex = field(default_factory=lambda: TerritoryIndex(recheck_s=1.0))
    index_lock: threading.Lock = field(default_factory=threading.Lock)


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def reader(request: Request) -> Iterator[Reader]:
    with api_state(request).pool.borrow() as borrowed:
        yield borrowed


ReaderDep = Annotated[Reader, Depends(reader)]
StateDep = Annotated[ApiState, Depends(api_state)]

_bearer = HTTPBearer(auto_error=False, description="The operator's CDS_CRAWLER_API_TOKEN.")


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Nothing when no token is configured; otherwise the request must carry it."""
    expected = api_state(request).settings.api_token
    if expected is None:
        return
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            401,
            "a valid bearer token is required (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )

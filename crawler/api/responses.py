"""JSON answers rendered with orjson, and errors in one shape: `{"error", "message"}`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class Json(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def error(status: int, code: str, message: str, **extra: Any) -> Json:
    return Json({"error": code, "message": message, **extra}, status_code=status)


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    """A page of a list: its items and the cursor of the next page (null on the last)."""
    return {"items": items, "next": next_cursor}

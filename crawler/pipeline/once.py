"""Fetch each resource once per pass, however many documents link to it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class OncePerPass(Generic[T]):
    """Shares the result of one fetch among everyone in the pass who asks for the same key.

    `keep` decides whether a finished result is remembered for later callers; a result it
    rejects (a large territory, say) is shared only with callers that asked while it was in
    flight, so the pass does not hold every large resource until it ends.
    """

    def __init__(self, keep: Callable[[T], bool] = lambda _: True) -> None:
        self._results: dict[Hashable, asyncio.Task[T]] = {}
        self._keep = keep

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        task = self._results.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._results[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        return await asyncio.shield(task)

    def _settle(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if task.cancelled() or task.exception() is not None or not self._keep(task.result()):
            self._results.pop(key, None)

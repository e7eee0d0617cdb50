"""Fetch each resource once per pass, however many documents link to it."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class OncePerPass(Generic[T]):
    """Shares the result of one fetch among everyone in the pass who asks for the same key.

    `keep` decides whether a finished result is remembered for later callers; a result it
    rejects (a large territory, say) is shared only with callers that asked while it was in
    flight. At most `max_kept` finished results are remembered, the most recent ones: the
    pass's memory does not grow with the number of resources it reads.
    """

    def __init__(self, keep: Callable[[T], bool] = lambda _: True, max_kept: int = 4096) -> None:
        self._results: dict[Hashable, asyncio.Task[T]] = {}
        self._kept: OrderedDict[Hashable, None] = OrderedDict()
        self._keep = keep
        self._max_kept = max_kept

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
            return
        self._kept[key] = None
        if len(self._kept) > self._max_kept:
            oldest, _ = self._kept.popitem(last=False)
            self._results.pop(oldest, None)

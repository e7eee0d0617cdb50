"""Readers for a threaded server: every request borrows one, at most `size` are open."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from storage.errors import StorageError
from storage.reader import Reader, connect, ensure_current_schema


class ReaderPool:
    """Connections kept open between requests, so a request costs no connection set-up.

    A reader whose query failed is closed rather than returned: its connection may be broken.
    """

    def __init__(self, url: str, size: int = 8) -> None:
        self._url = url
        self._idle: queue.LifoQueue[Reader] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._opened = False

    def open(self) -> None:
        """Create or upgrade the schema when it is missing or behind (raises StorageError)."""
        if self._opened:
            return
        reader = connect(self._url)
        try:
            ensure_current_schema(reader, self._url)
        except reader.errors as exc:
            reader.close()
            raise StorageError(f"database query failed: {exc}") from exc
        self._idle.put(reader)
        self._opened = True

    @contextmanager
    def borrow(self) -> Iterator[Reader]:
        """A reader for one request; raises StorageError when the database fails."""
        with self._slots:
            try:
                reader = self._idle.get_nowait()
            except queue.Empty:
                reader = connect(self._url)
            try:
                yield reader
            except reader.errors as exc:
                reader.close()
                raise StorageError(f"database query failed: {exc}") from exc
            except BaseException:
                self._idle.put(reader)
                raise
            self._idle.put(reader)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

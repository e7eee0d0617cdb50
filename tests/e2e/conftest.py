from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler.testing import LoopbackServer
from tests.federation import running_server


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with running_server() as running:
        yield running

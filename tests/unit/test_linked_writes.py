"""Which polls' linked resources a batch writes: none where nothing was stored or read."""

from __future__ import annotations

from crawler.pipeline.linked import Linked
from storage.repositories.history import StoredResource

STORED = StoredResource(1, "https://utility.example.com/t.geojson", "ab" * 32, None, None, ())


def linked(**members: object) -> Linked:
    fields: dict[str, object] = {
        "stored_territories": {},
        "territories": (),
        "listing_complete": False,
        "listed": frozenset(),
        "map_findings": (),
        "stored_oauth": None,
        "oauth": None,
        **members,
    }
    return Linked(**fields)  # type: ignore[arg-type]


def test_a_poll_with_nothing_stored_and_nothing_read_writes_nothing() -> None:
    assert linked().writes_nothing
    assert linked(listing_complete=True, listed=frozenset({"e1"})).writes_nothing


def test_anything_stored_is_written_even_when_nothing_was_read() -> None:
    # A territory or OAuth document stored before and no longer linked must be closed.
    assert not linked(stored_territories={"e1": STORED}).writes_nothing
    assert not linked(stored_oauth=STORED).writes_nothing

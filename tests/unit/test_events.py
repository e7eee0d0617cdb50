"""Event ids: the same change always gets the same id, different changes never share one."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.domain import events

AT = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2026, 1, 2, tzinfo=UTC)
URL = "https://u.example/.well-known/carbon-data-spec.json"


def test_the_same_change_has_the_same_id_whenever_it_is_observed() -> None:
    first = events.server_changed(URL, 2, {"name": "a"}, {"name": "b"}, AT)
    again = events.server_changed(URL, 2, {"name": "a"}, {"name": "b"}, LATER)
    assert first.event_id == again.event_id


def test_different_changes_have_different_ids() -> None:
    made = [
        events.server_discovered(URL, 1, {}, AT),
        events.server_changed(URL, 2, {}, {"name": "b"}, AT),
        events.server_changed(URL, 3, {}, {"name": "c"}, AT),
        events.server_changed(URL.replace("u.", "v."), 2, {}, {}, AT),
        events.server_moved(URL, "https://w.example/x", AT),
        events.server_moved(URL, "https://w.example/x", LATER),  # moved again, later
        events.entry_added(URL, "e1", 1, {}, AT),
        events.entry_added(URL, "e2", 1, {}, AT),
        events.entry_changed(URL, "e1", 2, {}, {}, AT),
        events.entry_removed(URL, "e1", 2, AT),
    ]
    assert len({event.event_id for event in made}) == len(made)


def test_a_cloudevent_carries_the_required_attributes() -> None:
    event = events.entry_removed(URL, "e1", 2, AT)
    shaped = events.cloudevent(7, event.event_id, event.type, event.subject, AT, event.data)
    assert shaped == {
        "specversion": "1.0",
        "id": event.event_id,
        "source": events.SOURCE,
        "type": "cds.coverage.entry.removed",
        "subject": f"{URL}#e1",
        "time": "2026-01-01T00:00:00+00:00",
        "datacontenttype": "application/json",
        "sequence": 7,
        "data": {"url": URL, "entry_id": "e1", "last_version": 2},
    }

"""Inbox cursors and list pagination: nothing addressed to an institution is ever skipped."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from gateway.domain.events import Side
from imr_alomrane_gateway_client.vocabulary import InboxEventKind
from gateway.services.inbox import Notice, deliver, list_events
from gateway.storage.engine import Database
from tests.factories import case_payload, message


def test_inbox_pages_follow_the_cursor_and_link(imr, omrane):
    ids = [imr.post("/v1/cases", json=case_payload()).json()["id"] for _ in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        response = omrane.get("/v1/inbox", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        body = response.json()
        pages += 1
        seen += body["items"]
        if "next_cursor" not in body:  # caught up: no cursor and no link
            assert "link" not in response.headers
            break
        cursor = body["next_cursor"]
        assert response.headers["link"].endswith('>; rel="next"') and f"cursor={cursor}" in response.headers["link"]
    assert [e["case_id"] for e in seen] == ids and pages == 3
    assert [e["seq"] for e in seen] == list(range(1, 6))
    # Resuming after the last seq seen returns nothing new, then exactly what arrived since.
    last = str(seen[-1]["seq"])
    assert omrane.get("/v1/inbox", params={"cursor": last}).json() == {"items": []}
    new = imr.post("/v1/cases", json=case_payload()).json()["id"]
    assert [e["case_id"] for e in omrane.get("/v1/inbox", params={"cursor": last}).json()["items"]] == [new]


def test_acknowledging_is_idempotent_and_private(ledger_size, imr, omrane):
    imr.post("/v1/cases", json=case_payload())
    event = omrane.get("/v1/inbox").json()["items"][0]
    first = omrane.post(f"/v1/inbox/{event['id']}/ack")
    entries = ledger_size()
    again = omrane.post(f"/v1/inbox/{event['id']}/ack")
    assert again.content == first.content and first.json()["delivered_at"] is not None
    # The same answer, with the first receipt; nothing appended, no second delivery receipt.
    assert again.headers["receipt"] == first.headers["receipt"]
    assert again.headers["receipt-location"] == first.headers["receipt-location"]
    assert ledger_size() == entries
    case_resource = f"/v1/cases/{event['case_id']}"
    delivery = [r for r in imr.get("/v1/receipts", params={"resource": case_resource}).json() if r["kind"] == "delivery"]
    assert len(delivery) == 1
    assert imr.post(f"/v1/inbox/{event['id']}/ack").status_code == 404



def test_events_become_visible_in_seq_order_even_when_writers_race(imr, settings):
    """A writer that took seq n holds it until commit: a later writer cannot commit n+1 first,
    so a reader resuming after what it saw never skips an event that commits late."""
    case = imr.post("/v1/cases", json=case_payload()).json()  # its case_opened event is seq 1
    database = Database(settings.database_url)
    second_done = threading.Event()

    notice = Notice(Side("al-omrane", "al-omrane"), InboxEventKind.MESSAGE_RECEIVED, case["id"], None, "open")

    def second_writer():
        with database.session(write=True) as session:
            deliver(session, [notice])
            session.commit()
        second_done.set()

    with database.session(write=True) as first:
        deliver(first, [notice])
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.5)
        assert not second_done.is_set(), "the second writer committed while the first still held its seq"
        with database.session(write=False) as reader:
            assert [e.seq for e in list_events(reader, Side("al-omrane", "al-omrane"), 0, 10)] == [1]  # seq 2 is not visible yet
        first.commit()
    thread.join(10)
    with database.session(write=False) as reader:
        assert [e.seq for e in list_events(reader, Side("al-omrane", "al-omrane"), 0, 10)] == [1, 2, 3]
    database.dispose()


def test_case_lists_paginate_and_filter(imr, omrane, client_for, engine_sql):
    ids = [imr.post("/v1/cases", json=case_payload()).json()["id"] for _ in range(5)]
    other = imr.post("/v1/cases", json=case_payload(respondent_id="ac-casa")).json()["id"]
    seen, cursor = [], None
    while True:
        response = imr.get("/v1/cases", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [c["id"] for c in response.json()["items"]]
        cursor = response.json().get("next_cursor")
        if cursor is None:
            assert "link" not in response.headers
            break
        assert "cursor=" in response.headers["link"]
    assert seen == ids + [other]
    assert "complainant" not in response.json()["items"][0]  # lists carry no personal data

    assert [c["id"] for c in imr.get("/v1/cases", params={"counterpart": "ac-casa"}).json()["items"]] == [other]
    assert len(omrane.get("/v1/cases").json()["items"]) == 5
    omrane.post(f"/v1/cases/{ids[0]}/messages", json=message("acknowledgement"))
    assert [c["id"] for c in imr.get("/v1/cases", params={"status": "acknowledged"}).json()["items"]] == [ids[0]]

    past = datetime.now(UTC) - timedelta(days=1)
    engine_sql("UPDATE cases SET deadline = :past WHERE id = :id", past=past, id=ids[1])
    overdue = imr.get("/v1/cases", params={"overdue": "true"}).json()["items"]
    assert [c["id"] for c in overdue] == [ids[1]] and overdue[0]["times"]["overdue"] is True
    assert ids[1] not in [c["id"] for c in imr.get("/v1/cases", params={"overdue": "false"}).json()["items"]]

    marker = datetime.now(UTC)
    time.sleep(0.01)
    omrane.post(f"/v1/cases/{ids[2]}/messages", json=message("acknowledgement"))
    recent = imr.get("/v1/cases", params={"updated_since": marker.isoformat()}).json()["items"]
    assert [c["id"] for c in recent] == [ids[2]]

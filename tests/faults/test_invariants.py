"""The invariants hold after an ordinary case life, and after an event is acknowledged twice
(acknowledging is idempotent: the second one must not be a second ledger entry)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gateway import samples
from gateway.runtime import Runtime
from gateway import jobs
from imr_alomrane_gateway_client.contract.documents import attachment_header
from tests.factories import SHORT_LIFE, case_payload, message
from tests.faults.invariants import InvariantBroken, assert_invariants, check


def live_a_short_case(imr, omrane) -> str:
    """Open, correspond through the whole SHORT_LIFE, attach a document, erase: every ledger kind."""
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    by_name = {"imr": imr, "al-omrane": omrane}
    for sender, kind, extra in SHORT_LIFE[:3]:
        assert by_name[sender].post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra)).status_code == 201
    attached = omrane.post(f"/v1/cases/{case_id}/documents", content=samples.png(8, 8),
                           headers={"Content-Disposition": attachment_header("photo.png")})
    assert attached.status_code == 201, attached.text
    for sender, kind, extra in SHORT_LIFE[3:]:
        assert by_name[sender].post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra)).status_code == 201
    assert imr.delete(f"/v1/cases/{case_id}/personal-data").status_code == 200
    return case_id


def ack_everything(client) -> list[str]:
    events = client.get("/v1/inbox", params={"limit": 500}).json()["items"]
    for event in events:
        assert client.post(f"/v1/inbox/{event['id']}/ack").status_code == 200
    return [event["id"] for event in events]


def remind_a_missed_deadline(imr, settings) -> None:
    """A case left unanswered past its deadline: the gateway reminds it (a ledger entry of its own)."""
    deadline = datetime.fromisoformat(imr.post("/v1/cases", json=case_payload()).json()["times"]["deadline"])
    runtime = Runtime(settings)
    try:
        assert jobs.send_reminders(runtime, now=deadline + timedelta(seconds=1)) == 1
    finally:
        runtime.close()


def test_a_short_case_life_keeps_the_invariants(imr, omrane, database_url, settings):
    live_a_short_case(imr, omrane)
    remind_a_missed_deadline(imr, settings)
    ack_everything(omrane)
    ack_everything(imr)
    counted = assert_invariants(database_url)
    assert counted.ledger_size == counted.expected_size > 0
    assert all(counted.expected_by_kind[kind] > 0 for kind in counted.expected_by_kind)  # every kind was exercised


def test_acknowledging_an_event_twice_keeps_the_invariants(imr, omrane, database_url):
    imr.post("/v1/cases", json=case_payload())
    acked = ack_everything(omrane)
    assert omrane.post(f"/v1/inbox/{acked[0]}/ack").status_code == 200  # a second delivery report, fresh key
    assert_invariants(database_url)


def test_the_invariants_catch_a_broken_ledger(imr, omrane, engine_sql, database_url):
    """The checker itself: an inbox event marked delivered behind the API's back has no entry."""
    imr.post("/v1/cases", json=case_payload())
    engine_sql("UPDATE inbox_events SET delivered_at = created_at")
    _, problems = check(database_url)
    assert problems == ["ledger has 0 delivery_acknowledged entries, the database records 1 such events"]
    with pytest.raises(InvariantBroken, match="delivery_acknowledged"):
        assert_invariants(database_url)

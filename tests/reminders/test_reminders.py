"""Reminders of missed deadlines: to the unit responsible, then to its head office, once each;
never for a case answered meanwhile; and an answer that came late says how late."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.cli import main
from imr_alomrane_gateway_client.ledger.entry import timestamp
from gateway.runtime import Runtime
from gateway import jobs
from tests.conftest import institution_client
from tests.factories import case_payload, message
from tests.thematic.arrange import committed, open_file, send
from tests.units.test_units_and_routing import CASA

CASABLANCA = {"name": "Résidence Al Wifaq", "city": "Berrechid", "region": "casablanca-settat"}
SECOND = timedelta(seconds=1)


@pytest.fixture
def runtime(app, settings):
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def case(imr) -> dict:
    return imr.post("/v1/cases", json=case_payload(project=CASABLANCA)).json()


def _deadline(case: dict) -> datetime:
    return datetime.fromisoformat(case["times"]["deadline"])


def _reminders(client, case_id: str) -> list[dict]:
    return [e for e in client.get("/v1/inbox", params={"limit": 1000}).json()["items"] if e["case_id"] == case_id and e["kind"] == "reminder"]


def _reminder_entries(client, case_id: str) -> list[dict]:
    found = client.get("/v1/ledger/search", params={"case": case_id, "kind": "reminder_sent"}).json()["items"]
    return [item["entry"] for item in found]


def test_a_missed_deadline_is_reminded_to_its_unit_then_to_its_head_office_once_each(runtime, settings, client_for, case):
    deadline = _deadline(case)
    assert jobs.send_reminders(runtime, now=deadline - SECOND) == 0
    assert jobs.send_reminders(runtime, now=deadline + SECOND) == 1
    assert jobs.send_reminders(runtime, now=deadline + SECOND) == 0  # exactly once per deadline and step
    assert [e["status"] for e in _reminders(client_for(CASA), case["id"])] == ["open"]
    assert _reminders(client_for("al-omrane"), case["id"]) == []  # not yet its head office
    escalation = deadline + timedelta(days=settings.escalation_days)
    assert jobs.send_reminders(runtime, now=escalation - SECOND) == 0
    assert jobs.send_reminders(runtime, now=escalation + SECOND) == 1
    assert jobs.send_reminders(runtime, now=escalation + timedelta(days=30)) == 0
    assert len(_reminders(client_for("al-omrane"), case["id"])) == 1 and len(_reminders(client_for(CASA), case["id"])) == 1
    entries = _reminder_entries(client_for("auditor"), case["id"])
    assert [(e["detail"], e["recipient_unit"]) for e in entries] == [("due", CASA), ("escalated", "al-omrane")]
    assert {(e["sender"], e["sender_unit"], e["recipient"], e["due"], e["region"], e["resource"]) for e in entries} == {
        (settings.gateway_id, settings.gateway_id, "al-omrane", timestamp(deadline), "casablanca-settat", f"/v1/cases/{case['id']}"),
    }
    assert _reminder_entries(client_for(CASA), case["id"]) == entries[:1]  # a unit reads the entries addressed to it


@pytest.mark.parametrize(("steps", "reminded"), [
    ([], True),
    ([(CASA, message("acknowledgement"))], True),
    ([(CASA, message("acknowledgement")), (CASA, message("information_request"))], True),  # still owes its reply
    ([(CASA, message("acknowledgement")), (CASA, message("final_reply", outcome="favourable"))], False),
    ([("imr", message("closure", outcome="not_competent"))], False),
])
def test_only_a_case_still_waiting_for_its_reply_is_reminded(runtime, client_for, case, steps, reminded):
    for sender, sent in steps:
        assert client_for(sender).post(f"/v1/cases/{case['id']}/messages", json=sent).status_code == 201
    assert jobs.send_reminders(runtime, now=_deadline(case) + SECOND) == int(reminded)


def test_a_follow_up_deadline_is_reminded_afresh(runtime, client_for, case):
    holder, imr = client_for(CASA), client_for("imr")
    holder.post(f"/v1/cases/{case['id']}/messages", json=message("acknowledgement"))
    assert jobs.send_reminders(runtime, now=_deadline(case) + SECOND) == 1
    holder.post(f"/v1/cases/{case['id']}/messages", json=message("final_reply", outcome="unfavourable"))
    new_deadline = _deadline(case) + timedelta(days=60)
    imr.post(f"/v1/cases/{case['id']}/messages", json=message("follow_up", new_deadline=new_deadline.isoformat()))
    assert jobs.send_reminders(runtime, now=new_deadline - SECOND) == 0
    assert jobs.send_reminders(runtime, now=new_deadline + SECOND) == 1
    assert [e["due"] for e in _reminder_entries(client_for("auditor"), case["id"])] == [timestamp(_deadline(case)), timestamp(new_deadline)]


def test_a_case_answered_after_it_was_found_due_is_not_reminded(runtime, client_for, case):
    now = _deadline(case) + SECOND
    found = jobs.due_reminders(runtime, now)
    assert [due.about for due in found] == [case["id"]]
    holder = client_for(CASA)
    holder.post(f"/v1/cases/{case['id']}/messages", json=message("acknowledgement"))
    holder.post(f"/v1/cases/{case['id']}/messages", json=message("final_reply", outcome="favourable"))
    assert jobs.send_reminder(runtime, found[0], now) is False
    assert _reminder_entries(client_for("auditor"), case["id"]) == []


def test_an_answer_after_its_deadline_records_how_late_it_came(client_for, case, engine_sql):
    holder = client_for(CASA)
    holder.post(f"/v1/cases/{case['id']}/messages", json=message("acknowledgement"))
    on_time = client_for("imr").post("/v1/cases", json=case_payload(project=CASABLANCA)).json()
    engine_sql("UPDATE cases SET deadline = :past WHERE id = :id", past=datetime.now(_deadline(case).tzinfo) - timedelta(hours=2),
               id=case["id"])
    late = holder.post(f"/v1/cases/{case['id']}/messages", json=message("final_reply", outcome="favourable")).json()
    assert 7200 < late["late_seconds"] < 7200 + 60
    holder.post(f"/v1/cases/{on_time['id']}/messages", json=message("acknowledgement"))
    assert holder.post(f"/v1/cases/{on_time['id']}/messages", json=message("final_reply", outcome="favourable")).json()["late_seconds"] is None


def test_gateway_reminders_run_sends_what_is_due(cli_env, client_for, case, engine_sql, capsys):
    engine_sql("UPDATE cases SET deadline = :past WHERE id = :id", past=_deadline(case) - timedelta(days=31), id=case["id"])
    assert main(["reminders", "run"]) == 0 and capsys.readouterr().out == "sent 1 reminder(s)\n"
    assert main(["reminders", "run"]) == 0 and capsys.readouterr().out == "sent 0 reminder(s)\n"
    assert len(_reminders(client_for(CASA), case["id"])) == 1


def test_each_gateway_process_sends_reminders_in_the_background(settings, test_pki, engine_sql):
    application = create_app(settings.model_copy(update={"reminder_interval_seconds": 0.05}))
    with TestClient(application):
        imr, holder = institution_client(application, test_pki, "imr"), institution_client(application, test_pki, CASA)
        case = imr.post("/v1/cases", json=case_payload(project=CASABLANCA)).json()
        engine_sql("UPDATE cases SET deadline = :past WHERE id = :id", past=_deadline(case) - timedelta(days=31), id=case["id"])
        give_up = time.monotonic() + 10
        while not _reminders(holder, case["id"]) and time.monotonic() < give_up:
            time.sleep(0.05)
        assert len(_reminders(holder, case["id"])) == 1


def test_a_missed_commitment_is_reminded_until_a_progress_report_fulfils_it(runtime, settings, client_for):
    imr, holder = client_for("imr"), client_for(CASA)
    file = open_file(imr)
    due = datetime.now(UTC) + timedelta(days=60)
    commitment = committed(imr, holder, file["id"], due.isoformat())
    missed = due + SECOND
    assert jobs.send_reminders(runtime, now=due - SECOND) == 0
    assert jobs.send_reminders(runtime, now=missed) == 1 and jobs.send_reminders(runtime, now=missed) == 0
    events = [e for e in holder.get("/v1/inbox").json()["items"] if e["kind"] == "reminder"]
    assert [(e["thematic_file_id"], e["thematic_message_id"]) for e in events] == [(file["id"], commitment)]
    entry = _reminder_entries(client_for("auditor"), file["id"])[0]
    resource = f"/v1/thematic-files/{file['id']}/messages/{commitment}"
    assert (entry["resource"], entry["due"], entry["recipient_unit"], entry["detail"]) == (resource, timestamp(due), CASA, "due")
    assert send(holder, file["id"], "progress_report", commitment_id=commitment, fulfils=True).status_code == 201
    assert jobs.send_reminders(runtime, now=due + timedelta(days=settings.escalation_days, seconds=1)) == 0  # fulfilled: no escalation


def test_an_open_commitment_is_escalated_to_the_head_office_and_a_closed_file_is_not_reminded(runtime, settings, client_for):
    imr, holder = client_for("imr"), client_for(CASA)
    due = datetime.now(UTC) + timedelta(days=60)
    kept_open, closed = open_file(imr), open_file(imr)
    for file in (kept_open, closed):
        committed(imr, holder, file["id"], due.isoformat())
    assert send(imr, closed["id"], "closure").status_code == 201
    assert jobs.send_reminders(runtime, now=due + timedelta(days=settings.escalation_days, seconds=1)) == 2  # due, then escalated
    assert [e["detail"] for e in _reminder_entries(client_for("auditor"), kept_open["id"])] == ["due", "escalated"]
    assert _reminder_entries(client_for("auditor"), closed["id"]) == []
    assert [e["thematic_file_id"] for e in client_for("al-omrane").get("/v1/inbox").json()["items"] if e["kind"] == "reminder"] == [
        kept_open["id"]]


def test_a_commitment_fulfilled_after_its_due_date_records_how_late(client_for, engine_sql):
    imr, holder = client_for("imr"), client_for(CASA)
    file = open_file(imr)
    commitment = committed(imr, holder, file["id"])
    engine_sql("UPDATE thematic_messages SET due_date = :past WHERE id = :id", past=datetime.now(UTC) - timedelta(hours=1),
               id=commitment)
    partial = send(holder, file["id"], "progress_report", commitment_id=commitment, fulfils=False).json()
    fulfilled = send(holder, file["id"], "progress_report", commitment_id=commitment, fulfils=True).json()
    assert partial["late_seconds"] is None and 3600 < fulfilled["late_seconds"] < 3600 + 60

"""A thematic file's life through the API, its refusals, and what a commitment and a progress
report must carry."""

from __future__ import annotations

import pytest

from tests.thematic.arrange import committed, later, open_file, send, thematic_message

CASA = "al-omrane-casablanca-settat"


def test_a_file_goes_from_deliberation_to_recommendation_commitment_progress_and_closure(imr, client_for):
    holder = client_for(CASA)
    file = open_file(imr)
    assert (file["status"], file["allowed_kinds"]) == ("open", ["position", "proposal", "meeting_minutes", "recommendation", "closure"])
    steps = [
        (holder, "position", {}, "in_deliberation"),
        (imr, "proposal", {}, "in_deliberation"),
        (holder, "meeting_minutes", {}, "in_deliberation"),
        (imr, "recommendation", {}, "recommended"),
        (holder, "commitment", {"due_date": later()}, "committed"),
        (holder, "commitment", {"due_date": later(180)}, "committed"),
    ]
    for client, kind, extra, expected in steps:
        response = send(client, file["id"], kind, **extra)
        assert response.status_code == 201, (kind, response.text)
        assert (response.json()["status_after"], response.headers["location"].rsplit("/", 1)[1]) == (expected, response.json()["id"])
    first = holder.get(f"/v1/thematic-files/{file['id']}").json()["commitments"][0]["id"]
    report = send(holder, file["id"], "progress_report", commitment_id=first, fulfils=False)
    assert report.status_code == 201 and report.json()["status_after"] == "committed"
    assert send(holder, file["id"], "progress_report", commitment_id=first, fulfils=True).status_code == 201
    assert send(imr, file["id"], "closure").json()["status_after"] == "closed"

    detail = imr.get(f"/v1/thematic-files/{file['id']}").json()
    assert [m["kind"] for m in detail["messages"]] == [s[1] for s in steps] + ["progress_report", "progress_report", "closure"]
    assert [m["position"] for m in detail["messages"]] == list(range(1, 10))
    assert detail["messages"][0]["body"] == thematic_message("position")["body"]
    assert detail["status"] == "closed" and detail["allowed_kinds"] == []
    one = imr.get(f"/v1/thematic-files/{file['id']}/messages/{first}").json()
    assert one["kind"] == "commitment" and one["due_date"] is not None


@pytest.mark.parametrize(("sender", "kind", "extra", "allowed"), [
    ("imr", "commitment", {"due_date": later()}, ["position", "proposal", "meeting_minutes", "recommendation", "closure"]),
    (CASA, "recommendation", {}, ["position", "proposal", "meeting_minutes"]),
    (CASA, "closure", {}, ["position", "proposal", "meeting_minutes"]),
    (CASA, "commitment", {"due_date": later()}, ["position", "proposal", "meeting_minutes"]),
])
def test_a_kind_the_table_forbids_is_refused_with_what_is_allowed(imr, client_for, sender, kind, extra, allowed):
    file = open_file(imr)
    refused = send(client_for(sender), file["id"], kind, **extra)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/transition-refused"), refused.text
    assert refused.json()["allowed_kinds"] == allowed and refused.json()["case_status"] == "open"


def test_nothing_is_sent_on_a_closed_file_and_progress_reports_only_once_committed(imr, omrane):
    file = open_file(imr)
    assert send(imr, file["id"], "recommendation").status_code == 201
    early = send(omrane, file["id"], "progress_report", commitment_id="00000000-0000-4000-8000-000000000000", fulfils=False)
    assert early.status_code == 409 and early.json()["allowed_kinds"] == ["meeting_minutes", "commitment"]
    assert send(imr, file["id"], "closure").status_code == 201
    closed = send(omrane, file["id"], "meeting_minutes")
    assert closed.status_code == 409 and closed.json()["allowed_kinds"] == []


@pytest.mark.parametrize(("kind", "extra", "pointer"), [
    ("commitment", {}, "/due_date"),
    ("position", {"due_date": "2030-01-01T00:00:00Z"}, "/due_date"),
    ("progress_report", {"fulfils": True}, "/commitment_id"),
    ("progress_report", {"commitment_id": "00000000-0000-4000-8000-000000000000"}, "/fulfils"),
    ("meeting_minutes", {"fulfils": False}, "/fulfils"),
])
def test_a_commitment_needs_a_due_date_and_a_progress_report_its_commitment_and_fulfilment(imr, kind, extra, pointer):
    file = open_file(imr)
    refused = send(imr, file["id"], kind, **extra)
    assert refused.status_code == 422 and pointer in {error["pointer"].removeprefix("#") for error in refused.json()["errors"]}, refused.text


def test_a_due_date_in_the_past_is_refused(imr, omrane):
    file = open_file(imr)
    assert send(imr, file["id"], "recommendation").status_code == 201
    refused = send(omrane, file["id"], "commitment", due_date="2020-01-01T00:00:00Z")
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "deadline_in_past"


def test_a_progress_report_is_on_a_commitment_of_this_file_not_yet_fulfilled(imr, omrane):
    file, other = open_file(imr), open_file(imr)
    commitment = committed(imr, omrane, file["id"])
    committed(imr, omrane, other["id"])
    foreign = send(omrane, other["id"], "progress_report", commitment_id=commitment, fulfils=True)
    assert foreign.status_code == 422 and foreign.json()["type"].endswith("/unknown-commitment")
    not_a_commitment = imr.get(f"/v1/thematic-files/{file['id']}").json()["messages"][0]["id"]  # the recommendation
    refused = send(omrane, file["id"], "progress_report", commitment_id=not_a_commitment, fulfils=True)
    assert refused.status_code == 422 and refused.json()["type"].endswith("/unknown-commitment")
    fulfilling = send(omrane, file["id"], "progress_report", commitment_id=commitment, fulfils=True).json()["id"]
    again = send(omrane, file["id"], "progress_report", commitment_id=commitment, fulfils=False)
    assert again.status_code == 409 and again.json()["type"].endswith("/commitment-fulfilled")
    assert again.json()["fulfilled_by"] == fulfilling

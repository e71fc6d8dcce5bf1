"""A case file's life, end to end through the API, and every refusal the lifecycle table implies."""

from __future__ import annotations

import itertools
import json

import pytest

from gateway.domain import lifecycle
from imr_alomrane_gateway_client.vocabulary import CaseStatus, MessageKind, Role
from tests.factories import case_payload, message

FUTURE = "2030-01-31T12:00:00+00:00"


def open_case(imr, **overrides) -> dict:
    response = imr.post("/v1/cases", json=case_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def send(client, case_id: str, kind: str, **extra):
    return client.post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra))


def test_full_lifecycle_between_imr_and_al_omrane(imr, omrane):
    created = imr.post("/v1/cases", json=case_payload())
    assert created.status_code == 201
    case = created.json()
    assert created.headers["location"] == f"/v1/cases/{case['id']}"
    assert case["status"] == "open" and case["allowed_kinds"] == ["closure", "note"]

    inbox = omrane.get("/v1/inbox").json()
    assert [(e["kind"], e["case_id"]) for e in inbox["items"]] == [("case_opened", case["id"])]
    assert omrane.post(f"/v1/inbox/{inbox['items'][0]['id']}/ack").json()["delivered_at"] is not None

    steps = [
        (omrane, "acknowledgement", {}, "acknowledged"),
        (omrane, "information_request", {}, "awaiting_information"),
        (omrane, "interim_reply", {}, "awaiting_information"),
        (imr, "information_response", {}, "acknowledged"),
        (omrane, "final_reply", {"outcome": "favourable"}, "answered"),
        (imr, "follow_up", {"new_deadline": FUTURE}, "acknowledged"),
        (omrane, "final_reply", {"outcome": "partially_favourable"}, "answered"),
        (imr, "note", {}, "answered"),
        (imr, "closure", {"outcome": "partially_favourable"}, "closed"),
    ]
    for client, kind, extra, expected in steps:
        response = send(client, case["id"], kind, **extra)
        assert response.status_code == 201, (kind, response.text)
        assert response.json()["status_after"] == expected

    detail = imr.get(f"/v1/cases/{case['id']}").json()
    assert detail["status"] == "closed" and detail["outcome"] == "partially_favourable"
    assert [m["kind"] for m in detail["messages"]] == [step[1] for step in steps]
    assert [m["position"] for m in detail["messages"]] == list(range(1, len(steps) + 1))
    times = detail["times"]
    assert times["opened_at"] <= times["acknowledged_at"] <= times["answered_at"] <= times["closed_at"]
    assert times["deadline"].startswith("2030-01-31T12:00:00") and times["overdue"] is False
    assert detail["allowed_kinds"] == []

    kinds = [e["kind"] for e in imr.get("/v1/inbox?limit=100").json()["items"]]
    assert kinds.count("message_received") == 5  # every message al-omrane sent reached IMR


def test_arabic_and_french_text_round_trips_byte_for_byte(imr):
    tricky = "إشعار: «Délai» dépassé — ‏٣٠ يوماً‎ ; ligne 1\nligne 2\t\u00a0espace insécable, e\u0301 composé"
    case = open_case(imr, title=tricky, summary=tricky)
    fetched = imr.get(f"/v1/cases/{case['id']}")
    assert fetched.json()["title"] == tricky and fetched.json()["summary"] == tricky
    assert json.dumps(tricky, ensure_ascii=False)[1:-1].encode("utf-8") in fetched.content  # raw UTF-8, not \\u escapes
    assert fetched.json()["complainant"]["full_name"] == case_payload()["complainant"]["full_name"]


STATES_REACHED_BY = {
    CaseStatus.OPEN: [],
    CaseStatus.ACKNOWLEDGED: [("al-omrane", "acknowledgement", {})],
    CaseStatus.AWAITING_INFORMATION: [("al-omrane", "acknowledgement", {}), ("al-omrane", "information_request", {})],
    CaseStatus.ANSWERED: [("al-omrane", "acknowledgement", {}), ("al-omrane", "final_reply", {"outcome": "unfavourable"})],
    CaseStatus.CLOSED: [("imr", "closure", {"outcome": "not_competent"})],
}
EXTRA = {MessageKind.FINAL_REPLY: {"outcome": "favourable"}, MessageKind.CLOSURE: {"outcome": "favourable"},
         MessageKind.FOLLOW_UP: {"new_deadline": FUTURE}}
PARTY = {Role.MEDIATOR: "imr", Role.RESPONDENT: "al-omrane"}


@pytest.mark.parametrize("status", list(CaseStatus))
def test_every_kind_role_and_state_follows_the_table(client_for, status):
    """All 5 states × 2 roles × 8 kinds: accepted exactly where the domain table allows, else 409."""
    clients = {name: client_for(name) for name in ("imr", "al-omrane")}
    for role, kind in itertools.product(PARTY, MessageKind):
        case = open_case(clients["imr"])
        for name, step_kind, extra in STATES_REACHED_BY[status]:
            assert send(clients[name], case["id"], step_kind, **extra).status_code == 201
        response = send(clients[PARTY[role]], case["id"], kind.value, **EXTRA.get(kind, {}))
        allowed = lifecycle.allowed_kinds(role, status)
        if kind in allowed:
            assert response.status_code == 201, (role, kind, status, response.text)
        else:
            assert response.status_code == 409, (role, kind, status, response.text)
            problem = response.json()
            assert problem["type"] == "/problems/transition-refused"
            assert problem["allowed_kinds"] == [k.value for k in allowed]
            assert problem["status"] == 409 and response.headers["content-type"] == "application/problem+json"


def test_only_the_mediator_opens_cases(omrane, client_for):
    for client in (omrane, client_for("auditor")):
        response = client.post("/v1/cases", json=case_payload())
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/role-forbidden"


def test_auditors_never_read_case_content(imr, client_for):
    case = open_case(imr)
    auditor = client_for("auditor")
    for path in ("/v1/cases", f"/v1/cases/{case['id']}", "/v1/inbox"):
        assert auditor.get(path).status_code == 403
    assert send(auditor, case["id"], "note").status_code == 403
    assert auditor.get("/v1/me").json()["role"] == "auditor"


def test_a_third_institution_cannot_see_the_case(imr, client_for):
    case = open_case(imr)
    other = client_for("ac-casa")
    missing = other.get("/v1/cases/00000000-0000-0000-0000-000000000000")
    hidden = other.get(f"/v1/cases/{case['id']}")
    assert hidden.status_code == missing.status_code == 404
    per_request = {"instance", "request_id"}
    assert {k: v for k, v in hidden.json().items() if k not in per_request} == {
        k: v for k, v in missing.json().items() if k not in per_request
    }
    assert send(other, case["id"], "acknowledgement").status_code == 404
    assert other.get("/v1/cases").json()["items"] == []
    assert other.get("/v1/inbox").json()["items"] == []


def test_cases_can_be_addressed_to_any_registered_respondent(imr, client_for):
    case = open_case(imr, respondent_id="ac-casa")
    assert client_for("ac-casa").get(f"/v1/cases/{case['id']}").status_code == 200
    assert client_for("al-omrane").get(f"/v1/cases/{case['id']}").status_code == 404


def test_unknown_respondent_and_duplicate_reference_are_refused(imr):
    for respondent in ("nobody", "imr", "auditor"):
        response = imr.post("/v1/cases", json=case_payload(respondent_id=respondent))
        assert response.status_code == 422 and response.json()["type"] == "/problems/unknown-respondent"
    first = open_case(imr)
    again = imr.post("/v1/cases", json=case_payload(reference=first["reference"]))
    assert again.status_code == 409 and again.json()["type"] == "/problems/duplicate-reference"


def test_deadlines_default_from_settings_and_must_be_in_the_future(imr, settings):
    case = open_case(imr)
    from datetime import datetime, timedelta

    opened = datetime.fromisoformat(case["times"]["opened_at"])
    assert datetime.fromisoformat(case["times"]["deadline"]) - opened == timedelta(days=settings.default_reply_days)
    past = imr.post("/v1/cases", json=case_payload(reply_deadline="2020-01-01T00:00:00Z"))
    assert past.status_code == 422 and past.json()["errors"][0]["pointer"] == "#/reply_deadline"


def test_if_match_protects_against_acting_on_a_stale_case(imr, omrane):
    case = open_case(imr)
    etag = omrane.get(f"/v1/cases/{case['id']}").headers["etag"]
    assert send(imr, case["id"], "note").status_code == 201  # the case moves on
    stale = omrane.post(f"/v1/cases/{case['id']}/messages", json=message("acknowledgement"), headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["type"] == "/problems/precondition-failed"
    fresh = omrane.get(f"/v1/cases/{case['id']}").headers["etag"]
    ok = omrane.post(f"/v1/cases/{case['id']}/messages", json=message("acknowledgement"), headers={"If-Match": fresh})
    assert ok.status_code == 201 and ok.headers["etag"] != fresh


def test_a_message_can_be_fetched_by_its_location(imr, omrane, client_for):
    case = open_case(imr)
    sent = send(omrane, case["id"], "acknowledgement")
    assert imr.get(sent.headers["location"]).json() == sent.json()
    assert client_for("ac-casa").get(sent.headers["location"]).status_code == 404

"""Opening a thematic file (by either party, routed by region or named), its free text sealed at
rest, and who sees it, endpoint by endpoint, as for cases (tests/units/test_visibility.py)."""

from __future__ import annotations

import pytest

from tests.privacy.test_sealed_at_rest import everything_stored
from tests.thematic.arrange import CASA_PROJECT, DESCRIPTION, TITLE, file_payload, open_case, open_file, send, thematic_message
from tests.units.test_units_and_routing import CASA, IMR_CASA, MARRAKECH, RABAT
from tests.units.test_visibility import FORBIDDEN, HIDDEN, SEES, answers_as_expected, by_actor, lists_as_expected

_EVERY_PARTY = {CASA: SEES, "al-omrane": SEES, RABAT: HIDDEN, "imr": SEES, IMR_CASA: SEES, "auditor": FORBIDDEN, "ac-casa": HIDDEN}
_RESPONDENT_SIDE = {**_EVERY_PARTY, "imr": HIDDEN, IMR_CASA: HIDDEN}  # an event in the holding unit's inbox


def test_the_mediator_opens_a_file_routed_by_region_on_both_sides(imr):
    file = open_file(imr)
    assert (file["mediator_id"], file["respondent_id"], file["opened_by"]) == ("imr", "al-omrane", "imr")
    assert (file["mediator_unit"], file["respondent_unit"], file["region"]) == (IMR_CASA, CASA, "casablanca-settat")
    assert (file["title"], file["description"], file["status"], file["cases"], file["messages"]) == (TITLE, DESCRIPTION, "open", [], [])
    assert file["project"] == CASA_PROJECT and file["signed_request"]["signature"]


def test_a_respondent_unit_opens_a_file_for_itself_with_the_mediator(client_for):
    file = open_file(client_for(CASA), counterpart_id="imr")
    assert (file["opened_by"], file["respondent_unit"], file["mediator_unit"]) == ("al-omrane", CASA, IMR_CASA)
    refused = client_for(CASA).post("/v1/thematic-files", json=file_payload("imr", respondent_unit=RABAT))
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "#/respondent_unit"


def test_a_head_office_names_the_units_and_the_counterpart_must_be_the_other_role(client_for):
    head = client_for("al-omrane")
    file = open_file(head, counterpart_id="imr", respondent_unit=MARRAKECH, mediator_unit="imr")
    assert (file["respondent_unit"], file["mediator_unit"]) == (MARRAKECH, "imr")
    for sender, counterpart in (("al-omrane", "ac-casa"), ("imr", "imr"), ("imr", "auditor"), ("imr", "nobody")):
        refused = client_for(sender).post("/v1/thematic-files", json=file_payload(counterpart))
        assert refused.status_code == 422 and refused.json()["type"].endswith("/unknown-counterpart"), refused.text
    unknown_unit = client_for("imr").post("/v1/thematic-files", json=file_payload(respondent_unit=IMR_CASA))
    assert unknown_unit.status_code == 422 and unknown_unit.json()["type"].endswith("/unknown-unit")
    assert client_for("auditor").post("/v1/thematic-files", json=file_payload()).status_code == 403


def test_title_description_and_message_bodies_are_not_readable_in_the_database(imr, omrane, engine_sql):
    file = open_file(imr)
    body = "Procès-verbal : la conservation foncière demande les plans de lotissement. محضر الاجتماع."
    assert send(omrane, file["id"], "meeting_minutes", body=body).status_code == 201
    assert omrane.get(f"/v1/thematic-files/{file['id']}").json()["messages"][0]["body"] == body
    dump = everything_stored(engine_sql)
    for table in ("thematic_files", "thematic_file_keys", "thematic_messages"):
        for row in engine_sql(f"SELECT * FROM {table}"):
            dump += b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row)
    for value in (TITLE, DESCRIPTION, body):
        assert value.encode() not in dump, value
    assert engine_sql("SELECT count(*) FROM thematic_file_keys WHERE wrapped IS NOT NULL").scalar() == 1


class Arranged:
    """A file opened by IMR about a project in Casablanca-Settat (held by both Casablanca units),
    with a position from Al Omrane Casablanca-Settat, one case of the two linked and one not."""

    def __init__(self, client_for) -> None:
        imr, holder = client_for("imr"), client_for(CASA)
        self.file = open_file(imr)["id"]
        position = send(holder, self.file, "position")
        self.message = position.json()["id"]
        self.receipt = position.headers["receipt-location"].rsplit("/", 1)[1]
        self.case, self.linked = open_case(imr), open_case(imr)
        assert imr.put(f"/v1/thematic-files/{self.file}/cases/{self.linked}").status_code == 200
        self.event = next(e["id"] for e in holder.get("/v1/inbox").json()["items"] if e["thematic_file_id"] == self.file)


ENDPOINTS = [
    ("GET file", lambda c, a: c.get(f"/v1/thematic-files/{a.file}"), _EVERY_PARTY),
    ("GET message", lambda c, a: c.get(f"/v1/thematic-files/{a.file}/messages/{a.message}"), _EVERY_PARTY),
    ("POST message", lambda c, a: c.post(f"/v1/thematic-files/{a.file}/messages", json=thematic_message("meeting_minutes")), _EVERY_PARTY),
    ("PUT case link", lambda c, a: c.put(f"/v1/thematic-files/{a.file}/cases/{a.case}"), _EVERY_PARTY),
    ("DELETE case link", lambda c, a: c.delete(f"/v1/thematic-files/{a.file}/cases/{a.linked}"), _EVERY_PARTY),
    ("GET receipt", lambda c, a: c.get(f"/v1/receipts/{a.receipt}"), _EVERY_PARTY),
    ("POST inbox ack", lambda c, a: c.post(f"/v1/inbox/{a.event}/ack"), _RESPONDENT_SIDE),
]
LISTS = [
    ("GET thematic files", lambda c, a: c.get("/v1/thematic-files", params={"limit": 1000}),
     lambda body: {file["id"] for file in body["items"]}, _EVERY_PARTY),
    ("GET receipts", lambda c, a: c.get("/v1/receipts", params={"resource": f"/v1/thematic-files/{a.file}/messages/{a.message}"}),
     lambda body: {receipt["thematic_file_id"] for receipt in body}, _EVERY_PARTY),
]


@pytest.fixture
def arranged(client_for) -> Arranged:
    return Arranged(client_for)


@pytest.mark.parametrize(("row", "actor"), by_actor(ENDPOINTS))
def test_an_endpoint_answers_each_actor_as_the_units_rules_say(arranged, client_for, row, actor):
    _, request, expected = row
    answers_as_expected(request(client_for(actor), arranged), expected[actor])


@pytest.mark.parametrize(("row", "actor"), by_actor(LISTS))
def test_a_list_shows_the_file_to_each_actor_as_the_units_rules_say(arranged, client_for, row, actor):
    _, request, ids, expected = row
    lists_as_expected(request(client_for(actor), arranged), ids, arranged.file, expected[actor])

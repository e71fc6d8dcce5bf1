"""Who sees a thematic file, endpoint by endpoint, as for cases (tests/units/test_visibility.py)."""

from __future__ import annotations

import pytest

from tests.conftest import arranged_once
from tests.thematic.arrange import open_case, open_file, send, thematic_message
from tests.units.test_units_and_routing import CASA, IMR_CASA, RABAT
from tests.units.test_visibility import FORBIDDEN, HIDDEN, SEES, answers_as_expected, by_actor, lists_as_expected

_EVERY_PARTY = {CASA: SEES, "al-omrane": SEES, RABAT: HIDDEN, "imr": SEES, IMR_CASA: SEES, "auditor": FORBIDDEN, "ac-casa": HIDDEN}
_RESPONDENT_SIDE = {**_EVERY_PARTY, "imr": HIDDEN, IMR_CASA: HIDDEN}  # an event in the holding unit's inbox


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


arrangement = arranged_once(Arranged)  # every case of the matrices starts from a copy of one arrangement


@pytest.fixture
def arranged(arrangement) -> Arranged:
    return arrangement.arranged


@pytest.mark.parametrize(("row", "actor"), by_actor(ENDPOINTS))
def test_an_endpoint_answers_each_actor_as_the_units_rules_say(arranged, client_for, row, actor):
    _, request, expected = row
    answers_as_expected(request(client_for(actor), arranged), expected[actor])


@pytest.mark.parametrize(("row", "actor"), by_actor(LISTS))
def test_a_list_shows_the_file_to_each_actor_as_the_units_rules_say(arranged, client_for, row, actor):
    _, request, ids, expected = row
    lists_as_expected(request(client_for(actor), arranged), ids, arranged.file, expected[actor])

"""Opening a thematic file (by either party, routed by region or named) and its free text sealed at
rest; who sees it is tests/thematic/test_visibility.py."""

from __future__ import annotations

from tests.privacy.test_sealed_at_rest import everything_stored
from tests.thematic.arrange import CASA_PROJECT, DESCRIPTION, TITLE, file_payload, open_file, send
from tests.units.test_units_and_routing import CASA, IMR_CASA, MARRAKECH, RABAT


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

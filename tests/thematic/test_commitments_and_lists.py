"""Commitments: open, overdue once their due date passes unfulfilled, fulfilled by a progress
report; the list of thematic files and its filters; the ledger's statistics read the same."""

from __future__ import annotations

from tests.thematic.arrange import committed, later, open_file, send
from tests.units.test_units_and_routing import CASA, RABAT

RABAT_PROJECT = {"name": "Al Amal", "city": "Salé", "region": "rabat-sale-kenitra"}


def _past_due(engine_sql, commitment_id: str) -> None:
    engine_sql("UPDATE thematic_messages SET due_date = :due WHERE id = :id", due="2026-01-01 00:00:00.000000", id=commitment_id)


def _ids(client, **params) -> list[str]:
    response = client.get("/v1/thematic-files", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return [file["id"] for file in response.json()["items"]]


def test_a_commitment_is_open_then_overdue_then_fulfilled(imr, omrane, engine_sql):
    file = open_file(imr)["id"]
    commitment = committed(imr, omrane, file)
    detail = imr.get(f"/v1/thematic-files/{file}").json()
    assert [(c["id"], c["fulfilled"], c["fulfilled_by"], c["overdue"]) for c in detail["commitments"]] == [(commitment, False, None, False)]
    assert detail["overdue"] is False

    _past_due(engine_sql, commitment)
    detail = imr.get(f"/v1/thematic-files/{file}").json()
    assert detail["overdue"] is True and detail["commitments"][0]["overdue"] is True
    assert detail["commitments"][0]["due_date"].startswith("2026-01-01T00:00:00")
    assert send(omrane, file, "progress_report", commitment_id=commitment, fulfils=False).status_code == 201
    assert imr.get(f"/v1/thematic-files/{file}").json()["commitments"][0]["overdue"] is True  # a report that does not fulfil it

    report = send(omrane, file, "progress_report", commitment_id=commitment, fulfils=True).json()["id"]
    detail = imr.get(f"/v1/thematic-files/{file}").json()
    assert [(c["fulfilled"], c["fulfilled_by"], c["overdue"]) for c in detail["commitments"]] == [(True, report, False)]
    assert detail["overdue"] is False


def test_the_ledger_records_due_dates_and_fulfilment_as_the_statistics_read_them(imr, omrane, client_for, engine_sql):
    file = open_file(imr)["id"]
    kept = committed(imr, omrane, file)
    late = send(omrane, file, "commitment", due_date=later(30)).json()["id"]
    send(omrane, file, "progress_report", commitment_id=kept, fulfils=True)
    entries = [e["entry"] for e in imr.get("/v1/ledger/search", params={"case": file}).json()["items"]]
    assert [(e["kind"], e["detail"]) for e in entries] == [
        ("thematic_file_opened", "title_deeds"), ("thematic_message_sent", "recommendation"), ("thematic_message_sent", "commitment"),
        ("thematic_message_sent", "commitment"), ("thematic_message_sent", "commitment_fulfilled"),
    ]
    assert entries[2]["resource"] == f"/v1/thematic-files/{file}/messages/{kept}" and entries[2]["due"] is not None
    assert entries[4]["refers"] == entries[2]["resource"] and entries[4]["due"] is None
    overall = client_for("auditor").get("/v1/ledger/statistics").json()["overall"]
    assert (overall["thematic_files"], overall["open_commitments"], overall["overdue_commitments"]) == (1, 1, 0)
    assert late in entries[3]["resource"]


def test_the_list_filters_by_status_overdue_project_region_and_unit(imr, omrane, engine_sql):
    casa = open_file(imr)["id"]
    rabat = open_file(imr, project=RABAT_PROJECT)["id"]
    late = open_file(imr)["id"]
    _past_due(engine_sql, committed(imr, omrane, late))
    assert set(_ids(imr)) == {casa, rabat, late}
    assert _ids(imr, status="open") == [casa, rabat] and _ids(imr, status="committed") == [late]
    assert _ids(imr, overdue="true") == [late] and _ids(imr, overdue="false") == [casa, rabat]
    assert _ids(imr, project="Al Amal") == [rabat] and _ids(imr, project="Al") == []
    assert _ids(imr, region="rabat-sale-kenitra") == [rabat]
    assert _ids(omrane, unit=CASA) == [casa, late] and _ids(omrane, unit=RABAT) == [rabat]
    listed = {file["id"]: file for file in imr.get("/v1/thematic-files").json()["items"]}
    assert listed[late]["overdue"] is True and listed[casa]["overdue"] is False and "title" not in listed[casa]


def test_the_list_is_paged_by_cursor_in_opening_order(imr):
    opened = [open_file(imr)["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = imr.get("/v1/thematic-files", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        seen += [file["id"] for file in body["items"]]
        cursor = body.get("next_cursor")
        if cursor is None:
            break
        assert 'rel="next"' in page.headers["link"]
    assert seen == opened
    forged = imr.get("/v1/thematic-files", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 400 and forged.json()["type"].endswith("/invalid-cursor")

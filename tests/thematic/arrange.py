"""Payloads and steps shared by the thematic file tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories import case_payload

CASA_PROJECT = {"name": "Résidence Al Wifaq", "city": "Berrechid", "region": "casablanca-settat"}
TITLE = "Titres fonciers non délivrés – رسوم عقارية غير مسلمة، إقامة الوفاق"
DESCRIPTION = "Quarante-deux acquéreurs attendent leur titre foncier depuis 2022. اثنان وأربعون مشتريا ينتظرون رسومهم العقارية."


def file_payload(counterpart_id: str = "al-omrane", **overrides: Any) -> dict[str, Any]:
    return {"counterpart_id": counterpart_id, "subject": "title_deeds", "title": TITLE, "description": DESCRIPTION,
            "project": CASA_PROJECT, **overrides}


def later(days: int = 90) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def thematic_message(kind: str, body: str = "Position de l'établissement. موقف المؤسسة.", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "body": body, **extra}


def open_file(client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/thematic-files", json=file_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def send(client, file_id: str, kind: str, **extra: Any):
    return client.post(f"/v1/thematic-files/{file_id}/messages", json=thematic_message(kind, **extra))


def committed(imr, respondent, file_id: str, due: str | None = None) -> str:
    """Recommend (IMR), then commit (the respondent): the commitment's id."""
    assert send(imr, file_id, "recommendation").status_code == 201
    response = send(respondent, file_id, "commitment", due_date=due or later())
    assert response.status_code == 201, response.text
    return response.json()["id"]


def open_case(imr, **overrides: Any) -> str:
    response = imr.post("/v1/cases", json=case_payload(**{"project": CASA_PROJECT, **overrides}))
    assert response.status_code == 201, response.text
    return response.json()["id"]

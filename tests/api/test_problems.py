"""Every error is an RFC 9457 problem document in the caller's language, and never leaks internals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.problems import CATALOGUE
from tests.factories import case_payload


@pytest.mark.parametrize(
    ("accept_language", "language", "title"),
    [
        ("ar-MA", "ar", "المورد غير موجود"),
        ("fr-FR,fr;q=0.9", "fr", "Ressource introuvable"),
        ("en-GB,en;q=0.8,ar;q=0.5", "en", "Resource not found"),
        ("de-DE", "fr", "Ressource introuvable"),
        (None, "fr", "Ressource introuvable"),
    ],
)
def test_titles_follow_accept_language(imr, accept_language, language, title):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = imr.get("/v1/cases/nope", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-language"] == language
    assert response.json()["title"] == title


def test_every_problem_type_has_three_titles_and_a_page():
    for problem in CATALOGUE.values():
        assert set(problem.titles) == {"fr", "ar", "en"} and all(problem.titles.values())


def test_the_readme_error_table_lists_every_problem_type_under_its_status():
    """What the README promises is what the code answers: each type once, in its status's row."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("### Errors", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, set[int]] = {}
    for statuses, types in re.findall(r"^\| ([\d /]+) \| (.+) \|$", table, re.MULTILINE):
        for slug in re.findall(r"`([a-z0-9-]+|signature-\*)`", types):
            documented.setdefault(slug, set()).update(int(status) for status in statuses.split("/"))
    signatures = {slug for slug in CATALOGUE if slug.startswith("signature-")}
    for problem in CATALOGUE.values():
        listed = documented.get("signature-*" if problem.slug in signatures else problem.slug, set())
        assert problem.status in listed, f"{problem.slug} ({problem.status}) is not in the README's error table"
    assert set(documented) - {"signature-*"} <= set(CATALOGUE), "the README lists types the code does not have"


def test_problem_types_are_dereferenceable(imr):
    page = imr.get("/problems/transition-refused").json()
    assert page["status"] == 409 and page["titles"]["ar"]


def test_validation_errors_name_each_failing_field_without_echoing_values(imr):
    payload = case_payload()
    payload["complainant"]["cin"] = "123-SECRET"
    payload["complainant"]["email"] = "not-an-email"
    payload["subject"] = "weather"
    del payload["title"]
    payload["unexpected"] = True
    response = imr.post("/v1/cases", json=payload, headers={"Accept-Language": "ar"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/validation-failed" and problem["title"] == "الطلب لا يحترم العقد"
    pointers = {error["pointer"] for error in problem["errors"]}
    assert pointers == {"#/complainant/cin", "#/complainant/email", "#/subject", "#/title", "#/unexpected"}
    assert "123-SECRET" not in response.text and "not-an-email" not in response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"\xff\xfe", "application/json"), (b"", "application/json")],
)
def test_malformed_bodies_are_4xx_problems(imr, content, content_type):
    response = imr.post("/v1/cases", content=content, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_query_parameter_errors_name_the_parameter(imr):
    response = imr.get("/v1/cases?limit=0&status=lost")
    assert response.status_code == 422
    assert {e["parameter"] for e in response.json()["errors"]} == {"limit", "status"}


def test_bad_cursors_are_400(imr):
    for cursor in ("garbage!", "eyJ4IjoxfQ", "W10"):
        response = imr.get(f"/v1/cases?cursor={cursor}")
        assert response.status_code == 400 and response.json()["type"] == "/problems/invalid-cursor"
    for cursor in ("e30", "eyJzIjogMTE4MDU5MTYyMDcxNzQxMTMwMzQyNH0", "eyJzIjogdHJ1ZX0", str(2**53), "-1", "١٢"):  # {}, {"s": 2**70}, {"s": true}
        assert imr.get("/v1/inbox", params={"cursor": cursor}).status_code == 400


def test_unknown_routes_and_methods(imr):
    assert imr.get("/v2/cases").json()["type"] == "/problems/not-found"
    response = imr.delete("/v1/cases")
    assert response.status_code == 405 and response.json()["type"] == "/problems/method-not-allowed"


def test_oversized_requests_are_413_before_parsing(imr, settings):
    big = case_payload(summary="س" * settings.max_body_bytes)
    response = imr.post("/v1/cases", json=big)
    assert response.status_code == 413 and response.json()["type"] == "/problems/payload-too-large"

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b" " * 1000

    streamed = imr.post("/v1/cases", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_field_length_limits(imr):
    response = imr.post("/v1/cases", json=case_payload(title="t" * 301))
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "#/title"
    assert response.json()["errors"][0]["code"] == "string_too_long"


def test_unexpected_errors_are_opaque_500s(app, imr, monkeypatch):
    from gateway.services import cases

    def explode(*args, **kwargs):
        raise RuntimeError("SELECT secret FROM cases -- internal detail")

    monkeypatch.setattr(cases, "list_cases", explode)
    from fastapi.testclient import TestClient

    client = TestClient(imr.app, raise_server_exceptions=False)
    response = client.get("/v1/cases")
    assert response.status_code == 500 and response.json()["type"] == "/problems/internal-error"
    assert "SELECT" not in response.text and "Traceback" not in response.text


def test_nul_characters_are_refused_on_both_engines(imr):
    """PostgreSQL refuses NUL in text and SQLite stores it: the gateway refuses it before either sees it."""
    assert imr.get("/v1/receipts", params={"resource": "\x00"}).status_code == 400
    assert imr.get("/v1/cases/%00").status_code == 400
    response = imr.post("/v1/cases", json=case_payload(title="avant\x00après"))
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "#/title"

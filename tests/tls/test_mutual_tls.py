"""Mutual TLS over real sockets: who may connect, and how the app learns who connected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.security import pki
from tests.factories import SHORT_LIFE, case_payload, message

pytestmark = pytest.mark.tls


def test_registered_institutions_are_recognised_from_their_certificate(https_client):
    for name, role in (("imr", "mediator"), ("al-omrane", "respondent"), ("auditor", "auditor")):
        me = https_client(name).get("/v1/me")
        assert me.status_code == 200 and me.json()["id"] == name and me.json()["role"] == role
    assert https_client("imr").get("/v1/me").json()["name_ar"] == "مؤسسة وسيط المملكة"


def _refused(client: httpx.Client) -> None:
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)):
        client.get("/v1/me")


def test_no_client_certificate_fails_the_handshake(https_client, tls_gateway):
    _refused(https_client(None))
    assert tls_gateway.requests_seen == []


def test_a_certificate_from_an_unknown_ca_fails_the_handshake(https_client, tls_gateway, tmp_path):
    rogue = pki.CertificateAuthority.generate("Rogue CA")
    files = rogue.issue_client(tmp_path, "imr", organization="Institution du Médiateur du Royaume")
    _refused(https_client(None, files=files))
    assert tls_gateway.requests_seen == []


@pytest.mark.parametrize("window", ["expired", "not yet valid"])
def test_certificates_outside_their_validity_fail_the_handshake(https_client, tls_gateway, test_pki, tmp_path, window):
    now = datetime.now(UTC)
    span = (now - timedelta(days=30), now - timedelta(days=1)) if window == "expired" else (now + timedelta(days=1), now + timedelta(days=30))
    directory = tmp_path / "pki"
    directory.mkdir()
    for name in ("ca.pem", "ca.key"):
        (directory / name).write_bytes((test_pki.dev.directory / name).read_bytes())
    files = pki.issue_client_certificate(directory, "imr", not_before=span[0], not_after=span[1])
    _refused(https_client(None, files=files))
    assert tls_gateway.requests_seen == []


def test_a_valid_but_unregistered_certificate_gets_403(https_client):
    response = https_client("stranger").get("/v1/me")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unregistered-certificate"


def test_the_lifecycle_over_real_sockets(https_client):
    imr, omrane, other = https_client("imr"), https_client("al-omrane"), https_client("ac-casa")
    case = imr.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": "tls-1"})
    assert case.status_code == 201
    case_id = case.json()["id"]
    other_body = case_payload(reference=case.json()["reference"], title="Autre dossier")
    assert imr.post("/v1/cases", json=other_body, headers={"Idempotency-Key": "tls-1"}).status_code == 422
    assert [e["case_id"] for e in omrane.get("/v1/inbox").json()["items"]] == [case_id]
    clients = {"imr": imr, "al-omrane": omrane}
    for sender, kind, extra in SHORT_LIFE:
        assert clients[sender].post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra)).status_code == 201
    assert other.get(f"/v1/cases/{case_id}").status_code == 404
    assert imr.get(f"/v1/cases/{case_id}").json()["status"] == "closed"

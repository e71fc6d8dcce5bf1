"""The catalogue: certificates that claim an identity they do not hold. The certificate decides
who is calling, hence whose cases are visible and which signing key is expected, so an impostor
must be refused even holding the institution's signing key. The TLS handshake refuses all of
these before the app sees them (tests/tls); this is the app's own defence, reading the chain
from the ASGI `tls` extension, or from a trusted proxy's `Client-Cert` header."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from gateway.security import pki
from gateway.security.registry import CertificateRef
from tests.conftest import signer_for
from tests.factories import case_payload
from tests.hostile.builders import IMPOSTORS, Issuers, gateway, presenting, registry_where, rfc9440
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

PROXY = "127.0.0.1"


@pytest.fixture(scope="module")
def issuers(test_pki) -> Issuers:
    return Issuers(test_pki)


def _check_read_and_write(refusals, client, test_pki, status: int, slug: str, **headers: str) -> None:
    """The read, and a write signed with IMR's genuine key: a stolen signing key is not an identity."""
    refusals.check(client.get("/v1/me", headers=headers), status, slug)
    refusals.check(client.post("/v1/cases", json=case_payload(), headers=headers, auth=signer_for(test_pki, "imr")), status, slug)


# --- the certificate the TLS layer reports -------------------------------------------------------


ISSUED_BY_THE_CLIENT_CA = {"the gateway's server certificate", "the client CA's own certificate"}


@pytest.mark.parametrize("impostor", IMPOSTORS)
def test_an_impostor_certificate_is_refused(refusals, app, test_pki, issuers, impostor):
    """The app checks the issuer and the validity of what the TLS layer reports, before the
    registry is even asked: a same-subject look-alike is invalid. What the client CA did issue,
    and is current, is refused as nobody's."""
    status, slug = (403, "unregistered-certificate") if impostor in ISSUED_BY_THE_CLIENT_CA else (401, "client-certificate-invalid")
    _check_read_and_write(refusals, presenting(app, IMPOSTORS[impostor](issuers)), test_pki, status, slug)



@pytest.mark.parametrize("chain", [[], None], ids=["an empty chain", "no tls extension"])
def test_no_certificate_is_required_first(refusals, app, test_pki, chain):
    client = presenting(app, chain) if chain is not None else TestClient(app)
    _check_read_and_write(refusals, client, test_pki, 401, "client-certificate-required")


GARBAGE_PEM = {
    "not PEM at all": "garbage",
    "PEM armour around junk": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "a private key instead of a certificate": None,  # filled from the test PKI below
}


@pytest.mark.parametrize("garbage", GARBAGE_PEM)
def test_a_chain_that_is_no_certificate_is_invalid(refusals, app, test_pki, garbage):
    text = GARBAGE_PEM[garbage] or test_pki.files("imr").key.read_text()
    refusals.check(presenting(app, [text]).get("/v1/me"), 401, "client-certificate-invalid")


def test_a_deactivated_institution_s_certificate_is_no_longer_registered(refusals, settings, test_pki, registry_file, tmp_path):
    """Removing an institution from the registry is how it is revoked: its certificate then opens nothing."""
    without_omrane = registry_where(registry_file, {"al-omrane": None})
    with gateway(settings, registry=without_omrane, directory=tmp_path) as (app, _):
        refusals.arranged()
        client = presenting(app, [test_pki.files("al-omrane").cert.read_text()])
        refusals.check(client.get("/v1/me"), 403, "unregistered-certificate")
        refusals.check(client.get("/v1/inbox"), 403, "unregistered-certificate")


# --- registered by subject: the app alone does not check the issuer ------------------------------


def imr_registered_by_subject(registry_file, issuers: Issuers):
    """IMR registered by its certificate's subject (allowed: "any certificate with this subject
    under the client CA"), not by fingerprint."""
    subject = CertificateRef(subject=issuers.genuine.subject.rfc4514_string())
    return registry_where(registry_file, {"imr": lambda imr: imr.model_copy(update={"certificates": [subject]})})


@pytest.fixture(scope="module")
def registered_by_subject(settings, registry_file, tmp_path_factory, issuers):
    registry = imr_registered_by_subject(registry_file, issuers)
    with gateway(settings, registry=registry, directory=tmp_path_factory.mktemp("by-subject")) as (app, _):
        yield app


def test_registered_by_subject_the_genuine_certificate_is_recognised(registered_by_subject, test_pki):
    assert presenting(registered_by_subject, [test_pki.files("imr").cert.read_text()]).get("/v1/me").json()["id"] == "imr"


SUBJECT_GAPS = ["foreign CA, same subject", "expired, from the client CA", "rogue intermediate",
                "issued by another institution's certificate", "self-signed, same subject"]


@pytest.mark.parametrize("impostor", SUBJECT_GAPS)
def test_registered_by_subject_an_impostor_is_still_refused(refusals, registered_by_subject, test_pki, issuers, impostor):
    refusals.arranged()
    _check_read_and_write(refusals, presenting(registered_by_subject, IMPOSTORS[impostor](issuers)), test_pki,
                          401, "client-certificate-invalid")


# --- forwarded by a TLS-terminating proxy --------------------------------------------------------


@pytest.fixture(scope="module")
def behind_proxy(settings, registry_file, tmp_path_factory, issuers, request):
    """The gateway behind a proxy at 127.0.0.1, IMR registered by fingerprint (or by subject, when
    the test is parametrized indirectly with "by subject")."""
    registry = imr_registered_by_subject(registry_file, issuers) if getattr(request, "param", None) == "by subject" else None
    with gateway(settings, registry=registry, directory=tmp_path_factory.mktemp("proxy"), client=(PROXY, 50000),
                 trust_proxy_client_cert=True, trusted_proxies=[PROXY]) as (_, client):
        yield client


FORWARDED = {
    "foreign CA, same subject": (401, "client-certificate-invalid"),
    "expired, from the client CA": (401, "client-certificate-invalid"),
    "not yet valid, from the client CA": (401, "client-certificate-invalid"),
    "rogue intermediate": (401, "client-certificate-invalid"),
    "issued by another institution's certificate": (401, "client-certificate-invalid"),
    "self-signed, same subject": (401, "client-certificate-invalid"),
    "the gateway's server certificate": (403, "unregistered-certificate"),  # issued by the client CA, but nobody's
    "the client CA's own certificate": (403, "unregistered-certificate"),
}


@pytest.mark.parametrize("behind_proxy", ["by fingerprint", "by subject"], indirect=True)
@pytest.mark.parametrize("impostor", FORWARDED)
def test_a_forwarded_impostor_is_refused(refusals, behind_proxy, test_pki, issuers, impostor):
    refusals.arranged()
    forwarded = rfc9440(IMPOSTORS[impostor](issuers)[0])
    _check_read_and_write(refusals, behind_proxy, test_pki, *FORWARDED[impostor], **{"Client-Cert": forwarded})


FORWARDED_GARBAGE = {
    "base64 of no certificate": ":" + base64.b64encode(b"not a certificate").decode() + ":",
    "empty colons": "::",
    "not base64": ":***:",
    "escaped PEM around junk": quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", safe=""),
    "an escaped private key": None,  # IMR's TLS key, from the test PKI
}


@pytest.mark.parametrize("garbage", FORWARDED_GARBAGE)
def test_a_forwarded_header_that_is_no_certificate_is_invalid(refusals, behind_proxy, test_pki, garbage):
    refusals.arranged()
    value = FORWARDED_GARBAGE[garbage] or quote(test_pki.files("imr").key.read_text(), safe="")
    refusals.check(behind_proxy.get("/v1/me", headers={"Client-Cert": value}), 401, "client-certificate-invalid")


def test_a_client_reaching_the_gateway_directly_cannot_forward_a_certificate(refusals, settings, test_pki):
    """Proxy mode on, but this peer is not the proxy: its header is ignored, whatever it claims."""
    genuine = rfc9440(pki.load_certificate(test_pki.files("imr").cert))
    with gateway(settings, client=("10.9.9.9", 50000), trust_proxy_client_cert=True, trusted_proxies=[PROXY]) as (app, direct):
        refusals.arranged()
        refusals.check(direct.get("/v1/me", headers={"Client-Cert": genuine}), 401, "client-certificate-required")
        over_tls = presenting(app, [test_pki.files("al-omrane").cert.read_text()])
        assert over_tls.get("/v1/me", headers={"Client-Cert": genuine}).json()["id"] == "al-omrane"


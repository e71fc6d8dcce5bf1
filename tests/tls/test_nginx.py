"""Behind a real nginx: nginx terminates mutual TLS and forwards the verified certificate; the
gateway trusts it from nginx's address only, and a client that reaches the gateway directly with
a forged header gets nowhere. The nginx configuration is the documented one (deploy/nginx,
one-host.conf and the server block it includes)."""

from __future__ import annotations

import ssl
from urllib.parse import quote

import httpx
import pytest

from gateway import samples
from imr_alomrane_gateway_client import CaseCreate, GatewayClient, MessageCreate
from gateway.problems import CATALOGUE
from gateway.server import background_gateway, free_port
from tests.factories import case_payload, message
from tests.nginx import DEPLOY, nginx_config, running_nginx

pytestmark = pytest.mark.tls
PROXY_ADDRESS = "127.0.0.2"  # nginx connects from here (proxy_bind); everyone else comes from 127.0.0.1
ONE_HOST = (DEPLOY / "one-host.conf").read_text()


@pytest.fixture
def behind_nginx(settings, test_pki, tmp_path):
    proxied = settings.model_copy(update={"trust_proxy_client_cert": True, "trusted_proxies": [f"{PROXY_ADDRESS}/32"]})
    with background_gateway(proxied) as upstream:
        listen = free_port()
        config = nginx_config(ONE_HOST, tmp_path, test_pki.dev.directory, listen, {"127.0.0.1:8080": upstream.removeprefix("http://")})
        with running_nginx(config, listen) as url:
            yield url, upstream


def tls_client(test_pki, name: str | None, url: str) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(test_pki.dev.ca_cert))
    if name:
        files = test_pki.files(name)
        context.load_cert_chain(files.cert, files.key)
    return httpx.Client(base_url=url, verify=context, timeout=10)


def test_institutions_work_through_nginx_with_the_sdk(behind_nginx, test_pki, tmp_path):
    url, _ = behind_nginx
    clients = {}
    for name in ("imr", "al-omrane"):
        files = test_pki.files(name)
        clients[name] = GatewayClient(url, name, ca=test_pki.dev.ca_cert, cert=files.cert, key=files.key, signing_key=files.signing_key,
                                      **test_pki.trust)
    imr, omrane = clients["imr"], clients["al-omrane"]
    assert imr.me().id == "imr" and omrane.me().id == "al-omrane"
    case = imr.open_case(CaseCreate(**case_payload()))
    assert omrane.send_message(case.value.id, MessageCreate(**message("acknowledgement"))).receipt.claims["sub"] == "al-omrane"
    assert imr.get_case(case.value.id).status == "acknowledged"
    scan = samples.pdf(["Acte de vente"], padding=3 * 1024 * 1024)  # over the 1m limit of other requests
    document = omrane.upload_document(case.value.id, scan, "عقد – acte.pdf").value
    assert document.size == len(scan) and document.filename == "عقد – acte.pdf"
    assert imr.download_document(case.value.id, document.id, tmp_path / "acte.pdf").digest == document.digest
    assert (tmp_path / "acte.pdf").read_bytes() == scan


def test_nginx_refuses_clients_without_a_certificate(behind_nginx, test_pki):
    url, _ = behind_nginx
    with tls_client(test_pki, None, url) as anonymous:
        response = anonymous.get("/v1/me")
    assert response.status_code == 400  # nginx: "No required SSL certificate was sent"; never forwarded


def test_a_header_sent_by_the_client_is_overwritten_by_nginx(behind_nginx, test_pki):
    url, _ = behind_nginx
    forged = quote(test_pki.dev.clients["imr"].cert.read_text(), safe="")
    with tls_client(test_pki, "al-omrane", url) as omrane:
        assert omrane.get("/v1/me", headers={"Client-Cert": forged}).json()["id"] == "al-omrane"


@pytest.mark.parametrize("spoof", [{}, {"X-Forwarded-For": PROXY_ADDRESS}, {"Forwarded": f"for={PROXY_ADDRESS}"}])
def test_reaching_the_gateway_directly_with_a_forged_header_is_refused(behind_nginx, test_pki, spoof):
    _, upstream = behind_nginx
    forged = quote(test_pki.dev.clients["imr"].cert.read_text(), safe="")
    response = httpx.get(f"{upstream}/v1/me", headers={"Client-Cert": forged, **spoof})
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/client-certificate-required"


def test_nginx_limits_requests_per_client_certificate_with_a_problem_document(test_pki, tmp_path):
    """The server block's limit_req, its rate lowered to one request a minute: the second request
    of a certificate is answered by nginx itself (the upstream is not even running); another
    certificate still gets through to it."""
    listen = free_port()
    config = nginx_config(ONE_HOST, tmp_path, test_pki.dev.directory, listen, {"127.0.0.1:8080": f"127.0.0.1:{free_port()}"})
    server_block = tmp_path / "gateway.conf"
    limited = server_block.read_text().replace("rate=50r/s", "rate=1r/m").replace("burst=100 ", "")
    assert limited != server_block.read_text()
    server_block.write_text(limited)
    with running_nginx(config, listen) as url, tls_client(test_pki, "imr", url) as imr, tls_client(test_pki, "al-omrane", url) as omrane:
        assert imr.get("/v1/me").status_code == 502  # let through, to an upstream that is down
        refused = imr.get("/v1/me")
        assert omrane.get("/v1/me").status_code == 502
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    limited_type = CATALOGUE["rate-limited"]  # the same problem type as the gateway's own rate limit
    assert refused.json() == {"type": limited_type.uri, "title": limited_type.titles["en"], "status": limited_type.status}

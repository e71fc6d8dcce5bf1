"""The public listener: a real gateway with it on a free loopback port, reached over TLS with no
client certificate. It serves exactly the public routes (every other route of the app answers 404
there), each as the main listener serves it to registered clients, and limits each client address."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from gateway.api.public import PUBLIC_ROUTES, client_address, serving_publicly
from gateway.app import create_app
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier, open_checkpoint
from gateway.misconfiguration import ConfigurationError
from gateway.server import Sockets, background_gateway, free_port
from tests.conftest import running, settings_for
from tests.wire import client_context

SOME_ID = "3f0c9a56-1b7e-4c55-9d0e-2a8d41c7e0b1"
REFERENCE = "<!doctype html><title>IMR – Al Omrane gateway API</title>"


@pytest.fixture(scope="module")
def public_gateway(template, test_pki, registry_file, tmp_path_factory):
    """One gateway for the module (each test only reads, or is refused): its main URL, its public
    URL and its app. The public rate limit is out of the way here (tested below, in-process)."""
    directory = tmp_path_factory.mktemp("public")
    url = template.clone(directory)
    (directory / "v1.html").write_text(REFERENCE)
    settings = settings_for(url, test_pki, registry_file, directory).model_copy(
        update={"public_port": free_port(), "public_rate_limit_per_second": 0, "reference_html_file": directory / "v1.html"})
    app = create_app(settings)
    with background_gateway(settings, app) as main:
        yield main, f"https://127.0.0.1:{settings.public_port}", app
    template.drop(url)


@pytest.fixture(scope="module")
def anonymous(public_gateway, test_pki):
    """httpx to the public listener: it checks the server certificate and presents none."""
    _, public, _ = public_gateway
    with httpx.Client(base_url=public, verify=client_context(test_pki, None), timeout=10) as client:
        yield client


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", SOME_ID, template)


def test_every_other_route_of_the_app_answers_404_there(public_gateway, anonymous):
    _, _, app = public_gateway
    walked = 0
    for route in iter_route_contexts(app.routes):
        if route.path in PUBLIC_ROUTES:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            answer = anonymous.request(method, concrete(route.path), content=b"{}" if method != "GET" else None)
            assert answer.status_code == 404, (method, route.path, answer.text)
            assert answer.json()["type"] == "/problems/not-found" and answer.headers["content-type"] == "application/problem+json"
            walked += 1
    assert walked >= 30  # every operation of the API, writes included
    assert anonymous.get("/v1/ledger/key/").status_code == anonymous.get("/v1/nothing").status_code == 404


def test_the_public_routes_answer_without_a_client_certificate(public_gateway, anonymous, test_pki):
    main, _, _ = public_gateway
    jwks = anonymous.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and {key["purpose"] for key in jwks.json()["keys"]} == {"receipts", "ledger-checkpoints"}
    history = anonymous.get("/v1/keys/history").json()
    assert {key["key_set"] for key in history["keys"]} == {"/.well-known/jwks.json", "/v1/institutions/keys"}
    key = anonymous.get("/v1/ledger/key").json()
    checkpoint = anonymous.get("/v1/ledger/checkpoint")
    assert checkpoint.status_code == 200 and checkpoint.headers["vary"] == "Accept"
    note = anonymous.get("/v1/ledger/checkpoint", headers={"Accept": "text/plain"})
    assert note.headers["content-type"] == "text/plain; charset=utf-8" and note.headers["vary"] == "Accept"
    assert note.text == checkpoint.json()["note"]  # the signed note itself, to save and verify
    assert open_checkpoint(note.text, NoteVerifier.from_key_string(key["note_key"])).size == checkpoint.json()["size"]
    problem = anonymous.get("/problems/rate-limited").json()
    assert problem["status"] == 429 and set(problem["titles"]) == {"fr", "ar", "en"}
    reference = anonymous.get("/openapi/v1.html")
    assert reference.status_code == 200 and reference.text == REFERENCE and reference.headers["content-type"].startswith("text/html")
    refused = anonymous.post("/v1/ledger/checkpoint", content=b"{}")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET"
    with httpx.Client(base_url=main, verify=client_context(test_pki, "imr"), timeout=10) as imr:  # the main listener, as before
        assert imr.get("/v1/ledger/key").json() == key
        assert imr.get("/.well-known/jwks.json").json() == jwks.json()
        assert imr.get("/openapi/v1.html").text == REFERENCE


def test_the_main_listener_still_requires_a_registered_certificate_for_them(public_gateway, test_pki):
    main, _, _ = public_gateway
    with httpx.Client(base_url=main, verify=client_context(test_pki, "stranger"), timeout=10) as stranger:
        answer = stranger.get("/v1/ledger/key")
    assert answer.status_code == 403 and answer.json()["type"] == "/problems/unregistered-certificate"


def in_process(settings, **overrides) -> Iterator[TestClient]:
    """The app, started with `overrides`, as the public listener serves it (no TLS: the routing and limits only)."""
    with running(settings.model_copy(update=overrides)) as application:
        yield TestClient(serving_publicly(application))


def test_each_client_address_is_rate_limited(settings):
    for public in in_process(settings, public_rate_limit_per_second=0.01, public_rate_limit_burst=3):
        answers = [public.get(path) for path in ("/v1/ledger/key", "/v1/nothing", "/problems/not-found", "/v1/ledger/key")]
    assert [answer.status_code for answer in answers] == [200, 404, 200, 429]  # a 404 takes its token too
    assert answers[-1].json()["type"] == "/problems/rate-limited" and int(answers[-1].headers["retry-after"]) >= 1


def test_without_the_generated_documentation_it_is_a_404_problem(settings, tmp_path):
    for public in in_process(settings, reference_html_file=tmp_path / "absent.html"):
        answer = public.get("/openapi/v1.html")
    assert answer.status_code == 404 and answer.json()["type"] == "/problems/not-found"


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_clients(settings):
    proxied = settings.model_copy(update={"trust_proxy_client_cert": True, "trusted_proxies": ["10.0.0.0/8"]})
    forwarded = httpx.Headers({"x-forwarded-for": "198.51.100.7, 203.0.113.9"})
    assert client_address({"client": ("10.0.0.2", 1)}, forwarded, proxied) == "203.0.113.9"  # what the proxy itself wrote
    assert client_address({"client": ("192.0.2.1", 1)}, forwarded, proxied) == "192.0.2.1"  # anyone else: its own address
    assert client_address({"client": ("10.0.0.2", 1)}, forwarded, settings) == "10.0.0.2"  # not in proxy mode


def test_a_public_port_already_taken_stops_the_start_up_naming_its_setting(settings):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        busy = settings.model_copy(update={"public_port": taken.getsockname()[1]})
        with pytest.raises(ConfigurationError, match="GATEWAY_PUBLIC_HOST / GATEWAY_PUBLIC_PORT"):
            Sockets.bound(busy)

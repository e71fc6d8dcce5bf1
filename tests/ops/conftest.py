"""A real gateway over mutual TLS with its operations listener on a free loopback port (plain HTTP),
and what the tests read from it: probes, metrics, the log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from imr_alomrane_gateway_client import GatewayClient
from gateway.ops.logs import JsonFormatter
from gateway.runtime import Runtime
from gateway.security.registry import Registry
from gateway.server import background_gateway, free_port
from tests.wire import client_context


@dataclass
class OpsGateway:
    url: str
    ops: httpx.Client  # plain HTTP to the operations listener
    runtime: Runtime

    def scrape(self) -> dict[tuple[str, frozenset], float]:
        """Every sample of /metrics, by name and labels."""
        answer = self.ops.get("/metrics")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        return {(sample.name, frozenset(sample.labels.items())): sample.value
                for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def sample(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


KEY_DAYS_LEFT = 30


@pytest.fixture
def ops_settings(settings, registry_file, tmp_path):
    """The listener on a free port; IMR's first signing key expires in KEY_DAYS_LEFT days."""
    registry = Registry.load(registry_file)
    imr = next(institution for institution in registry.institutions if institution.id == "imr")
    expiring = imr.signing_keys[0].model_copy(update={"not_after": datetime.now(UTC) + timedelta(days=KEY_DAYS_LEFT)})
    changed = imr.model_copy(update={"signing_keys": [expiring, *imr.signing_keys[1:]]})
    Registry(institutions=[changed if institution is imr else institution for institution in registry.institutions]).write(
        tmp_path / "registry.json"
    )
    return settings.model_copy(update={"ops_port": free_port(), "registry_file": tmp_path / "registry.json"})


@pytest.fixture
def ops_gateway(ops_settings) -> Iterator[OpsGateway]:
    app = create_app(ops_settings)
    with background_gateway(ops_settings, app) as url, httpx.Client(base_url=f"http://127.0.0.1:{ops_settings.ops_port}", timeout=10) as ops:
        yield OpsGateway(url, ops, app.state.runtime)


@pytest.fixture
def sdk(ops_gateway, test_pki):
    """`sdk(name)`: the institutions' SDK for `name`, against the gateway."""
    made: list[GatewayClient] = []

    def make(name: str) -> GatewayClient:
        files = test_pki.files(name)
        made.append(GatewayClient(ops_gateway.url, name, ca=test_pki.dev.ca_cert, cert=files.cert, key=files.key,
                                  signing_key=files.signing_key, **test_pki.trust))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def unsigned(ops_gateway, test_pki):
    """`unsigned(name)`: httpx over mutual TLS as `name`, signing nothing (for refused writes)."""
    made: list[httpx.Client] = []

    def make(name: str, **options) -> httpx.Client:
        made.append(httpx.Client(base_url=ops_gateway.url, verify=client_context(test_pki, name), timeout=10, **options))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def logged() -> Iterator[Callable[[], list[dict]]]:
    """`logged()`: the gateway's log lines so far, as its JSON formatter wrote them (as they were
    logged, in the thread and context that logged them)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("gateway")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)

"""A gateway whose registry file and PKI are its own to change: copies, in the test's directory."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.cli import main
from imr_alomrane_gateway_client.auth import RequestSigner
from imr_alomrane_gateway_client.regions import Region
from gateway.security import pki
from gateway.security.dev import signing_key_entry
from gateway.security.registry import CertificateRef, RegisteredUnit, Registry
from gateway.security.tls import with_client_certificate
from tests.conftest import wait_until

NEW_UNIT = "imr-oriental"


@pytest.fixture
def own_settings(settings, test_pki, tmp_path: Path, cli_env):
    """The test settings on a copy of the PKI (so `pki revoke` writes <pki_dir>/crl.pem there) and
    of the registry file; every process checks the database every 50 ms. The CLI sees the same."""
    directory = tmp_path / "own-pki"
    shutil.copytree(test_pki.dev.directory, directory)
    registry_file = tmp_path / "registry.json"
    shutil.copyfile(settings.registry_file, registry_file)
    cli_env.setenv("GATEWAY_PKI_DIR", str(directory))
    cli_env.setenv("GATEWAY_REGISTRY_FILE", str(registry_file))
    return settings.model_copy(update={"pki_dir": directory, "registry_file": registry_file, "registry_poll_seconds": 0.05})


@pytest.fixture
def edit_registry(own_settings) -> Callable[[Callable[[dict], None]], None]:
    """`edit_registry(change)`: `change` edits the registry file's JSON in place (validated when written)."""
    def edit(change: Callable[[dict], None]) -> None:
        document = json.loads(own_settings.registry_file.read_text())
        change(document)
        Registry.model_validate(document).write(own_settings.registry_file)

    return edit


def institution(document: dict, institution_id: str) -> dict:
    return next(entry for entry in document["institutions"] if entry["id"] == institution_id)


@pytest.fixture
def new_unit(own_settings) -> tuple[pki.ClientFiles, dict]:
    """A new IMR unit's certificate and signing key (issued by the client CA), and its registry entry."""
    files = pki.issue_client_certificate(own_settings.pki_dir, NEW_UNIT, organization="Institution du Médiateur du Royaume")
    fingerprint = pki.certificate_fingerprint(pki.load_certificate(files.cert))
    entry = RegisteredUnit(id=NEW_UNIT, name_fr="Délégation régionale de l'Oriental", name_ar="المندوبية الجهوية للشرق",
                           regions=[Region.ORIENTAL], certificates=[CertificateRef(sha256=fingerprint)],
                           signing_keys=[signing_key_entry(files.signing_key)])
    return files, entry.model_dump(mode="json", exclude_none=True)


@pytest.fixture
def running(own_settings):
    """`running()`: another gateway app serving (its lifespan running) on the same database; closed at the end."""
    opened: list[TestClient] = []

    def start(**overrides) -> TestClient:
        client = TestClient(create_app(own_settings.model_copy(update=overrides)))
        client.__enter__()
        opened.append(client)
        return client

    yield start
    for client in opened:
        client.__exit__(None, None, None)


def as_unit(gateway: TestClient, files: pki.ClientFiles, name: str) -> TestClient:
    """A client presenting `files`' certificate to `gateway`'s app and signing with its key as `name`."""
    client = TestClient(with_client_certificate(gateway.app, files.cert.read_text()))
    client.auth = RequestSigner.from_key_file(name, files.signing_key, "imr-alomrane-gateway")
    return client


def serves_version(gateway: TestClient, version: int) -> None:
    """Wait until `gateway`'s process serves `version` (its poll, or its own apply)."""
    wait_until(lambda: gateway.app.state.runtime.trust.version == version)


def apply(capsys) -> tuple[int, str]:
    """`gateway registry apply`, as an operator runs it: its exit status and what it printed."""
    status = main(["registry", "apply"])
    captured = capsys.readouterr()
    return status, captured.out + captured.err

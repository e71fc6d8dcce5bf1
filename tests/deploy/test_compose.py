"""compose.yaml cannot be run here (no container engine: README, Production-like run), so it is
checked as far as it can be without one: against the Compose Specification's JSON schema
(vendored: compose-spec.md), for what it refers to (files in the repository, services, volumes,
secrets), for the replicas' place behind nginx (the upstream, the trusted address, the ops port
of their healthcheck), with `nginx -t` on the nginx configuration it mounts, and by running its
healthcheck and privileges commands against stand-ins here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
import yaml

from gateway.server import free_port
from tests.conftest import POSTGRES_URL, RUNTIME_ROLE
from tests.deploy.health import StubOpsListener
from tests.nginx import DEPLOY, SERVER_BLOCK, nginx_config, nginx_test

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
SERVICES = COMPOSE["services"]
OPERATOR_FILES = Path("var/compose")  # what the operator provides (git-ignored var/): README, Production-like run


def gateways() -> dict[str, dict]:
    """The replicas: the services that serve behind the proxy."""
    return {name: service for name, service in SERVICES.items()
            if service.get("environment", {}).get("GATEWAY_TRUST_PROXY_CLIENT_CERT") == "true"}


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(host path, container path) of each bind mount; named volumes left out."""
    mounts = [volume.split(":")[:2] for volume in service.get("volumes", [])]
    return [(source, target) for source, target in mounts if source.startswith(".")]


def test_it_is_valid_by_the_compose_specification():
    assert SCHEMA["$schema"].startswith("https://json-schema.org/draft-07/")  # spelled without the `#` jsonschema looks up
    validator = jsonschema.Draft7Validator(SCHEMA)
    assert not [error.message for error in validator.iter_errors(COMPOSE)]
    broken = {**COMPOSE, "services": {**SERVICES, "db": {**SERVICES["db"], "healthcheck": {"interval": 5}}}}
    assert not validator.is_valid(broken)  # the schema does reject a mistake (an interval is a duration string)
    misspelled = {**COMPOSE, "services": {**SERVICES, "nginx": {**SERVICES["nginx"], "depend_on": ["db"]}}}
    assert not validator.is_valid(misspelled)


def test_what_it_refers_to_exists():
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", {})) <= set(SERVICES), name
        assert set(service.get("secrets", [])) <= set(COMPOSE["secrets"]), name
        named = {volume.split(":")[0] for volume in service.get("volumes", []) if not volume.startswith(".")}
        assert named <= set(COMPOSE["volumes"]), name
        for source, _ in bind_mounts(service):
            assert (ROOT / source).exists() or Path(source).is_relative_to(OPERATOR_FILES), (name, source)
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file()
    assert all(Path(secret["file"]).is_relative_to(OPERATOR_FILES) for secret in COMPOSE["secrets"].values())
    assert "var/" in (ROOT / ".gitignore").read_text().splitlines()  # operator files are never committed


def test_two_replicas_share_the_blobs_and_mount_the_keys_read_only():
    replicas = gateways()
    assert len(replicas) == 2
    for service in replicas.values():
        assert f"blobs:{service['environment']['GATEWAY_BLOB_DIR']}" in service["volumes"]
        assert all(volume.endswith(":ro") for volume in service["volumes"] if "keys" in volume)
        assert "@db/" in service["environment"]["GATEWAY_DATABASE_URL"]


def test_nginx_balances_the_replicas_and_is_the_address_they_trust():
    nginx = SERVICES["nginx"]
    mounts = dict(bind_mounts(nginx))
    assert mounts["./deploy/nginx/compose.conf"] == "/etc/nginx/nginx.conf"
    assert mounts["./deploy/nginx/gateway.conf"] == SERVER_BLOCK
    assert mounts["./deploy/nginx/public.conf"] == "/etc/nginx/public.conf"
    for upstream_name, port_setting in (("gateway", "GATEWAY_PORT"), ("gateway_public", "GATEWAY_PUBLIC_PORT")):
        upstream = re.search(rf"upstream {upstream_name} \{{(.*?)\}}", (DEPLOY / "compose.conf").read_text(), re.DOTALL).group(1)
        servers = re.findall(r"server (\S+?)[; ]", upstream)
        assert servers == [f"{name}:{service['environment'][port_setting]}" for name, service in gateways().items()]
    [address] = {service["environment"]["GATEWAY_TRUSTED_PROXIES"] for service in gateways().values()}
    assert nginx["networks"]["backend"]["ipv4_address"] == address


def test_nginx_accepts_the_configuration_compose_mounts(test_pki, tmp_path):
    """The replicas' names resolve only on the compose network: `nginx -t` gets loopback addresses for them."""
    ports = {f"{name}:{service['environment'][setting]}": f"127.0.0.1:{free_port()}"
             for name, service in gateways().items() for setting in ("GATEWAY_PORT", "GATEWAY_PUBLIC_PORT")}
    config = nginx_config((DEPLOY / "compose.conf").read_text(), tmp_path, test_pki.dev.directory, free_port(), ports)
    result = nginx_test(config)
    assert result.returncode == 0, result.stderr
    (tmp_path / "gateway.conf").write_text((tmp_path / "gateway.conf").read_text().replace("limit_req ", "limit_req_typo "))
    assert nginx_test(config).returncode != 0  # a broken server block does fail


@pytest.mark.parametrize("name", sorted(gateways()))
def test_the_replicas_healthcheck_asks_their_ops_listener_whether_they_are_ready(name):
    service = SERVICES[name]
    kind, *command = service["healthcheck"]["test"]
    assert kind == "CMD"
    assert service["environment"]["GATEWAY_OPS_PORT"] == "9180"  # the ops listener's default, as the Dockerfile's EXPOSE
    with StubOpsListener() as ops:
        assert ops.probe(command) == 0 and ops.paths == ["/readyz"]
        ops.status = 503
        assert ops.probe(command) != 0


@pytest.mark.skipif(not POSTGRES_URL, reason="needs the PostgreSQL test cluster (scripts/test starts it; always in CI)")
@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_the_privileges_service_creates_the_runtime_role_from_pgpass(template, database_url, engine_sql, tmp_path):
    """Its shell command, run here as compose would run it, against the test database."""
    service = SERVICES["privileges"]
    assert service["entrypoint"] == ["sh", "-c"]
    [script] = service["command"]
    url = sa.engine.make_url(database_url)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:{url.username}:unused-here\n*:*:*:{RUNTIME_ROLE}:the-runtime-password\n")
    pgpass.chmod(0o600)
    script = script.replace("$$", "$").replace("/run/secrets/pgpass", str(pgpass)).replace("/deploy/postgres", str(ROOT / "deploy/postgres"))
    env = {**service["environment"], "PGHOST": url.query["host"], "PGUSER": url.username, "PGDATABASE": url.database,
           "PGPASSFILE": str(pgpass), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    password = engine_sql("SELECT rolpassword FROM pg_authid WHERE rolname = :role", role=RUNTIME_ROLE).scalar_one()
    assert password and password.startswith("SCRAM-SHA-256$")
    assert engine_sql("SELECT has_table_privilege(:role, 'cases', 'INSERT')", role=RUNTIME_ROLE).scalar_one()
    assert not engine_sql("SELECT has_table_privilege(:role, 'ledger_entries', 'UPDATE')", role=RUNTIME_ROLE).scalar_one()


"""Shared fixtures: a development PKI, a migrated database per engine, and one client per institution.

Every test that touches the database runs on SQLite and, when `GATEWAY_TEST_POSTGRES_URL` is
set (scripts/test starts a throwaway cluster), on PostgreSQL too. Each test gets its own copy
of a database migrated once per run, so tests are isolated and migrations are what builds it.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from gateway.app import create_app
from imr_alomrane_gateway_client.auth import RequestSigner
from gateway.config import Settings
from imr_alomrane_gateway_client.vocabulary import Role
from gateway.security import pki
from gateway.security.dev import dev_registry, registry_entry, trust_roots
from gateway.security.registry import Registry
from gateway.security.tls import with_client_certificate
from gateway.storage.migrations import upgrade

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

# For the tests that fire requests as fast as they can at one app (the schemathesis runs): what
# they check is the contract, and the rate limits (tests/ratelimits) would answer most of them 429.
# What a child process imports: this checkout's server and client distribution, whatever the venv installed.
CHECKOUT_PYTHONPATH = os.pathsep.join(str(Path(__file__).resolve().parents[1] / part) for part in ("", "clients/python/src"))
UNLIMITED = {"rate_limit_unit_per_second": 0, "rate_limit_institution_per_second": 0}
# For the schemathesis runs too: an inbox read answers at once, whatever `wait=` it generates
# (each would otherwise hold the run for up to GATEWAY_INBOX_MAX_WAIT_SECONDS; tests/tls/test_inbox_long_poll.py waits).
NO_LONG_POLLS = {"inbox_max_wait_seconds": 0}

# A second respondent, to show that institutions only see their own cases.
OTHER_RESPONDENT = ("ac-casa", Role.RESPONDENT, "Al Omrane Casablanca-Settat", "العمران الدار البيضاء سطات")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--crash-kills", type=int, default=5,
        help="tests/faults/test_crash.py: how many times to SIGKILL the gateway per engine (default 5)",
    )
    parser.addoption(
        "--edge-seconds", type=float, default=6.0,
        help="tests/edge: how long the slow-loris attack lasts (default 6 s; the issue's figure is 20)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `long` (the long schemathesis runs) are on demand: deselected, not skipped, unless
    `-m` names them; the suite runs their bounded versions."""
    if "long" in config.getoption("markexpr", ""):
        return
    on_demand = [item for item in items if item.get_closest_marker("long")]
    if on_demand:
        config.hook.pytest_deselected(items=on_demand)
        items[:] = [item for item in items if not item.get_closest_marker("long")]


@dataclass(frozen=True)
class TestPki:
    dev: pki.DevPki
    other: pki.ClientFiles
    unregistered: pki.ClientFiles

    def files(self, name: str) -> pki.ClientFiles:
        return {"ac-casa": self.other, "stranger": self.unregistered}.get(name) or self.dev.clients[name]

    @property
    def trust(self) -> dict[str, Any]:
        """What an SDK client of a test gateway pins: the keys of this PKI's gateway (GatewayClient's options)."""
        return trust_roots(Settings(pki_dir=self.dev.directory, _env_file=None))


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    directory = tmp_path_factory.mktemp("pki")
    dev = pki.init_dev_pki(directory)
    other = pki.issue_client_certificate(directory, OTHER_RESPONDENT[0], organization=OTHER_RESPONDENT[2])
    stranger = pki.issue_client_certificate(directory, "stranger", organization="Unregistered")
    return TestPki(dev, other, stranger)


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 token holding a receipt key and a checkpoint key, and the settings naming them."""

    module: Path
    token_label: str
    pin: str
    signing_label: str
    checkpoint_label: str

    @property
    def settings(self) -> dict[str, str]:
        """The GATEWAY_PKCS11_* settings, as Settings keyword arguments."""
        return {
            "pkcs11_module": str(self.module), "pkcs11_token_label": self.token_label, "pkcs11_pin": self.pin,
            "pkcs11_signing_key_label": self.signing_label, "pkcs11_checkpoint_key_label": self.checkpoint_label,
        }

    def env(self, **overrides: str) -> dict[str, str]:
        """The same settings as environment variables, `overrides` (by setting name) replacing some."""
        return {f"GATEWAY_{name.upper()}": value for name, value in (self.settings | overrides).items()}


SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """One token for the whole run, its keys made in it (python-pkcs11): SoftHSM2 reads
    SOFTHSM2_CONF once per process, when the module is initialised, so a second token directory
    would go unseen. Subprocesses (the CLI tests) inherit SOFTHSM2_CONF and see the same token."""
    from gateway.security.signers import pkcs11_module
    from imr_alomrane_gateway_client.signers import EDDSA, ES256

    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    hsm = SoftHsm(SOFTHSM_MODULE, "gateway-test", "4f1c-test-pin", "gateway-receipts", "gateway-checkpoints")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(config))
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", hsm.token_label, "--pin", hsm.pin, "--so-pin", "so-" + hsm.pin],
                       check=True, capture_output=True)
        module = pkcs11_module(hsm.module)
        session = module.log_in(module.token(hsm.token_label), hsm.pin)
        session.generate(hsm.signing_label, ES256)
        session.generate(hsm.checkpoint_label, EDDSA)
        yield hsm


@pytest.fixture(scope="session")
def registry_file(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    entries = dev_registry(test_pki.dev.clients)
    entries.append(registry_entry(OTHER_RESPONDENT[0], *OTHER_RESPONDENT[1:], test_pki.other))
    path = tmp_path_factory.mktemp("registry") / "registry.json"
    Registry(institutions=entries).write(path)
    return path


_counter = itertools.count()


class SqliteTemplate:
    def __init__(self, template: Path) -> None:
        self.template = template

    @classmethod
    def migrated(cls, directory: Path) -> SqliteTemplate:
        template = directory / "template.db"
        upgrade(f"sqlite:///{template}")
        return cls(template)

    def clone(self, directory: Path) -> str:
        copy = directory / f"test-{next(_counter)}.db"
        shutil.copyfile(self.template, copy)
        return f"sqlite:///{copy}"

    def drop(self, url: str) -> None:
        pass  # lives in the test's tmp_path

    def cloning(self, url: str) -> SqliteTemplate:
        """The database at `url` (one of this template's clones) as the template of further clones."""
        return SqliteTemplate(Path(make_url(url).database))


class PostgresTemplate:
    """CREATE DATABASE … TEMPLATE is a file copy: much faster than migrating each test's database."""

    def __init__(self, admin: Engine, name: str) -> None:
        self.admin, self.name = admin, name
        self.server = admin.url

    @classmethod
    def migrated(cls, server_url: str) -> PostgresTemplate:
        template = cls(create_engine(make_url(server_url), isolation_level="AUTOCOMMIT"), f"gw_template_{os.getpid()}")
        with template.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template.name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{template.name}"')
        upgrade(template.server.set(database=template.name).render_as_string(hide_password=False))
        return template

    def clone(self, directory: Path) -> str:
        name = f"gw_test_{os.getpid()}_{next(_counter)}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return self.server.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def cloning(self, url: str) -> PostgresTemplate:
        """The database at `url` (one of this template's clones) as the template of further clones:
        nothing may be connected to it while they are made."""
        return PostgresTemplate(self.admin, make_url(url).database)


@pytest.fixture(scope="session", params=ENGINES)
def template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param == "sqlite":
        yield SqliteTemplate.migrated(tmp_path_factory.mktemp("sqlite"))
        return
    template = PostgresTemplate.migrated(POSTGRES_URL)
    yield template
    with template.admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template.name}" WITH (FORCE)')
    template.admin.dispose()


@pytest.fixture(scope="module")
def arrangement(template):
    """What each test's database is a copy of: the migrated database, unless the module arranges
    one of its own (`arranged_once`, or a module fixture of this name)."""
    return template


@pytest.fixture
def database_url(arrangement, tmp_path: Path) -> Iterator[str]:
    url = arrangement.clone(tmp_path)
    yield url
    arrangement.drop(url)


def settings_for(database_url: str, test_pki: TestPki, registry_file: Path, directory: Path) -> Settings:
    """A test gateway's settings: the test keys and registry, its database, and in `directory` its
    blobs and what it keeps beside them (the restore guard's record of published checkpoints). No
    operations listener (its default port would be shared by every gateway of the run): tests/ops
    sets one on a free port."""
    return Settings(
        database_url=database_url, pki_dir=test_pki.dev.directory, registry_file=registry_file, blob_dir=directory / "blobs",
        ops_port=0, _env_file=None,
    )


@pytest.fixture
def settings(database_url: str, test_pki: TestPki, registry_file: Path, tmp_path: Path) -> Settings:
    return settings_for(database_url, test_pki, registry_file, tmp_path)


@contextmanager
def running(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    with TestClient(application):  # runs the lifespan: schema check, registry sync
        yield application


@pytest.fixture
def app(settings: Settings):
    with running(settings) as application:
        yield application


def wait_until(condition, seconds: float = 10) -> None:
    """For what another thread does in its own time (a server's), with no event to await: checked every 20 ms."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def signer_for(test_pki: TestPki, name: str, audience: str = "imr-alomrane-gateway") -> RequestSigner:
    return RequestSigner.from_key_file(name, test_pki.files(name).signing_key, audience)


def institution_client(app, test_pki: TestPki, name: str, *, sign: bool = True, **headers: str) -> TestClient:
    """An HTTP client that presents `name`'s certificate (as the TLS layer would report it) and
    signs its writes with `name`'s signing key, as the SDK does."""
    pem = test_pki.files(name).cert.read_text()
    client = TestClient(with_client_certificate(app, pem), headers=headers)
    if sign:
        client.auth = signer_for(test_pki, name)
    return client


@dataclass(frozen=True)
class Snapshot:
    """A database and the files its gateway keeps (`state`: blobs, published checkpoints) arranged
    once, each test starting from a copy of both (see `arranged_once`); `arranged` is what the
    arranging returned."""

    template: SqliteTemplate | PostgresTemplate
    state: Path
    arranged: object

    def clone(self, directory: Path) -> str:
        shutil.copytree(self.state, directory, dirs_exist_ok=True)  # where `settings_for` puts a test's files
        return self.template.clone(directory)

    def drop(self, url: str) -> None:
        self.template.drop(url)


def arranged_once(arrange: Callable[[Callable[..., TestClient]], object]):
    """The `arrangement` fixture of a module whose tests all start from the same state (and may
    write): `arrange(client_for)` runs once per engine, through a gateway on a copy of the migrated
    database, and each test's database and files are copies of what it left. Much faster than
    arranging per test when the arrangement is a few signed writes and the module has many cases."""

    @pytest.fixture(scope="module", name="arrangement")
    def arranged_snapshot(template, test_pki: TestPki, registry_file: Path, tmp_path_factory: pytest.TempPathFactory):
        directory = tmp_path_factory.mktemp("arranged")
        url, state = template.clone(directory), directory / "state"
        with running(settings_for(url, test_pki, registry_file, state)) as application:  # disposes of its engine on the way out
            arranged = arrange(lambda name, **options: institution_client(application, test_pki, name, **options))
        yield Snapshot(template.cloning(url), state, arranged)
        template.drop(url)

    return arranged_snapshot


@pytest.fixture
def client_for(app, test_pki: TestPki):
    return lambda name, **options: institution_client(app, test_pki, name, **options)


@pytest.fixture
def imr(client_for) -> TestClient:
    return client_for("imr")


@pytest.fixture
def omrane(client_for) -> TestClient:
    return client_for("al-omrane")


@pytest.fixture
def cli_env(settings, monkeypatch):
    """`gateway.cli.main` sees the same database, keys, registry and blob store as the test app."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GATEWAY_PKI_DIR", str(settings.pki_dir))
    monkeypatch.setenv("GATEWAY_REGISTRY_FILE", str(settings.registry_file))
    monkeypatch.setenv("GATEWAY_BLOB_DIR", str(settings.blob_dir))
    return monkeypatch


@contextmanager
def sql_runner(database_url: str):
    """`run(statement, **params)`: SQL (text or a SQLAlchemy statement) in a transaction of its own."""
    engine = create_engine(database_url)

    def run(statement, **params):
        with engine.begin() as connection:
            return connection.execute(text(statement) if isinstance(statement, str) else statement, params)

    yield run
    engine.dispose()


@pytest.fixture
def engine_sql(database_url: str):
    """Run SQL against the test database directly (to arrange states the API would not produce)."""
    with sql_runner(database_url) as run:
        yield run


RUNTIME_ROLE = "gateway_app"


def apply_runtime_role(database_url: str) -> str:
    """Run deploy/postgres/app-role.sql and privileges.sql on a PostgreSQL test database, as the
    operator does (psql, as the owner), and return the URL that connects as the runtime role."""
    url = make_url(database_url)
    subprocess.run(
        ["psql", "-h", url.query["host"], "-U", url.username, "-d", url.database, "-q", "-v", "ON_ERROR_STOP=1",
         "-v", f"app={RUNTIME_ROLE}", "-v", f"password={secrets.token_urlsafe()}",
         "-f", "deploy/postgres/app-role.sql", "-f", "deploy/postgres/privileges.sql"],
        check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1],
    )
    return url.set(username=RUNTIME_ROLE).render_as_string(hide_password=False)


@pytest.fixture
def ledger_size(engine_sql):
    """How many exchange entries the ledger holds, counted in the database itself (not the
    `registry_changed` entry each test's gateway records when it starts on its fresh database)."""
    return lambda: engine_sql("SELECT count(*) FROM ledger_entries WHERE kind <> 'registry_changed'").scalar()

"""The composition root: what a running gateway is made of, built once from the settings.

The app, the CLI and the server all take their database, vault, blob store, keys and ledger from
here, so each is configured in one place. Parts are built on first use: a CLI command that only
exports the ledger never loads the master key.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from cryptography import x509

from gateway.config import Settings
from gateway.ledger.store import Ledger
from gateway.misconfiguration import provisioned
from gateway.ops.metrics import GatewayMetrics
from gateway.ops.readiness import Readiness
from gateway.security.keys import KeyRing, checkpoint_signer, gateway_key
from gateway.security.registry import Directory, Registry
from gateway.services.registry import sync_registry
from gateway.services.vault import Vault
from gateway.storage.blobs import BlobStore
from gateway.storage.engine import Database
from gateway.storage.migrations import check_up_to_date
from gateway.storage.writers import PooledWriter, SerialWriter, Writer

REGISTRY = "the institution registry (JSON; see README, The registry)"
# The key of the runtime in the ASGI lifespan state: the app's lifespan puts it there, and the
# server's parts outside the app (the edge, the operations listener) find it there.
RUNTIME_STATE = "gateway.runtime"
CLIENT_CA = "the certificate (PEM) of the CA that issues the institutions' client certificates"


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def readiness(self) -> Readiness:
        """What keeps this process from serving (gateway.ops.readiness): `/readyz` and the write path read it."""
        return Readiness()

    @cached_property
    def metrics(self) -> GatewayMetrics:
        """What this process counts (gateway.ops.metrics), served by the operations listener."""
        return GatewayMetrics()

    @cached_property
    def database(self) -> Database:
        return Database(
            self.settings.database_url, lock_timeout_seconds=self.settings.database_lock_timeout_seconds,
            pool_size=self.settings.database_pool_size,
        )

    @cached_property
    def writer(self) -> Writer:
        """Where the exchange runs write transactions (gateway.storage.writers)."""
        return SerialWriter() if self.settings.is_sqlite else PooledWriter()

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.settings.load_master_key(), self.settings.load_retired_master_keys())

    @cached_property
    def blobs(self) -> BlobStore:
        return self.settings.open_blob_store()

    @cached_property
    def ledger(self) -> Ledger:
        settings = self.settings
        with provisioned("GATEWAY_CHECKPOINT_KEY", "the ledger's checkpoint signing key (Ed25519 private key, PEM)"):
            return Ledger(settings.origin, checkpoint_signer(settings.checkpoint_key_path, settings.origin))

    @cached_property
    def registry(self) -> Registry:
        with provisioned("GATEWAY_REGISTRY_FILE", REGISTRY):
            return Registry.load(self.settings.registry_file)

    @cached_property
    def keys(self) -> KeyRing:
        settings, registry, ledger = self.settings, self.registry, self.ledger
        with provisioned("GATEWAY_SIGNING_KEY", "the gateway's receipt signing key (EC P-256 private key, PEM)"):
            signing = gateway_key(settings.signing_key_path, settings.gateway_id)
        with provisioned("GATEWAY_RETIRED_SIGNING_KEYS", "the older receipt signing keys, comma-separated paths (EC P-256, PEM)"):
            retired = [gateway_key(path, settings.gateway_id)[1] for path in settings.retired_signing_keys]
        with provisioned("GATEWAY_REGISTRY_FILE", REGISTRY):
            return KeyRing.build(registry, settings.gateway_id, signing, retired, ledger)

    @cached_property
    def directory(self) -> Directory:
        return Directory.of(self.registry)

    @cached_property
    def client_ca(self) -> x509.Certificate:
        """The CA every client certificate must be issued by: checked by the TLS handshake (or the
        proxy), and again by the app."""
        with provisioned("GATEWAY_CLIENT_CA", CLIENT_CA):
            return x509.load_pem_x509_certificate(self.settings.client_ca_path.read_bytes())

    def check_configuration(self) -> None:
        """Load every key and file the settings name (none of them needs the database), so that a
        bad set-up is one ConfigurationError before anything is served."""
        for part in ("keys", "vault", "directory", "client_ca", "blobs"):
            getattr(self, part)

    def check_server_tls(self) -> None:
        """The files the edge will load when the gateway terminates TLS itself, loaded now so that
        a missing or mismatched one names its setting instead of failing inside the server."""
        settings, context = self.settings, ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with provisioned("GATEWAY_TLS_CERT / GATEWAY_TLS_KEY", "the server's certificate chain and its private key (PEM, a matching pair)"):
            context.load_cert_chain(settings.server_cert_path, settings.server_key_path)
        with provisioned("GATEWAY_CLIENT_CA", CLIENT_CA):
            context.load_verify_locations(settings.client_ca_path)

    def start(self) -> None:
        """What serving needs, checked and built now, so that a bad set-up stops the start-up
        instead of failing the first request."""
        check_up_to_date(self.database.engine)
        self.mirror_registry()
        self.check_configuration()
        self.blobs.sweep_incoming()

    def mirror_registry(self) -> None:
        """Make the institution tables say what the registry file says, in one transaction."""
        with self.database.session(write=True) as session:
            sync_registry(session, self.registry)
            session.commit()

    def close(self) -> None:
        if "writer" in self.__dict__:
            self.writer.close()
        if "database" in self.__dict__:
            self.database.dispose()


def runtime_in(state: Mapping[str, Any] | None) -> Runtime | None:
    """The runtime an ASGI lifespan state holds (None for an app that is not the gateway's)."""
    return (state or {}).get(RUNTIME_STATE)

"""The composition root: what a running gateway is made of, built once from the settings.

The app, the CLI and the server all take their database, vault, blob store, keys and ledger from
here, so each is configured in one place. Parts are built on first use: a CLI command that only
exports the ledger never loads the master key.
"""

from __future__ import annotations

from functools import cached_property

from cryptography import x509

from gateway.config import Settings
from gateway.ledger.store import Ledger
from gateway.security.keys import KeyRing, checkpoint_signer
from gateway.security.registry import Directory, Registry
from gateway.services.registry import sync_registry
from gateway.services.vault import Vault
from gateway.storage.blobs import BlobStore
from gateway.storage.engine import Database
from gateway.storage.migrations import check_up_to_date
from gateway.storage.writers import PooledWriter, SerialWriter, Writer


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

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
        return Ledger(settings.origin, checkpoint_signer(settings.checkpoint_key_path, settings.origin))

    @cached_property
    def registry(self) -> Registry:
        return Registry.load(self.settings.registry_file)

    @cached_property
    def keys(self) -> KeyRing:
        settings = self.settings
        return KeyRing.build(self.registry, settings.gateway_id, settings.signing_key_path, settings.retired_signing_keys, self.ledger)

    @cached_property
    def directory(self) -> Directory:
        return Directory.of(self.registry)

    @cached_property
    def client_ca(self) -> x509.Certificate:
        """The CA every client certificate must be issued by: checked by the TLS handshake (or the
        proxy), and again by the app."""
        return x509.load_pem_x509_certificate(self.settings.client_ca_path.read_bytes())

    def start(self) -> None:
        """What serving needs, checked and built now, so that a bad set-up stops the start-up
        instead of failing the first request."""
        check_up_to_date(self.database.engine)
        self.mirror_registry()
        for part in ("keys", "vault", "directory", "client_ca"):
            getattr(self, part)
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

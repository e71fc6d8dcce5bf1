"""The composition root: what a running gateway is made of, built once from the settings.

The app, the CLI and the server all take their database, vault, blob store, keys and ledger from
here, so each is configured in one place. Parts are built on first use: a CLI command that only
exports the ledger never loads the master key.

The registry, the keys and the directory are the exception: they are the `Trust` of the registry
version in force (gateway.security.trust), swapped whole when another version is applied, here
(`apply_files`) or by another process (`follow`). A request pins the one it started with.
"""

from __future__ import annotations

import importlib.util
import logging
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography import x509

from gateway.api.rate_limits import Rate, RateLimiter
from gateway.config import Settings
from gateway.ledger import integrity
from imr_alomrane_gateway_client.ledger.checkpoint import NoteSigner
from gateway.ledger.published import PublishedCheckpoints
from gateway.ledger.store import Ledger
from gateway.misconfiguration import ConfigurationError, provisioned
from gateway.ops.metrics import GatewayMetrics
from gateway.ops.readiness import Readiness
from gateway.security.crl import Revocations
from gateway.security.keys import KeyRing, gateway_key, key_file
from gateway.security.registry import Directory, Registry
from gateway.security.signers import Pkcs11Session, pkcs11_module
from imr_alomrane_gateway_client.signers import EDDSA, ES256, KEY_KINDS, KeySigner
from imr_alomrane_gateway_client.signing import Signer, VerificationKey
from gateway.security.tls import server_tls_context
from gateway.security.trust import Trust
from gateway.services import registry as registry_service
from gateway.services.vault import Vault
from gateway.storage.blobs import BlobStore
from gateway.storage.engine import Database
from gateway.storage.migrations import check_up_to_date
from gateway.storage.signals import InboxSignals
from gateway.storage.writers import PooledWriter, SerialWriter, Writer

REGISTRY = "the institution registry (JSON; see README, The registry)"
# The key of the runtime in the ASGI lifespan state: the app's lifespan puts it there, and the
# server's parts outside the app (the edge, the operations listener) find it there.
RUNTIME_STATE = "gateway.runtime"
CLIENT_CA = "the certificate (PEM) of the CA that issues the institutions' client certificates"
CLIENT_CRL = "the client CA's certificate revocation lists (PEM), signed by it and not past their next update"
KEY_USES = {ES256: "the gateway's receipt signing key", EDDSA: "the ledger's checkpoint signing key"}
LEDGER_CHECK, RESTORE_GUARD = "ledger", "restore-guard"

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._trust: Trust | None = None
        self._pinned: ContextVar[Trust | None] = ContextVar(f"trust-{id(self)}", default=None)
        self._swapping = threading.Lock()
        self._serving_tls = False  # set by `start` when this process terminates TLS: its trust then carries the edge's context

    @cached_property
    def readiness(self) -> Readiness:
        """What keeps this process from serving (gateway.ops.readiness): `/readyz` and the write path read it."""
        return Readiness()

    @cached_property
    def metrics(self) -> GatewayMetrics:
        """What this process counts (gateway.ops.metrics), served by the operations listener."""
        return GatewayMetrics()

    @cached_property
    def inbox_signals(self) -> InboxSignals:
        """Wakes the inbox reads waiting in this process when a write delivers to their inbox."""
        return InboxSignals()

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        settings = self.settings
        return RateLimiter(
            Rate(settings.rate_limit_unit_per_second, settings.rate_limit_unit_burst),
            Rate(settings.rate_limit_institution_per_second, settings.rate_limit_institution_burst),
        )

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
    def hsm(self) -> Pkcs11Session:
        """The logged-in session on the HSM that GATEWAY_PKCS11_MODULE names (one per process and
        token, opened the first time: gateway.security.signers)."""
        settings = self.settings
        if importlib.util.find_spec("pkcs11") is None:
            raise ConfigurationError("GATEWAY_PKCS11_MODULE", "needs python-pkcs11, which is not installed", "install the gateway with its pkcs11 extra")
        with provisioned("GATEWAY_PKCS11_MODULE", "a PKCS#11 module (shared library)"):
            module = pkcs11_module(settings.pkcs11_module)  # type: ignore[arg-type]  # set: a key label needs it (Settings)
        with provisioned("GATEWAY_PKCS11_TOKEN_LABEL", f"the label of a token of {module.path}"):
            token = module.token(settings.pkcs11_token_label)  # type: ignore[arg-type]  # the settings check it is set
        pin = settings.load_pkcs11_pin()
        with provisioned(settings.pkcs11_pin_setting, f"the user PIN of token {token.label!r}"):
            return module.log_in(token, pin)

    def _signing_key(self, setting: str, path: Path, label_setting: str, label: str | None, algorithm: str) -> KeySigner:
        """The key in the HSM when the settings give its label, else the PEM file at `path`."""
        kind = KEY_KINDS[algorithm]
        if label is None:
            with provisioned(setting, f"{KEY_USES[algorithm]} ({kind} private key, PEM)"):
                return key_file(path, algorithm)
        hsm = self.hsm
        with provisioned(label_setting, f"the label of an {kind} key pair in token {hsm.token.label!r}"):
            return hsm.signer(label, algorithm)

    @cached_property
    def ledger(self) -> Ledger:
        settings = self.settings
        key = self._signing_key("GATEWAY_CHECKPOINT_KEY", settings.checkpoint_key_path,
                                "GATEWAY_PKCS11_CHECKPOINT_KEY_LABEL", settings.pkcs11_checkpoint_key_label, EDDSA)
        return Ledger(settings.origin, NoteSigner(settings.origin, key), self._published)

    @cached_property
    def published_checkpoints(self) -> PublishedCheckpoints:
        """The restore guard's record, outside the database (gateway.ledger.published)."""
        return PublishedCheckpoints(self.settings.published_checkpoints_path)

    def _published(self, size: int, note: str) -> None:
        """A committed checkpoint goes on record; if it cannot, no further write is accepted, since
        the guard could no longer tell an old backup from the published history."""
        try:
            self.published_checkpoints.record(size, note)
        except OSError as error:
            self._refuse_writes(RESTORE_GUARD, f"the checkpoint of size {size} could not be recorded in "
                                f"{self.published_checkpoints.path} ({error.strerror}): fix it and restart")

    @cached_property
    def _receipt_keys(self) -> tuple[tuple[Signer, VerificationKey], list[VerificationKey]]:
        """The gateway's receipt keys, current and retired, loaded once: a registry reload reads no key."""
        settings = self.settings
        receipt_key = self._signing_key("GATEWAY_SIGNING_KEY", settings.signing_key_path,
                                        "GATEWAY_PKCS11_SIGNING_KEY_LABEL", settings.pkcs11_signing_key_label, ES256)
        signing = gateway_key(receipt_key, settings.gateway_id)
        with provisioned("GATEWAY_RETIRED_SIGNING_KEYS", "the older receipt signing keys, comma-separated paths (EC P-256, PEM)"):
            retired = [gateway_key(key_file(path, ES256), settings.gateway_id)[1] for path in settings.retired_signing_keys]
        return signing, retired

    @property
    def trust(self) -> Trust:
        """The request's pinned snapshot, else the one in force in this process (read from the
        files for a command that applies nothing)."""
        return self._pinned.get() or self._trust or self._install(self._trust_of(self.proposal_from_files(), None))

    @contextmanager
    def pinned(self) -> Iterator[Trust]:
        """Within the block (a request, and the threads it hands work to) the trust stays the one it began with."""
        token = self._pinned.set(self.trust)
        try:
            yield self._pinned.get()
        finally:
            self._pinned.reset(token)

    @property
    def registry(self) -> Registry:
        return self.trust.registry

    @property
    def keys(self) -> KeyRing:
        return self.trust.keys

    @property
    def directory(self) -> Directory:
        return self.trust.directory

    def proposal_from_files(self) -> registry_service.Proposal:
        """GATEWAY_REGISTRY_FILE and GATEWAY_CLIENT_CRL as they are now, checked."""
        with provisioned("GATEWAY_REGISTRY_FILE", REGISTRY):
            registry = Registry.load(self.settings.registry_file)
        with provisioned("GATEWAY_CLIENT_CRL", CLIENT_CRL):
            revocations = Revocations.read(self.settings.client_crl_paths, self.client_ca)
        return registry_service.Proposal(registry, revocations, self._key_ring(registry).gateway_jwks())

    def _key_ring(self, registry: Registry) -> KeyRing:
        signing, retired = self._receipt_keys
        ledger = self.ledger
        with provisioned("GATEWAY_REGISTRY_FILE", REGISTRY):
            return KeyRing.build(registry, self.settings.gateway_id, signing, retired, ledger)

    def _trust_of(self, proposal: registry_service.Proposal, version: int | None) -> Trust:
        settings, tls_context = self.settings, None
        if self._serving_tls:
            tls_context = server_tls_context(str(settings.server_cert_path), str(settings.server_key_path), str(settings.client_ca_path),
                                             proposal.revocations.pem)
        registry = proposal.registry
        return Trust(version, registry, self._key_ring(registry), Directory.of(registry), proposal.revocations, tls_context)

    def _install(self, trust: Trust) -> Trust:
        """Serve `trust` from now on, unless a later version is in force already (a poll and an apply may race)."""
        with self._swapping:
            current = self._trust
            if current is None or current.version is None or (trust.version is not None and trust.version >= current.version):
                self._trust = trust
            return self._trust

    def apply_files(self) -> registry_service.Applied | None:
        """`gateway registry apply`, SIGHUP and start-up alike: the registry file and the CRLs
        checked (an invalid one changes nothing: ConfigurationError), applied in one transaction,
        and served here at once. None: they are what is in force already. The caller checks first
        that writes are not refused (gateway.ops.readiness): the change is a ledger entry."""
        proposal = self.proposal_from_files()
        trust = self._trust_of(proposal, None)
        with self.database.session(write=True) as session:
            applied = registry_service.apply(session, self.ledger, self.settings.gateway_id, proposal)
            version = applied.version if applied else registry_service.version_in_force(session)
            session.commit()
        if applied is not None:
            self.ledger.committed(applied.appended)
        self._install(replace(trust, version=version))
        return applied

    def follow(self) -> bool:
        """Serve the version in force if another process applied a newer one; whether it did."""
        with self.database.session(write=False) as session:
            version = registry_service.version_in_force(session)
            if version is None or (self._trust is not None and self._trust.version == version):
                return False
            proposal = registry_service.load_version(session, version)
        self._install(self._trust_of(proposal, version))
        return True

    @cached_property
    def client_ca(self) -> x509.Certificate:
        """The CA every client certificate must be issued by: checked by the TLS handshake (or the
        proxy), and again by the app."""
        with provisioned("GATEWAY_CLIENT_CA", CLIENT_CA):
            return x509.load_pem_x509_certificate(self.settings.client_ca_path.read_bytes())

    def check_configuration(self) -> None:
        """Load every key and file the settings name (none of them needs the database), so that a
        bad set-up is one ConfigurationError before anything is served."""
        for part in ("trust", "vault", "client_ca", "blobs"):
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
        instead of failing the first request. The registry file is applied as `gateway registry
        apply` would: at start-up the file wins over a version another process applied."""
        check_up_to_date(self.database.engine)
        self._serving_tls = not self.settings.trust_proxy_client_cert
        self.check_configuration()
        self.blobs.sweep_incoming()
        self.check_ledger()
        if self.readiness.write_refusal() is None:
            self.apply_files()
        else:  # a registry change is a ledger entry: none while writes are refused; the version in force is served
            self.follow()

    def check_ledger(self) -> None:
        """The ledger self-check over the latest entries, then the restore guard. Either failing
        keeps the process not ready and refuses writes, while reads go on being served."""
        verifier = self.ledger.signer.verifier
        try:
            size = integrity.check(self.database, verifier, last=self.settings.ledger_self_check_entries).size
        except integrity.LedgerMismatch as mismatch:
            self._refuse_writes(LEDGER_CHECK, f"ledger self-check failed: {mismatch}")
        else:
            self.readiness.clear(LEDGER_CHECK)
            log.info("ledger self-check passed: the latest %s entries of %s", min(size, self.settings.ledger_self_check_entries), size)
        published = self.published_checkpoints.latest(verifier)
        behind = integrity.restore_guard(self.database, published) if published is not None else None
        if behind is not None:
            self._refuse_writes(RESTORE_GUARD, f"restore guard: {behind}")
        else:
            self.readiness.clear(RESTORE_GUARD)

    def _refuse_writes(self, check: str, reason: str) -> None:
        log.error("%s", reason)
        self.readiness.fail(check, reason, blocks_writes=True)

    def close(self) -> None:
        if "published_checkpoints" in self.__dict__:
            self.published_checkpoints.close()
        if "writer" in self.__dict__:
            self.writer.close()
        if "database" in self.__dict__:
            self.database.dispose()


def runtime_in(state: Mapping[str, Any] | None) -> Runtime | None:
    """The runtime an ASGI lifespan state holds (None for an app that is not the gateway's)."""
    return (state or {}).get(RUNTIME_STATE)

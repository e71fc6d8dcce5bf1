"""Typed settings, read from `GATEWAY_*` environment variables (or a `.env` file).

Settings fail fast: a contradictory or unusable configuration stops the process at start-up
instead of surfacing as a confusing error on the first request.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, PositiveInt, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.domain import documents
from gateway.ledger import verify
from gateway.misconfiguration import ConfigurationError, provisioned
from gateway.security.encryption import MasterKey
from gateway.storage.blobs import BlobStore, LocalBlobStore

VAR_DIR = Path("var")
REFERENCE_HTML = Path(__file__).resolve().parents[1] / "openapi" / "v1.html"  # the checkout's (`gateway contract` writes it)
MASTER_KEY = "32 random bytes, base64"
_PKCS11_PARTS = ("GATEWAY_PKCS11_TOKEN_LABEL", "GATEWAY_PKCS11_PIN", "GATEWAY_PKCS11_PIN_FILE",
                 "GATEWAY_PKCS11_SIGNING_KEY_LABEL", "GATEWAY_PKCS11_CHECKPOINT_KEY_LABEL")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'gateway.db'}",
        description="SQLAlchemy URL: SQLite (embedded default) or postgresql+psycopg://… (production).",
    )
    pki_dir: Path = Field(default=VAR_DIR / "pki", description="Where the development PKI lives.")
    registry_file: Path = Field(
        default=VAR_DIR / "registry.json",
        description="Institution registry (JSON): applied at start-up, by `gateway registry apply` and on SIGHUP.",
    )
    registry_poll_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=5, description="How often each gateway process checks the database for a registry applied elsewhere."
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8443
    tls_cert: Path | None = Field(default=None, description="Server certificate; default <pki_dir>/server.pem.")
    tls_key: Path | None = Field(default=None, description="Server key; default <pki_dir>/server.key.")
    client_ca: Path | None = Field(default=None, description="CA that signs client certificates; default <pki_dir>/ca.pem.")
    client_crl: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Comma-separated PEM CRLs of the client CA, applied with the registry; "
        "default <pki_dir>/crl.pem when that file exists (what `gateway pki revoke` writes)."
    )

    trust_proxy_client_cert: bool = Field(
        default=False, description="Accept the client certificate forwarded by a TLS-terminating proxy."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated addresses or networks allowed to forward certificates."
    )
    proxy_cert_header: str = Field(default="client-cert", description="RFC 9440 `Client-Cert` header by default.")

    gateway_id: str = Field(
        default="imr-alomrane-gateway", min_length=3, max_length=100,
        description="This gateway's name: the audience of request signatures and the issuer of receipts.",
    )
    signing_key: Path | None = Field(default=None, description="The gateway's receipt key (EC P-256 PEM); default <pki_dir>/gateway-signing.key.")
    retired_signing_keys: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Comma-separated older receipt keys, still published so old receipts verify."
    )
    checkpoint_key: Path | None = Field(default=None, description="Ed25519 key signing ledger checkpoints; default <pki_dir>/gateway-checkpoint.key.")
    ledger_origin: str | None = Field(default=None, description="The checkpoints' origin line; default <gateway_id>/ledger.")
    master_key: SecretStr | None = Field(default=None, description="Base64 32-byte key wrapping the per-case data keys.")
    master_key_file: Path | None = Field(default=None, description="File holding the master key instead; default <pki_dir>/master.key.")
    retired_master_keys: SecretStr | None = Field(
        default=None, description="Comma-separated older master keys (base64), kept until `gateway master-key rotate` re-wrapped everything."
    )
    retired_master_key_files: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Comma-separated files holding older master keys, instead."
    )
    pkcs11_module: Path | None = Field(
        default=None, description="A PKCS#11 module (shared library) whose token holds the gateway's receipt and/or checkpoint key."
    )
    pkcs11_token_label: str | None = Field(default=None, description="The label of that token.")
    pkcs11_pin: SecretStr | None = Field(default=None, description="The token's user PIN.")
    pkcs11_pin_file: Path | None = Field(default=None, description="A file holding the token's user PIN instead.")
    pkcs11_signing_key_label: str | None = Field(
        default=None, description="The receipt key (EC P-256) in the token, by label, instead of GATEWAY_SIGNING_KEY."
    )
    pkcs11_checkpoint_key_label: str | None = Field(
        default=None, description="The checkpoint key (Ed25519) in the token, by label, instead of GATEWAY_CHECKPOINT_KEY."
    )
    blob_dir: Path = Field(
        default=VAR_DIR / "blobs", description="Where document ciphertexts are stored (local store), or staged (S3 store)."
    )
    blob_s3_bucket: str | None = Field(default=None, description="Store document ciphertexts in this S3 bucket instead (needs the s3 extra).")
    blob_s3_prefix: str = Field(default="blobs/", description="Key prefix of the blobs in the bucket.")
    blob_s3_endpoint_url: str | None = Field(
        default=None, description="An S3-compatible endpoint (MinIO, Ceph…); credentials come from the usual AWS settings."
    )
    published_checkpoints_file: Path | None = Field(
        default=None, description="The restore guard's append-only record of every checkpoint published, kept outside the "
        "database; default <blob_dir>/../published-checkpoints (beside the blobs). Shared by the processes of one database."
    )
    ledger_self_check_entries: Annotated[int, Field(ge=1, le=100_000_000)] = Field(
        default=1000, description="How many of the latest ledger entries the start-up self-check re-hashes (`gateway ledger check` does all)."
    )
    ledger_verify_sample: Annotated[int, Field(ge=0, le=100_000_000)] = Field(
        default=verify.DEFAULT_SAMPLE, description="How many checkpoints `gateway ledger verify` checks at random besides the latest and the "
        "cosigned ones (every entry and the whole tree are always recomputed; --every-checkpoint checks all)."
    )
    writes_suspended_retry_after_seconds: Annotated[int, Field(ge=1, le=86400)] = Field(
        default=300, description="The Retry-After sent with 503 writes-suspended (an operator has to act first)."
    )
    postgres_bin_dir: Path | None = Field(
        default=None, description="Where `gateway backup` and `gateway restore` find pg_dump and pg_restore; default: the PATH."
    )
    max_document_bytes: PositiveInt = Field(default=50 * 1024 * 1024, description="Largest document accepted (413 above).")
    document_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(documents.DEFAULT_ALLOWED),
        description="Comma-separated media types accepted, as detected from the bytes (415 otherwise).",
    )
    retention_days: PositiveInt = Field(
        default=5 * 365, description="`gateway retention apply` erases the personal data of cases closed longer ago than this."
    )
    signature_max_skew_seconds: Annotated[int, Field(ge=10, le=3600)] = 300

    default_reply_days: Annotated[int, Field(ge=1, le=365)] = 30
    max_body_bytes: PositiveInt = 1024 * 1024
    page_size_default: Annotated[int, Field(ge=1, le=500)] = 50
    page_size_max: Annotated[int, Field(ge=1, le=1000)] = 200
    inbox_max_wait_seconds: Annotated[int, Field(ge=0, le=300)] = Field(
        default=30, description="Longest an inbox read waits for an event (`wait=`); a longer wait is shortened to this, 0 turns waiting off."
    )
    inbox_repoll_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=2, description="A waiting inbox read looks again this often, for events another gateway process committed "
        "(one of this process wakes it at once)."
    )
    database_lock_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = Field(
        default=10, description="Longest a statement waits for a lock (or SQLite for its write lock): then 503 storage-unavailable."
    )
    migration_lock_wait_seconds: Annotated[float, Field(gt=0, le=86400)] = Field(
        default=600, description="How long `gateway serve` or `gateway migrate` waits for another process's migration "
        "of the same database to finish (replicas starting together migrate one at a time)."
    )
    database_pool_size: Annotated[int, Field(ge=1, le=200)] = Field(
        default=20, description="Database connections a gateway process keeps open: on PostgreSQL at most (a request waits for one as long as for a lock); on SQLite more are opened for a moment under a larger load."
    )
    write_attempts: Annotated[int, Field(ge=1, le=20)] = Field(
        default=5, description="How many times a write that lost a deadlock or serialization race is run before 503."
    )
    storage_retry_after_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=2, description="The Retry-After sent with 503 storage-unavailable."
    )
    nonce_purge_seconds: Annotated[float, Field(gt=0, le=86400)] = Field(
        default=60, description="How often expired request ids (jti) are purged, in the background."
    )
    escalation_days: Annotated[int, Field(ge=1, le=365)] = Field(
        default=7, description="Days after a missed deadline's first reminder before its head office is reminded too."
    )
    reminder_interval_seconds: Annotated[float, Field(ge=0, le=86400)] = Field(
        default=300, description="How often each gateway process looks for missed deadlines (0: never; cron runs "
        "`gateway reminders run` instead). Processes take turns under a database lock; each reminder is sent once."
    )
    reminders_per_run: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=1000, description="At most this many reminders per run; the next run sends the rest."
    )

    # Operations (gateway.ops): the listener for probes and metrics, and the logs.
    ops_host: str = Field(default="127.0.0.1", description="Where the operations listener (/healthz, /readyz, /metrics) listens.")
    ops_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=9180, description="Its port: plain HTTP, no client certificate, so keep it off the institutions' network (0: off)."
    )
    ops_check_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=2, description="Longest /readyz waits for the database, and /metrics for the figures it reads there."
    )
    # The public listener (gateway.api.public): what anyone verifying receipts needs, without a client certificate.
    public_host: str = Field(default="127.0.0.1", description="Where the public listener (the gateway's keys, checkpoints, "
                             "problem types, reference documentation) listens.")
    public_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=8444, description="Its port: HTTPS with the server certificate and no client certificate (plain HTTP behind "
        "a TLS-terminating proxy, as the main listener), serving the public routes only (0: off)."
    )
    public_max_connections: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=256, description="Open connections to the public listener, at most (taken from what the descriptor limit "
        "leaves the main listener); per address, GATEWAY_MAX_CONNECTIONS_PER_ADDRESS applies there too."
    )
    public_rate_limit_per_second: Annotated[float, Field(ge=0, le=100_000)] = Field(
        default=5, description="Requests per second one client address (an IPv6 /64) may sustain on the public listener "
        "(0: no limit); 429 rate-limited above."
    )
    public_rate_limit_burst: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=60, description="Requests one client address may send the public listener at once before its sustained rate applies."
    )
    public_rate_limit_addresses: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        default=100_000, description="Client addresses whose buckets the public listener keeps, the least recently seen "
        "dropped beyond (about 200 bytes each)."
    )
    reference_html_file: Path | None = Field(
        default=None, description="The reference documentation (one HTML file generated from openapi/v1.json), served at "
        "/openapi/v1.html; default the checkout's openapi/v1.html."
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="`gateway serve`'s log lines: JSON, one object per line, or plain text."
    )

    # The edge (gateway.edge): what one connection may cost before the app sees its request.
    max_target_bytes: Annotated[int, Field(ge=256, le=1024 * 1024)] = Field(
        default=8 * 1024, description="Longest request target, path and query (414 above)."
    )
    max_header_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = Field(
        default=32 * 1024, description="Largest header block (431 above), counted on the bytes received."
    )
    max_header_count: Annotated[int, Field(ge=8, le=1000)] = Field(default=100, description="Most headers in one request (431 above).")
    tls_handshake_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10, description="A connection that has not completed its TLS handshake by then is closed."
    )
    tls_handshakes_per_address: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=4, description="TLS handshakes run at once for one peer address (trusted proxies too); more wait their turn."
    )
    header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10, description="From a request's first byte to the end of its headers (408 after)."
    )
    body_idle_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=30, description="Longest pause in a request body while the gateway waits for it (408 after)."
    )
    body_timeout_seconds: Annotated[float, Field(gt=0, le=86400)] = Field(
        default=600, description="Longest a whole request body may take, from its headers to its last byte (408 after)."
    )
    keepalive_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=15, description="An idle connection closes after this, before its first request too."
    )
    max_connections: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=1024, description="Open connections, at most; lowered at start-up to what the descriptor limit allows."
    )
    max_connections_per_address: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=64, description="Open connections from one peer address (trusted proxies excepted); more are closed at once."
    )
    max_connections_per_certificate: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=32, description="Open connections with one client certificate; more get 503 too-many-connections."
    )

    # Rate limits (gateway.api.rate_limits): token buckets per unit and per institution, in each process.
    rate_limit_unit_per_second: Annotated[float, Field(ge=0, le=100_000)] = Field(
        default=20, description="Requests per second one unit may sustain (0: no limit per unit); 429 rate-limited above."
    )
    rate_limit_unit_burst: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=200, description="Requests one unit may send at once before its sustained rate applies."
    )
    rate_limit_institution_per_second: Annotated[float, Field(ge=0, le=100_000)] = Field(
        default=50, description="Requests per second all the units of one institution may sustain together (0: no limit)."
    )
    rate_limit_institution_burst: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=500, description="Requests one institution's units may send at once before its sustained rate applies."
    )

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: dict) -> dict:
        for name in ("trusted_proxies", "retired_signing_keys", "client_crl", "retired_master_key_files", "document_types"):
            raw = data.get(name) if isinstance(data, dict) else None
            if isinstance(raw, str):
                data[name] = [part.strip() for part in raw.split(",") if part.strip()]
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError("GATEWAY_TRUSTED_PROXIES lists something that is not an address or network") from None
        if self.trust_proxy_client_cert and not self.trusted_proxies:
            raise ValueError("GATEWAY_TRUST_PROXY_CLIENT_CERT needs GATEWAY_TRUSTED_PROXIES")
        if not self.document_types:
            raise ValueError("GATEWAY_DOCUMENT_TYPES is empty: no document could be attached")
        if self.page_size_default > self.page_size_max:
            raise ValueError("GATEWAY_PAGE_SIZE_DEFAULT exceeds GATEWAY_PAGE_SIZE_MAX")
        self._check_pkcs11()
        return self

    def _check_pkcs11(self) -> None:
        """A token is used whole or not at all: module, token label, one PIN and a key label."""
        labels = (self.pkcs11_signing_key_label, self.pkcs11_checkpoint_key_label)
        if self.pkcs11_module is None:
            named = [name for name, value in zip(_PKCS11_PARTS, (self.pkcs11_token_label, self.pkcs11_pin, self.pkcs11_pin_file, *labels))
                     if value is not None]
            if named:
                raise ValueError(f"GATEWAY_PKCS11_MODULE is needed by {', '.join(named)}")
            return
        if not self.pkcs11_token_label:
            raise ValueError("GATEWAY_PKCS11_TOKEN_LABEL is needed with GATEWAY_PKCS11_MODULE")
        if self.pkcs11_pin is None and self.pkcs11_pin_file is None:
            raise ValueError("GATEWAY_PKCS11_PIN is needed with GATEWAY_PKCS11_MODULE (or GATEWAY_PKCS11_PIN_FILE)")
        if self.pkcs11_pin is not None and self.pkcs11_pin_file is not None:
            raise ValueError("GATEWAY_PKCS11_PIN is set with GATEWAY_PKCS11_PIN_FILE: set one of them")
        if not any(labels):
            raise ValueError("GATEWAY_PKCS11_MODULE names no key: set GATEWAY_PKCS11_SIGNING_KEY_LABEL and/or GATEWAY_PKCS11_CHECKPOINT_KEY_LABEL")

    @property
    def server_cert_path(self) -> Path:
        return self.tls_cert or self.pki_dir / "server.pem"

    @property
    def server_key_path(self) -> Path:
        return self.tls_key or self.pki_dir / "server.key"

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.pki_dir / "gateway-signing.key"

    @property
    def checkpoint_key_path(self) -> Path:
        return self.checkpoint_key or self.pki_dir / "gateway-checkpoint.key"

    @property
    def reference_html_path(self) -> Path:
        return self.reference_html_file or REFERENCE_HTML

    @property
    def origin(self) -> str:
        return self.ledger_origin or f"{self.gateway_id}/ledger"

    def load_master_key(self) -> MasterKey:
        """The master key, from GATEWAY_MASTER_KEY or its file; a ConfigurationError naming the setting otherwise."""
        if self.master_key is not None:
            with provisioned("GATEWAY_MASTER_KEY", f"the master key ({MASTER_KEY})"):
                return MasterKey.from_text(self.master_key.get_secret_value())
        with provisioned("GATEWAY_MASTER_KEY_FILE", f"the master key ({MASTER_KEY}), readable by the gateway's user only"):
            return MasterKey.from_text((self.master_key_file or self.pki_dir / "master.key").read_text())

    @property
    def pkcs11_pin_setting(self) -> str:
        return "GATEWAY_PKCS11_PIN" if self.pkcs11_pin is not None else "GATEWAY_PKCS11_PIN_FILE"

    def load_pkcs11_pin(self) -> str:
        """The token's user PIN, from GATEWAY_PKCS11_PIN or its file (one line)."""
        if self.pkcs11_pin is not None:
            return self.pkcs11_pin.get_secret_value()
        with provisioned("GATEWAY_PKCS11_PIN_FILE", "the token's user PIN, readable by the gateway's user only"):
            return self.pkcs11_pin_file.read_text().strip()  # type: ignore[union-attr]  # checked: one of the two is set

    def load_retired_master_keys(self) -> list[MasterKey]:
        texts = [part for part in (self.retired_master_keys.get_secret_value() if self.retired_master_keys else "").split(",") if part.strip()]
        with provisioned("GATEWAY_RETIRED_MASTER_KEYS", f"the older master keys, comma-separated ({MASTER_KEY} each)"):
            from_values = [MasterKey.from_text(text) for text in texts]
        with provisioned("GATEWAY_RETIRED_MASTER_KEY_FILES", f"the older master keys, one per file ({MASTER_KEY} each)"):
            return from_values + [MasterKey.from_text(path.read_text()) for path in self.retired_master_key_files]

    def open_blob_store(self) -> BlobStore:
        """The local store under blob_dir, or the S3 store when a bucket is set (staging under blob_dir)."""
        if self.blob_s3_bucket is None:
            return LocalBlobStore(self.blob_dir)
        try:
            import boto3  # only with the s3 extra
        except ImportError:
            raise ConfigurationError(
                "GATEWAY_BLOB_S3_BUCKET", "needs boto3, which is not installed", "install the gateway with its s3 extra"
            ) from None

        from gateway.storage.s3 import S3BlobStore

        staging = self.blob_dir / "incoming"
        staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        client = boto3.client("s3", endpoint_url=self.blob_s3_endpoint_url)
        return S3BlobStore(self.blob_s3_bucket, self.blob_s3_prefix, client=client, staging_dir=staging)

    @property
    def published_checkpoints_path(self) -> Path:
        return self.published_checkpoints_file or self.blob_dir.parent / "published-checkpoints"

    @property
    def client_ca_path(self) -> Path:
        return self.client_ca or self.pki_dir / "ca.pem"

    @property
    def client_crl_paths(self) -> list[Path]:
        """The CRLs in force: the configured ones (each must exist), else the development CA's if it wrote one."""
        default = self.pki_dir / "crl.pem"
        return self.client_crl or ([default] if default.exists() else [])

    @cached_property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

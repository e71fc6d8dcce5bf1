"""Tables of the exchange. The schema is created by Alembic migrations only (`gateway migrate`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, MetaData, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gateway.storage.types import UTCDateTime

INSTITUTION_ID = String(63)
UUID_STR = String(36)


class Base(DeclarativeBase):
    # Named constraints, so later migrations can alter them on both engines.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Institution(Base):
    """A party to the exchange, mirrored from the registry version in force (gateway.services.registry)."""

    __tablename__ = "institutions"

    id: Mapped[str] = mapped_column(INSTITUTION_ID, primary_key=True)
    name_fr: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    certificates: Mapped[list[InstitutionCertificate]] = relationship(
        back_populates="institution", cascade="all, delete-orphan", lazy="selectin"
    )


class Unit(Base):
    """A head office or a regional unit of an institution, mirrored from the registry file. A head
    office's id is its institution's, so what was addressed to an institution before units existed
    is addressed to its head office."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(INSTITUTION_ID, primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    name_fr: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    regions: Mapped[list[str]] = mapped_column(JSON)  # imr_alomrane_gateway_client.regions codes
    head_office: Mapped[bool]
    active: Mapped[bool] = mapped_column(default=True)


class InstitutionCertificate(Base):
    """One accepted client certificate, of one unit: by SHA-256 fingerprint, or by subject under the client CA."""

    __tablename__ = "institution_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    subject: Mapped[str | None] = mapped_column(String(500), unique=True)
    institution: Mapped[Institution] = relationship(back_populates="certificates")


class RegistryVersion(Base):
    """A registry put in force (start-up, `gateway registry apply`, SIGHUP), with the CRLs and the
    gateway keys of that moment: every gateway process serves the latest one (gateway.services.registry)."""

    __tablename__ = "registry_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of `document`
    document: Mapped[str] = mapped_column(Text)  # the registry's canonical JSON (gateway.security.registry.Registry.canonical)
    crl: Mapped[str] = mapped_column(Text)  # the client CA's CRLs in force, PEM ("" for none)
    gateway_keys: Mapped[str] = mapped_column(Text)  # the gateway's own published keys, a JSON list of JWKs
    applied_at: Mapped[datetime]


class Sequence(Base):
    """Named counters. Taking the next value locks the row until commit, so values commit in order."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Case(Base):
    """A complaint file sent by the mediator to a respondent."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("mediator_id", "reference", name="uq_cases_mediator_reference"),
        Index("ix_cases_respondent_opened", "respondent_id", "opened_at", "id"),
        Index("ix_cases_mediator_opened", "mediator_id", "opened_at", "id"),
        Index("ix_cases_status_deadline", "status", "deadline"),  # overdue cases (metrics, reminders)
    )

    thematic: ClassVar[bool] = False  # a case, not a thematic file (both have two sides and a project)

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)
    mediator_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    respondent_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    mediator_unit: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    respondent_unit: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)  # changed by a transfer
    reference: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(40))
    complainant_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # personal data, sealed with the case key
    narrative_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # title, summary, requested action: free text, sealed
    project_name: Mapped[str] = mapped_column(String(200))
    project_city: Mapped[str] = mapped_column(String(100))
    project_region: Mapped[str] = mapped_column(String(100))  # a imr_alomrane_gateway_client.regions code (free text before migration 0009)
    deadline: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(30))
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    signature: Mapped[str | None] = mapped_column(Text)  # the mediator's request JWS
    signed_body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # the exact body it covers, sealed
    personal_data_erased_at: Mapped[datetime | None]
    messages: Mapped[list[Message]] = relationship(order_by="Message.position", lazy="raise")


class Message(Base):
    """One piece of correspondence on a case, with the status change it caused."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("case_id", "position", name="uq_messages_case_position"),)

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    sender_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    sender_unit: Mapped[str] = mapped_column(ForeignKey("units.id"))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # free text, sealed with the case key
    outcome: Mapped[str | None] = mapped_column(String(30))
    new_deadline: Mapped[datetime | None]
    status_before: Mapped[str] = mapped_column(String(30))
    status_after: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime]
    signature: Mapped[str | None] = mapped_column(Text)  # the sender's request JWS
    signed_body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # the exact body it covers, sealed
    document_ids: Mapped[list[str] | None] = mapped_column(JSON)  # documents of the case it refers to
    late_seconds: Mapped[int | None] = mapped_column(BigInteger)  # an answer after its deadline: how late it came


_ABOUT_ONE = "(case_id IS NULL) <> (thematic_file_id IS NULL)"  # a case's, or a thematic file's


class Document(Base):
    """A document attached to a case, or to a thematic file. Its bytes are a blob sealed with the
    case's (or file's) data key; its file name is personal data too (it often names the citizen)
    and is sealed like the complainant."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_case_created", "case_id", "created_at", "id"),
        Index("ix_documents_thematic_file_created", "thematic_file_id", "created_at", "id"),
        CheckConstraint(_ABOUT_ONE, name="about_one"),
    )

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)  # also the blob's name
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    thematic_file_id: Mapped[str | None] = mapped_column(ForeignKey("thematic_files.id"))
    sender_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    sender_unit: Mapped[str] = mapped_column(ForeignKey("units.id"))
    media_type: Mapped[str] = mapped_column(String(100))  # detected from the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(60))  # RFC 9530 sha-256 of the plaintext: what was signed
    disposition_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # Content-Disposition as signed: names the file
    created_at: Mapped[datetime]
    signature: Mapped[str | None] = mapped_column(Text)  # the sender's request JWS (covers the digest)
    erased_at: Mapped[datetime | None]


class InboxEvent(Base):
    """A notification for one unit. `seq` is per unit and commits in order (see Sequence)."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("recipient_unit", "seq", name="uq_inbox_unit_seq"), CheckConstraint(_ABOUT_ONE, name="about_one"),
        Index("ix_inbox_events_unacknowledged", "recipient_id", "recipient_unit",  # metrics: the events still to acknowledge
              sqlite_where=text("delivered_at IS NULL"), postgresql_where=text("delivered_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    recipient_unit: Mapped[str] = mapped_column(ForeignKey("units.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    thematic_file_id: Mapped[str | None] = mapped_column(ForeignKey("thematic_files.id"))
    thematic_message_id: Mapped[str | None] = mapped_column(ForeignKey("thematic_messages.id"))
    status: Mapped[str] = mapped_column(String(30))  # the case's or the thematic file's
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    delivery_signature: Mapped[str | None] = mapped_column(Text)  # the recipient's signed acknowledgement


class Reminder(Base):
    """A reminder the gateway sent because a deadline passed unanswered: one per deadline and step
    (the unique key), whichever gateway process or cron run got there first."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("resource", "deadline", "step", name="uq_reminders_resource_deadline_step"),
        CheckConstraint(_ABOUT_ONE, name="about_one"),
    )

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    thematic_file_id: Mapped[str | None] = mapped_column(ForeignKey("thematic_files.id"), index=True)
    resource: Mapped[str] = mapped_column(String(300))  # what is due: the case's reply, or a commitment
    deadline: Mapped[datetime]
    step: Mapped[str] = mapped_column(String(20))  # imr_alomrane_gateway_client.vocabulary.ReminderStep
    recipient_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    recipient_unit: Mapped[str] = mapped_column(ForeignKey("units.id"))
    sent_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """The first response to an `Idempotency-Key`, replayed on retries (IETF httpapi draft). Inserted
    and answered in the write's own transaction: a committed record always has its response."""

    __tablename__ = "idempotency_records"

    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[dict[str, Any] | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class RequestNonce(Base):
    """Signed-request ids (`jti`) already accepted, kept for the signature time window: replays are refused."""

    __tablename__ = "request_nonces"

    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Receipt(Base):
    """A receipt the gateway signed: that it accepted a request, or that the recipient took delivery."""

    __tablename__ = "receipts"
    __table_args__ = (Index("ix_receipts_resource", "resource"), CheckConstraint(_ABOUT_ONE, name="about_one"))

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    thematic_file_id: Mapped[str | None] = mapped_column(ForeignKey("thematic_files.id"))
    resource: Mapped[str] = mapped_column(String(300))
    sender_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    counterpart_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    """One exchange event, append-only (database triggers refuse UPDATE and DELETE). Identifiers
    and digests only: no citizen's data, so the ledger can be shown to auditors and kept forever."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_case", "case_id", "seq"), Index("ix_ledger_entries_at", "at"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # leaf index + 1
    v: Mapped[int] = mapped_column(SmallInteger, server_default="1")  # the entry's encoding (imr_alomrane_gateway_client.ledger.entry)
    at: Mapped[str] = mapped_column(String(32))  # RFC 3339 UTC, fixed width: sorts as text
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)  # message kind, the case's subject, a registry change (JSON)
    sender_id: Mapped[str] = mapped_column(String(63), index=True)
    recipient_id: Mapped[str] = mapped_column(String(63), index=True)
    sender_unit: Mapped[str | None] = mapped_column(String(63), index=True)  # None in version 1: the head office
    recipient_unit: Mapped[str | None] = mapped_column(String(63), index=True)
    region: Mapped[str | None] = mapped_column(String(40), index=True)
    due: Mapped[str | None] = mapped_column(String(32))
    refers: Mapped[str | None] = mapped_column(String(300))
    case_id: Mapped[str] = mapped_column(String(36))
    resource: Mapped[str] = mapped_column(String(300))
    payload_digest: Mapped[str] = mapped_column(String(60))
    signature_digest: Mapped[str] = mapped_column(String(60))
    leaf_hash: Mapped[str] = mapped_column(String(64), unique=True)


class LedgerNode(Base):
    """The hash of a complete subtree of the ledger's Merkle tree (RFC 9162), so proofs read O(log n) rows."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    """Every checkpoint the gateway signed (C2SP tlog-checkpoint), by tree size."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class LedgerCosignature(Base):
    """A witness's cosignature on a checkpoint (C2SP tlog-cosignature), append-only."""

    __tablename__ = "ledger_cosignatures"

    size: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoints.size"), primary_key=True)
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class CaseKey(Base):
    """A case's data key, wrapped by the master key. Erasing personal data destroys it."""

    __tablename__ = "case_keys"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    master_key_id: Mapped[str | None] = mapped_column(String(16))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)

    @property
    def owner_id(self) -> str:
        """What the key is bound to (its wrapping's associated data)."""
        return self.case_id


class ThematicFile(Base):
    """The joint review, by the mediator and one respondent, of a recurring problem in a housing
    project; cases are linked to it. Its free text is sealed with its own data key."""

    __tablename__ = "thematic_files"
    __table_args__ = (
        Index("ix_thematic_files_respondent_opened", "respondent_id", "opened_at", "id"),
        Index("ix_thematic_files_mediator_opened", "mediator_id", "opened_at", "id"),
    )

    thematic: ClassVar[bool] = True

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)
    mediator_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    respondent_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    mediator_unit: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    respondent_unit: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    opened_by: Mapped[str] = mapped_column(ForeignKey("institutions.id"))  # either party
    status: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(40))
    narrative_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # title and description: free text, sealed
    project_name: Mapped[str] = mapped_column(String(200))
    project_city: Mapped[str] = mapped_column(String(100))
    project_region: Mapped[str] = mapped_column(String(100))  # a imr_alomrane_gateway_client.regions code
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    signature: Mapped[str | None] = mapped_column(Text)  # the opener's request JWS
    signed_body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    messages: Mapped[list[ThematicMessage]] = relationship(order_by="ThematicMessage.position", lazy="raise")


class ThematicKey(Base):
    """A thematic file's data key, wrapped by the master key (re-wrapped on rotation, never erased)."""

    __tablename__ = "thematic_file_keys"

    thematic_file_id: Mapped[str] = mapped_column(ForeignKey("thematic_files.id"), primary_key=True)
    master_key_id: Mapped[str | None] = mapped_column(String(16))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)

    @property
    def owner_id(self) -> str:
        return self.thematic_file_id


class ThematicMessage(Base):
    """One signed message on a thematic file. A commitment has a due date and, once a progress
    report fulfils it, `fulfilled_by` (what deadline reminders read); a progress report names its
    commitment."""

    __tablename__ = "thematic_messages"
    __table_args__ = (
        UniqueConstraint("thematic_file_id", "position", name="uq_thematic_messages_file_position"),
        Index("ix_thematic_messages_due_date", "due_date"),
    )

    id: Mapped[str] = mapped_column(UUID_STR, primary_key=True)
    thematic_file_id: Mapped[str] = mapped_column(ForeignKey("thematic_files.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    sender_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"))
    sender_unit: Mapped[str] = mapped_column(ForeignKey("units.id"))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # free text, sealed with the file's key
    due_date: Mapped[datetime | None]  # a commitment's
    commitment_id: Mapped[str | None] = mapped_column(ForeignKey("thematic_messages.id"))  # a progress report's
    fulfils: Mapped[bool | None]  # a progress report's
    fulfilled_by: Mapped[str | None] = mapped_column(ForeignKey("thematic_messages.id"))  # a commitment's, once fulfilled
    late_seconds: Mapped[int | None] = mapped_column(BigInteger)  # a fulfilment after its commitment's due date: how late
    status_before: Mapped[str] = mapped_column(String(30))
    status_after: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime]
    signature: Mapped[str | None] = mapped_column(Text)
    signed_body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class ThematicLink(Base):
    """A case linked to a thematic file (both of the same two institutions). Unlinking deletes it;
    the ledger keeps both events."""

    __tablename__ = "thematic_links"

    thematic_file_id: Mapped[str] = mapped_column(ForeignKey("thematic_files.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    linked_by: Mapped[str] = mapped_column(ForeignKey("units.id"))
    linked_at: Mapped[datetime]

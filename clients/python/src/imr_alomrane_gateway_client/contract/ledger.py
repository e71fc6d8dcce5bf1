"""The ledger as auditors (and, for their own cases, institutions) read it."""

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from imr_alomrane_gateway_client.contract.common import InstitutionId
from imr_alomrane_gateway_client.regions import Region


class CheckpointOut(BaseModel):
    size: int
    note: str = Field(description="C2SP signed note (tlog-checkpoint), with any witness cosignatures.")


class CosignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=1, le=2**62, description="The checkpoint's tree size.")
    cosignature: str = Field(
        min_length=10, max_length=500, pattern="^\u2014 [^\\s+]+ [A-Za-z0-9+/=]+\n$",
        description="Your C2SP tlog-cosignature line: '— <witness name> <base64(key id || timestamp || signature)>' and a newline.",
    )


class LedgerKeyOut(BaseModel):
    origin: str
    note_key: str = Field(description="C2SP verifier key of the checkpoint signer: <name>+<key id>+<base64 key>.")


Digest = Annotated[str, StringConstraints(pattern=r"^sha-256=:[A-Za-z0-9+/]{43}=:$")]
LedgerTime = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")]


class LedgerEntryV1(BaseModel):
    """An entry written before units existed (gateway.ledger.entry): hashed in this form forever."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    seq: int = Field(ge=1, description="1-based position: the leaf index + 1.")
    at: LedgerTime = Field(description="Fixed-width RFC 3339 UTC with microseconds.")
    kind: str = Field(description="case_opened, message_sent, document_attached, delivery_acknowledged, personal_data_erased, "
                      "case_transferred, reminder_sent, thematic_file_opened, thematic_message_sent, case_linked, case_unlinked, "
                      "registry_changed.")
    detail: str | None
    sender: str
    recipient: str
    case: str = Field(description="The case's or thematic file's id.")
    resource: str
    payload_digest: Digest = Field(description="RFC 9530 digest of the signed request body.")
    signature_digest: Digest = Field(description="RFC 9530 digest of the sender's JWS.")


class LedgerEntryV2(LedgerEntryV1):
    """Every entry written since units exist."""

    v: Literal[2]
    sender_unit: str
    recipient_unit: str
    region: str | None
    due: LedgerTime | None = Field(description="The deadline the entry sets or reminds of.")
    refers: str | None = Field(description="The resource the entry answers or concerns.")


LedgerEntry = Annotated[LedgerEntryV1 | LedgerEntryV2, Field(discriminator="v")]


class EntryOut(BaseModel):
    index: int
    leaf_hash: str = Field(description="Hex SHA-256(0x00 || canonical entry bytes).")
    entry: LedgerEntry = Field(description="The entry; its canonical bytes are this object in RFC 8785 (JCS) form, UTF-8.")


class ExportHeaderRecord(BaseModel):
    """The first line of `GET /v1/ledger/export`."""

    type: Literal["header"]
    origin: str = Field(description="The ledger's origin, the first line of its checkpoints.")
    note_key: str = Field(description="C2SP verifier key of the checkpoint signer.")
    from_: int = Field(alias="from", description="The index of the first entry that follows.")
    size: int = Field(description="The ledger's size when the export began: the entries follow up to it.")


class ExportEntryRecord(BaseModel):
    type: Literal["entry"]
    index: int
    entry: LedgerEntry


class ExportCheckpointRecord(BaseModel):
    """After the entry that brought the ledger to `size`, when a checkpoint was signed at that size."""

    type: Literal["checkpoint"]
    size: int
    note: str = Field(description="C2SP signed note, with any witness cosignatures.")


class InclusionProofOut(BaseModel):
    index: int
    size: int
    leaf_hash: str
    proof: list[str] = Field(description="Base64 node hashes, leaf to root (RFC 9162 §2.1.3).")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str] = Field(description="Base64 node hashes (RFC 9162 §2.1.4).")


Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class Durations(BaseModel):
    median: float | None = Field(description="Nearest-rank median, in days (null: no case reached the milestone).")
    p90: float | None = Field(description="Nearest-rank 90th percentile, in days.")


class ProcessingFigures(BaseModel):
    """One group's figures: the cases and thematic files opened in it, as the ledger shows them at `at`."""

    cases_opened: int
    cases_acknowledged: int
    cases_answered: int = Field(description="Cases that received a final reply.")
    cases_closed: int
    days_to_acknowledgement: Durations = Field(description="From opening to the first acknowledgement.")
    days_to_final_reply: Durations = Field(description="From opening to the first final reply.")
    days_to_closure: Durations = Field(description="From opening to closure.")
    overdue: int = Field(description="Cases still owing a final reply after their deadline (the last one set).")
    answered_late: int = Field(description="Cases whose first final reply came after the deadline then in force.")
    reminders: int = Field(description="Reminders the gateway sent about these cases and thematic files.")
    escalations: int = Field(description="Of those, reminders escalated to the head office.")
    thematic_files: int
    open_commitments: int = Field(description="Commitments made in these thematic files and not yet fulfilled.")
    overdue_commitments: int = Field(description="Open commitments past their due date.")


class ProcessingStatisticsOut(BaseModel):
    at: AwareDatetime = Field(description="The moment overdue cases and commitments are judged at.")
    reply_days: int = Field(description="The reply period assumed for cases opened without a deadline (version-1 entries).")
    unit: InstitutionId | None = Field(description="Only cases and files whose respondent unit is this one (a unit id is written like an institution id).")
    region: Region | None
    from_month: Month | None = Field(description="Only cases and files opened in this month or later (UTC).")
    to_month: Month | None = Field(description="Only cases and files opened in this month or earlier (UTC).")
    overall: ProcessingFigures
    by_unit: dict[str, ProcessingFigures] = Field(description="By respondent unit, after transfers.")
    by_region: dict[str, ProcessingFigures] = Field(description="By region code; `unspecified` for cases without one.")
    by_subject: dict[str, ProcessingFigures]
    by_month: dict[Month, ProcessingFigures] = Field(description="By month of opening (UTC).")

"""The ledger as auditors (and, for their own cases, institutions) read it."""

from typing import Annotated, Any

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


class EntryOut(BaseModel):
    index: int
    leaf_hash: str = Field(description="Hex SHA-256(0x00 || canonical entry bytes).")
    entry: dict[str, Any] = Field(description="The entry; its canonical bytes are this object as sorted, compact ASCII JSON.")


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

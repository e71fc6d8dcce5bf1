"""Case files and the messages exchanged on them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, StringConstraints, ValidationInfo, field_validator

from imr_alomrane_gateway_client.contract.common import Input, InstitutionId, Timestamp, text, visible_name
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import KINDS_WITH_DEADLINE, KINDS_WITH_OUTCOME, CaseStatus, Language, MessageKind, Outcome, Subject

Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,63}$")]
Cin = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9]{1,7}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{6,15}$")]
DocumentId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class Complainant(Input):
    """The citizen: personal data, shown to the two parties only."""

    full_name: visible_name(200)
    cin: Cin = Field(description="National identity card number (CIN), e.g. BE123456.")
    phone: Phone | None = None
    email: EmailStr | None = None
    address: text(500)
    preferred_language: Language


class HousingProject(Input):
    name: visible_name(200)
    city: visible_name(100)
    region: Region = Field(description="One of Morocco's twelve regions: the case goes to the unit serving it, unless named.")


class HousingProjectOut(BaseModel):
    name: str
    city: str
    region: Region | None = Field(description="None for a region written as free text before regions were a closed list.")


class CaseCreate(Input):
    """What the mediator sends to open a case file."""

    respondent_id: InstitutionId
    respondent_unit: InstitutionId | None = Field(
        default=None, description="The respondent's unit that takes the case; by default the one serving the project's region, "
        "else its head office.")
    mediator_unit: InstitutionId | None = Field(
        default=None, description="The mediator's unit that follows the case. A regional delegation opens cases for itself; "
        "a head office names one of its units, or by default the one serving the project's region, else itself.")
    reference: Reference = Field(description="The mediator's own reference, unique per mediator.")
    complainant: Complainant
    subject: Subject
    title: text(300)
    summary: text(20_000)
    project: HousingProject
    requested_action: text(5_000)
    reply_deadline: Timestamp | None = Field(
        default=None, description="Defaults to the configured number of days after opening."
    )


class ProcessingTimes(BaseModel):
    opened_at: datetime
    acknowledged_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    deadline: datetime
    overdue: bool


class CaseSummary(BaseModel):
    """A case as listed: no complainant data."""

    id: str
    reference: str
    mediator_id: str
    respondent_id: str
    mediator_unit: str = Field(description="The mediator's unit that holds the case (its head office's id is the institution's).")
    respondent_unit: str = Field(description="The respondent's unit that holds the case.")
    region: Region | None = Field(description="The project's region.")
    status: CaseStatus
    subject: Subject
    title: str | None = Field(description="Absent once the case's personal data was erased (free text may name the citizen).")
    outcome: Outcome | None
    times: ProcessingTimes
    updated_at: datetime
    version: int
    allowed_kinds: list[MessageKind] = Field(description="What the caller may send now.")


class MessageCreate(Input):
    kind: MessageKind
    body: text(20_000)
    outcome: Outcome | None = Field(
        default=None, validate_default=True, description="Required with final_reply and closure, refused otherwise."
    )
    new_deadline: Timestamp | None = Field(
        default=None, validate_default=True, description="Required with follow_up, refused otherwise."
    )
    documents: list[DocumentId] = Field(
        default_factory=list, max_length=50, description="Documents of this case (uploaded first) that the message refers to."
    )

    @field_validator("documents")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a document is listed once")
        return value

    @field_validator("outcome")
    @classmethod
    def _outcome_matches_kind(cls, value: Outcome | None, info: ValidationInfo) -> Outcome | None:
        return required_for(value, info, KINDS_WITH_OUTCOME)

    @field_validator("new_deadline")
    @classmethod
    def _deadline_matches_kind(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return required_for(value, info, KINDS_WITH_DEADLINE)


def required_for(value, info: ValidationInfo, kinds: frozenset):
    """`value` is required when the kind is one of `kinds`, and refused otherwise."""
    kind = info.data.get("kind")
    if kind is None:  # the kind itself is invalid; that error is reported already
        return value
    if value is None and kind in kinds:
        raise ValueError(f"required when kind is {kind.value}")
    if value is not None and kind not in kinds:
        raise ValueError(f"not allowed when kind is {kind.value}")
    return value


class SignedRequestOut(BaseModel):
    """The sender's request signature and the exact body it covers: verify it with the sender's key
    from /.well-known/jwks.json, then check that `dig` is the SHA-256 of `body`."""

    signature: str
    body: str | None = Field(description="Absent once the case's personal data was erased (the signature stays).")


class MessageOut(BaseModel):
    id: str
    case_id: str
    position: int
    kind: MessageKind
    sender_id: str
    sender_unit: str
    body: str | None = Field(description="Absent once the case's personal data was erased.")
    outcome: Outcome | None
    new_deadline: datetime | None
    status_before: CaseStatus
    status_after: CaseStatus
    created_at: datetime
    late_seconds: int | None = Field(description="A final reply sent after the case's deadline: how many seconds late it came.")
    documents: list[str]
    signed_request: SignedRequestOut | None


class CaseDetail(CaseSummary):
    """A case with its content and timeline, for the two parties."""

    complainant: Complainant | None = Field(description="Absent once the case's personal data was erased.")
    personal_data_erased: bool
    summary: str | None = Field(description="Absent once the case's personal data was erased.")
    project: HousingProjectOut
    requested_action: str | None = Field(description="Absent once the case's personal data was erased.")
    messages: list[MessageOut]
    signed_request: SignedRequestOut | None
    thematic_files: list[str] = Field(description="The thematic files (that you see) it is linked to, in the order it was linked.")


class TransferCreate(Input):
    unit: InstitutionId = Field(description="The unit of your institution that takes the case over.")

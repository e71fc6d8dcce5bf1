"""Thematic files: the joint review of a recurring problem, its messages, commitments and linked cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from imr_alomrane_gateway_client.contract.cases import HousingProject, HousingProjectOut, SignedRequestOut, required_for
from imr_alomrane_gateway_client.contract.common import Input, InstitutionId, Timestamp, text
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import KINDS_ON_A_COMMITMENT, KINDS_WITH_DUE_DATE, Subject, ThematicMessageKind, ThematicStatus

MessageId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class ThematicFileCreate(Input):
    """What either party sends to open a thematic file with the other."""

    counterpart_id: InstitutionId = Field(
        description="The other party: the respondent institution when the mediator opens the file, the mediator when a respondent does.")
    respondent_unit: InstitutionId | None = Field(
        default=None, description="The respondent's unit that holds the file: named, else the one serving the project's region. "
        "A respondent's regional unit opens files for itself.")
    mediator_unit: InstitutionId | None = Field(
        default=None, description="The mediator's unit that holds the file, chosen the same way.")
    subject: Subject
    title: text(300)
    description: text(20_000)
    project: HousingProject


class ThematicMessageCreate(Input):
    kind: ThematicMessageKind
    body: text(20_000)
    due_date: Timestamp | None = Field(
        default=None, validate_default=True, description="Required with commitment (in the future), refused otherwise.")
    commitment_id: MessageId | None = Field(
        default=None, validate_default=True, description="Required with progress_report: the commitment of this file it reports on.")
    fulfils: bool | None = Field(
        default=None, validate_default=True, description="Required with progress_report: whether it fulfils the commitment.")

    @field_validator("due_date")
    @classmethod
    def _due_date_matches_kind(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return required_for(value, info, KINDS_WITH_DUE_DATE)

    @field_validator("commitment_id", "fulfils")
    @classmethod
    def _commitment_matches_kind(cls, value, info: ValidationInfo):
        return required_for(value, info, KINDS_ON_A_COMMITMENT)


class ThematicMessageOut(BaseModel):
    id: str
    thematic_file_id: str
    position: int
    kind: ThematicMessageKind
    sender_id: str
    sender_unit: str
    body: str
    due_date: datetime | None
    commitment_id: str | None
    fulfils: bool | None
    late_seconds: int | None = Field(description="A progress report fulfilling its commitment after the due date: how many seconds late.")
    status_before: ThematicStatus
    status_after: ThematicStatus
    created_at: datetime
    signed_request: SignedRequestOut | None


class CommitmentOut(BaseModel):
    id: str = Field(description="The commitment message's id.")
    due_date: datetime
    fulfilled: bool
    fulfilled_by: str | None = Field(description="The progress report that fulfilled it.")
    overdue: bool = Field(description="Its due date passed and no progress report fulfilled it.")


class LinkedCaseOut(BaseModel):
    case_id: str
    linked_by: str = Field(description="The unit that linked it.")
    linked_at: datetime


class ThematicFileSummary(BaseModel):
    """A thematic file as listed: no free text."""

    id: str
    mediator_id: str
    respondent_id: str
    mediator_unit: str
    respondent_unit: str
    opened_by: str = Field(description="The institution that opened it.")
    region: Region | None = Field(description="The project's region.")
    status: ThematicStatus
    subject: Subject
    project: HousingProjectOut
    opened_at: datetime
    updated_at: datetime
    version: int
    overdue: bool = Field(description="One of its commitments is overdue.")
    allowed_kinds: list[ThematicMessageKind] = Field(description="What the caller may send now.")


class ThematicFileDetail(ThematicFileSummary):
    """A thematic file with its free text, linked cases, commitments and messages, for the two parties."""

    title: str
    description: str
    cases: list[LinkedCaseOut]
    commitments: list[CommitmentOut]
    messages: list[ThematicMessageOut]
    signed_request: SignedRequestOut | None

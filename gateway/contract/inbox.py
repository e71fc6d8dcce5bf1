"""Notifications addressed to one unit; they carry identifiers only, never case content."""

from datetime import datetime

from pydantic import BaseModel, Field

from gateway.domain.vocabulary import CaseStatus, InboxEventKind


class InboxEventOut(BaseModel):
    id: str
    seq: int = Field(description="Position in the recipient unit's inbox; strictly increasing, no gaps.")
    recipient_unit: str
    kind: InboxEventKind
    case_id: str
    message_id: str | None
    status: CaseStatus = Field(description="The case's status once the event happened.")
    created_at: datetime
    delivered_at: datetime | None

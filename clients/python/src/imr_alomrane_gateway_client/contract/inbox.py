"""Notifications addressed to one unit; they carry identifiers only, never case content."""

from datetime import datetime

from pydantic import BaseModel, Field

from imr_alomrane_gateway_client.vocabulary import CaseStatus, InboxEventKind, ThematicStatus


class InboxEventOut(BaseModel):
    id: str
    seq: int = Field(description="Position in the recipient unit's inbox; strictly increasing, no gaps.")
    recipient_unit: str
    kind: InboxEventKind
    case_id: str | None = Field(description="The case the event is about (none: a thematic file's).")
    message_id: str | None = Field(description="The case's message it delivers.")
    thematic_file_id: str | None = Field(description="The thematic file the event is about (none: a case's).")
    thematic_message_id: str | None = Field(description="The thematic file's message it delivers.")
    status: CaseStatus | ThematicStatus = Field(description="The case's (or thematic file's) status once the event happened.")
    created_at: datetime
    delivered_at: datetime | None

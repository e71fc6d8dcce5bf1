"""Receipts signed by the gateway."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ReceiptOut(BaseModel):
    id: str
    kind: Literal["acceptance", "delivery"]
    case_id: str | None = Field(description="The case the receipt is about (none: a thematic file's, in `thematic_file_id`).")
    thematic_file_id: str | None
    resource: str
    sender_id: str
    counterpart_id: str
    token: str = Field(description="Compact JWS (ES256) signed with a gateway key from /.well-known/jwks.json.")
    created_at: datetime

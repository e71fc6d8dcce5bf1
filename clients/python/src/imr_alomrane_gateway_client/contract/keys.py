"""The history of every key the gateway ever published, for verifying old signatures, receipts and checkpoints."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field


class PublishedKeyOut(BaseModel):
    kid: str
    owner: str = Field(description="The unit that signs requests with it (their `iss`), or the gateway's id for its own keys.")
    purpose: Literal["requests", "receipts", "ledger-checkpoints"]
    jwk: dict[str, str] = Field(description="The public key (RFC 7517 members: kty, crv, x, y).")
    not_before: AwareDatetime | None = Field(description="As the registry last listed it.")
    not_after: AwareDatetime | None
    first_version: int | None = Field(description="The first registry version that trusted it (null: none ever did).")
    trusted_from: AwareDatetime | None = Field(description="When that version was applied.")
    last_version: int | None = Field(description="The last registry version that trusted it.")
    trusted_until: AwareDatetime | None = Field(
        description="When the version that stopped trusting it (removed, revoked, its owner deactivated) was applied; "
        "null while the version in force trusts it."
    )
    revoked_at: AwareDatetime | None = Field(description="When the version that listed it as revoked was applied.")


class KeyHistoryOut(BaseModel):
    registry_version: int | None = Field(description="The registry version in force; each change is a `registry_changed` ledger entry.")
    keys: list[PublishedKeyOut] = Field(description="In the order first published.")

"""The ledger as auditors (and, for their own cases, institutions) read it."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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

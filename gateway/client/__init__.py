"""The institutions' SDK: a typed client for the gateway that signs every write, retries safely,
and verifies every receipt. Sync (`GatewayClient`) and async (`AsyncGatewayClient`).

    from gateway.client import GatewayClient
    with GatewayClient.from_pki_dir("https://127.0.0.1:8443", "imr", Path("var/pki")) as imr:
        accepted = imr.open_case(CaseCreate(...))
        print(accepted.value.id, accepted.receipt.id)
"""

from gateway.client.core import Accepted, Downloaded, Receipt, inbox_resume
from gateway.client.errors import (
    BadRequest,
    Conflict,
    DocumentCorrupted,
    Forbidden,
    GatewayError,
    LedgerInconsistent,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ReceiptInvalid,
    ServerError,
    SignatureRefused,
    TransitionRefused,
    Unauthenticated,
    UnsupportedDocument,
    ValidationFailed,
)
from gateway.client.http import AsyncGatewayClient, GatewayClient
from gateway.contract.cases import CaseCreate, Complainant, HousingProject, MessageCreate
from gateway.contract.thematic import ThematicFileCreate, ThematicMessageCreate

__all__ = [
    "Accepted", "AsyncGatewayClient", "BadRequest", "CaseCreate", "Complainant", "Conflict", "DocumentCorrupted", "Downloaded",
    "Forbidden", "GatewayClient",
    "GatewayError", "HousingProject", "LedgerInconsistent", "MessageCreate", "NotFound", "PayloadTooLarge", "PreconditionFailed", "Receipt",
    "ReceiptInvalid", "ServerError", "SignatureRefused", "ThematicFileCreate", "ThematicMessageCreate", "TransitionRefused",
    "Unauthenticated", "UnsupportedDocument", "ValidationFailed", "inbox_resume",
]

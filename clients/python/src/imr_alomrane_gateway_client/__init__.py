"""The institutions' SDK: a typed client for the gateway that signs every write, retries safely,
and verifies every receipt. Sync (`GatewayClient`) and async (`AsyncGatewayClient`).

    from imr_alomrane_gateway_client import GatewayClient
    with GatewayClient.from_pki_dir("https://127.0.0.1:8443", "imr", Path("var/pki"),
                                    receipt_keys=Path("gateway-keys.json"), checkpoint_key=Path("gateway-checkpoint.vkey")) as imr:
        accepted = imr.open_case(CaseCreate(...))
        print(accepted.value.id, accepted.receipt.id)
"""

from imr_alomrane_gateway_client.core import Accepted, Downloaded, Receipt, inbox_resume
from imr_alomrane_gateway_client.errors import (
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
    UnknownGatewayKey,
    UnsupportedDocument,
    ValidationFailed,
)
from imr_alomrane_gateway_client.http import AsyncGatewayClient, GatewayClient
from imr_alomrane_gateway_client.trust import TrustRoots
from imr_alomrane_gateway_client.contract.cases import CaseCreate, Complainant, HousingProject, MessageCreate
from imr_alomrane_gateway_client.contract.thematic import ThematicFileCreate, ThematicMessageCreate

__all__ = [
    "Accepted", "AsyncGatewayClient", "BadRequest", "CaseCreate", "Complainant", "Conflict", "DocumentCorrupted", "Downloaded",
    "Forbidden", "GatewayClient",
    "GatewayError", "HousingProject", "LedgerInconsistent", "MessageCreate", "NotFound", "PayloadTooLarge", "PreconditionFailed", "Receipt",
    "ReceiptInvalid", "ServerError", "SignatureRefused", "ThematicFileCreate", "ThematicMessageCreate", "TransitionRefused",
    "TrustRoots", "Unauthenticated", "UnknownGatewayKey", "UnsupportedDocument", "ValidationFailed", "inbox_resume",
]
